"""The variational autoencoder (VAE) that §1.2.6 and §1.3.5 describe but never code.

An encoder q(z | x) = N(mu(x), diag(exp(logvar(x)))) and a decoder p(x | z) are trained jointly,
in one step, on one objective, the evidence lower bound (ELBO; Kingma & Welling 2013,
"Auto-Encoding Variational Bayes", arXiv:1312.6114):

    ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) ‖ N(0, I))                      (1.3.5a)

and not in the alternating encoder/decoder steps the textbook lists. Gradients flow through the
sample z thanks to the reparameterisation trick

    z = mu + exp(logvar / 2) * eps,   eps ~ N(0, I)           (reparameterisation, §1.3.5)

and the KL term has a closed form (Appendix B of the paper), see `gaussian_kl`.

Latent vectors are rows: mu, logvar and z have shape (N, latent_dim).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from companion import training
from companion import validation as check
from companion.data import check_unit_images

PIXEL_CLIP = 1e-3  # pixel probabilities are kept in [1e-3, 1 - 1e-3], so that log p stays finite


def _check_latent_pair(mu: torch.Tensor, logvar: torch.Tensor) -> None:
    check.tensor(mu, "mu", floating=True)
    check.tensor(logvar, "logvar", floating=True)
    if mu.ndim != 2:
        raise ValueError(f"expected mu of shape (N, latent_dim), got {tuple(mu.shape)}")
    if mu.shape != logvar.shape:
        raise ValueError(
            f"expected mu and logvar of the same shape (N, latent_dim), "
            f"got mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)}"
        )
    check.like(logvar, "logvar", mu, "mu")


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) ‖ N(0, I)) for each row, in nats.

    Args:
        mu, logvar: (N, latent_dim), the encoder's mean and log-variance.
    Returns:
        (N,): the divergence summed over the latent dimensions.
    """
    _check_latent_pair(mu, logvar)
    # Kingma & Welling 2013, Appendix B: -KL = 1/2 * sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2)
    return -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def reparameterize(
    mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw z = mu + sigma * eps (the reparameterisation trick of §1.3.5), differentiable in mu and logvar.

    Args:
        mu, logvar: (N, latent_dim).
        generator: the source of eps; None uses torch's global generator. eps is drawn on the
            generator's device and moved to mu's, so a CPU generator also serves a CUDA model.
    Returns:
        z: (N, latent_dim), same dtype and device as mu.
    """
    _check_latent_pair(mu, logvar)
    check.generator(generator)
    eps_device = generator.device if generator is not None else mu.device
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=eps_device).to(mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


@dataclass(frozen=True)
class VAEConfig:
    """The model's size and the training schedule of `train_vae`.

    The defaults are the recipe measured on the 8×8 digits (notebook 04): 80 epochs of batches of
    64 (1,840 steps) with Adam, the learning rate decaying along a cosine from 5e-3 to 2e-4.

    kl_weight and sample_z exist for the ablations of chapters 3 and 6: `kl_weight=0` trains on the
    reconstruction term alone, and `sample_z=False` decodes the encoder's mean μ(x) instead of a sample
    z ~ q(z | x); both together train a plain (deterministic) autoencoder.
    """

    latent_dim: int = 8
    hidden: int = 256
    epochs: int = 80
    batch_size: int = 64
    lr: float = 5e-3
    lr_final: float = 2e-4  # cosine decay from lr to lr_final over the run
    kl_warmup_epochs: int = 10  # the KL weight rises linearly 0 -> 1 (avoids early posterior collapse)
    kl_weight: float = 1.0  # the KL term's weight after the warm-up; 1 is the ELBO
    sample_z: bool = True  # False: decode μ(x) itself, no sampling

    def __post_init__(self):
        for name in ("latent_dim", "hidden", "epochs", "batch_size"):
            check.positive_int(getattr(self, name), name)
        check.real(self.lr, "lr", above=0)
        check.real(self.lr_final, "lr_final", above=0)
        check.integer(self.kl_warmup_epochs, "kl_warmup_epochs", minimum=0)
        check.real(self.kl_weight, "kl_weight", at_least=0)
        check.flag(self.sample_z, "sample_z")


class VAE(nn.Module):
    """A fully connected VAE for small grey-level images with a Bernoulli decoder.

    Args:
        latent_dim: size of z (2 gives a latent map that can be drawn).
        hidden: width of the two hidden layers of the encoder and of the decoder.
        image_shape: (C, H, W) of the images, values in [0, 1].

    `encode(x) -> (mu, logvar)`, `decode(z) -> pixel probabilities` (use `decode_logits` for the
    loss), `sample(n)`, `negative_elbo(x)`.
    """

    def __init__(self, latent_dim: int = 8, hidden: int = 256, image_shape: tuple[int, int, int] = (1, 8, 8)):
        super().__init__()
        check.positive_int(latent_dim, "latent_dim")
        check.positive_int(hidden, "hidden")
        if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3:
            raise TypeError(f"expected image_shape to be a tuple (C, H, W), got {check.describe(image_shape)}")
        for size in image_shape:
            check.positive_int(size, "each of image_shape (C, H, W)")
        self.latent_dim = latent_dim
        self.image_shape = tuple(image_shape)
        D = image_shape[0] * image_shape[1] * image_shape[2]
        self.encoder = nn.Sequential(
            nn.Linear(D, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, D)
        )

    def _check_images(self, x: torch.Tensor, unit: bool = False) -> None:
        check.tensor(x, "images")
        if x.ndim != 4 or tuple(x.shape[1:]) != self.image_shape:
            C, H, W = self.image_shape
            raise ValueError(f"expected images of shape (N, {C}, {H}, {W}), got {tuple(x.shape)}")
        check.tensor(x, "images", floating=True)
        if x.device != self.encoder[0].weight.device:
            raise ValueError(f"expected images on the model's device {self.encoder[0].weight.device}, got {x.device}")
        if unit:  # pixels are Bernoulli probabilities in the likelihood
            check.in_unit_interval(x, "images")

    def _check_latent(self, z: torch.Tensor) -> None:
        check.tensor(z, "z")
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"expected z of shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        check.tensor(z, "z", floating=True)
        if z.device != self.decoder[0].weight.device:
            raise ValueError(f"expected z on the model's device {self.decoder[0].weight.device}, got {z.device}")

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, C, H, W) images in [0, 1] -> mu, logvar, each (N, latent_dim)."""
        self._check_images(x)
        h = self.encoder(x.flatten(1).to(self.encoder[0].weight.dtype))  # (N, 2 * latent_dim)
        mu, logvar = h.chunk(2, dim=1)
        return mu.to(x.dtype), logvar.to(x.dtype)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """(N, latent_dim) -> Bernoulli logits (N, C, H, W)."""
        self._check_latent(z)
        logits = self.decoder(z.to(self.decoder[0].weight.dtype))  # (N, C*H*W)
        return logits.view(z.shape[0], *self.image_shape).to(z.dtype)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(N, latent_dim) -> pixel probabilities (N, C, H, W) in [0, 1] (the decoder's mean image)."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reconstruction probabilities (N, C, H, W) of x through one sample z ~ q(z | x)."""
        mu, logvar = self.encode(x)
        return self.decode(reparameterize(mu, logvar, generator))

    def elbo_terms(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The two terms of -ELBO (eq. 1.3.5a), each (N,) in nats, from one sample of z per image.

        Returns:
            recon: -log p(x | z) = binary cross-entropy summed over the pixels. With grey levels
                as targets this is a Bernoulli cross-entropy, not the log-likelihood of a
                probability model of grey levels; it is the usual convention.
            kl: KL(q(z | x) ‖ N(0, I)).
        """
        self._check_images(x, unit=True)
        mu, logvar = self.encode(x)
        logits = self.decode_logits(reparameterize(mu, logvar, generator))
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(dim=1)
        return recon, gaussian_kl(mu, logvar)

    def negative_elbo(
        self, x: torch.Tensor, n_samples: int = 1, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """-ELBO per image, (N,) nats (Bernoulli cross-entropy + KL), averaged over n_samples draws of z."""
        check.positive_int(n_samples, "n_samples")
        self._check_images(x, unit=True)
        total = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for _ in range(n_samples):
            recon, kl = self.elbo_terms(x, generator)
            total = total + recon + kl
        return total / n_samples

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n new images (n, C, H, W) in [0, 1]: the decoder's mean at z ~ N(0, I)."""
        check.positive_int(n, "n")
        check.generator(generator)
        weight = self.decoder[0].weight
        device = generator.device if generator is not None else weight.device
        z = torch.randn(n, self.latent_dim, generator=generator, dtype=weight.dtype, device=device)
        return self.decode(z.to(weight.device))


def pixel_means(images: torch.Tensor) -> torch.Tensor:
    """The mean image (C, H, W) of a batch in [0, 1], kept within [PIXEL_CLIP, 1 − PIXEL_CLIP]."""
    check_unit_images(images)
    return images.mean(dim=0).clamp(PIXEL_CLIP, 1 - PIXEL_CLIP)


def independent_pixels_nll(train_images: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """The Bernoulli cross-entropy score per image (N,), in nats, of a model of independent pixels.

    Its probabilities are the training images' pixel means (`pixel_means`): the model with no latent
    variable at all, the reference that a VAE's −ELBO (1.3.5a) has to beat, scored with the same Bernoulli
    cross-entropy as `VAE.elbo_terms`' reconstruction term. For binary pixels that is −log p(x); for grey
    pixels it is not −log p(x) of any probability model, only a score to compare such models with.
    """
    p = pixel_means(train_images)
    N, C, H, W = check_unit_images(images)
    if (C, H, W) != tuple(p.shape):
        raise ValueError(f"expected images of shape (N, {', '.join(map(str, p.shape))}) like train_images, "
                         f"got {tuple(images.shape)}")
    p = p.to(images.device, images.dtype)
    return F.binary_cross_entropy(p.expand_as(images), images, reduction="none").flatten(1).sum(dim=1)


def train_vae(images: torch.Tensor, config: VAEConfig | None = None, *, device: torch.device | str | None = None,
              generator: torch.Generator | None = None, progress: bool = True) -> tuple[VAE, dict[str, list]]:
    """Train a `VAE` on images (N, C, H, W) in [0, 1] by maximising the ELBO (eq. 1.3.5a) with Adam.

    Encoder and decoder are updated together, every step, from the one objective -ELBO (the
    textbook's §1.3.5 alternates them instead). The decoder's output bias starts at the logit of
    the mean training image (`pixel_means`), so the first step already predicts the average digit.

    Args:
        images: (N, C, H, W) float images in [0, 1].
        config: `VAEConfig()` if None.
        device: where to train; the VAE is returned there. None: the images' device.
        generator: a CPU generator for the initial weights, the batch order and eps; same seed,
            same VAE (on a given machine and thread count).
        progress: show a tqdm progress bar over epochs.

    Returns:
        (vae, history): the model in eval mode, and per-epoch means over the training images of
        "loss" (with the warm-up KL weight), "neg_elbo", "recon" and "kl", in nats per image.
    Raises:
        FloatingPointError: when the loss becomes nan or inf.
    """
    config = training.check_config(config, VAEConfig)
    N = check_unit_images(images)[0]
    device = training.resolve_device(device, images)
    generator = training.seed_generator(generator)
    check.flag(progress, "progress")

    with training.weights_from(generator, device):  # the initial weights come from `generator`
        vae = VAE(config.latent_dim, config.hidden, tuple(images.shape[1:]))
    with torch.no_grad():
        p = pixel_means(images).flatten().to("cpu", torch.float32)  # (C*H*W,) the mean image
        vae.decoder[-1].bias.copy_(torch.log(p / (1 - p)))
    vae = vae.to(device=device, dtype=images.dtype)
    x_all = images.to(device)
    optimizer = torch.optim.Adam(vae.parameters(), lr=config.lr)
    steps_per_epoch = -(-N // config.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps_per_epoch,
                                                          eta_min=config.lr_final)
    history: dict[str, list[float]] = {"loss": [], "neg_elbo": [], "recon": [], "kl": []}
    step = 0
    vae.train()
    for _ in training.progress_bar(range(config.epochs), "VAE epochs", progress):
        sums = torch.zeros(4, dtype=torch.float64, device=device)  # loss, neg_elbo, recon, kl
        order = torch.randperm(N, generator=generator).to(device)
        for start in range(0, N, config.batch_size):
            x = x_all[order[start : start + config.batch_size]]  # (B, C, H, W)
            beta = config.kl_weight * min(1.0, (step + 1) / (config.kl_warmup_epochs * steps_per_epoch + 1))
            if config.sample_z:
                recon, kl = vae.elbo_terms(x, generator)  # (B,), (B,)
            else:  # a plain autoencoder: decode the mean
                mu, logvar = vae.encode(x)
                recon = F.binary_cross_entropy_with_logits(vae.decode_logits(mu), x, reduction="none").flatten(1).sum(1)
                kl = gaussian_kl(mu, logvar)
            loss = (recon + beta * kl).mean()
            training.stop_if_diverged(step, f"try a lower lr than {config.lr}", loss=loss.item())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                B = x.shape[0]
                sums += torch.stack([loss * B, (recon + kl).sum(), recon.sum(), kl.sum()]).double()
            step += 1
        for key, value in zip(history, (sums / N).tolist(), strict=True):
            history[key].append(value)
    vae.eval()
    return vae, history
