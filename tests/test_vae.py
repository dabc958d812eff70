"""The VAE: the closed-form KL, the reparameterisation trick, the model's shapes and -ELBO, training."""

import math

import pytest
import torch
import torch.nn.functional as F

from companion.vae import VAE, VAEConfig, gaussian_kl, independent_pixels_nll, reparameterize, train_vae


def _latents(dtype=torch.float64, N=5, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, d, generator=g, dtype=dtype), torch.randn(N, d, generator=g, dtype=dtype)


def test_reparameterize_is_repeatable_and_has_the_pathwise_gradient():
    mu, logvar = _latents()
    mu.requires_grad_(True), logvar.requires_grad_(True)
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(3))
    again = reparameterize(mu, logvar, torch.Generator().manual_seed(3))
    assert torch.equal(z, again) and z.dtype == torch.float64
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(z, mu + torch.exp(0.5 * logvar) * eps, rtol=0, atol=1e-15)
    d_mu, d_logvar = torch.autograd.grad(z.sum(), (mu, logvar))
    torch.testing.assert_close(d_mu, torch.ones_like(mu))  # dz/dmu = 1
    torch.testing.assert_close(d_logvar, 0.5 * torch.exp(0.5 * logvar) * eps)  # dz/dlogvar = sigma eps / 2


@pytest.mark.parametrize("function", [gaussian_kl, reparameterize])
def test_mismatched_or_wrong_latents_are_rejected(function):
    mu, logvar = _latents()
    with pytest.raises(ValueError, match=r"same shape .* got mu \(5, 3\) and logvar \(5, 2\)"):
        function(mu, logvar[:, :2])
    with pytest.raises(ValueError, match=r"mu \(5, 3\) and logvar \(4, 3\)"):
        function(mu, logvar[:4])
    with pytest.raises(ValueError, match=r"mu of shape \(N, latent_dim\), got \(3,\)"):
        function(mu[0], logvar[0])
    with pytest.raises(TypeError, match=r"mu to be a torch.Tensor, got \[\[0.0\]\] \(list\)"):
        function([[0.0]], logvar)
    with pytest.raises(TypeError, match="torch.float32 or torch.float64, got torch.int64"):
        function(torch.zeros(2, 3, dtype=torch.int64), torch.zeros(2, 3))
    with pytest.raises(TypeError, match="logvar of dtype torch.float64 on cpu like mu"):
        function(mu, logvar.float())


def test_reparameterize_rejects_a_generator_that_is_not_one():
    with pytest.raises(TypeError, match="generator"):
        reparameterize(*_latents(), generator=0)


