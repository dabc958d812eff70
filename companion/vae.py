"""The variational autoencoder (VAE) that §1.2.6 and §1.3.5 describe but never code.

An encoder q(z | x) = N(mu(x), diag(exp(logvar(x)))) and a decoder p(x | z) are trained jointly,
in one step, on one objective, the evidence lower bound (ELBO; Kingma & Welling 2013,
"Auto-Encoding Variational Bayes", arXiv:1312.6114):

    ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) ‖ N(0, I))                      (B.1)

and not in the alternating encoder/decoder steps the textbook lists. Gradients flow through the
sample z thanks to the reparameterisation trick

    z = mu + exp(logvar / 2) * eps,   eps ~ N(0, I)                             (B.2)

and the KL term has a closed form (Appendix B of the paper), see `gaussian_kl`.

Latent vectors are rows: mu, logvar and z have shape (N, latent_dim).
"""

from __future__ import annotations

import torch


def _check_latent_pair(mu: torch.Tensor, logvar: torch.Tensor) -> None:
    for name, value in (("mu", mu), ("logvar", logvar)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"expected {name} to be a torch.Tensor, got {type(value).__name__}")
        if not value.is_floating_point():
            raise TypeError(f"expected {name} to be a floating-point tensor, got dtype {value.dtype}")
    if mu.ndim != 2:
        raise ValueError(f"expected mu of shape (N, latent_dim), got {tuple(mu.shape)}")
    if mu.shape != logvar.shape:
        raise ValueError(
            f"expected mu and logvar of the same shape (N, latent_dim), "
            f"got mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)}"
        )


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
    """Draw z = mu + sigma * eps (eq. B.2), differentiable in mu and logvar.

    Args:
        mu, logvar: (N, latent_dim).
        generator: the source of eps; None uses torch's global generator. eps is drawn on the
            generator's device and moved to mu's, so a CPU generator also serves a CUDA model.
    Returns:
        z: (N, latent_dim), same dtype and device as mu.
    """
    _check_latent_pair(mu, logvar)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"expected generator to be a torch.Generator or None, got {type(generator).__name__}")
    eps_device = generator.device if generator is not None else mu.device
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=eps_device).to(mu.device)
    return mu + torch.exp(0.5 * logvar) * eps
