"""The GAN: the optimal discriminator (eq. 1.3.4b of notebook 03), the corrected networks and their training."""

import pytest
import torch

from companion.gan import optimal_discriminator
from tests.helpers import assert_matches_torch


def test_optimal_discriminator_is_the_density_ratio_and_maximises_the_value():
    p_data = torch.tensor([0.5, 0.2, 0.0, 3.0], dtype=torch.float64)
    p_model = torch.tensor([0.5, 0.6, 1.0, 1.0], dtype=torch.float64)
    d = optimal_discriminator(p_data, p_model)
    torch.testing.assert_close(d, torch.tensor([0.5, 0.25, 0.0, 0.75], dtype=torch.float64), rtol=0, atol=1e-15)
    # Pointwise, D* maximises p_data log D + p_model log(1 - D): no grid value does better.
    grid = torch.linspace(1e-6, 1 - 1e-6, 10001, dtype=torch.float64)[:, None]
    value = p_data * torch.log(grid) + p_model * torch.log1p(-grid)
    best = grid[value.argmax(0), 0]
    torch.testing.assert_close(best, d, rtol=0, atol=2e-4)


def test_optimal_discriminator_is_one_half_where_both_densities_vanish():
    zero = torch.zeros(2, 3)
    d = optimal_discriminator(zero, zero)
    assert torch.equal(d, torch.full((2, 3), 0.5))
    assert d.dtype == torch.float32


def test_optimal_discriminator_keeps_dtype_and_shape():
    p = torch.rand(4, 5, dtype=torch.float64)
    q = torch.rand(4, 5, dtype=torch.float64)
    d = optimal_discriminator(p, q)
    assert d.shape == (4, 5) and d.dtype == torch.float64
    assert torch.all((d >= 0) & (d <= 1))


@pytest.mark.parametrize(
    "p, q, error, message",
    [
        (torch.ones(3), torch.ones(4), ValueError, r"same shape, got \(3,\) and \(4,\)"),
        (torch.tensor([-0.1, 1.0]), torch.ones(2), ValueError, "p_data >= 0"),
        (torch.ones(2), torch.tensor([1.0, float("nan")]), ValueError, "p_model to be finite"),
        ([0.5], torch.ones(1), TypeError, r"p_data to be a torch.Tensor, got \[0.5\] \(list\)"),
        (torch.ones(2, dtype=torch.int64), torch.ones(2), TypeError, "torch.float32 or torch.float64, got torch.int64"),
        (torch.ones(2), torch.ones(2, dtype=torch.float64), TypeError, "p_model of dtype torch.float32 .* like p_data"),
    ],
)
def test_optimal_discriminator_rejects_bad_input(p, q, error, message):
    with pytest.raises(error, match=message):
        optimal_discriminator(p, q)


# --- the corrected networks and their training ------------------------------------------------

from companion.data import load_digits  # noqa: E402
from companion.gan import (  # noqa: E402
    GAN,
    Discriminator,
    GANConfig,
    Generator,
    discriminator_loss,
    generator_loss,
    train_gan,
    upsampling_plan,
)


@pytest.mark.parametrize("size, plan", [(28, (7, 2)), (16, (4, 2)), (8, (4, 1)), (7, (7, 0)), (64, (4, 4))])
def test_upsampling_plan(size, plan):
    assert upsampling_plan(size) == plan


