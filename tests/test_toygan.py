"""The 2-D toy GAN: its data, the training loop's mechanics and its order of random draws.

Its losses are companion.gan's, tested in test_gan.py; mode counting is companion.metrics', in test_metrics.py.
"""

import math

import pytest
import torch

from companion.gan import discriminator_loss, generator_loss
from companion.metrics import covered_modes
from companion.toygan import (
    ToyDiscriminator,
    ToyGAN,
    ToyGANConfig,
    ToyGenerator,
    discriminator_grid,
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
                                           ({"n": 5, "std": -1.0}, "std to be a finite number >= 0"),
                                           ({"n": 5, "radius": 0.0}, "radius to be a finite number > 0")])
def test_ring_of_gaussians_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ring_of_gaussians(**kwargs)


def test_saturating_loss_gives_the_generator_almost_no_gradient_when_D_wins():
    # Early in training D(G(z)) ~ 0: d/dl log(1 - sigmoid(l)) = -sigmoid(l) vanishes, d/dl -log sigmoid(l) does not.
    logit = torch.tensor([-8.0], dtype=torch.float64, requires_grad=True)
    (saturating,) = torch.autograd.grad(generator_loss(logit, "saturating"), logit)
    (non_saturating,) = torch.autograd.grad(generator_loss(logit, "non-saturating"), logit)
    assert abs(saturating.item()) < 1e-3 and abs(non_saturating.item()) > 0.99


def test_unknown_loss_is_rejected():
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
    config = ToyGANConfig(steps=10, batch_size=32, snapshot_every=4, snapshot_size=50, grid_resolution=8)

    def run():
        return train_toy_gan(ring_sampler, config, generator=torch.Generator().manual_seed(3), progress=False)

    (model_a, hist_a), (model_b, hist_b) = run(), run()
    assert hist_a["d_loss"] == hist_b["d_loss"] and hist_a["g_loss"] == hist_b["g_loss"]
    for pa, pb in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert hist_a["snapshot_steps"] == [0, 4, 8, 10]
    assert [s.shape for s in hist_a["samples"]] == [(50, 2)] * 4
    assert [g.shape for g in hist_a["d_grid"]] == [(8, 8)] * 4
    assert len(hist_a["d_loss"]) == 10 and isinstance(hist_a["config"], ToyGANConfig)
    other, _ = train_toy_gan(ring_sampler, ToyGANConfig(steps=10, batch_size=32),
                             generator=torch.Generator().manual_seed(4), progress=False)
    assert not torch.equal(next(other.parameters()), next(model_a.parameters()))


def test_the_D_step_does_not_reach_G_and_both_players_move():
    # The D step's loss is built on G(z).detach(): backward fills D's gradients only.
    G, D = ToyGenerator(), ToyDiscriminator()
    fake = G(torch.randn(8, 2))
    discriminator_loss(D(torch.randn(8, 2)), D(fake.detach())).backward()
    assert all(p.grad is None for p in G.parameters())
    assert all(p.grad is not None for p in D.parameters())
    # In training, G is initialised first from the generator; three steps later it has moved.
    model, _ = train_toy_gan(ring_sampler, ToyGANConfig(steps=3, batch_size=16),
                             generator=torch.Generator().manual_seed(0), progress=False)
    fresh_G = ToyGenerator(generator=torch.Generator().manual_seed(0))
    assert not torch.equal(model.G.net[0].weight, fresh_G.net[0].weight)
    assert (model.G.net[0].weight - fresh_G.net[0].weight).abs().max() < 0.1  # three small Adam steps


def test_a_short_run_learns_the_ring():
    data = ring_of_gaussians(4096, generator=torch.Generator().manual_seed(1))
    model, history = train_toy_gan(data.double(), ToyGANConfig(steps=300, snapshot_every=300, snapshot_size=1000),
                                   generator=torch.Generator().manual_seed(0), progress=False)
    before, after = history["samples"]
    assert before.norm(dim=1).mean() < 0.5  # the untrained G puts its points near the origin
    assert abs(after.norm(dim=1).mean() - 2.0) < 0.3  # 300 steps later they are on the ring ...
    assert covered_modes(after, ring_centers(), radius=0.3).modes >= 6  # ... around most of its modes
    assert abs(history["d_real"][-1] - 0.5) < 0.2 and abs(history["d_fake"][-1] - 0.5) < 0.2
    samples = model.sample(7, generator=torch.Generator().manual_seed(2))
    assert samples.shape == (7, 2) and samples.dtype == torch.float32


