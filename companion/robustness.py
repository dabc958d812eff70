"""Robustness and explanation of an image classifier: the measurements behind §1.5.

- Distribution shift (§1.5.2 "over-reliance on data"): `shift_images`, `rotate_images`,
  `scale_images`, `add_gaussian_noise` move test digits away from the training distribution
  (`shift_images` also makes the CNN's training augmentation, one random shift per image).
- Adversarial examples (§1.5.2 "privacy and security"), the fast gradient sign method of
  Goodfellow, Shlens & Szegedy, "Explaining and harnessing adversarial examples" (ICLR 2015):

      x_adv = clip_[0,1]( x + ε · sign(∇_x L(f(x), y)) )                          (5.1)

  One step of size ε in the L∞ ball, uphill on the cross-entropy L.
- Explanations (§1.5.1 "explainability"): a saliency map (Simonyan, Vedaldi & Zisserman,
  "Deep inside convolutional networks", 2014), |∂ f_y(x) / ∂x| per pixel                  (5.2)
  and an occlusion map (Zeiler & Fergus, "Visualizing and understanding convolutional
  networks", ECCV 2014): how much p(y | x) drops when a patch of x is blanked out.        (5.3)
Images are (N, C, H, W) with values in [0, 1]; models map them to logits (N, K). How often a model is
right on such images is `companion.metrics.accuracy`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from companion import validation as check
from companion.training import eval_mode, model_device


def _check_images(images: torch.Tensor, name: str = "images", finite: bool = False) -> tuple[int, int, int, int]:
    check.tensor(images, name, ndim=4, layout="(N, C, H, W)", floating=True, finite=finite)
    if 0 in images.shape:
        raise ValueError(f"expected {name} of shape (N, C, H, W) with no size 0, got {tuple(images.shape)}")
    return tuple(images.shape)


def _logits_for(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The model's logits (N, K) for x, after checking that every label is one of its K classes."""
    logits = model(x)
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or len(logits) != len(x):
        raise ValueError(f"expected the model to map images to logits ({len(x)}, K), got {check.describe(logits)}")
    check.class_indices(labels, "labels", n=len(x), num_classes=logits.shape[1])
    return logits


def _check_model(model: nn.Module) -> nn.Module:
    return check.instance(model, "model", nn.Module, "a torch.nn.Module that maps images to logits")


def _offsets(d, name: str, N: int, device: torch.device) -> torch.Tensor:
    """A shift as an int64 tensor (N,): one int for every image, or one per image."""
    if isinstance(d, torch.Tensor):
        check.tensor(d, name, ndim=1, layout=f"({N},)", dtype=torch.int64)
        if d.shape[0] != N:
            raise ValueError(f"expected {name} of shape ({N},), one shift per image, got {tuple(d.shape)}")
        return d.to(device)
    check.integer(d, name)
    return torch.full((N,), int(d), dtype=torch.int64, device=device)


def shift_images(images: torch.Tensor, dy: int | torch.Tensor, dx: int | torch.Tensor) -> torch.Tensor:
    """Translate images (N, C, H, W) by (dy, dx) whole pixels, down and right when positive.

    The pixels that come in are 0 (background), the ones that leave are lost, nothing wraps. dy and dx
    are ints (every image moves alike) or int64 tensors (N,) (each image its own shift, as in the CNN's
    training augmentation).
    """
    N, C, H, W = _check_images(images)
    dy, dx = _offsets(dy, "dy", N, images.device), _offsets(dx, "dx", N, images.device)
    rows = torch.arange(H, device=images.device) - dy[:, None]  # (N, H): the source row of each output row
    cols = torch.arange(W, device=images.device) - dx[:, None]  # (N, W)
    inside = ((rows >= 0) & (rows < H))[:, None, :, None] & ((cols >= 0) & (cols < W))[:, None, None, :]  # (N,1,H,W)
    n = torch.arange(N, device=images.device)[:, None, None, None]
    c = torch.arange(C, device=images.device)[None, :, None, None]
    moved = images[n, c, rows.clamp(0, H - 1)[:, None, :, None], cols.clamp(0, W - 1)[:, None, None, :]]  # (N,C,H,W)
    return torch.where(inside, moved, torch.zeros((), dtype=images.dtype, device=images.device))


