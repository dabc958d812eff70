"""Robustness and explanation of an image classifier: the measurements behind §1.5.

- Distribution shift (§1.5.2 "over-reliance on data"): `shift_images`, `rotate_images`,
  `scale_images`, `add_gaussian_noise` move test digits away from the training distribution.
- Adversarial examples (§1.5.2 "privacy and security"), the fast gradient sign method of
  Goodfellow, Shlens & Szegedy, "Explaining and harnessing adversarial examples" (ICLR 2015):

      x_adv = clip_[0,1]( x + ε · sign(∇_x L(f(x), y)) )                          (5.1)

  One step of size ε in the L∞ ball, uphill on the cross-entropy L.
- Explanations (§1.5.1 "explainability"): a saliency map (Simonyan, Vedaldi & Zisserman,
  "Deep inside convolutional networks", 2014), |∂ f_y(x) / ∂x| per pixel                  (5.2)
  and an occlusion map (Zeiler & Fergus, "Visualizing and understanding convolutional
  networks", ECCV 2014): how much p(y | x) drops when a patch of x is blanked out.        (5.3)
- Memorisation (§1.5.2 "privacy"): `nearest_neighbour_distances` from generated samples to
  the training set; a model that copies its training data puts samples at distance ≈ 0.

Images are (N, C, H, W) with values in [0, 1]; models map them to logits (N, K).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _check_images(images: torch.Tensor, name: str = "images") -> tuple[int, int, int, int]:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"expected {name} to be a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"expected {name} of shape (N, C, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"expected {name} to be a float tensor, got {images.dtype}")
    return tuple(images.shape)


def _check_labels(labels: torch.Tensor, n: int) -> None:
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64:
        got = labels.dtype if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise TypeError(f"expected labels to be an int64 tensor, got {got}")
    if labels.shape != (n,):
        raise ValueError(f"expected labels of shape ({n},), one per image, got {tuple(labels.shape)}")


def shift_images(images: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Translate every image by (dy, dx) whole pixels (down and right if positive); the
    pixels that come in are 0 (background), the ones that leave are lost, nothing wraps."""
    N, C, H, W = _check_images(images)
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in (dy, dx)):
        raise TypeError(f"expected dy and dx to be ints, got {dy!r} and {dx!r}")
    out = torch.zeros_like(images)
    if abs(dy) >= H or abs(dx) >= W:
        return out
    # Source rows [max(0, -dy), H - max(0, dy)) land on [max(0, dy), H - max(0, -dy)).
    out[:, :, max(0, dy): H - max(0, -dy), max(0, dx): W - max(0, -dx)] = \
        images[:, :, max(0, -dy): H - max(0, dy), max(0, -dx): W - max(0, dx)]
    return out


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
    if not isinstance(degrees, (int, float)) or not math.isfinite(degrees):
        raise TypeError(f"expected degrees to be a finite number, got {degrees!r}")
    a = math.radians(degrees)
    # affine_grid maps output to input coordinates, so the inverse rotation goes in.
    return _affine(images, [[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0]])


def scale_images(images: torch.Tensor, factor: float) -> torch.Tensor:
    """Zoom every image about its centre: ``factor`` > 1 enlarges the digit, < 1 shrinks it."""
    _check_images(images)
    if not isinstance(factor, (int, float)) or not factor > 0:
        raise ValueError(f"expected factor to be a positive number, got {factor!r}")
    return _affine(images, [[1.0 / factor, 0.0, 0.0], [0.0, 1.0 / factor, 0.0]])


