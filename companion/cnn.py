"""The textbook's convolutional network (listing 1.4.1), corrected, and a batched training loop.

The architecture is the listing's: two 3×3 convolutions (32 and 64 channels, padding 1), each
followed by ReLU and 2×2 max pooling, then a 512-unit hidden layer and a linear read-out to the
class scores (logits). What the listing got wrong, and what changed:

- the flatten size is computed, not hard-coded: each pooling halves the side, so a side of S
  becomes ⌊⌊S/2⌋/2⌋, and `fc1` takes 64·⌊⌊S/2⌋/2⌋² inputs (64·7·7 for 28×28, 64·2·2 for 8×8;
  the listing wrote 64·28·28);
- `torch.nn.functional` is imported as `F`;
- training runs on mini-batches from a DataLoader, on labelled data, with cross-entropy on the
  logits (eq. 1.4.1: L = −(1/N) Σ_n log softmax(f(x_n))_{y_n}).

The convolutional-network idea is LeCun et al. (1998), "Gradient-based learning applied to
document recognition".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm


def flatten_size(image_size: int, channels: int = 64) -> int:
    """Inputs of `fc1`: `channels` maps of side ⌊⌊S/2⌋/2⌋ after the two 2×2 poolings."""
    side = image_size // 2 // 2
    return channels * side * side


class CNN(nn.Module):
    """Listing 1.4.1's network, corrected: (N, C, S, S) images -> (N, num_classes) logits."""

    def __init__(self, in_channels: int = 3, image_size: int = 28, num_classes: int = 10, dropout: float = 0.0):
        super().__init__()
        for name, value, low in (("in_channels", in_channels, 1), ("image_size", image_size, 4),
                                 ("num_classes", num_classes, 2)):
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"expected {name} to be an int >= {low}, got {value!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"expected dropout in [0, 1), got {dropout!r}")
        self.in_channels, self.image_size, self.num_classes = in_channels, image_size, num_classes
        self.conv1 = nn.Conv2d(in_channels, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(flatten_size(image_size), 512)
        self.fc2 = nn.Linear(512, num_classes)
        self.dropout = nn.Dropout(dropout)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a ValueError/TypeError unless x is a batch (N, C, S, S) of this network's images."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected x to be a torch.Tensor, got {type(x).__name__}")
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"expected x of shape (N, {', '.join(map(str, expected))}), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"expected floating-point images, got dtype {x.dtype}")

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
    """How `train_classifier` trains: Adam with a one-cycle learning-rate schedule, fixed epochs.

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
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        if not isinstance(self.max_shift, int) or self.max_shift < 0:
            raise ValueError(f"expected max_shift to be an int >= 0, got {self.max_shift!r}")
        if not self.lr > 0 or self.weight_decay < 0:
            raise ValueError(f"expected lr > 0 and weight_decay >= 0, got {self.lr!r} and {self.weight_decay!r}")


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image of (N, C, H, W) by its own random (dy, dx) in [-max_shift, max_shift]², zero fill."""
    if images.ndim != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(images.shape)}")
    if max_shift == 0:
        return images
    N, C, H, W = images.shape
    s = max_shift
    offsets = torch.randint(0, 2 * s + 1, (2, N), generator=generator).to(images.device)  # (2, N)
    padded = F.pad(images, (s, s, s, s))  # (N, C, H + 2s, W + 2s)
    rows = offsets[0][:, None] + torch.arange(H, device=images.device)  # (N, H)
    cols = offsets[1][:, None] + torch.arange(W, device=images.device)  # (N, W)
    n = torch.arange(N, device=images.device)[:, None, None, None]
    c = torch.arange(C, device=images.device)[None, :, None, None]
    return padded[n, c, rows[:, None, :, None], cols[:, None, None, :]]  # (N, C, H, W)


