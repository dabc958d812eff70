"""Measurements, in one place: how good a classifier is, how good generated samples are.

Classifiers. `predict`, `predict_proba` and `logits` run any model (a torch module, the hand-made
`companion.backprop.MLP`, or a plain function) over a batch in eval mode, in chunks; `accuracy` and
`evaluate` (mean cross-entropy and accuracy) score it against labels.

Generated samples.

- Fréchet distance (Heusel et al., 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a
  Local Nash Equilibrium", the FID) fits a Gaussian to each set of features and computes the
  squared 2-Wasserstein distance between the two Gaussians (Dowson & Landau, 1982):

      d² = ‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2}).                            (1.4.2b)

  Here the features come from the penultimate layer of the chapter's own digit classifier
  (`companion.cnn.CNN.features`), not from Inception: the numbers are comparable only within it.
- Label coverage is the entropy of the distribution of predicted classes,

      H = −Σ_k p_k ln p_k,  p_k = share of samples assigned class k,                    (1.4.2c)

  which is ln K (ln 10 ≈ 2.3026 for digits) when every class is equally frequent and 0 when the
  generator produces a single class (mode collapse).
- Mode coverage (`covered_modes`) counts the modes of a known mixture that samples reach, as Metz et
  al. (2017, "Unrolled GANs") and Srivastava et al. (2017, "VEEGAN") do on a ring of Gaussians.
- Memorisation (`nearest_neighbour_distances`, §1.5.2 "privacy"): the distance from each generated
  sample to its nearest training example; a model that copies its training data puts samples at 0.
- Novelty (`novelty_scores`) compares each sample's distance to its nearest training image with the same
  distance for real images the model never saw: a model that copies its training data scores 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from companion import validation as check
from companion.training import eval_mode, model_device

Model = nn.Module | Callable[[torch.Tensor], torch.Tensor]


# ---------------------------------------------------------------------------------------------
# Classifiers


def _check_inputs(inputs: torch.Tensor, name: str = "inputs") -> torch.Tensor:
    check.tensor(inputs, name, floating=True, min_size=1, finite=True)
    if inputs.ndim < 2:
        raise ValueError(f"expected {name} of shape (N, ...), one example per row, got {tuple(inputs.shape)}")
    return inputs


@torch.no_grad()
def _outputs(model: Model, inputs: torch.Tensor, batch_size: int) -> torch.Tensor:
    """The model's outputs for every input, computed in chunks of `batch_size` (a module in eval mode)."""
    _check_inputs(inputs)
    check.positive_int(batch_size, "batch_size")
    if not callable(model):
        raise TypeError(f"expected model to be a torch.nn.Module or a function of a batch, got {check.describe(model)}")
    chunks = range(0, len(inputs), batch_size)
    if isinstance(model, nn.Module):
        device = model_device(model, inputs.device)
        with eval_mode(model):
            out = [model(inputs[i:i + batch_size].to(device)) for i in chunks]
    else:
        out = [torch.as_tensor(model(inputs[i:i + batch_size])) for i in chunks]
    if not all(isinstance(o, torch.Tensor) and o.ndim in (1, 2) and len(o) == len(inputs[i:i + batch_size])
               for o, i in zip(out, chunks, strict=True)):
        raise ValueError("expected the model to map a batch (B, ...) to class scores (B, K) or classes (B,), "
                         f"got {[tuple(o.shape) for o in out[:3]]}")
    return torch.cat([o.to(inputs.device) for o in out])


