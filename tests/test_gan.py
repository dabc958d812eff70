"""The GAN: the optimal discriminator (eq. 1.4.2a), the corrected networks and their training."""

import pytest
import torch

from companion.gan import optimal_discriminator


def test_optimal_discriminator_is_the_density_ratio_and_maximises_the_value():
    p_data = torch.tensor([0.5, 0.2, 0.0, 3.0], dtype=torch.float64)
    p_model = torch.tensor([0.5, 0.6, 1.0, 1.0], dtype=torch.float64)
    d = optimal_discriminator(p_data, p_model)
    torch.testing.assert_close(d, torch.tensor([0.5, 0.25, 0.0, 0.75], dtype=torch.float64), rtol=0, atol=1e-15)
    # Pointwise, D* maximises p_data log D + p_model log(1 - D): no grid value does better.
    grid = torch.linspace(1e-6, 1 - 1e-6, 10001, dtype=torch.float64)[:, None]
    value = p_data * torch.log(grid) + p_model * torch.log1p(-grid)
    best = grid[value.argmax(0), 0]
    torch.testing.assert_close(best, d, rtol=0, atol=2e-4)


def test_optimal_discriminator_is_one_half_where_both_densities_vanish():
    zero = torch.zeros(2, 3)
    d = optimal_discriminator(zero, zero)
    assert torch.equal(d, torch.full((2, 3), 0.5))
    assert d.dtype == torch.float32


def test_optimal_discriminator_keeps_dtype_and_shape():
    p = torch.rand(4, 5, dtype=torch.float64)
    q = torch.rand(4, 5, dtype=torch.float64)
    d = optimal_discriminator(p, q)
    assert d.shape == (4, 5) and d.dtype == torch.float64
    assert torch.all((d >= 0) & (d <= 1))


@pytest.mark.parametrize(
    "p, q, error, message",
    [
        (torch.ones(3), torch.ones(4), ValueError, r"same shape, got \(3,\) and \(4,\)"),
        (torch.tensor([-0.1, 1.0]), torch.ones(2), ValueError, "p_data >= 0"),
        (torch.ones(2), torch.tensor([1.0, float("nan")]), ValueError, "p_model to be finite"),
        ([0.5], torch.ones(1), TypeError, "p_data to be a torch.Tensor, got list"),
        (torch.ones(2, dtype=torch.int64), torch.ones(2), TypeError, "floating-point"),
        (torch.ones(2), torch.ones(2, dtype=torch.float64), TypeError, "same dtype and device"),
    ],
)
def test_optimal_discriminator_rejects_bad_input(p, q, error, message):
    with pytest.raises(error, match=message):
        optimal_discriminator(p, q)
