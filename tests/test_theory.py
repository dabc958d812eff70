"""Numeric checks of the identities that chapter 3 derives for the GAN (§1.3.4) and the VAE (§1.3.5).

Each test recomputes one equation of the notebook in float64 from an independent route (a numerical
integral, torch.distributions, Monte Carlo) and compares with the companion's function.
"""

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from companion.gan import optimal_discriminator
from companion.vae import gaussian_kl, reparameterize
from tests.helpers import assert_matches_torch

GRID = torch.linspace(-12.0, 12.0, 24_001, dtype=torch.float64)


def normal_pdf(x, mean, std):
    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def value(d, p_data, p_g):
    """V(D, G) of eq. (1.3.4a), integrated on GRID."""
    # Far in a tail D* rounds to exactly 0 or 1 although the density there is ~1e-100; keep log finite.
    d = d.clamp(1e-300, 1 - 2**-53)
    return torch.trapezoid(p_data * torch.log(d) + p_g * torch.log1p(-d), GRID).item()


def jsd(p, q):
    m = 0.5 * (p + q)
    kl_pm = torch.trapezoid(p * torch.log(p / m), GRID).item()
    kl_qm = torch.trapezoid(q * torch.log(q / m), GRID).item()
    return 0.5 * kl_pm + 0.5 * kl_qm


@pytest.mark.parametrize("g_mean, g_std", [(0.5, 1.5), (-3.0, 0.5), (2.0, 0.6)])
def test_value_at_the_optimal_discriminator_is_minus_log_4_plus_twice_the_jsd(g_mean, g_std):
    p_data = 0.5 * normal_pdf(GRID, -2.0, 0.6) + 0.5 * normal_pdf(GRID, 2.0, 0.6)
    p_g = normal_pdf(GRID, g_mean, g_std)
    d_star = optimal_discriminator(p_data, p_g)
    v_star = value(d_star, p_data, p_g)
    divergence = jsd(p_data, p_g)
    assert 0 < divergence < math.log(2)
    assert abs(v_star - (-math.log(4) + 2 * divergence)) < 1e-9  # eq. (1.3.4c)
    # eq. (1.3.4b): D* is the maximiser, so any change of its logit lowers V
    logit = torch.log(d_star) - torch.log1p(-d_star)
    for eps in (-0.5, 0.05, 0.5):
        assert value(torch.sigmoid(logit + eps * torch.exp(-GRID**2)), p_data, p_g) < v_star


def test_value_is_minus_log_4_when_the_generator_matches_the_data():
    p = normal_pdf(GRID, 0.3, 1.2)
    d_star = optimal_discriminator(p, p.clone())
    assert torch.all(d_star == 0.5)
    assert abs(value(d_star, p, p) + math.log(4)) < 1e-9


@pytest.mark.parametrize("q_mean, q_var", [(0.93, 0.18), (-1.0, 1.0), (2.5, 0.05)])
def test_elbo_gap_is_the_kl_to_the_true_posterior(q_mean, q_var):
    """Eq. (1.3.5a) on z ~ N(0, 1), x | z ~ N(w z + b, s^2), whose evidence and posterior are Gaussian."""
    w, b, s, x = 1.5, 0.3, 0.7, 2.0
    log_px = Normal(torch.tensor(b, dtype=torch.float64), math.sqrt(w**2 + s**2)).log_prob(
        torch.tensor(x, dtype=torch.float64)
    )
    post_var = 1.0 / (1.0 + w**2 / s**2)
    posterior = Normal(torch.tensor(post_var * w * (x - b) / s**2, dtype=torch.float64), math.sqrt(post_var))
    mu = torch.tensor([[q_mean]], dtype=torch.float64)
    logvar = torch.tensor([[math.log(q_var)]], dtype=torch.float64)
    expected_loglik = -0.5 * math.log(2 * math.pi * s**2) - ((x - b - w * q_mean) ** 2 + w**2 * q_var) / (2 * s**2)
    elbo = expected_loglik - gaussian_kl(mu, logvar)[0]
    gap = kl_divergence(Normal(mu[0, 0], math.sqrt(q_var)), posterior)
    assert gap >= 0 and elbo <= log_px
    torch.testing.assert_close(log_px - elbo, gap, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gaussian_kl_equals_torch_distributions(dtype):
    """Eq. (1.3.5b), the closed form, against torch.distributions: value and gradient, over a grid of sizes."""
    def reference(mu, logvar):
        return kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(torch.zeros_like(mu), 1.0)).sum(dim=1)

    assert_matches_torch(gaussian_kl, reference, [[(6, 5), (6, 5)], [(1, 1), (1, 1)], [(40, 8), (40, 8)]], dtype=dtype,
                         make=lambda shape, g: 2 * torch.randn(shape, generator=g, dtype=torch.float64))
    zeros = torch.zeros(2, 4, dtype=dtype)
    assert torch.equal(gaussian_kl(zeros, zeros), torch.zeros(2, dtype=dtype))  # q equal to the prior


def test_gaussian_kl_equals_a_monte_carlo_estimate_through_reparameterize():
    g = torch.Generator().manual_seed(1)
    mu = torch.tensor([[0.5, -1.0], [0.0, 0.0]], dtype=torch.float64)
    logvar = torch.tensor([[-0.5, 0.3], [0.0, 0.0]], dtype=torch.float64)
    K = 50_000
    z = reparameterize(mu.repeat(K, 1), logvar.repeat(K, 1), generator=g).view(K, 2, 2)
    q = Normal(mu, torch.exp(0.5 * logvar))
    log_ratio = (q.log_prob(z) - Normal(torch.zeros_like(mu), 1.0).log_prob(z)).sum(dim=2)  # (K, 2)
    estimate, se = log_ratio.mean(dim=0), log_ratio.std(dim=0) / math.sqrt(K)
    exact = gaussian_kl(mu, logvar)
    assert exact[1] == 0.0  # q equal to the prior
    assert torch.all((estimate - exact).abs() <= 4 * se + 1e-12)


def test_reparameterised_gradient_has_far_less_variance_than_the_score_function():
    """For f(z) = ||z||^2, mu = 1, sigma = 1 in d dimensions: variances 4 and 30 + 22(d-1) + 4(d-1)^2."""
    M, d = 20_000, 10
    logvar = torch.zeros(M, d, dtype=torch.float64)
    mu_r = torch.ones(M, d, dtype=torch.float64, requires_grad=True)
    (reparameterize(mu_r, logvar, generator=torch.Generator().manual_seed(0)) ** 2).sum().backward()
    mu_s = torch.ones(M, d, dtype=torch.float64, requires_grad=True)
    z = reparameterize(mu_s, logvar, generator=torch.Generator().manual_seed(0)).detach()
    ((z**2).sum(dim=1) * Normal(mu_s, 1.0).log_prob(z).sum(dim=1)).sum().backward()
    reparam, score = mu_r.grad[:, 0], mu_s.grad[:, 0]
    assert abs(reparam.mean().item() - 2) < 0.06 and abs(score.mean().item() - 2) < 1.0  # both unbiased
    assert abs(reparam.var().item() / 4 - 1) < 0.05
    assert abs(score.var().item() / (30 + 22 * 9 + 4 * 81) - 1) < 0.15
