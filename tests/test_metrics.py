"""Fréchet distance (1.4.2b) against closed forms, and label entropy (1.4.2c)."""

import math

import pytest
import torch

from companion.metrics import frechet_distance, gaussian_frechet_distance, label_entropy, max_entropy


def _random_cov(d, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    return a @ a.T + 0.1 * torch.eye(d, dtype=torch.float64)


def test_commuting_covariances_match_the_frobenius_closed_form():
    # Σ_a, Σ_b sharing eigenvectors: tr(Σa + Σb − 2(ΣaΣb)^½) = ‖Σa^½ − Σb^½‖_F², i.e. Σ (√λa − √λb)².
    q, _ = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    la = torch.tensor([4.0, 1.0, 0.25, 9.0], dtype=torch.float64)
    lb = torch.tensor([1.0, 1.0, 1.0, 4.0], dtype=torch.float64)
    mu_a, mu_b = torch.zeros(4, dtype=torch.float64), torch.tensor([1.0, 2.0, 0.0, 0.0], dtype=torch.float64)
    d2 = gaussian_frechet_distance(mu_a, q @ torch.diag(la) @ q.T, mu_b, q @ torch.diag(lb) @ q.T)
    expected = 5.0 + ((la.sqrt() - lb.sqrt()) ** 2).sum().item()  # 5 + (1 + 0 + 0.25 + 1)
    assert d2 == pytest.approx(expected, rel=1e-12)


def test_non_commuting_2x2_covariances_match_the_trace_formula():
    # For 2×2 matrices, tr((ΣaΣb)^½) = √(tr(ΣaΣb) + 2 √(det Σa det Σb)) (sum of √ of the two eigenvalues).
    ca, cb = _random_cov(2, 1), _random_cov(2, 2)
    cross = math.sqrt(torch.trace(ca @ cb).item() + 2 * math.sqrt(torch.det(ca).item() * torch.det(cb).item()))
    mu = torch.tensor([0.5, -1.0], dtype=torch.float64)
    expected = 1.25 + torch.trace(ca).item() + torch.trace(cb).item() - 2 * cross
    assert gaussian_frechet_distance(mu, ca, torch.zeros(2), cb) == pytest.approx(expected, rel=1e-10)


def test_distance_is_symmetric_and_zero_for_identical_gaussians():
    ca, cb = _random_cov(5, 3), _random_cov(5, 4)
    mu = torch.arange(5.0)
    assert gaussian_frechet_distance(mu, ca, mu, ca) == pytest.approx(0.0, abs=1e-9)
    assert gaussian_frechet_distance(mu, ca, 0 * mu, cb) == pytest.approx(
        gaussian_frechet_distance(0 * mu, cb, mu, ca), rel=1e-10)


def test_sample_estimate_approaches_the_population_value():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 3, generator=g, dtype=torch.float64)  # N(0, I)
    b = 2.0 * torch.randn(20000, 3, generator=g, dtype=torch.float64) + 1.0  # N(1, 4I)
    # closed form: ‖μ‖² = 3, and 3 · (1 − 2)² = 3
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.03)
    assert frechet_distance(a.float(), a.float()) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    "a, b, error, message",
    [
        (torch.rand(10, 3), torch.rand(10, 4), ValueError, "same dimension, got 3 and 4"),
        (torch.rand(10), torch.rand(10, 1), ValueError, r"feats_a of shape \(N, D\)"),
        (torch.rand(1, 3), torch.rand(10, 3), ValueError, "N >= 2"),
        ([[1.0]], torch.rand(10, 1), TypeError, "torch.Tensor"),
        (torch.rand(10, 2), torch.full((10, 2), float("nan")), ValueError, "finite"),
    ],
)
def test_frechet_distance_rejects_bad_input(a, b, error, message):
    with pytest.raises(error, match=message):
        frechet_distance(a, b)


def test_label_entropy_from_labels_and_probabilities():
    assert label_entropy(torch.arange(10).repeat(7)) == pytest.approx(math.log(10), rel=1e-12)
    assert label_entropy(torch.full((50,), 3)) == 0.0
    assert label_entropy(torch.tensor([0, 0, 1, 1])) == pytest.approx(math.log(2))
    probs = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.0, 0.5]])  # mean (0.5, 0.25, 0.25)
    assert label_entropy(probs) == pytest.approx(1.5 * math.log(2), rel=1e-6)
    assert max_entropy(10) == pytest.approx(2.302585, rel=1e-6)


@pytest.mark.parametrize(
    "x, message",
    [(torch.rand(3, 4), "sum to 1"), (torch.rand(3), r"\(N, K\)"), (torch.tensor([-1, 2]), "labels"),
     (torch.tensor([]), "at least one")],
)
def test_label_entropy_rejects_bad_input(x, message):
    with pytest.raises(ValueError, match=message):
        label_entropy(x)


def test_frechet_distances_are_the_distances_of_consecutive_blocks():
    from companion.metrics import frechet_distances

    g = torch.Generator().manual_seed(0)
    feats, reference = torch.randn(25, 3, generator=g, dtype=torch.float64), torch.randn(40, 3, generator=g)
    blocks = frechet_distances(feats, reference, 8)
    assert blocks.shape == (3,) and blocks.dtype == torch.float64  # the last 1 row is dropped
    for k in range(3):
        assert blocks[k].item() == pytest.approx(frechet_distance(feats[8 * k: 8 * k + 8], reference), rel=1e-12)
    with pytest.raises(ValueError, match="at least size=30 rows"):
        frechet_distances(feats, reference, 30)
    with pytest.raises(ValueError, match="size to be an int >= 2, got 1"):
        frechet_distances(feats, reference, 1)
    with pytest.raises(ValueError, match="same dimension, got 3 and 2"):
        frechet_distances(feats, reference[:, :2], 8)


def test_novelty_scores_tell_copies_from_new_images():
    from companion.metrics import novelty_scores

    g = torch.Generator().manual_seed(0)
    train, unseen = torch.rand(200, 1, 4, 4, generator=g), torch.rand(100, 1, 4, 4, generator=g)
    copies = novelty_scores(train[:50], train, unseen)
    assert copies["median_samples"] == 0.0 and copies["median_ratio"] == 0.0 and copies["close_share"] == 1.0
    fresh = novelty_scores(torch.rand(400, 1, 4, 4, generator=g), train, unseen)
    assert 0.8 < fresh["median_ratio"] < 1.25 and fresh["close_share"] < 0.15  # same distribution: like unseen
    with pytest.raises(ValueError, match=r"quantile to be a float in \(0, 1\), got 5"):
        novelty_scores(train, train, unseen, quantile=5)