def _affine(images: torch.Tensor, matrix: list[list[float]]) -> torch.Tensor:
    """Resample images through a 2×3 affine map of the normalised output coordinates."""
    N = images.shape[0]
    theta = torch.tensor(matrix, dtype=images.dtype, device=images.device).expand(N, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)  # (N, H, W, 2)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def rotate_images(images: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate every image about its centre by ``degrees``, counter-clockwise as drawn (90 is
    ``torch.rot90(images, 1, (2, 3))``); bilinear, background 0 outside."""
    _check_images(images)
    a = math.radians(check.real(degrees, "degrees"))
    # affine_grid maps output to input coordinates, so the inverse rotation goes in.
    return _affine(images, [[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]])


def scale_images(images: torch.Tensor, factor: float) -> torch.Tensor:
    """Zoom every image about its centre: ``factor`` > 1 enlarges the digit, < 1 shrinks it."""
    _check_images(images)
    factor = check.real(factor, "factor", above=0)
    return _affine(images, [[1.0 / factor, 0.0, 0.0], [0.0, 1.0 / factor, 0.0]])


def add_gaussian_noise(images: torch.Tensor, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """images + N(0, std²) per pixel, clipped back to [0, 1]; the noise is drawn on the CPU from `generator`."""
    _check_images(images)
    std = check.real(std, "std", at_least=0)
    check.cpu_generator(generator)
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype, device="cpu").to(images.device)
    return (images + std * noise).clamp(0.0, 1.0)


def _check_labelled(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> tuple[int, int, int, int]:
    _check_model(model)
    shape = _check_images(images, finite=True)
    check.class_indices(labels, "labels", n=shape[0])
    if model_device(model, images.device) != images.device or labels.device != images.device:
        raise ValueError(f"expected model, images and labels on one device, got {model_device(model)}, "
                         f"{images.device} and {labels.device}")
    return shape


def fgsm(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Adversarial images by the fast gradient sign method, equation (5.1).

    Args:
        model: maps (N, C, H, W) to logits (N, K); used in eval mode, its parameters untouched.
        images: (N, C, H, W) in [0, 1]; labels: (N,) int64, the true classes.
        epsilon: the L∞ budget, ≥ 0 (in units of the pixel range [0, 1]).
    Returns:
        (N, C, H, W) in [0, 1], at most ``epsilon`` away from ``images`` in every pixel.
    """
    _check_labelled(model, images, labels)
    epsilon = check.real(epsilon, "epsilon", at_least=0)
    with eval_mode(model):
        x = images.detach().clone().requires_grad_(True)
        logits = _logits_for(model, x, labels)  # (N, K)
        loss = F.cross_entropy(logits, labels, reduction="sum")  # sum: per-image gradients keep their size
        (grad,) = torch.autograd.grad(loss, x)
    return (images + epsilon * grad.sign()).clamp(0.0, 1.0).detach()


def saliency_map(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """|∂ logit_y / ∂x|, equation (5.2), the largest over channels: (N, H, W)."""
    _check_labelled(model, images, labels)
    with eval_mode(model):
        x = images.detach().clone().requires_grad_(True)
        logits = _logits_for(model, x, labels)  # (N, K)
        (grad,) = torch.autograd.grad(logits.gather(1, labels[:, None]).sum(), x)
    return grad.abs().amax(dim=1)  # (N, H, W)


@torch.no_grad()
def occlusion_map(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, patch: int = 2,
                  fill: float = 0.0) -> torch.Tensor:
    """Equation (5.3): for each pixel, the mean drop of p(y | x) over the patch × patch squares
    (stride 1) that cover it when they are set to ``fill``. Returns (N, H, W); large = important."""
    N, C, H, W = _check_labelled(model, images, labels)
    patch = check.positive_int(patch, "patch")
    if patch > min(H, W):
        raise ValueError(f"expected patch to be an int in [1, {min(H, W)}], got {patch!r}")
    fill = check.real(fill, "fill")
    with eval_mode(model):
        base = F.softmax(_logits_for(model, images, labels), dim=1).gather(1, labels[:, None])[:, 0]  # (N,)
        drop = torch.zeros(N, H, W, dtype=images.dtype, device=images.device)
        count = torch.zeros(H, W, dtype=images.dtype, device=images.device)
        for i in range(H - patch + 1):
            for j in range(W - patch + 1):
                occluded = images.clone()
                occluded[:, :, i: i + patch, j: j + patch] = fill
                p = F.softmax(model(occluded), dim=1).gather(1, labels[:, None])[:, 0]
                drop[:, i: i + patch, j: j + patch] += (base - p)[:, None, None]
                count[i: i + patch, j: j + patch] += 1
    return drop / count
