"""The diffusion model: the forward process (D.1)-(D.2), the posterior (D.3), the reverse mean (D.4), the
ELBO weights (D.5), the loss (D.6), ancestral sampling (D.7), the noise predictor and training."""

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from companion.data import load_digits
from companion.diffusion import (
    DiffusionConfig,
    DiffusionModel,
    NoisePredictor,
    NoiseSchedule,
    _log_bin_probability,
    elbo_weights,
    forward_step,
    linear_betas,
    loss_weights,
    model_mean,
    noise_prediction_loss,
    posterior,
    predict_x0,
    q_sample,
    reverse_mean,
    reverse_step,
    train_diffusion,
)

SCHEDULE = NoiseSchedule(linear_betas(50, 1e-3, 0.2))


class ZeroNet(torch.nn.Module):
    """ε_θ = 0: a network whose reverse mean is x_t / √α_t, for checking the formulas around it."""

    image_shape = (1, 2, 2)

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x_t, t):
        return torch.zeros_like(x_t) + 0 * self.dummy


def _x(N=4, shape=(1, 2, 2), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(N, *shape, generator=g, dtype=torch.float64) * 2 - 1, g


def test_schedule_quantities():
    betas = linear_betas(4, 0.1, 0.4)
    torch.testing.assert_close(betas, torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64))
    s = NoiseSchedule(betas)
    torch.testing.assert_close(s.alpha_bars, torch.tensor([0.9, 0.72, 0.504, 0.3024], dtype=torch.float64))
    assert s.alpha_bars_prev[0] == 1 and s.posterior_variances[0] == 0
    assert torch.equal(s.variances("beta"), betas) and s.variances("posterior")[0] == betas[0]
    # The paper's schedule, squeezed into T = 200 steps, still ends in (almost) pure noise.
    assert NoiseSchedule(linear_betas(200, 5e-4, 0.1)).alpha_bars[-1] < 1e-4


@pytest.mark.parametrize("args", [(0, 0.1, 0.2), (5, 0.0, 0.2), (5, 0.3, 0.2), (5, 0.1, 1.0)])
def test_linear_betas_rejects_bad_ends(args):
    with pytest.raises(ValueError, match="expected"):
        linear_betas(*args)


def test_closed_form_equals_iterated_forward_steps():
    """(D.2) from (D.1): x_t is linear in x_0 and ε_1..ε_t; compare the coefficients exactly."""
    x0, g = _x()
    zero = torch.zeros_like(x0)
    for t in (1, 2, 17, 50):
        x = x0
        for s in range(1, t + 1):
            x = forward_step(x, s, SCHEDULE, zero)
        torch.testing.assert_close(x, q_sample(x0, t, SCHEDULE, zero), rtol=1e-12, atol=1e-12)  # the mean √ᾱ_t x_0
        # ε_s enters x_t with weight √β_s Π_{r>s} √α_r; the weights' squares sum to 1 − ᾱ_t.
        weights = []
        for s in range(1, t + 1):
            x = torch.zeros(1, 1, 1, 1, dtype=torch.float64)
            for r in range(1, t + 1):
                x = forward_step(x, r, SCHEDULE, torch.ones_like(x) if r == s else torch.zeros_like(x))
            weights.append(x.item())
        assert math.isclose(sum(w * w for w in weights), 1 - SCHEDULE.alpha_bars[t - 1].item(), rel_tol=1e-12)


