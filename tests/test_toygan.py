"""The 2-D toy GAN: its data, its two losses (1.2.3), the training loop's mechanics, mode counting."""

import math

import pytest
import torch

from companion.toygan import (
    ToyDiscriminator,
    ToyGANConfig,
    ToyGenerator,
    covered_modes,
    discriminator_grid,
    discriminator_loss,
    generator_loss,
    ring_centers,
    ring_of_gaussians,
    train_toy_gan,
)


def ring_sampler(n, generator):
    return ring_of_gaussians(n, generator=generator)


def test_ring_centers_lie_on_the_circle_equally_spaced():
    centers = ring_centers(8, radius=2.0, dtype=torch.float64)
    assert centers.shape == (8, 2)
    torch.testing.assert_close(centers.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    gaps = (centers - centers.roll(1, dims=0)).norm(dim=1)  # neighbours: chord 2 r sin(pi / 8)
    torch.testing.assert_close(gaps, torch.full((8,), 4 * math.sin(math.pi / 8), dtype=torch.float64))
    torch.testing.assert_close(centers[0], torch.tensor([2.0, 0.0], dtype=torch.float64))


def test_ring_of_gaussians_shape_spread_balance_and_determinism():
    x = ring_of_gaussians(4000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4000, 2) and x.dtype == torch.float32
    nearest = torch.cdist(x, ring_centers()).min(dim=1)
    # Each coordinate has std 0.05 around its centre.
    offsets = x - ring_centers()[nearest.indices]
    assert abs(offsets.std().item() - 0.05) < 0.003
    counts = torch.bincount(nearest.indices, minlength=8)
    assert counts.min() > 400 and counts.max() < 600  # 500 expected per mode
    again = ring_of_gaussians(4000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, again)


@pytest.mark.parametrize("kwargs, match", [({"n": 0}, "n to be a positive int"),
                                           ({"n": 5, "modes": 0}, "modes to be a positive int"),
                                           ({"n": 5, "std": -1.0}, "std >= 0"),
                                           ({"n": 5, "radius": 0.0}, "radius > 0")])
def test_ring_of_gaussians_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ring_of_gaussians(**kwargs)


def test_losses_equal_their_formulas_in_float64():
    logits = torch.linspace(-6, 6, 13, dtype=torch.float64)
    D = torch.sigmoid(logits)
    torch.testing.assert_close(generator_loss(logits, "non-saturating"), (-torch.log(D)).mean())
    torch.testing.assert_close(generator_loss(logits, "saturating"), torch.log(1 - D).mean())
    real, fake = logits, logits.flip(0)
    expected = (-torch.log(torch.sigmoid(real))).mean() + (-torch.log(1 - torch.sigmoid(fake))).mean()
    torch.testing.assert_close(discriminator_loss(real, fake), expected)
    assert generator_loss(logits).dtype == torch.float64


def test_logit_losses_stay_finite_where_sigmoid_then_log_overflows():
    logits = torch.tensor([-200.0, 200.0])
    assert torch.isinf(torch.log(1 - torch.sigmoid(logits))).any()  # the naive form breaks
    assert torch.isfinite(discriminator_loss(logits, logits))
    assert torch.isfinite(generator_loss(logits, "saturating"))


def test_saturating_loss_gives_the_generator_almost_no_gradient_when_D_wins():
    # Early in training D(G(z)) ~ 0: d/dl log(1 - sigmoid(l)) = -sigmoid(l) vanishes, d/dl -log sigmoid(l) does not.
    logit = torch.tensor([-8.0], dtype=torch.float64, requires_grad=True)
    (saturating,) = torch.autograd.grad(generator_loss(logit, "saturating"), logit)
    (non_saturating,) = torch.autograd.grad(generator_loss(logit, "non-saturating"), logit)
    assert abs(saturating.item()) < 1e-3 and abs(non_saturating.item()) > 0.99


def test_unknown_loss_is_rejected():
    with pytest.raises(ValueError, match="non-saturating.*'wasserstein'"):
        generator_loss(torch.zeros(3), "wasserstein")
    with pytest.raises(ValueError, match="loss to be one of"):
        ToyGANConfig(loss="minimax")


def test_networks_check_shapes_and_D_returns_one_logit_per_point():
    G, D = ToyGenerator(latent_dim=3), ToyDiscriminator()
    assert G(torch.zeros(5, 3)).shape == (5, 2)
    assert D(torch.zeros(5, 2)).shape == (5,)
    with pytest.raises(ValueError, match=r"z of shape \(N, 3\), got \(5, 2\)"):
        G(torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"x of shape \(N, 2\), got \(5, 3\)"):
        D(torch.zeros(5, 3))


def test_discriminator_grid_puts_x_along_columns_and_y_along_rows():
    class LogitIsX(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return x[:, 0]

    grid = discriminator_grid(LogitIsX(), extent=2.0, resolution=5)
    assert grid.shape == (5, 5)
    torch.testing.assert_close(grid[0], torch.sigmoid(torch.linspace(-2, 2, 5)))
    torch.testing.assert_close(grid[:, 0], torch.full((5,), torch.sigmoid(torch.tensor(-2.0)).item()))


def test_training_is_deterministic_and_snapshots_are_kept():
    def run():
        return train_toy_gan(ring_sampler, steps=10, batch_size=32, snapshot_every=4, snapshot_size=50,
                             grid_resolution=8, generator=torch.Generator().manual_seed(3), progress=False)

    (model_a, hist_a), (model_b, hist_b) = run(), run()
    assert hist_a["d_loss"] == hist_b["d_loss"] and hist_a["g_loss"] == hist_b["g_loss"]
    for pa, pb in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert hist_a["snapshot_steps"] == [0, 4, 8, 10]
    assert [s.shape for s in hist_a["samples"]] == [(50, 2)] * 4
    assert [g.shape for g in hist_a["d_grid"]] == [(8, 8)] * 4
    assert len(hist_a["d_loss"]) == 10 and isinstance(hist_a["config"], ToyGANConfig)
    other, _ = train_toy_gan(ring_sampler, steps=10, batch_size=32, generator=torch.Generator().manual_seed(4),
                             progress=False)
    assert not torch.equal(next(other.parameters()), next(model_a.parameters()))


def test_the_D_step_does_not_reach_G_and_both_players_move():
    # The D step's loss is built on G(z).detach(): backward fills D's gradients only.
    G, D = ToyGenerator(), ToyDiscriminator()
    fake = G(torch.randn(8, 2))
    discriminator_loss(D(torch.randn(8, 2)), D(fake.detach())).backward()
    assert all(p.grad is None for p in G.parameters())
    assert all(p.grad is not None for p in D.parameters())
    # In training, G is initialised first from the generator; three steps later it has moved.
    model, _ = train_toy_gan(ring_sampler, steps=3, batch_size=16, generator=torch.Generator().manual_seed(0),
                             progress=False)
    fresh_G = ToyGenerator(generator=torch.Generator().manual_seed(0))
    assert not torch.equal(model.G.net[0].weight, fresh_G.net[0].weight)
    assert (model.G.net[0].weight - fresh_G.net[0].weight).abs().max() < 0.1  # three small Adam steps


def test_a_short_run_learns_the_ring():
    data = ring_of_gaussians(4096, generator=torch.Generator().manual_seed(1))
    model, history = train_toy_gan(data.double(), steps=300, snapshot_every=300, snapshot_size=1000,
                                   generator=torch.Generator().manual_seed(0), progress=False)
    before, after = history["samples"]
    assert before.norm(dim=1).mean() < 0.5  # the untrained G puts its points near the origin
    assert abs(after.norm(dim=1).mean() - 2.0) < 0.3  # 300 steps later they are on the ring ...
    assert covered_modes(after, ring_centers(), radius=0.3).modes >= 6  # ... around most of its modes
    assert abs(history["d_real"][-1] - 0.5) < 0.2 and abs(history["d_fake"][-1] - 0.5) < 0.2
    samples = model.sample(7, generator=torch.Generator().manual_seed(2))
    assert samples.shape == (7, 2) and samples.dtype == torch.float32


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
                                                     (torch.zeros(5, 2), torch.zeros(0, 2), "centers of shape")])
