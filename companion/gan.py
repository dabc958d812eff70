"""Generative adversarial networks: the optimal discriminator, and the textbook's GAN corrected.

The minimax game of Goodfellow et al. (2014, "Generative Adversarial Nets", eq. 1) is

    min_G max_D  V(D, G) = E_{x ~ p_data}[log D(x)] + E_{z ~ p_z}[log(1 - D(G(z)))].

For a fixed generator the inner maximum is reached pointwise (their Proposition 1) by

    D*(x) = p_data(x) / (p_data(x) + p_model(x)),                                   (1.4.2a)

which `optimal_discriminator` computes.
"""

from __future__ import annotations

import torch


def optimal_discriminator(p_data: torch.Tensor, p_model: torch.Tensor) -> torch.Tensor:
    """The discriminator that maximises V(D, G) for a fixed generator, eq. (1.4.2a), elementwise.

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
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"expected {name} to be a torch.Tensor, got {type(p).__name__}")
        if not p.is_floating_point():
            raise TypeError(f"expected {name} to be a floating-point tensor, got dtype {p.dtype}")
    if p_data.shape != p_model.shape:
        raise ValueError(
            f"expected p_data and p_model of the same shape, got {tuple(p_data.shape)} and {tuple(p_model.shape)}"
        )
    if p_data.dtype != p_model.dtype or p_data.device != p_model.device:
        raise TypeError(
            f"expected p_data and p_model with the same dtype and device, got {p_data.dtype} on {p_data.device} "
            f"and {p_model.dtype} on {p_model.device}"
        )
    for name, p in (("p_data", p_data), ("p_model", p_model)):
        if not torch.isfinite(p).all():
            raise ValueError(f"expected {name} to be finite, got {int((~torch.isfinite(p)).sum())} nan/inf values")
        if (p < 0).any():
            raise ValueError(f"expected {name} >= 0 (a density), got a minimum of {p.min().item():.4g}")
    total = p_data + p_model
    both_zero = total == 0
    ratio = p_data / torch.where(both_zero, torch.ones_like(total), total)
    return torch.where(both_zero, torch.full_like(total, 0.5), ratio)