def _check_labelled(images: torch.Tensor, labels: torch.Tensor, what: str) -> None:
    if not isinstance(images, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise TypeError(f"expected {what} images and labels as torch.Tensors, got "
                        f"{type(images).__name__} and {type(labels).__name__}")
    if images.ndim != 4 or images.shape[2] != images.shape[3]:
        raise ValueError(f"expected {what} images of shape (N, C, S, S), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"expected floating-point {what} images, got dtype {images.dtype}")
    if labels.shape != images.shape[:1] or labels.dtype != torch.int64:
        raise ValueError(f"expected {what} labels of shape ({images.shape[0]},) and dtype int64 (class indices), "
                         f"got shape {tuple(labels.shape)} and dtype {labels.dtype}")


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 512) -> dict:
    """Mean cross-entropy and accuracy of `model` on (images, labels), in eval mode."""
    _check_labelled(images, labels, "evaluation")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    loss_sum, correct = 0.0, 0
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device)
        y = labels[start:start + batch_size].to(device)
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    model.train(was_training)
    return {"loss": loss_sum / len(images), "accuracy": correct / len(images)}


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    config: ClassifierConfig | None = None,
    *,
    eval_images: torch.Tensor | None = None,
    eval_labels: torch.Tensor | None = None,
    num_classes: int | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
    progress: bool = True,
) -> tuple[CNN, dict[str, list[float]]]:
    """Train a `CNN` on labelled images with mini-batches; return the model (in eval mode) and its history.

    Args:
        images: (N, C, S, S) float images; labels: (N,) int64 class indices in [0, num_classes).
        config: epochs, batch size, learning rate, shift augmentation; `ClassifierConfig()` if None.
        eval_images, eval_labels: optional held-out set, scored after every epoch for the curves.
        num_classes: outputs of the network; None takes labels.max() + 1.
        device: where to train ("cpu", "cuda"); the model is returned there.
        generator: a CPU generator for the initial weights, dropout, the shuffling and the shifts; the same
            seed gives the same model. None draws one seed from torch's global generator.
        progress: show a tqdm progress bar over epochs.

    Returns:
        (model, history): history holds per-epoch lists "train_loss", "train_accuracy" (on the
        augmented batches, during the epoch) and, with an evaluation set, "eval_loss", "eval_accuracy".

    Raises:
        FloatingPointError: if the loss becomes nan or inf (a diverging run stops at once).
    """
    config = ClassifierConfig() if config is None else config
    if not isinstance(config, ClassifierConfig):
        raise TypeError(f"expected config to be a ClassifierConfig, got {type(config).__name__}")
    _check_labelled(images, labels, "training")
    if (eval_images is None) != (eval_labels is None):
        raise ValueError("expected eval_images and eval_labels together, got only one of them")
    if eval_images is not None:
        _check_labelled(eval_images, eval_labels, "evaluation")
        if eval_images.shape[1:] != images.shape[1:]:
            raise ValueError(f"expected eval images of shape (M, {', '.join(map(str, images.shape[1:]))}), "
                             f"got {tuple(eval_images.shape)}")
    num_classes = int(labels.max()) + 1 if num_classes is None else num_classes
    if labels.min() < 0 or labels.max() >= num_classes or num_classes < 2:
        raise ValueError(f"expected labels in [0, num_classes={num_classes}) with num_classes >= 2, got range "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    device = torch.device("cpu") if device is None else torch.device(device)
    if generator is None:
        generator = torch.Generator().manual_seed(int(torch.randint(2**62, (1,))))

    _, C, S, _ = images.shape
    # Weights and dropout masks draw from torch's global RNG: fork it and seed it from `generator`,
    # so the run is reproducible and the caller's global RNG state is left as it was.
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        model = CNN(C, S, num_classes, dropout=config.dropout).to(device=device, dtype=images.dtype)
        history = _fit(model, images, labels, config, eval_images, eval_labels, device, generator, progress)
    model.eval()
    return model, history


def _fit(model, images, labels, config, eval_images, eval_labels, device, generator, progress):
    """The training loop of `train_classifier` (inputs already checked)."""
    N = len(images)
    loader = DataLoader(TensorDataset(images, labels), batch_size=config.batch_size, shuffle=True,
                        generator=generator)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, epochs=config.epochs,
                                                   steps_per_epoch=len(loader))
    history: dict[str, list[float]] = {"train_loss": [], "train_accuracy": []}
    if eval_images is not None:
        history.update(eval_loss=[], eval_accuracy=[])

    step = 0
    for _ in tqdm(range(config.epochs), desc="CNN epochs", disable=not progress):
        model.train()
        loss_sum, correct = 0.0, 0
        for x, y in loader:
            x = random_shift(x, config.max_shift, generator).to(device)
            y = y.to(device)
            logits = model(x)  # (B, num_classes)
            loss = F.cross_entropy(logits, y)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at step {step}; lower the learning rate "
                                         f"(lr={config.lr}) or check the inputs for nan/inf")
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



@torch.no_grad()
def predict_proba(model: nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Softmax class probabilities (N, num_classes) of `model` on (N, C, S, S) images, in eval mode.

    The images may live anywhere; they are moved to the model's device and the result to theirs.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"expected images of shape (N, C, S, S), got {getattr(images, 'shape', type(images))}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = torch.cat([F.softmax(model(images[i:i + batch_size].to(device)), dim=1).cpu()
                     for i in range(0, len(images), batch_size)])
    model.train(was_training)
    return out.to(images.device)