@pytest.mark.parametrize("channels, size", [(3, 28), (1, 8), (3, 16), (1, 7)])
def test_generator_and_discriminator_shapes(channels, size):
    G, D = Generator(channels, size, latent_dim=10, width=8), Discriminator(channels, size, width=8)
    x = G(torch.randn(5, 10))
    assert x.shape == (5, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (5,)  # one logit per image, not the listing's 29×29 map


def test_generator_is_not_linear_in_z():
    # The listing's generator (three ConvTranspose2d, nothing between) is linear before its tanh;
    # the corrected one must not be.
    torch.manual_seed(0)
    G = Generator(1, 8, latent_dim=6, width=8).double().eval()
    pre = lambda z: torch.atanh(G(z).clamp(-1 + 1e-12, 1 - 1e-12))  # noqa: E731
    z1, z2 = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, 6, dtype=torch.float64)
    assert (pre(z1 + z2) - pre(z1) - pre(z2)).abs().max() > 1e-2


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_losses_are_the_binary_cross_entropies_of_the_value_function(dtype):
    """The three losses of eq. (1.3.4a) as formulas in D = sigmoid(logit), value and gradient; shared by
    the DCGAN and the toy GAN."""
    def D(logits):
        return torch.sigmoid(logits)

    grid = [[(13,), (7,)], [(1,), (1,)], [(32,), (32,)]]
    draw = lambda shape, g: 4 * torch.randn(shape, generator=g, dtype=torch.float64)  # noqa: E731
    assert_matches_torch(discriminator_loss, lambda r, f: -(torch.log(D(r)).mean() + torch.log(1 - D(f)).mean()),
                         grid, dtype=dtype, make=draw)
    assert_matches_torch(lambda f: generator_loss(f, "non-saturating"), lambda f: -torch.log(D(f)).mean(),
                         [shapes[1:] for shapes in grid], dtype=dtype, make=draw)
    assert_matches_torch(lambda f: generator_loss(f, "saturating"), lambda f: torch.log(1 - D(f)).mean(),
                         [shapes[1:] for shapes in grid], dtype=dtype, make=draw)
    # On logits the losses stay finite where sigmoid-then-log overflows.
    extreme = torch.tensor([-200.0, 200.0], dtype=dtype)
    assert torch.isinf(torch.log(1 - torch.sigmoid(extreme))).any()
    assert torch.isfinite(discriminator_loss(extreme, extreme))
    assert torch.isfinite(generator_loss(extreme, "saturating"))


def test_unknown_generator_loss_is_rejected():
    with pytest.raises(ValueError, match="non-saturating.*'minimax'"):
        generator_loss(torch.zeros(3), "minimax")


@pytest.mark.parametrize("bad, message", [(torch.randn(2, 3, 28, 28), r"expected x of shape \(N, 1, 8, 8\)"),
                                          (torch.randn(1, 8, 8), r"got \(1, 8, 8\)")])
def test_discriminator_rejects_wrong_shapes(bad, message):
    with pytest.raises(ValueError, match=message):
        Discriminator(1, 8)(bad)


def test_generator_rejects_wrong_latent_shape():
    with pytest.raises(ValueError, match=r"expected z of shape \(N, 100\), got \(2, 100, 1, 1\)"):
        Generator(3, 28)(torch.randn(2, 100, 1, 1))


def _tiny_run(seed):
    images, _ = load_digits("train")
    config = GANConfig(epochs=2, batch_size=32, latent_dim=8, width=8, snapshot_epochs=(2,))
    return train_gan(images[:64], config, generator=torch.Generator().manual_seed(seed), progress=False)


