"""Denoising diffusion probabilistic models (DDPM) for small images: noise in, digits out.

Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models" (NeurIPS; arXiv:2006.11239).
A fixed forward process adds Gaussian noise in T small steps until nothing of the image is left; a
network learns to undo one step at a time. Equations in the notebooks' numbering, the paper's in [ ]:

    q(x_t | x_{t-1}) = N(√(1 − β_t) x_{t-1}, β_t I)                                  (D.1) [2]
    q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I),  α_t = 1 − β_t,  ᾱ_t = Π_{s≤t} α_s      (D.2) [4]
    q(x_{t-1} | x_t, x_0) = N(μ̃_t, β̃_t I),  β̃_t = (1 − ᾱ_{t-1}) / (1 − ᾱ_t) · β_t,
        μ̃_t = √ᾱ_{t-1} β_t / (1 − ᾱ_t) · x_0 + √α_t (1 − ᾱ_{t-1}) / (1 − ᾱ_t) · x_t   (D.3) [6, 7]
    p_θ(x_{t-1} | x_t) = N(μ_θ, σ_t² I),  μ_θ = (x_t − β_t / √(1 − ᾱ_t) · ε_θ(x_t, t)) / √α_t   (D.4) [11]
    −ELBO = L_T + Σ_{t≥2} L_{t-1} + L_0,  L_{t-1} = KL(q(x_{t-1} | x_t, x_0) ‖ p_θ(x_{t-1} | x_t))
          = λ_t ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖² + C_t,
        λ_t = β_t² / (2 σ_t² α_t (1 − ᾱ_t))                                         (D.5) [5, 12]
    L_w = E_{t ~ U{1..T}, x_0, ε ~ N(0, I)} w_t ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖²        (D.6) [14]
    x_{t-1} = μ_θ(x_t, t) + σ_t z,  z ~ N(0, I) for t > 1, z = 0 at t = 1                 (D.7) [Alg. 2]
    ε_θ(x_t, t) = (x_t − √ᾱ_t x̂_θ(x_t, t)) / √(1 − ᾱ_t)                                 (D.8)

The weights w_t of (D.6) replace the ELBO's λ_t: the paper's L_simple takes w_t = 1; the default
here takes w_t = min(SNR_t, γ) / SNR_t with SNR_t = ᾱ_t / (1 − ᾱ_t) (Hang et al., 2023, "Efficient
Diffusion Training via Min-SNR Weighting Strategy"), which also stops the nearly noise-free steps
from dominating. (D.8) is (D.2) solved for ε: the network may predict the clean image x̂_θ instead
of the noise, one of the parameterisations the paper weighs in its §3.2; ε_θ, and all above, stay
the same functions of it. On the digits, with a minute of CPU, predicting x_0 with the min-SNR
weights is what reaches the GAN's quality (benchmarks/generative.py; the paper's choice, ε with
w_t = 1, is far behind at this budget).

Time runs t = 1..T as in the paper (tensors of t hold those values). Images live in [0, 1]
outside and in [−1, 1] inside (x = 2 · image − 1), as in the paper. L_0 is the paper's
discretised Gaussian decoder [13], with one bin per grey level, so −ELBO bounds −log P(x) of
the discrete images in nats.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from companion.data import check_unit_images

REVERSE_VARIANCES = ("beta", "posterior")  # σ_t² = β_t or β̃_t; the paper found both work (§3.2)


def linear_betas(timesteps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    """The paper's linear schedule β_1..β_T (float64, (T,)), evenly spaced from beta_start to beta_end."""
    if not isinstance(timesteps, int) or isinstance(timesteps, bool) or timesteps < 1:
        raise ValueError(f"expected timesteps to be a positive int, got {timesteps!r}")
    if not 0 < beta_start <= beta_end < 1:
        raise ValueError(f"expected 0 < beta_start <= beta_end < 1, got {beta_start!r} and {beta_end!r}")
    return torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)


