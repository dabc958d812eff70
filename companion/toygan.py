"""A generative adversarial network on 2-D points: small enough to watch it learn in seconds.

The data is a ring of Gaussians (eight by default), the classic toy of Metz et al. (2017,
"Unrolled generative adversarial networks"): each mode is easy, covering all of them is not,
so mode collapse is visible by simply counting modes (`companion.metrics.covered_modes`).

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

from companion import training
from companion import validation as check
from companion.gan import GENERATOR_LOSSES as LOSSES
from companion.gan import discriminator_loss, generator_loss

Sampler = Callable[[int, torch.Generator], torch.Tensor]


def ring_centers(modes: int = 8, radius: float = 2.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The centres of the ring's modes, (modes, 2): equally spaced on a circle, the first at (radius, 0)."""
    check.positive_int(modes, "modes")
    check.real(radius, "radius", above=0)
    if dtype not in check.FLOAT_DTYPES:
        raise TypeError(f"expected dtype torch.float32 or torch.float64, got {check.describe(dtype)}")
    angles = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).to(dtype)  # (modes, 2)


def ring_of_gaussians(n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """n points (n, 2) float32: a mode chosen uniformly, plus isotropic Gaussian noise of this std."""
    check.positive_int(n, "n")
    check.real(std, "std", at_least=0)
    check.generator(generator)
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
    check.cpu_generator(generator)
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = nn.Linear(fan_in, fan_out)
        _init_linear(linear, generator)
        layers.append(linear)
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def _check_points(x: torch.Tensor, name: str, width: int, layer: nn.Linear) -> None:
    check.tensor(x, name)
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"expected {name} of shape (N, {width}), got {tuple(x.shape)}")
    check.like(check.tensor(x, name, floating=True), name, layer.weight, "the network's weights")