def test_train_gan_smoke_history_samples_and_determinism():
    gan, history = _tiny_run(0)
    gan2, history2 = _tiny_run(0)
    assert isinstance(gan, GAN) and not gan.training
    assert all(len(history[key]) == 2 for key in ("d_loss", "g_loss", "d_real", "d_fake"))
    assert history["snapshot_epochs"] == [2] and history["snapshots"][0].shape == (16, 1, 8, 8)
    samples = gan.sample(5, torch.Generator().manual_seed(1))
    assert samples.shape == (5, 1, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    assert {k: v for k, v in history.items() if k != "snapshots"} == \
        {k: v for k, v in history2.items() if k != "snapshots"}
    assert torch.equal(samples, gan2.sample(5, torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("bad", [dict(ema_decay=1.0), dict(epochs=0), dict(lr=0.0),
                                 dict(snapshot_epochs=(GANConfig().epochs + 1,))])
def test_gan_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="expected"):
        GANConfig(**bad)


def test_gan_holds_G_and_D_under_the_letters_of_the_formulas():
    G, D = Generator(1, 8, latent_dim=4, width=4), Discriminator(1, 8, width=4)
    gan = GAN(G, D)
    assert gan.G is G and gan.D is D and not hasattr(gan, "generator")
    with pytest.raises(TypeError, match="expected G to be a companion.gan.Generator"):
        GAN(D, G)


def test_without_averaging_the_returned_generator_is_the_trained_one():
    images, _ = load_digits("train")
    gan, _ = train_gan(images[:32], GANConfig(epochs=1, batch_size=32, latent_dim=4, width=4, ema_decay=0.0),
                       generator=torch.Generator().manual_seed(0), progress=False)
    averaged, _ = train_gan(images[:32], GANConfig(epochs=1, batch_size=32, latent_dim=4, width=4),
                            generator=torch.Generator().manual_seed(0), progress=False)
    first = next(gan.G.parameters())
    assert not torch.equal(first, next(averaged.G.parameters()))


def test_train_gan_rejects_bad_images():
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        train_gan(torch.rand(8, 1, 8, 8) * 2 - 1, GANConfig(epochs=1), progress=False)
    with pytest.raises(ValueError, match=r"\(N, C, S, S\), got \(8, 8, 8\)"):
        train_gan(torch.rand(8, 8, 8), GANConfig(epochs=1), progress=False)
    with pytest.raises(ValueError, match="images to be finite"):
        train_gan(torch.full((8, 1, 8, 8), float("nan")), GANConfig(epochs=1), progress=False)


def test_diverging_gan_stops_with_a_clear_error():
    images, _ = load_digits("train")
    with pytest.raises(FloatingPointError, match="loss became (nan|inf).* at step"):
        train_gan(images[:64], GANConfig(epochs=3, batch_size=32, latent_dim=4, width=4, lr=1e30),
                  generator=torch.Generator().manual_seed(0), progress=False)


# --- the recipe's parts: spectral norm, BatchNorm recalibration, the config's checks ------------

from companion.gan import recalibrate_batchnorm  # noqa: E402


def test_spectral_norm_makes_each_convolution_of_D_1_lipschitz():
    torch.manual_seed(0)
    D = Discriminator(1, 8, width=8, min_side=2, spectral_norm=True)
    for _ in range(30):  # each forward pass in train mode runs one more power iteration
        D(torch.rand(4, 1, 8, 8))
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 3
    for conv in convs:
        top = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)  # the normalised weight
        assert abs(top.item() - 1.0) < 1e-3
    plain = Discriminator(1, 8, width=8, min_side=2)
    assert not any(hasattr(m, "parametrizations") for m in plain.modules())


def test_recalibrated_statistics_are_the_average_over_fresh_batches():
    torch.manual_seed(0)
    G = Generator(1, 8, latent_dim=6, width=8, min_side=2).double()
    bn = next(m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d))
    seen = []
    hook = bn.register_forward_pre_hook(lambda module, inputs: seen.append(inputs[0].detach()))
    recalibrate_batchnorm(G, torch.Generator().manual_seed(5), batches=3, batch_size=10)
    hook.remove()
    means = torch.stack([x.mean(dim=(0, 2, 3)) for x in seen])  # (3, channels)
    variances = torch.stack([x.var(dim=(0, 2, 3), unbiased=True) for x in seen])
    torch.testing.assert_close(bn.running_mean, means.mean(0), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(bn.running_var, variances.mean(0), rtol=1e-10, atol=1e-12)
    assert bn.momentum == 0.1 and not G.training


def test_the_recipe_fields_change_the_trained_gan():
    images, _ = load_digits("train")
    config = GANConfig(epochs=1, batch_size=32, latent_dim=4, width=4)
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(2))
    runs = {}
    for name, changes in [("recipe", {}), ("no spectral norm", dict(spectral_norm=False)),
                          ("no recalibration", dict(recalibrate_batchnorm=False))]:
        gan, _ = train_gan(images[:64], GANConfig(**{**config.__dict__, **changes}),
                           generator=torch.Generator().manual_seed(0), progress=False)
        runs[name] = gan.decode(z)
    assert not torch.equal(runs["recipe"], runs["no spectral norm"])
    assert not torch.equal(runs["recipe"], runs["no recalibration"])


@pytest.mark.parametrize("bad, error", [(dict(betas=(0.5,)), TypeError), (dict(betas=(0.9, 1.0)), ValueError),
                                        (dict(spectral_norm=1), TypeError),
                                        (dict(recalibrate_batchnorm="yes"), TypeError)])
def test_gan_config_rejects_bad_recipe_fields(bad, error):
    with pytest.raises(error, match="expected"):
        GANConfig(**bad)


def test_the_committed_ablation_ends_with_todays_recipe():
    """benchmarks/results/gan_ablation.json is what the chapter shows: its last row must be GANConfig()."""
    import dataclasses
    import json
    from pathlib import Path

    from benchmarks.gan_ablation import configs

    assert configs()[-1][1] == GANConfig()
    result = json.loads((Path(__file__).parent.parent / "benchmarks/results/gan_ablation.json").read_text("utf-8"))
    recipe = {k: v for k, v in dataclasses.asdict(GANConfig()).items() if k != "snapshot_epochs"}
    assert result["rows"][-1]["config"] == json.loads(json.dumps(recipe))  # tuples become lists in JSON
    assert [row["change"] for row in result["rows"]] == [what for what, _ in configs()]