class NoiseSchedule:
    """β_1..β_T and what (D.2)–(D.5) build from them, as float64 tensors (T,) indexed by t − 1."""

    def __init__(self, betas: torch.Tensor):
        if not isinstance(betas, torch.Tensor) or betas.ndim != 1 or not betas.is_floating_point():
            raise TypeError(f"expected betas to be a 1-D float tensor, got {getattr(betas, 'shape', type(betas))}")
        if len(betas) < 1 or not ((betas > 0) & (betas < 1)).all():
            raise ValueError("expected every beta in (0, 1)")
        self.betas = betas.detach().to("cpu", torch.float64)
        self.T = len(betas)
        self.alphas = 1 - self.betas
        self.alpha_bars = torch.cumprod(self.alphas, dim=0)
        self.alpha_bars_prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alpha_bars[:-1]])  # ᾱ_0 = 1
        self.posterior_variances = (1 - self.alpha_bars_prev) / (1 - self.alpha_bars) * self.betas  # β̃_t

    def variances(self, kind: str) -> torch.Tensor:
        """σ_1²..σ_T² of the reverse process: "beta" (σ_t² = β_t) or "posterior" (σ_t² = β̃_t, σ_1 → β_1)."""
        if kind == "beta":
            return self.betas
        if kind == "posterior":  # β̃_1 = 0; the paper's code keeps β̃_2 there, we keep β_1 (a variance > 0)
            return torch.cat([self.betas[:1], self.posterior_variances[1:]])
        raise ValueError(f"expected kind to be one of {REVERSE_VARIANCES}, got {kind!r}")

    def at(self, values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """values[t − 1] shaped (N, 1, ..., 1) to broadcast over `like` (N, ...), in its dtype and device."""
        return values[t.cpu() - 1].to(like.dtype).to(like.device).view(-1, *([1] * (like.ndim - 1)))


def _times(t, schedule: NoiseSchedule, n: int) -> torch.Tensor:
    """t as an int64 tensor (n,) of steps in 1..T; an int means the same step for all n."""
    if isinstance(t, int) and not isinstance(t, bool):
        t = torch.full((n,), t, dtype=torch.int64)
    if not isinstance(t, torch.Tensor) or t.dtype != torch.int64 or t.shape != (n,):
        raise ValueError(f"expected t to be an int or an int64 tensor of shape ({n},), got {t!r:.60}")
    if t.min() < 1 or t.max() > schedule.T:
        raise ValueError(f"expected steps t in 1..{schedule.T}, got values in {t.min().item()}..{t.max().item()}")
    return t


def _check_pair(a: torch.Tensor, b: torch.Tensor, names: str) -> None:
    for name, x in zip(names.split(), (a, b), strict=True):
        if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim < 2:
            raise TypeError(f"expected {name} to be a float tensor (N, ...), got {getattr(x, 'shape', type(x))}")
    if a.shape != b.shape:
        raise ValueError(f"expected {names.replace(' ', ' and ')} of the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")


def forward_step(x_prev: torch.Tensor, t, schedule: NoiseSchedule, noise: torch.Tensor) -> torch.Tensor:
    """One step of the forward process (D.1): x_t = √(1 − β_t) x_{t-1} + √β_t ε, for x (N, ...)."""
    _check_pair(x_prev, noise, "x_prev noise")
    t = _times(t, schedule, len(x_prev))
    beta = schedule.at(schedule.betas, t, x_prev)
    return (1 - beta).sqrt() * x_prev + beta.sqrt() * noise


def q_sample(x0: torch.Tensor, t, schedule: NoiseSchedule, noise: torch.Tensor) -> torch.Tensor:
    """x_t drawn straight from x_0 by the closed form (D.2): √ᾱ_t x_0 + √(1 − ᾱ_t) ε."""
    _check_pair(x0, noise, "x0 noise")
    t = _times(t, schedule, len(x0))
    alpha_bar = schedule.at(schedule.alpha_bars, t, x0)
    return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise


def posterior(x0: torch.Tensor, x_t: torch.Tensor, t, schedule: NoiseSchedule) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean μ̃_t (N, ...) and variance β̃_t (N, 1, ..., 1) of q(x_{t-1} | x_t, x_0), eq. (D.3)."""
    _check_pair(x0, x_t, "x0 x_t")
    t = _times(t, schedule, len(x0))
    at = lambda values: schedule.at(values, t, x0)  # noqa: E731
    beta, alpha, alpha_bar, alpha_bar_prev = (at(v) for v in (schedule.betas, schedule.alphas, schedule.alpha_bars,
                                                              schedule.alpha_bars_prev))
    coef_x0 = alpha_bar_prev.sqrt() * beta / (1 - alpha_bar)
    coef_xt = alpha.sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar)
    return coef_x0 * x0 + coef_xt * x_t, at(schedule.posterior_variances)


def predict_x0(x_t: torch.Tensor, t, eps: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
    """x_0 that (D.2) implies for x_t and the noise ε: (x_t − √(1 − ᾱ_t) ε) / √ᾱ_t."""
    _check_pair(x_t, eps, "x_t eps")
    t = _times(t, schedule, len(x_t))
    alpha_bar = schedule.at(schedule.alpha_bars, t, x_t)
    return (x_t - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()


def reverse_mean(x_t: torch.Tensor, t, eps: torch.Tensor, schedule: NoiseSchedule) -> torch.Tensor:
    """μ_θ of (D.4) for the predicted noise ε = ε_θ(x_t, t): (x_t − β_t / √(1 − ᾱ_t) · ε) / √α_t."""
    _check_pair(x_t, eps, "x_t eps")
    t = _times(t, schedule, len(x_t))
    at = lambda values: schedule.at(values, t, x_t)  # noqa: E731
    return (x_t - at(schedule.betas) / (1 - at(schedule.alpha_bars)).sqrt() * eps) / at(schedule.alphas).sqrt()


def elbo_weights(schedule: NoiseSchedule, kind: str = "beta") -> torch.Tensor:
    """λ_1..λ_T of (D.5), float64 (T,): L_{t-1} = λ_t ‖ε − ε_θ‖² + C_t."""
    sigma2 = schedule.variances(kind)
    return schedule.betas**2 / (2 * sigma2 * schedule.alphas * (1 - schedule.alpha_bars))


def loss_weights(schedule: NoiseSchedule, snr_gamma: float | None = None) -> torch.Tensor:
    """w_1..w_T of (D.6), float64 (T,): all 1 (L_simple) if snr_gamma is None, else min(SNR_t, γ) / SNR_t."""
    if snr_gamma is None:
        return torch.ones(schedule.T, dtype=torch.float64)
    if isinstance(snr_gamma, bool) or not isinstance(snr_gamma, (int, float)) or not snr_gamma > 0:
        raise ValueError(f"expected snr_gamma to be a positive number or None, got {snr_gamma!r}")
    snr = schedule.alpha_bars / (1 - schedule.alpha_bars)
    return snr.clamp(max=snr_gamma) / snr


def noise_prediction_loss(net: nn.Module, x0: torch.Tensor, schedule: NoiseSchedule,
                          generator: torch.Generator | None = None, snr_gamma: float | None = None) -> torch.Tensor:
    """L_w (D.6) on a batch x0 (N, ...) in [−1, 1]: one t ~ U{1..T} and one ε ~ N(0, I) per image.

    snr_gamma: None gives the paper's L_simple (w_t = 1); see `loss_weights`. t and ε are drawn on
    the CPU from `generator` (so a seed gives the same draws on every device), then moved to x0's
    device. The weighted squared error is averaged over pixels and images.
    """
    if not isinstance(x0, torch.Tensor) or not x0.is_floating_point() or x0.ndim < 2:
        raise TypeError(f"expected x0 to be a float tensor (N, ...), got {getattr(x0, 'shape', type(x0))}")
    N = x0.shape[0]
    t = torch.randint(1, schedule.T + 1, (N,), generator=generator)
    eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
    x_t = q_sample(x0, t, schedule, eps)
    w = schedule.at(loss_weights(schedule, snr_gamma), t, x0)  # (N, 1, ..., 1)
    return (w * (eps - net(x_t, t.to(x0.device))).pow(2)).mean()


def model_mean(net: nn.Module, x_t: torch.Tensor, t, schedule: NoiseSchedule, clip: bool = False) -> torch.Tensor:
    """μ_θ(x_t, t) of (D.4), with ε_θ = net(x_t, t).

    clip: write μ_θ as the posterior mean (D.3) at the x_0 that ε_θ implies, clipped to [−1, 1] (as
    the paper's code does when it samples and when it evaluates the bound). Unclipped, the two
    forms are the same function, (D.4).
    """
    t = _times(t, schedule, len(x_t))
    eps = net(x_t, t.to(x_t.device))
    if clip:
        return posterior(predict_x0(x_t, t, eps, schedule).clamp(-1, 1), x_t, t, schedule)[0]
    return reverse_mean(x_t, t, eps, schedule)


def reverse_step(net: nn.Module, x_t: torch.Tensor, t: int, schedule: NoiseSchedule, kind: str = "beta",
                 generator: torch.Generator | None = None, clip: bool = False) -> torch.Tensor:
    """One step of ancestral sampling (D.7): x_{t-1} = μ_θ(x_t, t) + σ_t z, with no noise at t = 1.

    z is drawn on the CPU from `generator`, then moved to x_t's device; see `model_mean` for clip.
    """
    if not isinstance(t, int) or isinstance(t, bool) or not 1 <= t <= schedule.T:
        raise ValueError(f"expected t to be an int in 1..{schedule.T}, got {t!r}")
    mean = model_mean(net, x_t, t, schedule, clip)
    if t == 1:
        return mean
    z = torch.randn(x_t.shape, generator=generator, dtype=x_t.dtype).to(x_t.device)
    return mean + math.sqrt(schedule.variances(kind)[t - 1].item()) * z


class NoisePredictor(nn.Module):
    """ε_θ(x_t, t): (N, C, H, W) noisy images and steps (N,) -> predicted noise (N, C, H, W).

    A residual MLP on the flattened pixels; the step enters through the sinusoidal embedding of the
    Transformer (Vaswani et al., 2017), as in the paper's U-Net, added to every block's input.
    At 8×8 an MLP learns as much per CPU second as a convolutional U-Net would in many.

    alpha_bars: None: the MLP's output is ε_θ (the paper's choice). Given ᾱ_1..ᾱ_T, the MLP predicts
        the clean image x̂_θ and ε_θ follows from it by (D.8).
    """

    def __init__(self, image_shape: tuple[int, int, int] = (1, 8, 8), hidden: int = 256, depth: int = 3,
                 time_dim: int = 64, alpha_bars: torch.Tensor | None = None):
        super().__init__()
        for name, value in (("hidden", hidden), ("depth", depth), ("time_dim", time_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        if time_dim % 2:
            raise ValueError(f"expected an even time_dim (sines and cosines), got {time_dim}")
        self.image_shape, self.time_dim = tuple(image_shape), time_dim
        self.predicts_x0 = alpha_bars is not None
        if self.predicts_x0:
            self.register_buffer("alpha_bars", alpha_bars.detach().to(torch.float64).clone())
        D = math.prod(image_shape)
        self.embed = nn.Sequential(nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.inp = nn.Linear(D, hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
            for _ in range(depth))
        self.out = nn.Sequential(nn.SiLU(), nn.Linear(hidden, D))

    def time_embedding(self, t: torch.Tensor) -> torch.Tensor:
        """(N,) steps -> (N, time_dim): sin and cos of t at frequencies 1 ... 1/10000."""
        half = self.time_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)  # (half,)
        angles = t.to(freqs.dtype)[:, None] * freqs  # (N, half)
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if not isinstance(x_t, torch.Tensor) or tuple(x_t.shape[1:]) != self.image_shape:
            raise ValueError(f"expected x_t of shape (N, {', '.join(map(str, self.image_shape))}), "
                             f"got {tuple(getattr(x_t, 'shape', ()))}")
        N = x_t.shape[0]
        e = self.embed(self.time_embedding(t).to(x_t.dtype))  # (N, hidden)
        h = self.inp(x_t.reshape(N, -1))  # (N, hidden)
        for block in self.blocks:
            h = h + block(h + e)
        out = self.out(h).view(N, *self.image_shape)
        if not self.predicts_x0:
            return out
        alpha_bar = self.alpha_bars[t - 1].to(x_t.dtype).view(N, *([1] * (x_t.ndim - 1)))
        return (x_t - alpha_bar.sqrt() * out) / (1 - alpha_bar).sqrt()  # (D.8): ε from x̂_0


def _gaussian_kl(mean_q, var_q, mean_p, var_p) -> torch.Tensor:
    """KL(N(mean_q, var_q) ‖ N(mean_p, var_p)) per element (variances broadcast), in nats."""
    return 0.5 * (torch.log(var_p / var_q) + (var_q + (mean_q - mean_p) ** 2) / var_p - 1)


def _log_bin_probability(x: torch.Tensor, mean: torch.Tensor, std: float, half_width: float) -> torch.Tensor:
    """log P(x) of the paper's discretised Gaussian decoder [13]: N(mean, std²) mass on the bin around x.

    The bins of the lowest and highest level reach out to −∞ and +∞. Computed with log Φ in float64.
    """
    lower = torch.where(x <= -1 + half_width / 2, -math.inf, (x - half_width - mean) / std)
    upper = torch.where(x >= 1 - half_width / 2, math.inf, (x + half_width - mean) / std)
    flip = lower > 0  # in the upper tail use Φ(u) − Φ(l) = Φ(−l) − Φ(−u): the same mass, better rounding
    a, b = torch.where(flip, -upper, lower), torch.where(flip, -lower, upper)
    log_a, log_b = torch.special.log_ndtr(a), torch.special.log_ndtr(b)
    return log_b + torch.log1p(-torch.exp(log_a - log_b))


class DiffusionModel(nn.Module):
    """A trained noise predictor ε_θ with its schedule: `sample`, `denoise`, `trajectory`, `negative_elbo`.

    Args:
        net: ε_θ, e.g. a `NoisePredictor`.
        schedule: the `NoiseSchedule` it was trained with.
        variance: σ_t² of the reverse process, "beta" or "posterior".
        clip: clip the implied x_0 to [−1, 1] inside μ_θ (see `model_mean`).
    """

    def __init__(self, net: nn.Module, schedule: NoiseSchedule, variance: str = "beta", clip: bool = True):
        super().__init__()
        schedule.variances(variance)  # checks the name
        self.net, self.schedule, self.variance, self.clip = net, schedule, variance, clip
        self.image_shape = tuple(net.image_shape)

    def _param(self) -> torch.Tensor:
        return next(self.net.parameters())

    @torch.no_grad()
    def denoise(self, x_t: torch.Tensor, t: int, generator: torch.Generator | None = None,
                keep=()) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """Run the reverse process (D.7) from x_t (N, C, H, W), in [−1, 1] space, at step t down to x_0.

        Returns images (N, C, H, W) in [0, 1] and {s: x_s} for each s of `keep` in 0..t (x_t itself
        is s = t, the result before clamping s = 0), in [−1, 1] space, on the CPU.
        """
        param = self._param()
        C, H, W = self.image_shape
        if not isinstance(x_t, torch.Tensor) or x_t.ndim != 4 or tuple(x_t.shape[1:]) != self.image_shape:
            raise ValueError(f"expected x_t of shape (N, {C}, {H}, {W}), got {tuple(getattr(x_t, 'shape', ()))}")
        if not isinstance(t, int) or isinstance(t, bool) or not 1 <= t <= self.schedule.T:
            raise ValueError(f"expected t to be an int in 1..{self.schedule.T}, got {t!r}")
        was_training = self.training
        self.eval()
        x = x_t.to(param.device, param.dtype)
        kept = {t: x.cpu()} if t in keep else {}
        for s in range(t, 0, -1):
            x = reverse_step(self.net, x, s, self.schedule, self.variance, generator, self.clip)  # x_{s-1}
            if s - 1 in keep:
                kept[s - 1] = x.cpu()
        self.train(was_training)
        return ((x + 1) / 2).clamp(0, 1), kept

    def _noise(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"expected n to be a positive int, got {n!r}")
        return torch.randn(n, *self.image_shape, generator=generator, dtype=self._param().dtype)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n new images (n, C, H, W) in [0, 1]: x_T ~ N(0, I), then T steps of (D.7). Pass a CPU generator."""
        return self.denoise(self._noise(n, generator), self.schedule.T, generator)[0]

    def trajectory(self, n: int, keep, generator: torch.Generator | None = None) -> dict[int, torch.Tensor]:
        """{t: x_t shown as images in [0, 1]} along one run of `sample`, for each t of `keep` in 0..T."""
        _, kept = self.denoise(self._noise(n, generator), self.schedule.T, generator, keep)
        return {t: ((x + 1) / 2).clamp(0, 1) for t, x in sorted(kept.items(), reverse=True)}

    @torch.no_grad()
    def elbo_terms(self, images: torch.Tensor, levels: int = 17,
                   generator: torch.Generator | None = None) -> torch.Tensor:
        """The terms of −ELBO (D.5) per image, (N, T + 1) nats: column 0 is L_0, column t − 1 is L_{t−1}
        for t = 2..T, column T is L_T; one draw of ε per step and image.

        L_0 is the discretised Gaussian decoder with one bin per grey level k / (levels − 1),
        k = 0..levels − 1, so the sum bounds −log P(images) of those discrete images.
        """
        check_unit_images(images)
        if not isinstance(levels, int) or isinstance(levels, bool) or levels < 2:
            raise ValueError(f"expected levels to be an int >= 2, got {levels!r}")
        grid = images * (levels - 1)
        if (grid - grid.round()).abs().max() > 1e-4:
            raise ValueError(f"expected images on the grid k / {levels - 1} (levels={levels}), got other values")
        if tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(f"expected images of shape (N, {', '.join(map(str, self.image_shape))}), "
                             f"got {tuple(images.shape)}")
        was_training = self.training
        self.eval()
        param, sched = self._param(), self.schedule
        x0 = (images * 2 - 1).to(param.device, param.dtype)
        pixels = lambda v: v.flatten(1).sum(1).double().cpu()  # noqa: E731  (N, ...) -> (N,)
        variances = sched.variances(self.variance)
        terms = []
        for t in range(1, sched.T + 1):
            eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
            x_t = q_sample(x0, t, sched, eps)
            mean_p = model_mean(self.net, x_t, t, sched, self.clip)
            if t == 1:  # L_0 = −log p_θ(x_0 | x_1)
                log_p = _log_bin_probability(x0.double(), mean_p.double(), math.sqrt(variances[0].item()),
                                             1 / (levels - 1))
                terms.append(-pixels(log_p))
            else:  # L_{t-1} = KL(q(x_{t-1} | x_t, x_0) ‖ p_θ(x_{t-1} | x_t))
                mean_q, var_q = posterior(x0, x_t, t, sched)
                terms.append(pixels(_gaussian_kl(mean_q.double(), var_q.double(), mean_p.double(),
                                                 variances[t - 1])))
        alpha_bar_T = sched.alpha_bars[-1].item()  # L_T = KL(q(x_T | x_0) ‖ N(0, I))
        terms.append(pixels(_gaussian_kl(math.sqrt(alpha_bar_T) * x0.double(), torch.tensor(1 - alpha_bar_T),
                                         torch.zeros(()), torch.ones(()))))
        self.train(was_training)
        return torch.stack(terms, dim=1)  # (N, T + 1)

    def negative_elbo(self, images: torch.Tensor, levels: int = 17,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """−ELBO (D.5) per image, (N,) nats: the sum of `elbo_terms`, in the images' dtype and device."""
        return self.elbo_terms(images, levels, generator).sum(1).to(images.dtype).to(images.device)


PREDICTIONS = ("x0", "eps")  # what the network outputs: the clean image (D.8) or the noise itself


@dataclass(frozen=True)
class DiffusionConfig:
    """How `train_diffusion` trains: the schedule, the noise predictor, the loss, Adam for a fixed number of steps.

    The schedule is the paper's linear one (β from 1e-4 to 0.02 over T = 1000), squeezed into fewer
    steps: both ends scaled by 1000 / T, so ᾱ_T is as small (about 4e-5 at T = 200). The paper's own
    recipe is predict="eps", snr_gamma=None, clip=True; the defaults are what the digits need within a
    minute of CPU (see the module's docstring).

    predict: "x0": the network predicts x_0 and ε_θ follows by (D.8); "eps": it predicts ε.
    snr_gamma: the weights of (D.6), see `loss_weights`; None is L_simple.
    ema_decay: sampling uses an exponential moving average of the weights (the paper: 0.9999 over
        800k steps; a few thousand steps need a shorter memory).
    variance: σ_t² = β_t ("beta") or β̃_t ("posterior") in (D.7).
    clip: clip the implied x_0 to [−1, 1] in μ_θ (see `model_mean`).
    """

    timesteps: int = 200
    beta_start: float = 5e-4
    beta_end: float = 0.1
    hidden: int = 256
    depth: int = 3
    time_dim: int = 64
    predict: str = "x0"
    snr_gamma: float | None = 5.0
    steps: int = 5000
    batch_size: int = 128
    lr: float = 2e-3
    lr_final: float = 1e-4  # cosine decay from lr over the run
    ema_decay: float = 0.995
    variance: str = "beta"
    clip: bool = False

    def __post_init__(self):
        for name in ("timesteps", "hidden", "depth", "time_dim", "steps", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):  # True is not a count
                raise TypeError(f"expected {name} to be a positive int, got {value!r} ({type(value).__name__})")
            if value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        linear_betas(self.timesteps, self.beta_start, self.beta_end)  # checks the two ends
        if self.predict not in PREDICTIONS:
            raise ValueError(f"expected predict to be one of {PREDICTIONS}, got {self.predict!r}")
        if self.snr_gamma is not None:
            loss_weights(NoiseSchedule(torch.full((1,), 0.5, dtype=torch.float64)), self.snr_gamma)  # checks γ
        if not (self.lr > 0 and self.lr_final > 0):
            raise ValueError(f"expected lr > 0 and lr_final > 0, got {self.lr!r} and {self.lr_final!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"expected ema_decay in [0, 1), got {self.ema_decay!r}")
        if self.variance not in REVERSE_VARIANCES:
            raise ValueError(f"expected variance to be one of {REVERSE_VARIANCES}, got {self.variance!r}")
        if not isinstance(self.clip, bool):
            raise TypeError(f"expected clip to be a bool, got {type(self.clip).__name__}")


def train_diffusion(
    images: torch.Tensor,
    config: DiffusionConfig | None = None,
    *,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
    progress: bool = True,
) -> tuple[DiffusionModel, dict[str, list[float]]]:
    """Train a DDPM on images (N, C, H, W) in [0, 1] by descending L_w (D.6) with Adam.

    Args:
        images: float images in [0, 1] (scaled to [−1, 1] inside).
        config: `DiffusionConfig()` if None.
        device: where to train; the model is returned there. None: the images' device.
        generator: a CPU generator for the initial weights, the batches, t and ε; same seed, same model
            (on a given machine and thread count).
        progress: show a tqdm progress bar over steps.

    Returns:
        (model, history): the `DiffusionModel` in eval mode, holding the averaged weights if
        config.ema_decay > 0, and history["loss"], L_w of each step's batch.

    Raises:
        FloatingPointError: when the loss becomes nan or inf.
    """
    config = DiffusionConfig() if config is None else config
    if not isinstance(config, DiffusionConfig):
        raise TypeError(f"expected config to be a DiffusionConfig, got {type(config).__name__}")
    check_unit_images(images)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"expected generator to be a torch.Generator or None, got {type(generator).__name__}")
    device = torch.device(device) if device is not None else images.device
    if generator is None:
        generator = torch.Generator().manual_seed(int(torch.randint(2**62, (1,))))

    N = images.shape[0]
    schedule = NoiseSchedule(linear_betas(config.timesteps, config.beta_start, config.beta_end))
    with torch.random.fork_rng(devices=[]):  # the initial weights come from `generator`
        torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        net = NoisePredictor(tuple(images.shape[1:]), config.hidden, config.depth, config.time_dim,
                             schedule.alpha_bars if config.predict == "x0" else None)
    net = net.to(device=device, dtype=images.dtype)
    averaged = copy.deepcopy(net).requires_grad_(False) if config.ema_decay > 0 else net
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    x_all = images.to(device) * 2 - 1  # (N, C, H, W) in [−1, 1]
    history: dict[str, list[float]] = {"loss": []}
    net.train()
    for step in tqdm(range(config.steps), desc="diffusion steps", disable=not progress, mininterval=1.0):
        cosine = 0.5 * (1 + math.cos(math.pi * step / config.steps))
        for group in optimizer.param_groups:
            group["lr"] = config.lr_final + (config.lr - config.lr_final) * cosine
        batch = torch.randint(N, (config.batch_size,), generator=generator).to(device)
        loss = noise_prediction_loss(net, x_all[batch], schedule, generator, config.snr_gamma)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"diffusion loss became {loss.item()} at step {step}; "
                                     f"try a lower lr than {config.lr}")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if averaged is not net:
            with torch.no_grad():
                for p_avg, p in zip(averaged.parameters(), net.parameters(), strict=True):
                    p_avg.lerp_(p, 1 - config.ema_decay)
        history["loss"].append(loss.item())
    model = DiffusionModel(averaged, schedule, config.variance, config.clip)
    model.eval()
    return model, history
