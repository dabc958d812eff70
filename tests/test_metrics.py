"""Classifier scores, Fréchet distance (1.4.2b) against closed forms, label entropy (1.4.2c), mode coverage
and nearest-neighbour (memorisation) distances."""

import math

import pytest
import torch
from torch import nn

from companion.backprop import MLP
from companion.metrics import (
    accuracy,
    covered_modes,
    evaluate,
    frechet_distance,
    gaussian_frechet_distance,
    label_entropy,
    logits,
    max_entropy,
    nearest_neighbour_distances,
    predict,
    predict_proba,
)
from companion.toygan import ring_centers


def _linear_model(dtype=torch.float64):
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).to(dtype)


def _images(n=4, dtype=torch.float64, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_accuracy_and_predictions_of_a_module_in_chunks():
    model, x = _linear_model(), _images(20)
    predicted = model(x).argmax(1)
    assert torch.equal(predict(model, x, batch_size=3), predicted)
    assert accuracy(model, x, predicted) == 1.0
    assert accuracy(model, x, (predicted + 1) % 10, batch_size=7) == 0.0
    assert accuracy(nn.Flatten(), x, x.flatten(1).argmax(1)) == 1.0  # a model without parameters
    probs = predict_proba(model, x)
    torch.testing.assert_close(probs.sum(1), torch.ones(20, dtype=torch.float64))
    torch.testing.assert_close(logits(model, x, batch_size=6), model(x).detach())


def test_the_module_gets_its_training_mode_back_even_after_an_error():
    class Fails(nn.Module):
        def forward(self, x):
            assert not self.training
            raise RuntimeError("inside the model")

    model = Fails().train()
    with pytest.raises(RuntimeError, match="inside the model"):
        predict(model, _images())
    assert model.training


def test_accuracy_of_the_hand_made_mlp_and_of_a_function_returning_classes():
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    mlp = MLP((2, 3, 2), seed=0)
    assert accuracy(mlp, x, mlp.forward(x).argmax(1)) == 1.0
    assert accuracy(lambda batch: (batch.sum(1) == 1).long(), x, torch.tensor([0, 1, 1, 0])) == 1.0


def test_evaluate_is_mean_cross_entropy_and_accuracy():
    model, x = _linear_model(), _images(9)
    y = torch.arange(9)
    scores = evaluate(model, x, y, batch_size=4)
    assert scores["loss"] == pytest.approx(nn.functional.cross_entropy(model(x), y).item(), rel=1e-12)
    assert scores["accuracy"] == (model(x).argmax(1) == y).double().mean().item()


def test_classifier_scores_say_what_was_expected():
    model, x = _linear_model(), _images(3)
    with pytest.raises(ValueError, match=r"labels of shape \(3,\), one per example, got \(2,\)"):
        accuracy(model, x, torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="labels of dtype torch.int64, got torch.float32"):
        accuracy(model, x, torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="inputs to be finite"):
        predict(model, torch.full((2, 1, 8, 8), float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="at least one entry"):
        accuracy(model, x[:0], torch.zeros(0, dtype=torch.int64))
    with pytest.raises(TypeError, match="model to be a torch.nn.Module or a function"):
        predict("cnn", x)
    with pytest.raises(ValueError, match=r"labels in \[0, 10\)"):
        evaluate(model, x, torch.tensor([0, 1, 10]))


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
    [(torch.rand(3, 4), "sum to 1"), (torch.rand(3), r"\(N, K\)"), (torch.tensor([-1, 2]), ">= 0"),
     (torch.tensor([]), "at least one")],
)
def test_label_entropy_rejects_bad_input(x, message):
    with pytest.raises(ValueError, match=message):
        label_entropy(x)


def test_covered_modes_counts_modes_and_high_quality_share():
    centers = ring_centers()
    samples = torch.cat([centers[:3].repeat(10, 1), torch.zeros(10, 2)])  # 30 on 3 modes, 10 at the origin
    coverage = covered_modes(samples, centers)
    assert coverage.modes == 3
    assert coverage.fraction_high_quality == pytest.approx(0.75)
    assert coverage.counts == (10, 10, 10, 0, 0, 0, 0, 0)
    assert covered_modes(samples, centers, min_count=11).modes == 0
    assert covered_modes(samples.double(), centers).modes == 3


@pytest.mark.parametrize("samples, centers, match", [(torch.zeros(5, 3), ring_centers(), "samples of shape"),
                                                     (torch.zeros(5, 2), torch.zeros(0, 2), "centers with at least"),
                                                     (torch.zeros(0, 2), ring_centers(), "samples with at least")])
def test_covered_modes_rejects_bad_shapes(samples, centers, match):
    with pytest.raises(ValueError, match=match):
        covered_modes(samples, centers)


def test_nearest_neighbour_distances_against_brute_force():
    refs, queries = _images(30, seed=1), _images(7, seed=2)
    distances, index = nearest_neighbour_distances(queries, refs, batch_size=3)
    brute = ((queries.reshape(7, 1, 64) - refs.reshape(1, 30, 64)) ** 2).sum(-1).sqrt()  # (7, 30)
    assert torch.allclose(distances, brute.min(1).values, atol=1e-12)
    assert torch.equal(index, brute.argmin(1))
    d_self, i_self = nearest_neighbour_distances(refs[5:9], refs)  # a copied sample sits at distance 0
    assert torch.equal(d_self, torch.zeros(4, dtype=torch.float64)) and i_self.tolist() == [5, 6, 7, 8]
    with pytest.raises(ValueError, match="same per-item shape"):
        nearest_neighbour_distances(queries, refs[:, :, :4])


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
