"""The textbook's convolutional network (listing 1.4.1), corrected, and a batched training loop.

The architecture is the listing's: two 3×3 convolutions (32 and 64 channels, padding 1), each
followed by ReLU and 2×2 max pooling, then a 512-unit hidden layer and a linear read-out to the
class scores (logits). What the listing got wrong, and what changed:

- the flatten size is computed, not hard-coded: each pooling halves the side, so a side of S
  becomes ⌊⌊S/2⌋/2⌋, and `fc1` takes 64·⌊⌊S/2⌋/2⌋² inputs (64·7·7 for 28×28, 64·2·2 for 8×8;
  the listing wrote 64·28·28);
- `torch.nn.functional` is imported as `F`;
- training runs on mini-batches from a DataLoader, on labelled data, with cross-entropy on the
  logits (eq. 1.4.1: L = −(1/N) Σ_n log softmax(f(x_n))_{y_n}); `companion.metrics` scores the result.

The convolutional-network idea is LeCun et al. (1998), "Gradient-based learning applied to
document recognition".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from companion import training
from companion import validation as check
from companion.metrics import evaluate
from companion.robustness import shift_images


def flatten_size(image_size: int, channels: int = 64) -> int:
    """Inputs of `fc1`: `channels` maps of side ⌊⌊S/2⌋/2⌋ after the two 2×2 poolings."""
    side = check.integer(image_size, "image_size", minimum=4) // 2 // 2
    return check.positive_int(channels, "channels") * side * side


class CNN(nn.Module):
    """Listing 1.4.1's network, corrected: (N, C, S, S) images -> (N, num_classes) logits."""

    def __init__(self, in_channels: int = 3, image_size: int = 28, num_classes: int = 10, dropout: float = 0.0):
        super().__init__()
        check.integer(in_channels, "in_channels", minimum=1)
        check.integer(image_size, "image_size", minimum=4)
        check.integer(num_classes, "num_classes", minimum=2)
        check.real(dropout, "dropout", at_least=0, below=1)
        self.in_channels, self.image_size, self.num_classes = in_channels, image_size, num_classes
        self.conv1 = nn.Conv2d(in_channels, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(flatten_size(image_size), 512)
        self.fc2 = nn.Linear(512, num_classes)
        self.dropout = nn.Dropout(dropout)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a ValueError/TypeError unless x is a batch (N, C, S, S) of this network's images."""
        check.tensor(x, "x")
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"expected x of shape (N, {', '.join(map(str, expected))}), got {tuple(x.shape)}")
        check.tensor(x, "x", floating=True)
        check.like(x, "x", self.fc1.weight, "the network's weights")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate layer: (N, C, S, S) -> (N, 512), ReLU(fc1(...)); used for Fréchet distances."""
        self.check_input(x)
        x = self.pool(F.relu(self.conv1(x)))  # (N, 32, S/2, S/2)
        x = self.pool(F.relu(self.conv2(x)))  # (N, 64, S/4, S/4)
        x = x.flatten(1)  # (N, 64·(S/4)²): computed, where the listing hard-coded 64·28·28
        return F.relu(self.fc1(x))  # (N, 512)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class scores (logits), (N, num_classes); softmax is left to the loss."""
        return self.fc2(self.dropout(self.features(x)))


@dataclass(frozen=True)
class ClassifierConfig:
    """How `train_classifier` trains: AdamW with a one-cycle learning-rate schedule, fixed epochs.

    max_shift: each training image is shifted by a random whole number of pixels in
        [-max_shift, max_shift] along each axis (zeros fill in) before every step; 0 turns it off.
    """

    epochs: int = 20
    batch_size: int = 32
    lr: float = 5e-3
    weight_decay: float = 1e-4
    max_shift: int = 1
    dropout: float = 0.5

    def __post_init__(self):
        check.positive_int(self.epochs, "epochs")
        check.positive_int(self.batch_size, "batch_size")
        check.real(self.lr, "lr", above=0)
        check.real(self.weight_decay, "weight_decay", at_least=0)
        check.integer(self.max_shift, "max_shift", minimum=0)
        check.real(self.dropout, "dropout", at_least=0, below=1)


def _check_labelled(images: torch.Tensor, labels: torch.Tensor, what: str) -> None:
    check.tensor(images, f"{what} images", ndim=4, layout="(N, C, S, S)", floating=True, min_size=1, finite=True)
    if images.shape[2] != images.shape[3]:
        raise ValueError(f"expected {what} images of shape (N, C, S, S), square, got {tuple(images.shape)}")
    if images.shape[2] < 4:
        raise ValueError(f"expected {what} images of side S >= 4 (two 2×2 poolings), got {tuple(images.shape)}")
    check.class_indices(labels, f"{what} labels", n=images.shape[0])
    if labels.device != images.device:
        raise ValueError(f"expected {what} labels on the images' device {images.device}, got {labels.device}")