def logits(model: Model, inputs: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Class scores (N, K) of `model` on inputs (N, ...), on the inputs' device."""
    scores = _outputs(model, inputs, batch_size)
    if scores.ndim != 2 or not scores.is_floating_point():
        raise ValueError(f"expected the model to return float class scores (N, K), got {scores.dtype} "
                         f"of shape {tuple(scores.shape)}")
    return scores


def predict(model: Model, inputs: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Predicted classes (N,) int64: the argmax of the scores, or the model's own answer if it returns classes."""
    out = _outputs(model, inputs, batch_size)
    if out.ndim == 2:
        return out.argmax(dim=1)
    if out.is_floating_point() or out.dtype == torch.bool:
        raise ValueError(f"expected a model that returns (N,) integer classes or (N, K) scores, got (N,) {out.dtype}")
    return out.long()


def predict_proba(model: Model, inputs: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Softmax class probabilities (N, K) of `model` on inputs (N, ...), on the inputs' device."""
    return F.softmax(logits(model, inputs, batch_size), dim=1)


def accuracy(model: Model, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int = 512) -> float:
    """The fraction of inputs that `model` assigns to their labels (N,) int64."""
    _check_inputs(inputs)
    check.class_indices(labels, "labels", n=len(inputs))
    predicted = predict(model, inputs, batch_size)
    return (predicted == labels.to(predicted.device)).double().mean().item()


def evaluate(model: Model, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int = 512) -> dict[str, float]:
    """Mean cross-entropy (nats) and accuracy of a classifier on (inputs, labels): {"loss": ..., "accuracy": ...}."""
    _check_inputs(inputs)
    scores = logits(model, inputs, batch_size)
    check.class_indices(labels, "labels", n=len(inputs), num_classes=scores.shape[1])
    labels = labels.to(scores.device)
    return {"loss": F.cross_entropy(scores, labels).item(),
            "accuracy": (scores.argmax(dim=1) == labels).double().mean().item()}


# ---------------------------------------------------------------------------------------------
# Generated samples: Fréchet distance and label coverage


def _check_features(x: torch.Tensor, name: str) -> torch.Tensor:
    check.tensor(x, name, ndim=2, layout="(N, D) with N >= 2", floating=True, finite=True)
    if x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"expected {name} of shape (N, D) with N >= 2, got {tuple(x.shape)}")
    return x.detach().to("cpu", torch.float64)


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a symmetric positive semi-definite matrix, by eigendecomposition."""
    eigenvalues, eigenvectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T


def _check_gaussian(mu: torch.Tensor, cov: torch.Tensor, which: str) -> tuple[torch.Tensor, torch.Tensor]:
    check.tensor(mu, f"mu_{which}", ndim=1, layout="(D,)", floating=True, min_size=1, finite=True)
    D = mu.shape[0]
    check.tensor(cov, f"cov_{which}", ndim=2, layout=f"(D, D) = ({D}, {D})", floating=True, finite=True)
    if cov.shape != (D, D):
        raise ValueError(f"expected cov_{which} of shape (D, D) = ({D}, {D}) like mu_{which}, got {tuple(cov.shape)}")
    cov = cov.detach().to("cpu", torch.float64)
    scale = max(cov.abs().max().item(), 1e-300)
    if (cov - cov.T).abs().max().item() > 1e-6 * scale or torch.linalg.eigvalsh(cov).min().item() < -1e-6 * scale:
        raise ValueError(f"expected cov_{which} to be a covariance matrix (symmetric, positive semi-definite), "
                         f"got eigenvalues down to {torch.linalg.eigvalsh((cov + cov.T) / 2).min().item():.3g}")
    return mu.detach().to("cpu", torch.float64), cov


def gaussian_frechet_distance(mu_a: torch.Tensor, cov_a: torch.Tensor, mu_b: torch.Tensor,
                              cov_b: torch.Tensor) -> float:
    """Eq. (1.4.2b) for two Gaussians N(mu_a, cov_a), N(mu_b, cov_b): means (D,), covariances (D, D).

    tr((Σ_a Σ_b)^{1/2}) is computed as tr((Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}): the two matrices are similar,
    and the second is symmetric PSD, so its square root is well defined and computed stably in float64.
    """
    mu_a, cov_a = _check_gaussian(mu_a, cov_a, "a")
    mu_b, cov_b = _check_gaussian(mu_b, cov_b, "b")
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"expected two Gaussians of the same dimension, got {mu_a.shape[0]} and {mu_b.shape[0]}")
    root_a = _sqrt_psd(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()  # tr((Σ_a Σ_b)^{1/2})
    d2 = ((mu_a - mu_b) ** 2).sum() + torch.trace(cov_a) + torch.trace(cov_b) - 2 * cross
    return max(float(d2), 0.0)


def frechet_distance(feats_a: torch.Tensor, feats_b: torch.Tensor) -> float:
    """Fréchet distance (1.4.2b) between the Gaussians fitted to two feature sets (N, D) and (M, D).

    Means and (unbiased) covariances are estimated in float64. With few samples the estimate is
    biased upwards: compare distances computed from equally many samples.
    """
    a, b = _check_features(feats_a, "feats_a"), _check_features(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"expected feature sets of the same dimension, got {a.shape[1]} and {b.shape[1]}")
    return gaussian_frechet_distance(a.mean(0), torch.cov(a.T).reshape(a.shape[1], a.shape[1]), b.mean(0),
                                     torch.cov(b.T).reshape(b.shape[1], b.shape[1]))


def frechet_distances(feats: torch.Tensor, reference: torch.Tensor, size: int) -> torch.Tensor:
    """Eq. (1.4.2b) for each block of `size` consecutive rows of feats (N, D) against reference (M, D).

    The estimate from a few hundred samples is biased and noisy: a figure compared with a floor
    measured on `size` real images is fair only at the same sample size, and the mean over k blocks
    of that size has about 1/√k of one block's noise. An incomplete last block is dropped.

    Returns:
        (N // size,) float64 distances, one per block.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 2:
        raise ValueError(f"expected size to be an int >= 2, got {size!r}")
    a, b = _check_features(feats, "feats"), _check_features(reference, "reference")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"expected feature sets of the same dimension, got {a.shape[1]} and {b.shape[1]}")
    if len(a) < size:
        raise ValueError(f"expected at least size={size} rows of feats, got {len(a)}")
    mu_b, cov_b = b.mean(0), torch.cov(b.T)
    blocks = a[: len(a) // size * size].view(-1, size, a.shape[1])  # (K, size, D)
    return torch.tensor([gaussian_frechet_distance(x.mean(0), torch.cov(x.T), mu_b, cov_b) for x in blocks],
                        dtype=torch.float64)


def novelty_scores(samples: torch.Tensor, train_images: torch.Tensor, unseen_images: torch.Tensor,
                   quantile: float = 0.05) -> dict[str, float]:
    """How far samples lie from the training set, measured against real images the model never saw.

    Args:
        samples: (N, ...) generated images; train_images (M, ...) the model's training images;
            unseen_images (K, ...) real images of the same kind outside the training set (e.g. the test split).
        quantile: "close" means nearer to a training image than this share of the unseen images is.

    Returns:
        "median_samples", "median_unseen": median Euclidean distance to the nearest training image;
        "median_ratio": their quotient (about 1 for new images, 0 for copies); "close_share": the share
        of samples closer than the `quantile` of the unseen images' distances (about `quantile` for
        new images, 1 for copies).
    """
    if isinstance(quantile, bool) or not isinstance(quantile, float) or not 0 < quantile < 1:
        raise ValueError(f"expected quantile to be a float in (0, 1), got {quantile!r}")
    d_samples, _ = nearest_neighbour_distances(samples, train_images)
    d_unseen, _ = nearest_neighbour_distances(unseen_images, train_images)
    median_samples, median_unseen = d_samples.median().item(), d_unseen.median().item()
    close = d_unseen.quantile(quantile)
    return {"median_samples": median_samples, "median_unseen": median_unseen,
            "median_ratio": median_samples / median_unseen,
            "close_share": (d_samples < close).double().mean().item()}


def label_entropy(predictions: torch.Tensor, num_classes: int | None = None) -> float:
    """Entropy (1.4.2c), in nats, of the predicted-class distribution.

    Args:
        predictions: either int64 class labels (N,) — p_k is the share of label k — or class
            probabilities (N, K) — p_k is the mean probability of class k over the samples.
        num_classes: K for integer labels (labels.max() + 1 if None); ignored for probabilities.
    """
    check.tensor(predictions, "predictions", min_size=1)
    if predictions.is_floating_point():
        check.tensor(predictions, "predictions", ndim=2, layout="(N, K) of probabilities", floating=True,
                     finite=True)
        probs = predictions.detach().to("cpu", torch.float64)
        if (probs < 0).any() or not torch.allclose(probs.sum(1), torch.ones(len(probs), dtype=torch.float64),
                                                     atol=1e-4):
            raise ValueError("expected each row of probabilities to be >= 0 and sum to 1")
        p = probs.mean(0)
    else:
        check.class_indices(predictions, "predictions")
        labels = predictions.cpu()
        k = int(labels.max()) + 1 if num_classes is None else check.positive_int(num_classes, "num_classes")
        if k <= int(labels.max()):
            raise ValueError(f"expected num_classes > the largest label {int(labels.max())}, got {k}")
        p = torch.bincount(labels, minlength=k).double() / len(labels)
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def max_entropy(num_classes: int) -> float:
    """ln K: the label entropy when all K classes are equally frequent."""
    return math.log(check.positive_int(num_classes, "num_classes"))


# ---------------------------------------------------------------------------------------------
# Mode coverage and memorisation


@dataclass(frozen=True)
class ModeCoverage:
    """How well samples cover a set of modes."""

    modes: int  # modes with at least `min_count` high-quality samples
    fraction_high_quality: float  # share of samples within `radius` of some mode centre
    counts: tuple[int, ...]  # high-quality samples per mode


def covered_modes(samples: torch.Tensor, centers: torch.Tensor, radius: float = 0.15,
                  min_count: int = 1) -> ModeCoverage:
    """Count the modes that samples (N, 2) reach; centres (M, 2).

    A sample is "high quality" when its nearest centre lies within `radius` (three standard
    deviations of the default ring, 3 * 0.05, as in Metz et al. 2017 and Srivastava et al. 2017);
    a mode is covered when at least `min_count` high-quality samples belong to it.
    """
    check.tensor(samples, "samples", ndim=2, layout="(N, 2)", floating=True, min_size=1, finite=True)
    check.tensor(centers, "centers", ndim=2, layout="(M, 2)", floating=True, min_size=1, finite=True)
    for name, points in (("samples", samples), ("centers", centers)):
        if points.shape[1] != 2:
            raise ValueError(f"expected {name} of shape ({'N' if name == 'samples' else 'M'}, 2), "
                             f"got {tuple(points.shape)}")
    check.real(radius, "radius", above=0)
    check.positive_int(min_count, "min_count")
    distances = torch.cdist(samples.detach().cpu().double(), centers.detach().cpu().double())  # (N, M)
    nearest_distance, nearest = distances.min(dim=1)
    good = nearest_distance <= radius
    counts = torch.bincount(nearest[good], minlength=len(centers))
    return ModeCoverage(modes=int((counts >= min_count).sum()), fraction_high_quality=float(good.double().mean()),
                        counts=tuple(int(c) for c in counts))


def nearest_neighbour_distances(queries: torch.Tensor, references: torch.Tensor,
                                batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """Euclidean distance from each query to its nearest reference, and that reference's index.

    Args:
        queries: (N, ...) images (or any vectors); references: (M, ...) of the same per-item shape, on
            the same device (computed in the queries' dtype).
    Returns:
        distances (N,) in the queries' dtype and indices (N,) int64 into ``references``, exact (no
        ‖a‖² + ‖b‖² − 2a·b shortcut, which loses the zeros of copies to rounding).
    """
    for name, t in (("queries", queries), ("references", references)):
        check.tensor(t, name, floating=True, min_size=1, finite=True)
        if t.ndim < 2:
            raise ValueError(f"expected {name} of shape (N, ...), one item per row, got {tuple(t.shape)}")
    if queries.shape[1:] != references.shape[1:]:
        raise ValueError(f"expected queries and references with the same per-item shape, "
                         f"got {tuple(queries.shape[1:])} and {tuple(references.shape[1:])}")
    if queries.device != references.device:
        raise ValueError(f"expected queries and references on one device, got {queries.device} and "
                         f"{references.device}")
    check.positive_int(batch_size, "batch_size")
    q = queries.reshape(len(queries), -1)  # (N, D)
    r = references.reshape(len(references), -1).to(q.dtype)  # (M, D)
    distances, indices = [], []
    for i in range(0, len(q), batch_size):
        d = torch.cdist(q[i: i + batch_size], r, compute_mode="donot_use_mm_for_euclid_dist")  # (B, M), exact
        value, index = d.min(dim=1)
        distances.append(value)
        indices.append(index)
    return torch.cat(distances), torch.cat(indices)
