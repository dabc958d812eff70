"""A generative adversarial network on 2-D points: small enough to watch it learn in seconds.

The data is a ring of Gaussians (eight by default), the classic toy of Metz et al. (2017,
"Unrolled generative adversarial networks"): each mode is easy, covering all of them is not,
so mode collapse is visible by simply counting modes (`covered_modes`).

The two players of Goodfellow et al. (2014, "Generative adversarial nets") play the minimax game

    min_G max_D  V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))],              (1.3.4a)

where D(x) = sigmoid(l(x)) and the discriminator network returns the logit l. Training
alternates two separate steps on two separate optimisers:

    D step:  minimise  -log D(x) - log(1 - D(G(z)))   with G(z) detached
    G step:  minimise  -log D(G(z))                   ("non-saturating", the paper's advice)
         or  minimise   log(1 - D(G(z)))              ("saturating", the minimax form of (1.3.4a)).

Equation numbers are those of notebook 03 (§1.3.4). The two losses are `companion.gan`'s, shared
with the DCGAN there.

Both are binary cross-entropies on logits (`binary_cross_entropy_with_logits`), which is the
numerically stable form of sigmoid followed by log: real points get label 1, generated ones 0
for D, and the generator's non-saturating loss uses label 1 for its own points.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from companion.gan import GENERATOR_LOSSES as LOSSES
from companion.gan import discriminator_loss, generator_loss

Sampler = Callable[[int, torch.Generator], torch.Tensor]


def ring_centers(modes: int = 8, radius: float = 2.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The centres of the ring's modes, (modes, 2): equally spaced on a circle, the first at (radius, 0)."""
    if not isinstance(modes, int) or isinstance(modes, bool) or modes < 1:
        raise ValueError(f"expected modes to be a positive int, got {modes!r}")
    if not radius > 0:
        raise ValueError(f"expected radius > 0, got {radius!r}")
    angles = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).to(dtype)  # (modes, 2)