def train_classifier(images: torch.Tensor, labels: torch.Tensor, config: ClassifierConfig | None = None, *,
                     eval_images: torch.Tensor | None = None, eval_labels: torch.Tensor | None = None,
                     num_classes: int | None = None, device: torch.device | str | None = None,
                     generator: torch.Generator | None = None, progress: bool = True) -> tuple[CNN, dict[str, list]]:
    """Train a `CNN` on labelled images with mini-batches; return the model (in eval mode) and its history.

    Args:
        images: (N, C, S, S) float images; labels: (N,) int64 class indices in [0, num_classes).
        config: epochs, batch size, learning rate, shift augmentation; `ClassifierConfig()` if None.
        eval_images, eval_labels: optional held-out set, scored after every epoch for the curves.
        num_classes: outputs of the network; None takes labels.max() + 1.
        device: where to train; None: the images' device. The model is returned there.
        generator: a CPU generator for the initial weights, dropout, the shuffling and the shifts; the same
            seed gives the same model. None draws one seed from torch's global generator.
        progress: show a tqdm progress bar over epochs.

    Returns:
        (model, history): history holds per-epoch lists "train_loss", "train_accuracy" (on the
        augmented batches, during the epoch) and, with an evaluation set, "eval_loss", "eval_accuracy".

    Raises:
        FloatingPointError: if the loss becomes nan or inf (a diverging run stops at once).
    """
    config = training.check_config(config, ClassifierConfig)
    _check_labelled(images, labels, "training")
    if (eval_images is None) != (eval_labels is None):
        raise ValueError("expected eval_images and eval_labels together, got only one of them")
    if eval_images is not None:
        _check_labelled(eval_images, eval_labels, "evaluation")
        if eval_images.shape[1:] != images.shape[1:]:
            raise ValueError(f"expected eval images of shape (M, {', '.join(map(str, images.shape[1:]))}), "
                             f"got {tuple(eval_images.shape)}")
    largest = int(labels.max())
    num_classes = largest + 1 if num_classes is None else check.integer(num_classes, "num_classes", minimum=2)
    if largest >= num_classes or num_classes < 2:
        raise ValueError(f"expected labels in [0, num_classes={num_classes}) with num_classes >= 2, got range "
                         f"[{int(labels.min())}, {largest}]")
    device = training.resolve_device(device, images)
    generator = training.seed_generator(generator)
    check.flag(progress, "progress")

    _, C, S, _ = images.shape
    # Weights and dropout masks draw from torch's global generator, seeded from `generator` for the run.
    with training.weights_from(generator, device):
        model = CNN(C, S, num_classes, dropout=config.dropout).to(device=device, dtype=images.dtype)
        history = _fit(model, images, labels, config, eval_images, eval_labels, device, generator, progress)
    model.eval()
    return model, history


def _fit(model, images, labels, config, eval_images, eval_labels, device, generator, progress):
    """The training loop of `train_classifier` (inputs already checked)."""
    N, s = len(images), config.max_shift
    loader = DataLoader(TensorDataset(images, labels), batch_size=config.batch_size, shuffle=True,
                        generator=generator)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, epochs=config.epochs,
                                                   steps_per_epoch=len(loader))
    history: dict[str, list[float]] = {"train_loss": [], "train_accuracy": []}
    if eval_images is not None:
        history.update(eval_loss=[], eval_accuracy=[])

    step = 0
    for _ in training.progress_bar(range(config.epochs), "CNN epochs", progress):
        model.train()
        loss_sum, correct = 0.0, 0
        for x, y in loader:
            if s > 0:  # each image its own shift (dy, dx) in [-s, s]²
                offsets = torch.randint(0, 2 * s + 1, (2, len(x)), generator=generator)  # (2, B)
                x = shift_images(x, s - offsets[0], s - offsets[1])
            x, y = x.to(device), y.to(device)
            logits = model(x)  # (B, num_classes)
            loss = F.cross_entropy(logits, y)
            training.stop_if_diverged(step, f"lower the learning rate (lr={config.lr})", loss=loss.item())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
        history["train_loss"].append(loss_sum / N)
        history["train_accuracy"].append(correct / N)
        if eval_images is not None:
            scores = evaluate(model, eval_images, eval_labels)
            history["eval_loss"].append(scores["loss"])
            history["eval_accuracy"].append(scores["accuracy"])
    return history