@pytest.mark.parametrize("latent_dim", [2, 8])
def test_vae_shapes_ranges_and_dtypes(latent_dim):
    torch.manual_seed(0)
    vae = VAE(latent_dim=latent_dim, hidden=16)
    x = torch.rand(6, 1, 8, 8)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (6, latent_dim)
    probs = vae.decode(mu)
    assert probs.shape == (6, 1, 8, 8) and 0 <= probs.min() and probs.max() <= 1
    torch.testing.assert_close(probs, torch.sigmoid(vae.decode_logits(mu)))
    samples = vae.sample(4, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (4, 1, 8, 8) and 0 <= samples.min() and samples.max() <= 1
    assert torch.equal(samples, vae.sample(4, generator=torch.Generator().manual_seed(0)))
    vae64 = vae.double()
    assert vae64.negative_elbo(x.double()).dtype == torch.float64


def test_negative_elbo_is_bernoulli_cross_entropy_plus_kl():
    torch.manual_seed(0)
    vae = VAE(latent_dim=3, hidden=16).double()
    x = torch.rand(5, 1, 8, 8, dtype=torch.float64)
    nelbo = vae.negative_elbo(x, generator=torch.Generator().manual_seed(7))
    mu, logvar = vae.encode(x)
    eps = torch.randn(5, 3, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    p = vae.decode(mu + torch.exp(0.5 * logvar) * eps).flatten(1)
    t = x.flatten(1)
    by_hand = -(t * p.log() + (1 - t) * (1 - p).log()).sum(dim=1) + gaussian_kl(mu, logvar)
    assert nelbo.shape == (5,)
    torch.testing.assert_close(nelbo, by_hand, rtol=1e-10, atol=1e-10)
    # More samples average single-sample estimates; one sample is the same estimate as above.
    several = vae.negative_elbo(x, n_samples=4, generator=torch.Generator().manual_seed(7))
    assert several.shape == (5,) and torch.isfinite(several).all()


def test_bad_images_and_latents_are_rejected():
    vae = VAE(latent_dim=2, hidden=8)
    with pytest.raises(ValueError, match=r"expected images of shape \(N, 1, 8, 8\), got \(3, 8, 8\)"):
        vae.encode(torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match=r"expected z of shape \(N, 2\), got \(4, 3\)"):
        vae.decode(torch.zeros(4, 3))
    with pytest.raises(TypeError, match="images"):
        vae.negative_elbo(torch.rand(2, 64).numpy())
    with pytest.raises(ValueError, match="latent_dim"):
        VAE(latent_dim=0)
    with pytest.raises(ValueError, match="n to be a positive int"):
        vae.sample(0)
    with pytest.raises(ValueError, match=r"images in \[0, 1\]"):
        vae.negative_elbo(torch.full((2, 1, 8, 8), 2.0))


def _tiny_images(n=40):
    g = torch.Generator().manual_seed(0)
    return (torch.rand(n, 1, 8, 8, generator=g) > 0.6).float()


def test_train_vae_smoke_deterministic_and_starts_at_the_mean_image():
    images = _tiny_images()
    config = VAEConfig(latent_dim=2, hidden=16, epochs=3, batch_size=16)
    vae, history = train_vae(images, config, generator=torch.Generator().manual_seed(0), progress=False)
    again, history_again = train_vae(images, config, generator=torch.Generator().manual_seed(0), progress=False)
    assert set(history) == {"loss", "neg_elbo", "recon", "kl"} and len(history["loss"]) == 3
    assert history == history_again
    for a, b in zip(vae.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    assert not vae.training and vae.latent_dim == 2
    # The decoder's bias starts at the logit of the mean image: one epoch is close to the no-latent CE.
    p = images.mean(0, keepdim=True).clamp(1e-3, 1 - 1e-3)
    no_latent = F.binary_cross_entropy(p.expand_as(images), images, reduction="none").flatten(1).sum(1).mean()
    assert abs(history["recon"][0] - no_latent.item()) < 0.25 * no_latent.item()
    other, _ = train_vae(images, config, generator=torch.Generator().manual_seed(1), progress=False)
    assert not torch.equal(other.decoder[0].weight, vae.decoder[0].weight)


def test_independent_pixels_is_the_bernoulli_cross_entropy_of_the_mean_image():
    train, test = _tiny_images(30), _tiny_images(12)
    p = train.mean(0).clamp(1e-3, 1 - 1e-3)
    by_hand = -(test * p.log() + (1 - test) * (1 - p).log()).flatten(1).sum(1)
    nll = independent_pixels_nll(train, test)
    assert nll.shape == (12,)
    torch.testing.assert_close(nll, by_hand, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"like train_images"):
        independent_pixels_nll(train, test[:, :, :4])


def test_without_kl_the_codes_spread_and_without_sampling_it_is_a_plain_autoencoder():
    images = _tiny_images()
    base = VAEConfig(latent_dim=2, hidden=16, epochs=4, batch_size=16)
    runs = {name: train_vae(images, VAEConfig(**{**base.__dict__, **changes}), progress=False,
                            generator=torch.Generator().manual_seed(0))
            for name, changes in {"elbo": {}, "no kl": {"kl_weight": 0.0},
                                  "autoencoder": {"kl_weight": 0.0, "sample_z": False}}.items()}
    assert runs["no kl"][1]["kl"][-1] > runs["elbo"][1]["kl"][-1]  # nothing holds the codes near N(0, I)
    # No sampling, no KL: the log-variance half of the encoder never gets a gradient, so it keeps its start.
    untouched = runs["autoencoder"][0].encoder[-1].weight[2:]
    with torch.random.fork_rng():
        fresh = train_vae(images, VAEConfig(**{**base.__dict__, "epochs": 1, "kl_weight": 0.0, "sample_z": False}),
                          progress=False, generator=torch.Generator().manual_seed(0))[0]
    assert torch.equal(untouched, fresh.encoder[-1].weight[2:])
    with pytest.raises(TypeError, match="sample_z to be True or False"):
        VAEConfig(sample_z=1)


def test_train_vae_float64_keeps_dtype():
    vae, history = train_vae(
        _tiny_images(16).double(), VAEConfig(hidden=8, epochs=1, batch_size=8), progress=False,
        generator=torch.Generator().manual_seed(0),
    )
    assert vae.decoder[0].weight.dtype == torch.float64 and math.isfinite(history["neg_elbo"][0])


def test_train_vae_stops_on_a_diverging_loss():
    with pytest.raises(FloatingPointError, match="loss became (nan|inf) at step"):
        train_vae(_tiny_images(), VAEConfig(hidden=8, epochs=20, batch_size=8, lr=1e12, lr_final=1e12),
                  progress=False, generator=torch.Generator().manual_seed(0))


def test_train_vae_rejects_bad_input():
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\), got \(40, 64\)"):
        train_vae(_tiny_images().flatten(1), progress=False)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        train_vae(_tiny_images() * 2, progress=False)
    with pytest.raises(TypeError, match="VAEConfig"):
        train_vae(_tiny_images(), {"epochs": 1}, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        VAEConfig(epochs=0)
    with pytest.raises(TypeError, match="VAEConfig"):
        train_vae(_tiny_images(), VAEConfig, progress=False)