def test_training_checks_its_data_and_arguments():
    one_step = ToyGANConfig(steps=1, batch_size=8)
    with pytest.raises(ValueError, match=r"data of shape \(N, 2\), got \(10, 3\)"):
        train_toy_gan(torch.zeros(10, 3), one_step, progress=False)
    with pytest.raises(TypeError, match="torch.float32 or torch.float64, got torch.int64"):
        train_toy_gan(torch.zeros(10, 2, dtype=torch.int64), one_step, progress=False)
    with pytest.raises(TypeError, match="sampler"):
        train_toy_gan([[0.0, 0.0]], one_step, progress=False)
    with pytest.raises(ValueError, match="steps to be a positive int"):
        ToyGANConfig(steps=0)
    with pytest.raises(TypeError, match="ToyGANConfig"):
        train_toy_gan(torch.zeros(10, 2), {"steps": 1}, progress=False)
    with pytest.raises(TypeError, match=r"generator to be a torch.Generator or None, got 0 \(int\)"):
        train_toy_gan(torch.zeros(10, 2), one_step, generator=0, progress=False)
    with pytest.raises(ValueError, match=r"sampler to return float points of shape \(8, 2\)"):
        train_toy_gan(lambda n, g: torch.zeros(n, 3), one_step, progress=False)


def test_nan_data_is_refused():
    with pytest.raises(ValueError, match="data to be finite"):
        train_toy_gan(torch.full((10, 2), float("nan")), ToyGANConfig(steps=3), progress=False)
    with pytest.raises(ValueError, match="the sampler's points to be finite"):
        train_toy_gan(lambda n, g: torch.full((n, 2), float("nan")), ToyGANConfig(steps=3), progress=False)


@pytest.mark.parametrize("snapshot_every", [None, 2])
def test_random_draws_follow_the_documented_order(snapshot_every):
    """G's weights, D's weights, the snapshot latents (only with snapshots), then per step a real batch and z:
    a hand loop that draws in this order (chapter 3's teaching loop does) reproduces the run exactly."""
    config = ToyGANConfig(steps=4, batch_size=16, snapshot_every=snapshot_every, snapshot_size=8)
    _, history = train_toy_gan(ring_sampler, config, generator=torch.Generator().manual_seed(5), progress=False)
    gen = torch.Generator().manual_seed(5)
    G, D = ToyGenerator(generator=gen), ToyDiscriminator(generator=gen)
    if snapshot_every is not None:
        torch.randn(config.snapshot_size, config.latent_dim, generator=gen)
    opt_G = torch.optim.Adam(G.parameters(), lr=config.lr, betas=config.betas)
    opt_D = torch.optim.Adam(D.parameters(), lr=config.lr, betas=config.betas)
    d_losses = []
    for _ in range(config.steps):
        real = ring_of_gaussians(config.batch_size, generator=gen)
        fake = G(torch.randn(config.batch_size, config.latent_dim, generator=gen))
        d_loss = discriminator_loss(D(real), D(fake.detach()))
        opt_D.zero_grad()
        d_loss.backward()
        opt_D.step()
        g_loss = generator_loss(D(fake))
        opt_G.zero_grad()
        g_loss.backward()
        opt_G.step()
        d_losses.append(d_loss.item())
    assert d_losses == history["d_loss"]


def test_toy_gan_holds_G_and_D_and_samples_on_its_device():
    model = ToyGAN(ToyGenerator(latent_dim=3), ToyDiscriminator())
    points = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert points.shape == (5, 2) and model.probability_real(points).shape == (5,)
    with pytest.raises(TypeError, match="expected G to be a companion.toygan.ToyGenerator"):
        ToyGAN(ToyDiscriminator(), ToyGenerator())
