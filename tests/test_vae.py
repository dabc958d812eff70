"""The VAE: the closed-form KL, the reparameterisation trick, the model's shapes and -ELBO, training."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from companion.vae import VAE, VAEConfig, gaussian_kl, reparameterize, train_vae


def _latents(dtype=torch.float64, N=5, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, d, generator=g, dtype=dtype), torch.randn(N, d, generator=g, dtype=dtype)


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_gaussian_kl_value_and_gradient_match_torch_distributions(dtype, tol):
    mu, logvar = _latents(dtype)
    mu.requires_grad_(True), logvar.requires_grad_(True)
    ours = gaussian_kl(mu, logvar)
    assert ours.shape == (5,) and ours.dtype == dtype
    q = Normal(mu, torch.exp(0.5 * logvar))
    theirs = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(dim=1)
    torch.testing.assert_close(ours, theirs, rtol=tol, atol=tol)
    g_ours = torch.autograd.grad(ours.sum(), (mu, logvar))
    g_theirs = torch.autograd.grad(theirs.sum(), (mu, logvar))
    for a, b in zip(g_ours, g_theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def test_gaussian_kl_is_zero_at_the_prior_and_positive_elsewhere():
    zeros = torch.zeros(2, 4, dtype=torch.float64)
    assert torch.equal(gaussian_kl(zeros, zeros), torch.zeros(2, dtype=torch.float64))
    mu, logvar = _latents()
    assert torch.all(gaussian_kl(mu, logvar) > 0)


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


def test_mismatched_or_wrong_latents_are_rejected():
    mu, logvar = _latents()
    with pytest.raises(ValueError, match=r"mu \(5, 3\) and logvar \(5, 2\)"):
        gaussian_kl(mu, logvar[:, :2])
    with pytest.raises(ValueError, match=r"mu \(5, 3\) and logvar \(4, 3\)"):
        reparameterize(mu, logvar[:4])
    with pytest.raises(ValueError, match=r"\(N, latent_dim\), got \(3,\)"):
        gaussian_kl(mu[0], logvar[0])
    with pytest.raises(TypeError, match="mu to be a torch.Tensor, got list"):
        gaussian_kl([[0.0]], logvar)
    with pytest.raises(TypeError, match="floating-point"):
        reparameterize(torch.zeros(2, 3, dtype=torch.int64), torch.zeros(2, 3))
    with pytest.raises(TypeError, match="generator"):
        reparameterize(mu, logvar, generator=0)


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


def test_train_vae_float64_keeps_dtype():
    vae, history = train_vae(
        _tiny_images(16).double(), VAEConfig(hidden=8, epochs=1, batch_size=8), progress=False,
        generator=torch.Generator().manual_seed(0),
    )
    assert vae.decoder[0].weight.dtype == torch.float64 and math.isfinite(history["neg_elbo"][0])


def test_train_vae_stops_on_a_diverging_loss():
    with pytest.raises(FloatingPointError, match="VAE loss became (nan|inf) at step"):
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
