"""Real data that ships with the dependencies: nothing is downloaded at run time.

- `load_digits`: the 1,797 handwritten 8×8 digits that scikit-learn carries (UCI "Optical
  Recognition of Handwritten Digits", 16 grey levels), split 80/20 with a fixed seed.
- `validation_split`: a validation set carved from a labelled training set (for the digits, 288 of the
  1,437 training digits), so that choices are made without looking at the test split.
- `load_photo`: a real photograph in grey levels, from matplotlib's or scikit-learn's samples.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from companion import validation as check

SPLITS = ("train", "test")
PHOTOS = ("grace_hopper", "china", "flower")
SPLIT_SEED = 0
VALIDATION_SIZE = 288  # a fifth of the 1,437 training digits, as the test split is a fifth of all 1,797


@lru_cache(maxsize=1)
def _digit_split() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    images = (bunch.images / 16.0).astype(np.float32)[:, None]  # (1797, 1, 8, 8), grey levels 0..16
    labels = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.2, stratify=labels, random_state=SPLIT_SEED
    )
    return {"train": (x_train, y_train), "test": (x_test, y_test)}


def load_digits(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The digits of one split: float32 images (N, 1, 8, 8) in [0, 1] and int64 labels (N,).

    "train" has 1,437 images and "test" 360; the split is stratified by class and the same on
    every call and every machine. Each call returns fresh tensors, safe to modify.
    """
    check.one_of(split, "split", SPLITS)
    images, labels = _digit_split()[split]
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.copy())


Labelled = tuple[torch.Tensor, torch.Tensor]  # (images, labels)


def validation_split(images: torch.Tensor, labels: torch.Tensor, size: int = VALIDATION_SIZE,
                     seed: int = SPLIT_SEED) -> tuple[Labelled, Labelled]:
    """Hold out `size` labelled examples for validation, stratified by class, the same on every machine.

    A recipe (augmentation, regularisation, a baseline's hyperparameter) is chosen by its score on the
    validation part, with the model fitted on the rest; the test split is then scored once, at the end.

    Args:
        images: (N, ...) examples; labels: (N,) int64 class indices, each class at least twice.
        size: how many examples to hold out, 1 <= size <= N - 1 and enough for one of every class.
        seed: the seed of the split (the same seed, the same split).

    Returns:
        ((fit_images, fit_labels), (validation_images, validation_labels)), new tensors on the inputs'
        device, each part in the order the examples had in the input.
    """
    from sklearn.model_selection import train_test_split

    check.tensor(images, "images", min_size=2)
    if images.ndim < 2:
        raise ValueError(f"expected images of shape (N, ...), one example per row, got {tuple(images.shape)}")
    check.class_indices(labels, "labels", n=images.shape[0])
    if labels.device != images.device:
        raise ValueError(f"expected labels on the images' device {images.device}, got {labels.device}")
    N = images.shape[0]
    check.integer(size, "size", minimum=1)
    check.integer(seed, "seed", minimum=0)
    counts = torch.bincount(labels.cpu())
    classes = int((counts > 0).sum())
    if int(counts[counts > 0].min()) < 2:
        raise ValueError("expected at least two examples of every class (one to fit, one to validate), "
                         f"got a class with {int(counts[counts > 0].min())}")
    if not classes <= size <= N - classes:
        raise ValueError(f"expected size in [{classes}, {N - classes}] (one example of each of the {classes} "
                         f"classes on both sides), got {size}")
    fit, held_out = train_test_split(np.arange(N), test_size=size, stratify=labels.cpu().numpy(), random_state=seed)
    fit, held_out = (torch.from_numpy(np.sort(part)).to(images.device) for part in (fit, held_out))
    return (images[fit], labels[fit]), (images[held_out], labels[held_out])


def load_photo(name: str = "grace_hopper", max_side: int | None = 256) -> torch.Tensor:
    """A real photograph as a float32 grey-level image (H, W) in [0, 1].

    Args:
        name: "grace_hopper" (matplotlib's sample, a portrait), "china" or "flower"
            (scikit-learn's samples).
        max_side: shrink (keeping the aspect ratio) so that the longer side is at most this;
            None keeps the full size.
    """
    from PIL import Image

    check.one_of(name, "name", PHOTOS)
    if max_side is not None:
        check.integer(max_side, "max_side", minimum=8)
    if name == "grace_hopper":
        from matplotlib import cbook

        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    else:
        from importlib.resources import files

        path = files("sklearn.datasets") / "images" / f"{name}.jpg"
    with Image.open(path) as image:
        grey = image.convert("L")
        if max_side is not None and max(grey.size) > max_side:
            grey.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        pixels = np.asarray(grey, dtype=np.float32) / 255.0
    return torch.from_numpy(pixels.copy())


def check_unit_images(images: torch.Tensor, square: bool = False, name: str = "images") -> tuple[int, int, int, int]:
    """Check that `images` is a non-empty float batch (N, C, H, W) with values in [0, 1]; return its shape.

    The generative models (`train_gan`, `train_vae`) read pixels as probabilities or scale them to
    tanh's range, so anything outside [0, 1] (nan included) is a mistake upstream. `square` asks for H == W.
    """
    check.instance(name, "name", str, "a str")
    layout = "(N, C, S, S)" if check.flag(square, "square") else "(N, C, H, W)"
    check.tensor(images, name, ndim=4, layout=layout, floating=True)
    if square and images.shape[2] != images.shape[3]:
        raise ValueError(f"expected {name} of shape {layout}, got {tuple(images.shape)}")
    if 0 in images.shape:
        raise ValueError(f"expected {name} of shape {layout} with no size 0, got {tuple(images.shape)}")
    check.in_unit_interval(images, name)
    return tuple(images.shape)