def test_posterior_is_bayes_rule():
    """(D.3) against q(x_{t-1} | x_0) q(x_t | x_{t-1}) multiplied out (a product of two Gaussians in x_{t-1})."""
    x0, g = _x()
    for t in (2, 10, 50):
        x_t = q_sample(x0, t, SCHEDULE, torch.randn(x0.shape, generator=g, dtype=torch.float64))
        mean, var = posterior(x0, x_t, t, SCHEDULE)
        a_prev, a, beta = (SCHEDULE.alpha_bars[t - 2], SCHEDULE.alphas[t - 1], SCHEDULE.betas[t - 1])
        precision = 1 / (1 - a_prev) + a / beta
        expected_mean = (a_prev.sqrt() * x0 / (1 - a_prev) + a.sqrt() * x_t / beta) / precision
        torch.testing.assert_close(mean, expected_mean, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(var.flatten(), torch.full((4,), (1 / precision).item(), dtype=torch.float64),
                                   rtol=1e-12, atol=0)


def test_reverse_mean_is_the_posterior_mean_at_the_implied_x0():
    """(D.4): with the true noise, μ_θ is μ̃_t exactly; for any ε it is μ̃_t at x̂_0(ε)."""
    x0, g = _x()
    t = torch.tensor([1, 5, 30, 50])
    eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    x_t = q_sample(x0, t, SCHEDULE, eps)
    torch.testing.assert_close(reverse_mean(x_t, t, eps, SCHEDULE), posterior(x0, x_t, t, SCHEDULE)[0],
                               rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(predict_x0(x_t, t, eps, SCHEDULE), x0, rtol=1e-10, atol=1e-10)
    other = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    implied = predict_x0(x_t, t, other, SCHEDULE)
    torch.testing.assert_close(reverse_mean(x_t, t, other, SCHEDULE), posterior(implied, x_t, t, SCHEDULE)[0],
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", ["beta", "posterior"])
def test_kl_term_is_the_weighted_noise_error_plus_a_constant(kind):
    """(D.5): KL(q(x_{t-1} | x_t, x_0) ‖ p_θ) = λ_t ‖ε − ε_θ‖² + C_t, C_t independent of ε_θ."""
    x0, g = _x(N=1)
    lam = elbo_weights(SCHEDULE, kind)
    sigma2 = SCHEDULE.variances(kind)
    for t in (2, 20, 50):
        eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
        x_t = q_sample(x0, t, SCHEDULE, eps)
        mean_q, var_q = posterior(x0, x_t, t, SCHEDULE)
        q = Normal(mean_q, var_q.sqrt().expand_as(mean_q))
        constants = []
        for _ in range(3):
            eps_hat = torch.randn(x0.shape, generator=g, dtype=torch.float64)
            p = Normal(reverse_mean(x_t, t, eps_hat, SCHEDULE), sigma2[t - 1].sqrt())
            kl = kl_divergence(q, p).sum()
            constants.append(kl - lam[t - 1] * (eps - eps_hat).pow(2).sum())
        assert max(constants) - min(constants) < 1e-9  # the remainder does not depend on ε_θ
    assert torch.all(lam > 0)


def test_noise_prediction_loss_is_the_mean_squared_noise_error():
    x0, _ = _x()
    net = ZeroNet()
    loss = noise_prediction_loss(net, x0, SCHEDULE, torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    torch.randint(1, SCHEDULE.T + 1, (4,), generator=g)  # the same draws: t first, then ε
    eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    torch.testing.assert_close(loss, eps.pow(2).mean(), rtol=1e-12, atol=0)  # ε_θ = 0


def test_loss_weights_and_the_weighted_loss():
    """(D.6): w_t = 1 is L_simple; min-SNR weights are min(SNR_t, γ) / SNR_t, 1 where SNR_t ≤ γ."""
    assert torch.equal(loss_weights(SCHEDULE), torch.ones(50, dtype=torch.float64))
    w = loss_weights(SCHEDULE, 5.0)
    snr = SCHEDULE.alpha_bars / (1 - SCHEDULE.alpha_bars)
    torch.testing.assert_close(w[snr > 5], 5.0 / snr[snr > 5], rtol=1e-12, atol=0)
    assert torch.all(w[snr <= 5] == 1) and (snr > 5).any() and (snr <= 5).any()
    x0, _ = _x()
    loss = noise_prediction_loss(ZeroNet(), x0, SCHEDULE, torch.Generator().manual_seed(3), snr_gamma=5.0)
    g = torch.Generator().manual_seed(3)
    t = torch.randint(1, SCHEDULE.T + 1, (4,), generator=g)
    eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    torch.testing.assert_close(loss, (w[t - 1].view(4, 1, 1, 1) * eps.pow(2)).mean(), rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="snr_gamma to be a positive number or None, got 0"):
        loss_weights(SCHEDULE, 0)


def test_a_network_that_predicts_x0_gives_the_noise_by_the_closed_form():
    """(D.8): ε_θ = (x_t − √ᾱ_t x̂_θ) / √(1 − ᾱ_t), and μ_θ is then the posterior mean at x̂_θ."""
    torch.manual_seed(0)
    x0_net = NoisePredictor((1, 2, 2), hidden=8, depth=1, time_dim=4, alpha_bars=SCHEDULE.alpha_bars).double()
    eps_net = NoisePredictor((1, 2, 2), hidden=8, depth=1, time_dim=4).double()
    eps_net.load_state_dict({k: v for k, v in x0_net.state_dict().items() if k != "alpha_bars"})
    x_t, _ = _x()
    t = torch.tensor([1, 7, 25, 50])
    x_hat = eps_net(x_t, t)  # the same MLP's raw output: x̂_θ
    a = SCHEDULE.alpha_bars[t - 1].view(4, 1, 1, 1)
    torch.testing.assert_close(x0_net(x_t, t), (x_t - a.sqrt() * x_hat) / (1 - a).sqrt(), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(model_mean(x0_net, x_t, t, SCHEDULE), posterior(x_hat, x_t, t, SCHEDULE)[0],
                               rtol=1e-9, atol=1e-9)


def test_reverse_step_adds_sigma_t_noise_except_at_the_last_step():
    x_t, _ = _x()
    net = ZeroNet()
    for kind in ("beta", "posterior"):
        a = reverse_step(net, x_t, 7, SCHEDULE, kind, torch.Generator().manual_seed(1))
        z = torch.randn(x_t.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        expected = x_t / SCHEDULE.alphas[6].sqrt() + SCHEDULE.variances(kind)[6].sqrt() * z
        torch.testing.assert_close(a, expected, rtol=1e-12, atol=1e-12)
    last = reverse_step(net, x_t, 1, SCHEDULE, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(last, x_t / SCHEDULE.alphas[0].sqrt(), rtol=1e-12, atol=1e-12)
    clipped = model_mean(net, x_t * 50, 3, SCHEDULE, clip=True)  # x̂_0 outside [−1, 1] is clipped first
    assert not torch.allclose(clipped, model_mean(net, x_t * 50, 3, SCHEDULE, clip=False))
    with pytest.raises(ValueError, match=r"t to be an int in 1..50, got 0"):
        reverse_step(net, x_t, 0, SCHEDULE)


def test_functions_reject_bad_steps_and_shapes():
    x0, _ = _x()
    with pytest.raises(ValueError, match=r"steps t in 1..50, got values in 0..3"):
        q_sample(x0, torch.tensor([0, 1, 2, 3]), SCHEDULE, x0)
    with pytest.raises(ValueError, match=r"int64 tensor of shape \(4,\)"):
        q_sample(x0, torch.tensor([1, 2]), SCHEDULE, x0)
    with pytest.raises(ValueError, match=r"x0 and noise of the same shape, got \(4, 1, 2, 2\) and \(4, 4\)"):
        q_sample(x0, 1, SCHEDULE, x0.flatten(1))
    with pytest.raises(TypeError, match="x_prev to be a float tensor"):
        forward_step([1.0], 1, SCHEDULE, x0)
    with pytest.raises(ValueError, match="every beta in"):
        NoiseSchedule(torch.tensor([0.5, 1.5]))


def test_noise_predictor_shapes_and_time_embedding():
    torch.manual_seed(0)
    net = NoisePredictor((1, 8, 8), hidden=32, depth=2, time_dim=16)
    x = torch.randn(5, 1, 8, 8)
    out = net(x, torch.tensor([1, 2, 3, 100, 200]))
    assert out.shape == (5, 1, 8, 8)
    e = net.time_embedding(torch.tensor([0, 7]))
    assert e.shape == (2, 16) and torch.equal(e[0, :8], torch.zeros(8)) and torch.equal(e[0, 8:], torch.ones(8))
    # The step matters: the same x_t at two steps gets two predictions.
    assert not torch.allclose(net(x[:1], torch.tensor([1])), net(x[:1], torch.tensor([150])))
    with pytest.raises(ValueError, match=r"x_t of shape \(N, 1, 8, 8\), got \(5, 64\)"):
        net(x.flatten(1), torch.tensor([1] * 5))
    with pytest.raises(ValueError, match="even time_dim"):
        NoisePredictor(time_dim=7)


def test_discretised_decoder_sums_to_one_over_the_levels():
    levels = 17
    grid = torch.linspace(-1, 1, levels, dtype=torch.float64)[:, None]  # (17, 1)
    for mean, std in ((0.0, 0.02), (0.93, 0.3), (-2.0, 0.05), (1.7, 0.01)):
        log_p = _log_bin_probability(grid, torch.full_like(grid, mean), std, 1 / (levels - 1))
        assert math.isclose(log_p.exp().sum().item(), 1.0, rel_tol=1e-9)
        assert torch.isfinite(log_p).all()


def _tiny_config(**changes):
    settings = dict(timesteps=20, beta_start=0.01, beta_end=0.3, hidden=16, depth=1, time_dim=8, steps=30,
                    batch_size=16, ema_decay=0.9)
    settings.update(changes)
    return DiffusionConfig(**settings)


def _digits(n=48):
    return load_digits("train")[0][:n]


def test_elbo_terms_add_up_and_are_positive_kls():
    model, _ = train_diffusion(_digits(), _tiny_config(), generator=torch.Generator().manual_seed(0), progress=False)
    x = load_digits("test")[0][:5]
    terms = model.elbo_terms(x, generator=torch.Generator().manual_seed(0))
    assert terms.shape == (5, 21) and terms.dtype == torch.float64
    assert torch.all(terms[:, 1:] >= 0)  # KL divergences
    assert torch.all(terms[:, 0] >= 0)  # −log of a probability (of a bin)
    torch.testing.assert_close(model.negative_elbo(x, generator=torch.Generator().manual_seed(0)),
                               terms.sum(1).float(), rtol=1e-6, atol=0)


def test_train_diffusion_one_run_shapes_history_and_determinism():
    images = _digits()
    model, history = train_diffusion(images, _tiny_config(), generator=torch.Generator().manual_seed(0),
                                     progress=False)
    again, history_again = train_diffusion(images, _tiny_config(), generator=torch.Generator().manual_seed(0),
                                           progress=False)
    assert isinstance(model, DiffusionModel) and not model.training
    assert len(history["loss"]) == 30 and history == history_again
    for a, b in zip(model.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    samples = model.sample(6, generator=torch.Generator().manual_seed(1))
    assert samples.shape == (6, 1, 8, 8) and samples.dtype == torch.float32
    assert samples.min() >= 0 and samples.max() <= 1
    assert torch.equal(samples, again.sample(6, generator=torch.Generator().manual_seed(1)))
    assert not torch.equal(samples, model.sample(6, generator=torch.Generator().manual_seed(2)))
    other, _ = train_diffusion(images, _tiny_config(), generator=torch.Generator().manual_seed(1), progress=False)
    assert not torch.equal(next(other.parameters()), next(model.parameters()))


def test_one_training_step_changes_the_weights():
    images = _digits(16)
    model, history = train_diffusion(images, _tiny_config(steps=1, ema_decay=0.0),
                                     generator=torch.Generator().manual_seed(0), progress=False)
    assert len(history["loss"]) == 1 and math.isfinite(history["loss"][0])
    with torch.random.fork_rng(devices=[]):  # the untrained network, from the same seed
        g = torch.Generator().manual_seed(0)
        torch.manual_seed(int(torch.randint(2**62, (1,), generator=g)))
        untrained = NoisePredictor((1, 8, 8), 16, 1, 8)
    assert not torch.equal(untrained.inp.weight, model.net.inp.weight)


def test_trajectory_and_denoise():
    model, _ = train_diffusion(_digits(), _tiny_config(), generator=torch.Generator().manual_seed(0), progress=False)
    frames = model.trajectory(3, keep=(20, 10, 0), generator=torch.Generator().manual_seed(4))
    assert list(frames) == [20, 10, 0] and all(f.shape == (3, 1, 8, 8) for f in frames.values())
    torch.testing.assert_close(frames[0], model.sample(3, generator=torch.Generator().manual_seed(4)))
    images, kept = model.denoise(torch.zeros(2, 1, 8, 8), 5, keep=(5, 0))
    assert images.shape == (2, 1, 8, 8) and set(kept) == {5, 0}
    with pytest.raises(ValueError, match=r"x_t of shape \(N, 1, 8, 8\)"):
        model.denoise(torch.zeros(2, 8, 8), 5)


def test_negative_elbo_of_a_tiny_model_by_hand():
    """−ELBO = L_T + Σ KL + L_0 (D.5), rebuilt here with torch.distributions for ε_θ = 0 and T = 3."""
    schedule = NoiseSchedule(linear_betas(3, 0.2, 0.6))
    model = DiffusionModel(ZeroNet(), schedule, "beta", clip=False)
    images = torch.tensor([[[[0.0, 0.5], [0.75, 1.0]]]], dtype=torch.float64)  # on the grid k / 4
    ours = model.negative_elbo(images, levels=5, generator=torch.Generator().manual_seed(0))
    x0 = images * 2 - 1
    g = torch.Generator().manual_seed(0)
    a_T = schedule.alpha_bars[-1]
    total = kl_divergence(Normal(a_T.sqrt() * x0, (1 - a_T).sqrt()), Normal(0.0, 1.0)).sum()
    for t in (1, 2, 3):
        eps = torch.randn(x0.shape, generator=g, dtype=torch.float64)
        x_t = q_sample(x0, t, schedule, eps)
        mean_p, std_p = x_t / schedule.alphas[t - 1].sqrt(), schedule.betas[t - 1].sqrt()
        if t == 1:
            cdf = Normal(mean_p, std_p).cdf
            half = 0.25
            upper = torch.where(x0 >= 1, torch.ones_like(x0), cdf(x0 + half))
            lower = torch.where(x0 <= -1, torch.zeros_like(x0), cdf(x0 - half))
            total = total - torch.log(upper - lower).sum()
        else:
            mean_q, var_q = posterior(x0, x_t, t, schedule)
            total = total + kl_divergence(Normal(mean_q, var_q.sqrt()), Normal(mean_p, std_p)).sum()
    # 1e-7: the plain difference of two CDFs near 1 above keeps fewer digits than the log Φ form
    torch.testing.assert_close(ours, total.reshape(1), rtol=1e-7, atol=0)


def test_negative_elbo_rejects_images_off_the_grid():
    model = DiffusionModel(ZeroNet(), SCHEDULE)
    with pytest.raises(ValueError, match="grid k / 16"):
        model.negative_elbo(torch.full((1, 1, 2, 2), 0.3, dtype=torch.float64))
    with pytest.raises(ValueError, match="levels to be an int >= 2"):
        model.negative_elbo(torch.zeros(1, 1, 2, 2, dtype=torch.float64), levels=1)


def test_train_diffusion_float64_keeps_dtype():
    model, history = train_diffusion(_digits(16).double(), _tiny_config(steps=3), progress=False,
                                     generator=torch.Generator().manual_seed(0))
    assert next(model.parameters()).dtype == torch.float64
    assert model.sample(2, torch.Generator().manual_seed(0)).dtype == torch.float64


def test_train_diffusion_rejects_bad_input():
    images = _digits(16)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        train_diffusion(images * 2 - 1, _tiny_config(), progress=False)
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\), got \(16, 64\)"):
        train_diffusion(images.flatten(1), _tiny_config(), progress=False)
    with pytest.raises(TypeError, match="images to be a torch.Tensor, got ndarray"):
        train_diffusion(images.numpy(), _tiny_config(), progress=False)
    with pytest.raises(TypeError, match="DiffusionConfig, got dict"):
        train_diffusion(images, {"steps": 1}, progress=False)
    with pytest.raises(TypeError, match="generator to be a torch.Generator or None, got int"):
        train_diffusion(images, _tiny_config(), generator=0, progress=False)


@pytest.mark.parametrize("bad", [dict(steps=0), dict(timesteps=0), dict(beta_end=1.0), dict(lr=0.0),
                                 dict(ema_decay=1.0), dict(variance="learned"),
                                 dict(predict="v"), dict(snr_gamma=-1.0)])
def test_diffusion_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="expected"):
        DiffusionConfig(**bad)


@pytest.mark.parametrize("bad", [dict(timesteps=True), dict(hidden=2.5), dict(steps="100"), dict(clip=1)])
def test_diffusion_config_rejects_the_wrong_kind_of_value(bad):
    name = next(iter(bad))
    with pytest.raises(TypeError, match=f"expected {name} to be"):
        DiffusionConfig(**bad)


def test_diverging_run_stops_with_a_clear_error():
    with pytest.raises(FloatingPointError, match=r"diffusion loss became (nan|inf) at step \d+"):
        train_diffusion(_digits(), _tiny_config(steps=50, lr=1e30, lr_final=1e30), progress=False,
                        generator=torch.Generator().manual_seed(0))