def test_covered_modes_rejects_bad_shapes(samples, centers, match):
    with pytest.raises(ValueError, match=match):
        covered_modes(samples, centers)


def test_training_checks_its_data_and_arguments():
    with pytest.raises(ValueError, match=r"data of shape \(N, 2\), got \(10, 3\)"):
        train_toy_gan(torch.zeros(10, 3), steps=1, progress=False)
    with pytest.raises(TypeError, match="floating-point"):
        train_toy_gan(torch.zeros(10, 2, dtype=torch.int64), steps=1, progress=False)
    with pytest.raises(TypeError, match="sampler"):
        train_toy_gan([[0.0, 0.0]], steps=1, progress=False)
    with pytest.raises(ValueError, match="steps to be a positive int"):
        train_toy_gan(torch.zeros(10, 2), steps=0, progress=False)
    with pytest.raises(TypeError, match="CPU torch.Generator"):
        train_toy_gan(torch.zeros(10, 2), steps=1, generator=0, progress=False)
    with pytest.raises(ValueError, match=r"sampler to return shape \(8, 2\)"):
        train_toy_gan(lambda n, g: torch.zeros(n, 3), steps=1, batch_size=8, progress=False)


def test_nan_data_raises_a_clear_error():
    with pytest.raises(FloatingPointError, match="non-finite at step 1"):
        train_toy_gan(torch.full((10, 2), float("nan")), steps=3, progress=False)