def add_gaussian_noise(images: torch.Tensor, std: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """images + N(0, std²) per pixel, clipped back to [0, 1]."""
    _check_images(images)
    if not isinstance(std, (int, float)) or std < 0:
        raise ValueError(f"expected std to be a number >= 0, got {std!r}")
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype, device="cpu").to(images.device)
    return (images + std * noise).clamp(0.0, 1.0)


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """The predicted classes (N,) of ``model`` in eval mode (its train/eval state is restored)."""
    _check_images(images)
    was_training = model.training
    model.eval()
    parameter = next(model.parameters(), None)
    device = images.device if parameter is None else parameter.device
    try:
        return torch.cat([model(images[i: i + batch_size].to(device)).argmax(dim=1)
                          for i in range(0, len(images), batch_size)])
    finally:
        model.train(was_training)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of ``images`` that ``model`` classifies as ``labels``."""
    N = _check_images(images)[0]
    _check_labels(labels, N)
    predicted = predict(model, images)
    return (predicted == labels.to(predicted.device)).double().mean().item()


def fgsm(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Adversarial images by the fast gradient sign method, equation (5.1).

    Args:
        model: maps (N, C, H, W) to logits (N, K); used in eval mode, its parameters untouched.
        images: (N, C, H, W) in [0, 1]; labels: (N,) int64, the true classes.
        epsilon: the L∞ budget, ≥ 0 (in units of the pixel range [0, 1]).
    Returns:
        (N, C, H, W) in [0, 1], at most ``epsilon`` away from ``images`` in every pixel.
    """
    N = _check_images(images)[0]
    _check_labels(labels, N)
    if not isinstance(epsilon, (int, float)) or epsilon < 0:
        raise ValueError(f"expected epsilon to be a number >= 0, got {epsilon!r}")
    was_training = model.training
    model.eval()
    try:
        x = images.detach().clone().requires_grad_(True)
        loss = F.cross_entropy(model(x), labels, reduction="sum")  # sum: per-image gradients keep their size
        (grad,) = torch.autograd.grad(loss, x)
    finally:
        model.train(was_training)
    return (images + epsilon * grad.sign()).clamp(0.0, 1.0).detach()


def saliency_map(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """|∂ logit_y / ∂x|, equation (5.2), the largest over channels: (N, H, W)."""
    N = _check_images(images)[0]
    _check_labels(labels, N)
    was_training = model.training
    model.eval()
    try:
        x = images.detach().clone().requires_grad_(True)
        logits = model(x)  # (N, K)
        (grad,) = torch.autograd.grad(logits.gather(1, labels[:, None]).sum(), x)
    finally:
        model.train(was_training)
    return grad.abs().amax(dim=1)  # (N, H, W)


@torch.no_grad()
def occlusion_map(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, patch: int = 2,
                  fill: float = 0.0) -> torch.Tensor:
    """Equation (5.3): for each pixel, the mean drop of p(y | x) over the patch × patch squares
    (stride 1) that cover it when they are set to ``fill``. Returns (N, H, W); large = important."""
    N, C, H, W = _check_images(images)
    _check_labels(labels, N)
    if not isinstance(patch, int) or not 1 <= patch <= min(H, W):
        raise ValueError(f"expected patch to be an int in [1, {min(H, W)}], got {patch!r}")
    was_training = model.training
    model.eval()
    try:
        base = F.softmax(model(images), dim=1).gather(1, labels[:, None])[:, 0]  # (N,)
        drop = torch.zeros(N, H, W, dtype=images.dtype, device=images.device)
        count = torch.zeros(H, W, dtype=images.dtype, device=images.device)
        for i in range(H - patch + 1):
            for j in range(W - patch + 1):
                occluded = images.clone()
                occluded[:, :, i: i + patch, j: j + patch] = fill
                p = F.softmax(model(occluded), dim=1).gather(1, labels[:, None])[:, 0]
                drop[:, i: i + patch, j: j + patch] += (base - p)[:, None, None]
                count[i: i + patch, j: j + patch] += 1
    finally:
        model.train(was_training)
    return drop / count


def nearest_neighbour_distances(queries: torch.Tensor, references: torch.Tensor,
                                batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """Euclidean distance from each query image to its nearest reference image, and that index.

    Args:
        queries: (N, ...) images; references: (M, ...) images of the same per-image shape.
    Returns:
        distances (N,) and indices (N,) int64 into ``references``.
    """
    for name, t in (("queries", queries), ("references", references)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.ndim < 2:
            raise TypeError(f"expected {name} to be a float tensor of shape (N, ...), got {getattr(t, 'shape', t)!r}")
    if queries.shape[1:] != references.shape[1:]:
        raise ValueError(f"expected queries and references with the same image shape, "
                         f"got {tuple(queries.shape[1:])} and {tuple(references.shape[1:])}")
    q = queries.reshape(len(queries), -1)  # (N, D)
    r = references.reshape(len(references), -1).to(q.dtype)  # (M, D)
    distances, indices = [], []
    for i in range(0, len(q), batch_size):
        d = torch.cdist(q[i: i + batch_size], r, compute_mode="donot_use_mm_for_euclid_dist")  # (B, M), exact
        value, index = d.min(dim=1)
        distances.append(value)
        indices.append(index)
    return torch.cat(distances), torch.cat(indices)