class ToyGenerator(nn.Module):
    """G: z (N, latent_dim) -> x (N, 2), an MLP with ReLU hidden layers and a linear output."""

    def __init__(self, latent_dim: int = 2, hidden: int = 64, depth: int = 3,
                 generator: torch.Generator | None = None):
        super().__init__()
        for name, value in (("latent_dim", latent_dim), ("hidden", hidden), ("depth", depth)):
            check.positive_int(value, name)
        self.latent_dim = latent_dim
        self.net = _mlp([latent_dim] + [hidden] * (depth - 1) + [2], nn.ReLU, generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check_points(z, "z", self.latent_dim, self.net[0])
        return self.net(z)


class ToyDiscriminator(nn.Module):
    """D: x (N, 2) -> logits (N,); D(x) = sigmoid(logit) is the probability that x is real."""

    def __init__(self, hidden: int = 64, depth: int = 3, generator: torch.Generator | None = None):
        super().__init__()
        for name, value in (("hidden", hidden), ("depth", depth)):
            check.positive_int(value, name)
        self.net = _mlp([2] + [hidden] * (depth - 1) + [1], lambda: nn.LeakyReLU(0.2), generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_points(x, "x", 2, self.net[0])
        return self.net(x).squeeze(1)  # (N,)


class ToyGAN(nn.Module):
    """The trained pair: `G` (a ToyGenerator) and `D` (a ToyDiscriminator)."""

    def __init__(self, G: ToyGenerator, D: ToyDiscriminator):
        super().__init__()
        self.G = check.instance(G, "G", ToyGenerator, "a companion.toygan.ToyGenerator")
        self.D = check.instance(D, "D", ToyDiscriminator, "a companion.toygan.ToyDiscriminator")

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n generated points (n, 2) on the model's device; z ~ N(0, I) drawn on the CPU from `generator`."""
        check.positive_int(n, "n")
        check.cpu_generator(generator)
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
    check.instance(D, "D", nn.Module, "a discriminator module, points (N, 2) -> logits (N,)")
    extent = check.real(extent, "extent", above=0)
    check.integer(resolution, "resolution", minimum=2)
    parameter = next(D.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None else torch.float32
    axis = torch.linspace(-extent, extent, resolution, device=device, dtype=dtype)
    ys, xs = torch.meshgrid(axis, axis, indexing="ij")
    points = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)  # (R*R, 2)
    with torch.no_grad():
        return torch.sigmoid(D(points)).reshape(resolution, resolution).cpu()


@dataclass(frozen=True)
class ToyGANConfig:
    """Everything that defines a training run besides the data and the random numbers.

    snapshot_every: every this many steps (and at step 0 and the end) keep `snapshot_size` generated
        points from fixed latents and D's probability on a grid (`grid_extent`, `grid_resolution`).
    """

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
        check.one_of(self.loss, "loss", LOSSES)
        for name in ("steps", "batch_size", "latent_dim", "hidden", "depth", "snapshot_size"):
            check.positive_int(getattr(self, name), name)
        check.integer(self.grid_resolution, "grid_resolution", minimum=2)
        if self.snapshot_every is not None:
            check.positive_int(self.snapshot_every, "snapshot_every")
        check.real(self.lr, "lr", above=0)
        check.betas(self.betas)
        check.real(self.grid_extent, "grid_extent", above=0)


def _batch_source(data: torch.Tensor | Sampler) -> Sampler:
    """A function (n, generator) -> (n, 2) float32 CPU points, from a fixed data set or a sampler."""
    if isinstance(data, torch.Tensor):
        check.tensor(data, "data", ndim=2, layout="(N, 2)", floating=True, min_size=1, finite=True)
        if data.shape[1] != 2:
            raise ValueError(f"expected data of shape (N, 2), got {tuple(data.shape)}")
        points = data.detach().to("cpu", torch.float32)
        return lambda n, generator: points[torch.randint(len(points), (n,), generator=generator)]
    if callable(data) and not isinstance(data, type):
        return data
    raise TypeError("expected data to be a (N, 2) tensor or a sampler (n, generator) -> (n, 2), "
                    f"got {check.describe(data)}")


def train_toy_gan(data: torch.Tensor | Sampler, config: ToyGANConfig | None = None, *,
                  device: torch.device | str | None = None, generator: torch.Generator | None = None,
                  progress: bool = True) -> tuple[ToyGAN, dict]:
    """Train a ToyGAN by alternating a D step and a G step (§1.3.4), `config.steps` times each.

    The random numbers come from `generator` in this order, which a hand-written loop can follow
    to get the very same run: G's weights, D's weights (each layer's weight, then its bias), the
    snapshot latents (only when `config.snapshot_every` is set), then every step a real batch and z.

    Args:
        data: real points (N, 2) to draw minibatches from, or a sampler ``(n, generator) -> (n, 2)``
            such as ``lambda n, g: ring_of_gaussians(n, generator=g)`` (fresh points every step).
        config: `ToyGANConfig()` if None; its `loss` is the G step's, "non-saturating"
            (-log D(G(z))) or "saturating" (log(1 - D(G(z)))).
        device: where to train; None: the data's device (a sampler's: the CPU). Training is in float32.
        generator: a CPU torch.Generator; None draws a seed from torch's global generator. A fixed
            generator gives the same run on every call.
        progress: show a tqdm progress bar over steps.

    Returns:
        (model, history): history holds per-step lists "d_loss", "g_loss", "d_real" (mean D(x))
        and "d_fake" (mean D(G(z))); "snapshot_steps", "samples" (list of (S, 2) CPU tensors) and
        "d_grid" (list of (R, R) CPU tensors, see `discriminator_grid`); and "config".
    Raises:
        FloatingPointError: when a loss becomes nan or inf.
    """
    config = training.check_config(config, ToyGANConfig)
    draw_real = _batch_source(data)
    device = training.resolve_device(device, data if isinstance(data, torch.Tensor) else None)
    generator = training.seed_generator(generator)
    check.flag(progress, "progress")
    c = config

    G = ToyGenerator(c.latent_dim, c.hidden, c.depth, generator=generator)
    D = ToyDiscriminator(c.hidden, c.depth, generator=generator)
    model = ToyGAN(G, D).to(device)
    opt_D = torch.optim.Adam(D.parameters(), lr=c.lr, betas=c.betas)
    opt_G = torch.optim.Adam(G.parameters(), lr=c.lr, betas=c.betas)
    history: dict = {"d_loss": [], "g_loss": [], "d_real": [], "d_fake": [],
                     "snapshot_steps": [], "samples": [], "d_grid": [], "config": c}
    if c.snapshot_every is not None:
        fixed_z = torch.randn(c.snapshot_size, c.latent_dim, generator=generator).to(device)

    def snapshot(step: int) -> None:
        with torch.no_grad():
            history["snapshot_steps"].append(step)
            history["samples"].append(G(fixed_z).cpu())
            history["d_grid"].append(discriminator_grid(D, c.grid_extent, c.grid_resolution))

    if c.snapshot_every is not None:
        snapshot(0)
    for step in training.progress_bar(range(1, c.steps + 1), f"toy GAN ({c.loss})", progress):
        real = draw_real(c.batch_size, generator)
        if not isinstance(real, torch.Tensor) or real.shape != (c.batch_size, 2) or not real.is_floating_point():
            raise ValueError(f"expected the sampler to return float points of shape ({c.batch_size}, 2), "
                             f"got {check.describe(real)}")
        check.finite_values(real, "the sampler's points")
        real = real.to(device, torch.float32)
        z = torch.randn(c.batch_size, c.latent_dim, generator=generator).to(device)

        # D step: G's output is detached, so this step cannot change G.
        fake = G(z)
        real_logits, fake_logits = D(real), D(fake.detach())
        d_loss = discriminator_loss(real_logits, fake_logits)
        opt_D.zero_grad()
        d_loss.backward()
        opt_D.step()

        # G step: gradients flow through D (just updated) into G; only G's optimiser steps.
        g_loss = generator_loss(D(fake), c.loss)
        opt_G.zero_grad()
        g_loss.backward()
        opt_G.step()

        d_value, g_value = d_loss.item(), g_loss.item()
        training.stop_if_diverged(step, f"lower the learning rate (lr={c.lr})", d_loss=d_value, g_loss=g_value)
        history["d_loss"].append(d_value)
        history["g_loss"].append(g_value)
        history["d_real"].append(torch.sigmoid(real_logits).mean().item())
        history["d_fake"].append(torch.sigmoid(fake_logits).mean().item())
        if c.snapshot_every is not None and (step % c.snapshot_every == 0 or step == c.steps):
            snapshot(step)
    return model.eval(), history
