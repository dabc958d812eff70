"""Generative adversarial networks: the optimal discriminator, and the textbook's GAN corrected.

The minimax game of Goodfellow et al. (2014, "Generative Adversarial Nets", eq. 1) is

    min_G max_D  V(D, G) = E_{x ~ p_data}[log D(x)] + E_{z ~ p_z}[log(1 - D(G(z)))].       (1.3.4a)

For a fixed generator the inner maximum is reached pointwise (their Proposition 1) by

    D*(x) = p_data(x) / (p_data(x) + p_model(x)),                                   (1.3.4b)

which `optimal_discriminator` computes. Equation numbers are those of notebook 03 (§1.3.4).
The two training losses (`discriminator_loss`, `generator_loss`) serve this module's DCGAN and the
2-D toy GAN of `companion.toygan` alike.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from companion import training
from companion import validation as check
from companion.data import check_unit_images

GENERATOR_LOSSES = ("non-saturating", "saturating")


def optimal_discriminator(p_data: torch.Tensor, p_model: torch.Tensor) -> torch.Tensor:
    """The discriminator that maximises V(D, G) for a fixed generator, eq. (1.3.4b), elementwise.

    Where both densities are 0 the ratio is 0/0; such points carry no probability mass, so any
    value maximises V there. We define D* = 1/2 at those points: the discriminator's answer when it
    cannot tell the two distributions apart, and the limit of p / (p + p) as p -> 0.

    Args:
        p_data: densities (or probabilities) of the data distribution, any shape, all >= 0.
        p_model: densities of the generator's distribution, the same shape, all >= 0.

    Returns:
        D*, a tensor of that shape with values in [0, 1], dtype and device of the inputs.
    """
    for name, p in (("p_data", p_data), ("p_model", p_model)):
        check.tensor(p, name, floating=True)
    if p_data.shape != p_model.shape:
        raise ValueError(
            f"expected p_data and p_model of the same shape, got {tuple(p_data.shape)} and {tuple(p_model.shape)}"
        )
    check.like(p_model, "p_model", p_data, "p_data")
    for name, p in (("p_data", p_data), ("p_model", p_model)):
        check.finite_values(p, name)
        if (p < 0).any():
            raise ValueError(f"expected {name} >= 0 (a density), got a minimum of {p.min().item():.4g}")
    total = p_data + p_model
    both_zero = total == 0
    ratio = p_data / torch.where(both_zero, torch.ones_like(total), total)
    return torch.where(both_zero, torch.full_like(total, 0.5), ratio)


# ---------------------------------------------------------------------------------------------
# The textbook's GAN (listing 1.4.2), corrected: DCGAN-style networks (Radford et al., 2016,
# "Unsupervised Representation Learning with Deep Convolutional GANs").


def upsampling_plan(image_size: int, min_side: int = 4) -> tuple[int, int]:
    """(first side s0, number k of 2× steps) with s0 · 2^k = image_size: halve while even and ≥ 2·min_side.

    With min_side=4: 28 -> (7, 2), 16 -> (4, 2) (the listing's 1 -> 4 -> 8 -> 16), 8 -> (4, 1), odd
    sides -> (S, 0); with min_side=2: 8 -> (2, 2).
    """
    check.integer(image_size, "image_size", minimum=2)
    check.positive_int(min_side, "min_side")
    side, k = image_size, 0
    while side % 2 == 0 and side >= 2 * min_side:
        side, k = side // 2, k + 1
    return side, k


class Generator(nn.Module):
    """z (N, latent_dim) -> images (N, C, S, S) in [-1, 1]: a transposed-convolution stack.

    The listing stacked three ConvTranspose2d with nothing in between (a linear map, then tanh)
    and always made 16×16. Here the first layer projects z to an s0×s0 map, each later layer
    doubles the side (kernel 4, stride 2, padding 1), with BatchNorm and ReLU between layers.
    """

    def __init__(self, out_channels: int = 3, image_size: int = 28, latent_dim: int = 100, width: int = 32,
                 min_side: int = 4):
        super().__init__()
        s0, k = upsampling_plan(image_size, min_side)
        for name, value in (("out_channels", out_channels), ("latent_dim", latent_dim), ("width", width)):
            check.positive_int(value, name)
        self.out_channels, self.image_size, self.latent_dim = out_channels, image_size, latent_dim
        channels = [latent_dim] + [width * 2 ** (k - 1 - i) for i in range(k)] + [out_channels]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:], strict=True)):
            if i == 0:
                layers.append(nn.ConvTranspose2d(c_in, c_out, s0, 1, 0, bias=False))  # 1×1 -> s0×s0
            else:
                layers.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False))  # side × 2
            if i < len(channels) - 2:
                layers += [nn.BatchNorm2d(c_out), nn.ReLU()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check.tensor(z, "z")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected z of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        check.like(check.tensor(z, "z", floating=True), "z", self.net[0].weight, "the generator's weights")
        N = z.shape[0]
        x = self.net(z.reshape(N, self.latent_dim, 1, 1))  # (N, C, S, S)
        return torch.tanh(x)


class Discriminator(nn.Module):
    """images (N, C, S, S) in [-1, 1] -> logits (N,): one score per image, not a map.

    The listing's five padded 3×3/4×4 convolutions kept the side (28 -> 29) and returned a 29×29
    map of sigmoids. Here strided convolutions (kernel 4, stride 2, padding 1) halve the side down
    to s0 and a last s0×s0 convolution reads one logit per image; LeakyReLU(0.2) in between. The
    sigmoid is left to the loss (BCEWithLogits, numerically stable).

    spectral_norm: divide each convolution's weight by its largest singular value, estimated by one
    power iteration per forward pass (Miyato et al., 2018, "Spectral Normalization for GANs"): D
    becomes roughly 1-Lipschitz, so it cannot grow arbitrarily sharp and starve G of gradient.
    """

    def __init__(self, in_channels: int = 3, image_size: int = 28, width: int = 32, min_side: int = 4,
                 spectral_norm: bool = False):
        super().__init__()
        s0, k = upsampling_plan(image_size, min_side)
        check.positive_int(in_channels, "in_channels")
        check.positive_int(width, "width")
        self.in_channels, self.image_size = in_channels, image_size
        channels = [in_channels] + [width * 2 ** i for i in range(k)]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2)]  # side / 2
        layers.append(nn.Conv2d(channels[-1], 1, s0, 1, 0))  # s0×s0 -> 1×1
        if spectral_norm:
            layers = [nn.utils.parametrizations.spectral_norm(m) if isinstance(m, nn.Conv2d) else m for m in layers]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check.tensor(x, "x")
        expected = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"expected x of shape (N, {', '.join(map(str, expected))}), got {tuple(x.shape)}")
        check.like(check.tensor(x, "x", floating=True), "x", self.net[0].weight, "the discriminator's weights")
        return self.net(x).reshape(x.shape[0])  # (N,)


class GAN(nn.Module):
    """A trained pair, `G` (a Generator) and `D` (a Discriminator), named as in the formulas;
    `sample` and `decode` give images in [0, 1]."""

    def __init__(self, G: Generator, D: Discriminator):
        super().__init__()
        self.G = check.instance(G, "G", Generator, "a companion.gan.Generator")
        self.D = check.instance(D, "D", Discriminator, "a companion.gan.Discriminator")
        self.latent_dim = G.latent_dim

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n latent codes z ~ N(0, I), (n, latent_dim), drawn on the CPU (so seeds agree everywhere)."""
        check.positive_int(n, "n")
        check.cpu_generator(generator)
        dtype = next(self.parameters()).dtype
        return torch.randn(n, self.latent_dim, generator=generator, dtype=dtype)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images (N, C, S, S) in [0, 1] for latent codes z (N, latent_dim), in eval mode."""
        weight = self.G.net[0].weight
        check.tensor(z, "z", ndim=2, layout=f"(N, {self.latent_dim})", floating=True)
        with training.eval_mode(self):
            return (self.G(z.to(weight.device, weight.dtype)) + 1) / 2  # tanh's [-1, 1] -> [0, 1]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n new images (n, C, S, S) in [0, 1]; pass a CPU generator to make them reproducible."""
        return self.decode(self.sample_latent(n, generator))


@dataclass(frozen=True)
class GANConfig:
    """How `train_gan` trains: Adam, a fixed number of epochs.

    The defaults are the recipe measured on the 8×8 digits (benchmarks/gan_ablation.py measures what
    each part buys): 100 epochs of batches of 32 (4,400 steps), a 32-dimensional z, 2×2 -> 4×4 -> 8×8
    (min_side=2), Adam with β₁ = 0, a spectrally normalised D, and weight averaging. The ablation's
    baseline is the earlier recipe: 30 epochs, DCGAN's betas (0.5, 0.999), neither of the last two fields.

    betas: Adam's (β₁, β₂); β₁ = 0 drops the momentum, which averages gradients from a game whose
        other player keeps moving (SAGAN, Zhang et al. 2019, and BigGAN, Brock et al. 2019, do so too).
    ema_decay: if > 0, the returned generator is an exponential moving average of the trained
        generator's weights, θ_ema ← β θ_ema + (1 − β) θ after every step (Karras et al., 2018,
        "Progressive Growing of GANs", §A.1); it smooths out the step-to-step jitter of the game.
    spectral_norm: spectral normalisation of D's convolutions (see `Discriminator`).
    recalibrate_batchnorm: re-estimate the averaged generator's BatchNorm statistics from fresh z
        after training (see `recalibrate_batchnorm`); without it, it uses the trained generator's.
    """

    epochs: int = 100
    batch_size: int = 32
    latent_dim: int = 32
    width: int = 32
    min_side: int = 2
    lr: float = 1e-3
    betas: tuple[float, float] = (0.0, 0.99)
    ema_decay: float = 0.995
    spectral_norm: bool = True
    recalibrate_batchnorm: bool = True
    snapshot_epochs: tuple[int, ...] = ()

    def __post_init__(self):
        for name in ("epochs", "batch_size", "latent_dim", "width", "min_side"):
            check.positive_int(getattr(self, name), name)
        check.real(self.lr, "lr", above=0)
        check.betas(self.betas)
        check.real(self.ema_decay, "ema_decay", at_least=0, below=1)
        if not isinstance(self.snapshot_epochs, tuple):
            raise TypeError(f"expected snapshot_epochs to be a tuple of epoch numbers, got "
                            f"{check.describe(self.snapshot_epochs)}")
        for epoch in self.snapshot_epochs:
            if check.positive_int(epoch, "each of snapshot_epochs") > self.epochs:
                raise ValueError(f"expected snapshot_epochs in [1, epochs={self.epochs}], got {epoch}")

        for name in ("spectral_norm", "recalibrate_batchnorm"):
            check.flag(getattr(self, name), name)


def _check_logits(logits: torch.Tensor, name: str) -> torch.Tensor:
    # nan logits are not refused: like torch's losses these return nan, and the trainers stop on it.
    check.tensor(logits, name, floating=True)
    if logits.numel() == 0:
        raise ValueError(f"expected {name} with at least one logit, got shape {tuple(logits.shape)}")
    return logits


@torch.no_grad()
def recalibrate_batchnorm(G: Generator, generator: torch.Generator | None = None, batches: int = 16,
                          batch_size: int = 256) -> None:
    """Set G's BatchNorm running statistics to their average over `batches` fresh batches of z ~ N(0, I).

    An averaged generator's weights are not the trained generator's, so the statistics that the
    trained one collected do not describe the averaged one's activations; sampling (in eval mode)
    uses them all the same. z is drawn on the CPU from `generator`. G is left in eval mode.
    """
    norms = [m for m in G.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # None: a cumulative average over the batches below
    G.train()
    param = next(G.parameters())
    for _ in range(batches):
        G(torch.randn(batch_size, G.latent_dim, generator=generator, dtype=param.dtype).to(param.device))
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    G.eval()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """−[log D(x) + log(1 − D(G(z)))], averaged: the discriminator ascends V (eq. 1 of Goodfellow et al.)."""
    _check_logits(real_logits, "real_logits")
    check.like(_check_logits(fake_logits, "fake_logits"), "fake_logits", real_logits, "real_logits")
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def generator_loss(fake_logits: torch.Tensor, loss: str = "non-saturating") -> torch.Tensor:
    """The generator's loss from D's logits on generated images, averaged over the batch.

    "non-saturating": −log D(G(z)) (Goodfellow et al., §3), the one practice uses;
    "saturating": log(1 − D(G(z))), the minimax form of (1.3.4a), whose gradient vanishes when D wins.
    """
    _check_logits(fake_logits, "fake_logits")
    if check.one_of(loss, "loss", GENERATOR_LOSSES) == "non-saturating":
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def train_gan(images: torch.Tensor, config: GANConfig | None = None, *, device: torch.device | str | None = None,
              generator: torch.Generator | None = None, progress: bool = True) -> tuple[GAN, dict[str, list]]:
    """Train a DCGAN on images in [0, 1]; return the GAN (in eval mode) and its history.

    Each step: (1) the discriminator descends `discriminator_loss` on a real batch and a fake batch
    whose graph is cut (`detach`), (2) the generator descends the non-saturating `generator_loss`
    through the updated discriminator; each optimiser zeroes its own gradients first.

    Args:
        images: (N, C, S, S) float images in [0, 1] (scaled to tanh's [-1, 1] inside).
        config: `GANConfig()` if None.
        device: where to train; None: the images' device. The GAN is returned there.
        generator: a CPU generator for the weights, the batches and z; same seed, same GAN.
        progress: show a tqdm progress bar over epochs.

    Returns:
        (gan, history): gan holds the averaged generator if config.ema_decay > 0 (its BatchNorm
        statistics recalibrated if config.recalibrate_batchnorm). history has
        per-epoch lists "d_loss", "g_loss", "d_real" and "d_fake" (mean D(x) and D(G(z)) as
        probabilities, for the trained G), and "snapshot_epochs" and "snapshots": images
        (16, C, S, S) in [0, 1] from one fixed z after each epoch in config.snapshot_epochs.

    Raises:
        FloatingPointError: if a loss becomes nan or inf.
    """
    config = training.check_config(config, GANConfig)
    N, C, S, _ = check_unit_images(images, square=True)
    device = training.resolve_device(device, images)
    generator = training.seed_generator(generator)
    check.flag(progress, "progress")

    with training.weights_from(generator, device):  # the initial weights come from `generator`
        gan = GAN(Generator(C, S, config.latent_dim, config.width, config.min_side),
                  Discriminator(C, S, config.width, config.min_side, config.spectral_norm))
    gan = gan.to(device=device, dtype=images.dtype)
    G, D = gan.G, gan.D
    G_ema = copy.deepcopy(G).requires_grad_(False) if config.ema_decay > 0 else G
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr, betas=config.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr, betas=config.betas)
    loader = DataLoader(TensorDataset(images * 2 - 1), batch_size=config.batch_size, shuffle=True,
                        generator=generator, drop_last=N >= 2 * config.batch_size)
    fixed_z = gan.sample_latent(16, generator)
    history: dict[str, list] = {"d_loss": [], "g_loss": [], "d_real": [], "d_fake": [],
                                "snapshot_epochs": [], "snapshots": []}

    step = 0
    for epoch in training.progress_bar(range(1, config.epochs + 1), "GAN epochs", progress):
        gan.train()
        sums = dict.fromkeys(("d_loss", "g_loss", "d_real", "d_fake"), 0.0)
        for (real,) in loader:
            real = real.to(device)
            B = real.shape[0]
            z = torch.randn(B, config.latent_dim, generator=generator, dtype=images.dtype).to(device)
            fake = G(z)  # (B, C, S, S)

            # (1) discriminator: real -> 1, fake -> 0; detach so no gradient reaches G here
            real_logits, fake_logits = D(real), D(fake.detach())
            d_loss = discriminator_loss(real_logits, fake_logits)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()

            # (2) generator: make the updated D call the fakes real (non-saturating loss)
            fake_logits = D(fake)
            g_loss = generator_loss(fake_logits)
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            if G_ema is not G:
                with torch.no_grad():
                    for p_ema, p in zip(G_ema.parameters(), G.parameters(), strict=True):
                        p_ema.lerp_(p, 1 - config.ema_decay)
                    for b_ema, b in zip(G_ema.buffers(), G.buffers(), strict=True):
                        b_ema.copy_(b)  # BatchNorm's running statistics

            training.stop_if_diverged(step, f"lower the learning rate (lr={config.lr})", d_loss=d_loss.item(),
                             g_loss=g_loss.item())
            step += 1
            sums["d_loss"] += d_loss.item()
            sums["g_loss"] += g_loss.item()
            sums["d_real"] += torch.sigmoid(real_logits).mean().item()
            sums["d_fake"] += torch.sigmoid(fake_logits).mean().item()
        for key, total in sums.items():
            history[key].append(total / len(loader))
        if epoch in config.snapshot_epochs:
            history["snapshot_epochs"].append(epoch)
            history["snapshots"].append(GAN(G_ema, D).decode(fixed_z).cpu())
    if config.recalibrate_batchnorm and G_ema is not G:
        recalibrate_batchnorm(G_ema, generator)
    gan = GAN(G_ema, D)
    gan.eval()
    return gan, history
