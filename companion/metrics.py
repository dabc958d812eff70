"""Measuring generated samples: the Fréchet distance between feature distributions, and label coverage.

Fréchet distance (Heusel et al., 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a
Local Nash Equilibrium", the FID) fits a Gaussian to each set of features and computes the
squared 2-Wasserstein distance between the two Gaussians (Dowson & Landau, 1982):

    d² = ‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^{1/2}).                              (1.4.2b)

Here the features come from the penultimate layer of the chapter's own digit classifier
(`companion.cnn.CNN.features`), not from Inception: the numbers are comparable only within it.

Label coverage is the entropy of the distribution of predicted classes,

    H = −Σ_k p_k ln p_k,  p_k = share of samples assigned class k,                      (1.4.2c)

which is ln K (ln 10 ≈ 2.3026 for digits) when every class is equally frequent and 0 when the
generator produces a single class (mode collapse).

Novelty (`novelty_scores`) compares each sample's distance to its nearest training image with the same
distance for real images the model never saw: a model that copies its training data scores 0.
"""

from __future__ import annotations

import math

import torch


def _check_features(x: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected {name} to be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"expected {name} of shape (N, D) with N >= 2, got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"expected floating-point {name}, got dtype {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError(f"expected finite {name}, got nan/inf values")
    return x.detach().to("cpu", torch.float64)


def _sqrt_psd(matrix: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a symmetric positive semi-definite matrix, by eigendecomposition."""
    eigenvalues, eigenvectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T


def gaussian_frechet_distance(mu_a: torch.Tensor, cov_a: torch.Tensor, mu_b: torch.Tensor,
                              cov_b: torch.Tensor) -> float:
    """Eq. (1.4.2b) for two Gaussians N(mu_a, cov_a), N(mu_b, cov_b): means (D,), covariances (D, D).

    tr((Σ_a Σ_b)^{1/2}) is computed as tr((Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}): the two matrices are similar,
    and the second is symmetric PSD, so its square root is well defined and computed stably in float64.
    """
    mu_a, mu_b = (torch.as_tensor(m, dtype=torch.float64) for m in (mu_a, mu_b))
    cov_a, cov_b = (torch.as_tensor(c, dtype=torch.float64) for c in (cov_a, cov_b))
    D = mu_a.shape[0]
    if mu_a.shape != (D,) or mu_b.shape != (D,) or cov_a.shape != (D, D) or cov_b.shape != (D, D):
        raise ValueError(f"expected means (D,) and covariances (D, D), got {tuple(mu_a.shape)}, "
                         f"{tuple(cov_a.shape)}, {tuple(mu_b.shape)}, {tuple(cov_b.shape)}")
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
    return gaussian_frechet_distance(a.mean(0), torch.cov(a.T), b.mean(0), torch.cov(b.T))


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
    from companion.robustness import nearest_neighbour_distances

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
        predictions: either int class labels (N,) — p_k is the share of label k — or class
            probabilities (N, K) — p_k is the mean probability of class k over the samples.
        num_classes: K for integer labels (labels.max() + 1 if None); ignored for probabilities.
    """
    if not isinstance(predictions, torch.Tensor):
        raise TypeError(f"expected predictions to be a torch.Tensor, got {type(predictions).__name__}")
    if predictions.numel() == 0:
        raise ValueError("expected at least one prediction, got an empty tensor")
    if predictions.is_floating_point():
        if predictions.ndim != 2:
            raise ValueError(f"expected probabilities of shape (N, K), got {tuple(predictions.shape)}")
        probs = predictions.detach().to("cpu", torch.float64)
        if (probs < 0).any() or not torch.allclose(probs.sum(1), torch.ones(len(probs), dtype=torch.float64),
                                                     atol=1e-4):
            raise ValueError("expected each row of probabilities to be >= 0 and sum to 1")
        p = probs.mean(0)
    else:
        if predictions.ndim != 1 or predictions.min() < 0:
            raise ValueError(f"expected integer labels (N,) >= 0, got shape {tuple(predictions.shape)}")
        k = int(predictions.max()) + 1 if num_classes is None else num_classes
        p = torch.bincount(predictions.cpu(), minlength=k).double() / len(predictions)
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def max_entropy(num_classes: int) -> float:
    """ln K: the label entropy when all K classes are equally frequent."""
    return math.log(num_classes)