def ring_of_gaussians(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """n points (n, 2) float32: a mode chosen uniformly, plus isotropic Gaussian noise of this std."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"expected n to be a positive int, got {n!r}")
    if not std >= 0:
        raise ValueError(f"expected std >= 0, got {std!r}")
    centers = ring_centers(modes, radius)
    device = generator.device if generator is not None else torch.device("cpu")
    which = torch.randint(modes, (n,), generator=generator, device=device).cpu()
    noise = torch.randn(n, 2, generator=generator, device=device).cpu()
    return centers[which] + std * noise  # (n, 2)


def _init_linear(layer: nn.Linear, generator: torch.Generator | None) -> None:
    # torch's default for nn.Linear, U(-1/sqrt(in), 1/sqrt(in)), but drawn from our generator.
    bound = 1.0 / math.sqrt(layer.in_features)
    nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
    nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def _mlp(sizes: list[int], activation: Callable[[], nn.Module], generator: torch.Generator | None) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = nn.Linear(fan_in, fan_out)
        _init_linear(linear, generator)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class ToyGenerator(nn.Module):
    """G: z (N, latent_dim) -> x (N, 2), an MLP with ReLU hidden layers and a linear output."""

    def __init__(self, latent_dim: int = 2, hidden: int = 64, depth: int = 3,
                 generator: torch.Generator | None = None):
        super().__init__()
        if latent_dim < 1 or hidden < 1 or depth < 1:
            raise ValueError(f"expected positive latent_dim, hidden and depth, got {latent_dim}, {hidden}, {depth}")
        self.latent_dim = latent_dim
        self.net = _mlp([latent_dim] + [hidden] * (depth - 1) + [2], nn.ReLU, generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected z of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        return self.net(z)


class ToyDiscriminator(nn.Module):
    """D: x (N, 2) -> logits (N,); D(x) = sigmoid(logit) is the probability that x is real."""

    def __init__(self, hidden: int = 64, depth: int = 3, generator: torch.Generator | None = None):
        super().__init__()
        if hidden < 1 or depth < 1:
            raise ValueError(f"expected positive hidden and depth, got {hidden}, {depth}")
        self.net = _mlp([2] + [hidden] * (depth - 1) + [1], lambda: nn.LeakyReLU(0.2), generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"expected x of shape (N, 2), got {tuple(x.shape)}")
        return self.net(x).squeeze(1)  # (N,)


class ToyGAN(nn.Module):
    """The trained pair: `G` (a ToyGenerator) and `D` (a ToyDiscriminator)."""

    def __init__(self, G: ToyGenerator, D: ToyDiscriminator):
        super().__init__()
        self.G, self.D = G, D

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n generated points (n, 2) on the model's device; z ~ N(0, I) drawn on the CPU from `generator`."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"expected n to be a positive int, got {n!r}")
        device = next(self.parameters()).device
        z = torch.randn(n, self.G.latent_dim, generator=generator)
        return self.G(z.to(device))

    @torch.no_grad()
    def probability_real(self, x: torch.Tensor) -> torch.Tensor:
        """D(x) = sigmoid(logit), (N,), for points x (N, 2)."""
        return torch.sigmoid(self.D(x))


def discriminator_grid(D: nn.Module, extent: float = 3.0, resolution: int = 64) -> torch.Tensor:
    """D's probability of "real" on a square grid over [-extent, extent]^2: (resolution, resolution).

    Row i, column j is the point (x_j, y_i) with both axes running from -extent to +extent,
    which is what `imshow(..., origin="lower", extent=(-e, e, -e, e))` expects.
    """
    if not extent > 0 or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"expected extent > 0 and an int resolution >= 2, got {extent!r}, {resolution!r}")
    device = next(D.parameters()).device
    axis = torch.linspace(-extent, extent, resolution, device=device)
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    points = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)  # (R*R, 2)
    with torch.no_grad():
        return torch.sigmoid(D(points)).reshape(resolution, resolution).cpu()


@dataclass(frozen=True)
class ToyGANConfig:
    """Everything that defines a training run besides the data and the random numbers."""

    steps: int = 1000
    batch_size: int = 128
    latent_dim: int = 2
    hidden: int = 64
    depth: int = 3
    lr: float = 2e-3
    betas: tuple[float, float] = (0.5, 0.999)
    loss: str = "non-saturating"
    snapshot_every: int | None = None
    snapshot_size: int = 512
    grid_extent: float = 3.0
    grid_resolution: int = 64

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"expected loss to be one of {LOSSES}, got {self.loss!r}")
        for name in ("steps", "batch_size", "latent_dim", "hidden", "depth", "snapshot_size", "grid_resolution"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        if self.snapshot_every is not None and (not isinstance(self.snapshot_every, int) or self.snapshot_every < 1):
            raise ValueError(f"expected snapshot_every to be a positive int or None, got {self.snapshot_every!r}")
        if not self.lr > 0:
            raise ValueError(f"expected lr > 0, got {self.lr!r}")


def _batch_source(data: torch.Tensor | Sampler) -> Sampler:
    """A function (n, generator) -> (n, 2) float32 CPU points, from a fixed data set or a sampler."""
    if isinstance(data, torch.Tensor):
        if data.ndim != 2 or data.shape[1] != 2 or len(data) == 0:
            raise ValueError(f"expected data of shape (N, 2), got {tuple(data.shape)}")
        if not data.is_floating_point():
            raise TypeError(f"expected floating-point data, got {data.dtype}")
        points = data.detach().to("cpu", torch.float32)
        return lambda n, generator: points[torch.randint(len(points), (n,), generator=generator)]
    if callable(data):
        return data
    raise TypeError("expected data to be a (N, 2) tensor or a sampler (n, generator) -> (n, 2), "
                    f"got {type(data).__name__}")


def train_toy_gan(data: torch.Tensor | Sampler, steps: int = 1000, batch_size: int = 128, *,
                  loss: str = "non-saturating", latent_dim: int = 2, hidden: int = 64, depth: int = 3,
                  lr: float = 2e-3, betas: tuple[float, float] = (0.5, 0.999),
                  snapshot_every: int | None = None, snapshot_size: int = 512,
                  grid_extent: float = 3.0, grid_resolution: int = 64,
                  device: torch.device | str | None = None, generator: torch.Generator | None = None,
                  progress: bool = True) -> tuple[ToyGAN, dict]:
    """Train a ToyGAN by alternating a D step and a G step (§1.3.4), `steps` times each.

    Args:
        data: real points (N, 2) to draw minibatches from, or a sampler ``(n, generator) -> (n, 2)``
            such as ``lambda n, g: ring_of_gaussians(n, generator=g)`` (fresh points every step).
        loss: the G step's loss, "non-saturating" (-log D(G(z))) or "saturating" (log(1 - D(G(z)))).
        snapshot_every: every this many steps (and at step 0 and the end) keep `snapshot_size`
            generated points from fixed latents and D's probability on a grid.
        device: where to train (default CPU). Random numbers are drawn on the CPU from `generator`
            (a CPU torch.Generator; None draws a seed from torch's global generator), so a fixed
            generator gives the same run on every call.

    Returns:
        (model, history): history holds per-step lists "d_loss", "g_loss", "d_real" (mean D(x))
        and "d_fake" (mean D(G(z))); "snapshot_steps", "samples" (list of (S, 2) CPU tensors) and
        "d_grid" (list of (R, R) CPU tensors, see `discriminator_grid`); and "config".
    """
    config = ToyGANConfig(steps=steps, batch_size=batch_size, latent_dim=latent_dim, hidden=hidden, depth=depth,
                          lr=lr, betas=betas, loss=loss, snapshot_every=snapshot_every, snapshot_size=snapshot_size,
                          grid_extent=grid_extent, grid_resolution=grid_resolution)
    draw_real = _batch_source(data)
    if generator is None:
        generator = torch.Generator().manual_seed(int(torch.randint(2**62, (1,)).item()))
    elif not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise TypeError(f"expected generator to be a CPU torch.Generator or None, got {generator!r}")
    device = torch.device("cpu" if device is None else device)

    G = ToyGenerator(latent_dim, hidden, depth, generator=generator)
    D = ToyDiscriminator(hidden, depth, generator=generator)
    model = ToyGAN(G, D).to(device)
    opt_D = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    opt_G = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    fixed_z = torch.randn(snapshot_size, latent_dim, generator=generator).to(device)

    history: dict = {"d_loss": [], "g_loss": [], "d_real": [], "d_fake": [],
                     "snapshot_steps": [], "samples": [], "d_grid": [], "config": config}

    def snapshot(step: int) -> None:
        with torch.no_grad():
            history["snapshot_steps"].append(step)
            history["samples"].append(G(fixed_z).cpu())
            history["d_grid"].append(discriminator_grid(D, grid_extent, grid_resolution))

    if snapshot_every is not None:
        snapshot(0)
    from tqdm.auto import tqdm

    for step in tqdm(range(1, steps + 1), desc=f"toy GAN ({loss})", disable=not progress):
        real = draw_real(batch_size, generator)
        if real.shape != (batch_size, 2):
            raise ValueError(f"expected the sampler to return shape ({batch_size}, 2), got {tuple(real.shape)}")
        real = real.to(device, torch.float32)
        z = torch.randn(batch_size, latent_dim, generator=generator).to(device)

        # D step: G's output is detached, so this step cannot change G.
        fake = G(z)
        real_logits, fake_logits = D(real), D(fake.detach())
        d_loss = discriminator_loss(real_logits, fake_logits)
        opt_D.zero_grad()
        d_loss.backward()
        opt_D.step()

        # G step: gradients flow through D (just updated) into G; only G's optimiser steps.
        g_loss = generator_loss(D(fake), loss)
        opt_G.zero_grad()
        g_loss.backward()
        opt_G.step()

        d_value, g_value = d_loss.item(), g_loss.item()
        if not (math.isfinite(d_value) and math.isfinite(g_value)):
            raise FloatingPointError(f"loss became non-finite at step {step}: d_loss={d_value}, g_loss={g_value}")
        history["d_loss"].append(d_value)
        history["g_loss"].append(g_value)
        history["d_real"].append(torch.sigmoid(real_logits).mean().item())
        history["d_fake"].append(torch.sigmoid(fake_logits).mean().item())
        if snapshot_every is not None and (step % snapshot_every == 0 or step == steps):
            snapshot(step)
    return model.eval(), history


@dataclass(frozen=True)
class ModeCoverage:
    """How well samples cover a set of modes."""

    modes: int  # modes with at least `min_count` high-quality samples
    fraction_high_quality: float  # share of samples within `radius` of some mode centre
    counts: tuple[int, ...]  # high-quality samples per mode


def covered_modes(samples: torch.Tensor, centers: torch.Tensor, radius: float = 0.15,
                  min_count: int = 1) -> ModeCoverage:
    """Count the modes that samples (N, 2) reach; centres (M, 2).

    A sample is "high quality" when its nearest centre lies within `radius` (three standard
    deviations of the default ring, 3 * 0.05, as in Metz et al. 2017 and Srivastava et al. 2017);
    a mode is covered when at least `min_count` high-quality samples belong to it.
    """
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"expected samples of shape (N, 2), got {tuple(samples.shape)}")
    if centers.ndim != 2 or centers.shape[1] != 2 or len(centers) == 0:
        raise ValueError(f"expected centers of shape (M, 2), got {tuple(centers.shape)}")
    if not radius > 0 or min_count < 1:
        raise ValueError(f"expected radius > 0 and min_count >= 1, got {radius!r}, {min_count!r}")
    distances = torch.cdist(samples.detach().cpu().double(), centers.detach().cpu().double())  # (N, M)
    nearest_distance, nearest = distances.min(dim=1)
    good = nearest_distance <= radius
    counts = torch.bincount(nearest[good], minlength=len(centers))
    return ModeCoverage(modes=int((counts >= min_count).sum()),
                        fraction_high_quality=float(good.double().mean()) if len(samples) else 0.0,
                        counts=tuple(int(c) for c in counts))
