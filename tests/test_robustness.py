"""Shifts (one for all images or one per image), rotations, noise, FGSM (5.1), saliency (5.2), occlusion (5.3)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.robustness import (
    add_gaussian_noise,
    fgsm,
    occlusion_map,
    rotate_images,
    saliency_map,
    scale_images,
    shift_images,
)


def _images(n=4, dtype=torch.float64, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _linear_model(dtype=torch.float64):
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).to(dtype)


@pytest.mark.parametrize("dy, dx", [(1, 0), (0, -2), (-3, 2), (2, 2)])
def test_shift_moves_pixels_and_fills_zeros(dy, dx):
    x = _images()
    padded = F.pad(x, (4, 4, 4, 4))  # zeros around, then cut the window back out
    expected = padded[:, :, 4 - dy: 12 - dy, 4 - dx: 12 - dx]
    out = shift_images(x, dy, dx)
    assert torch.equal(out, expected) and out.dtype == torch.float64


def test_shift_out_of_frame_is_blank_and_zero_shift_is_identity():
    x = _images()
    assert torch.equal(shift_images(x, 0, 0), x)
    assert torch.equal(shift_images(x, 8, 0), torch.zeros_like(x))
    with pytest.raises(TypeError, match=r"dy to be an int, got 1.5 \(float\)"):
        shift_images(x, 1.5, 0)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\), got \(8, 8\)"):
        shift_images(x[0, 0], 1, 1)


def test_each_image_can_have_its_own_shift():
    x = _images(5)
    dy, dx = torch.tensor([0, 1, -2, 3, 9]), torch.tensor([1, 0, 2, -1, 0])
    out = shift_images(x, dy, dx)
    for n in range(5):
        assert torch.equal(out[n:n + 1], shift_images(x[n:n + 1], int(dy[n]), int(dx[n])))
    with pytest.raises(ValueError, match=r"dy of shape \(5,\), one shift per image, got \(4,\)"):
        shift_images(x, dy[:4], dx)


def test_random_shifts_of_the_cnn_augmentation_move_a_pixel_by_at_most_one():
    x = torch.zeros(50, 1, 8, 8)
    x[:, 0, 4, 4] = 1.0
    offsets = torch.randint(-1, 2, (2, 50), generator=torch.Generator().manual_seed(0))
    shifted = shift_images(x, offsets[0], offsets[1])
    assert shifted.shape == x.shape and torch.all(shifted.sum((1, 2, 3)) == 1)
    rows, cols = shifted[:, 0].nonzero()[:, 1:].T
    assert set(rows.tolist()) == {3, 4, 5} and set(cols.tolist()) == {3, 4, 5}


def test_rotation_and_scaling_identities():
    x = _images(dtype=torch.float32)
    assert torch.allclose(rotate_images(x, 0.0), x, atol=1e-6)
    assert torch.allclose(rotate_images(x, 90.0), torch.rot90(x, 1, (2, 3)), atol=1e-5)
    assert torch.allclose(rotate_images(x, -90), torch.rot90(x, -1, (2, 3)), atol=1e-5)
    assert torch.allclose(scale_images(x, 1.0), x, atol=1e-6)
    assert rotate_images(x, 30.0).dtype == torch.float32
    # Zooming out by 2 leaves a blank frame of two pixels all round.
    small = scale_images(torch.ones(1, 1, 8, 8), 0.5)
    assert small[0, 0, 0].abs().max() == 0 and small[0, 0, 4, 4] > 0.9
    with pytest.raises(ValueError, match="factor to be a finite number > 0, got 0.0"):
        scale_images(x, 0.0)


def test_noise_is_clipped_seeded_and_of_the_stated_size():
    x = torch.full((200, 1, 8, 8), 0.5, dtype=torch.float64)
    a = add_gaussian_noise(x, 0.1, torch.Generator().manual_seed(1))
    b = add_gaussian_noise(x, 0.1, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert abs((a - x).std().item() - 0.1) < 0.005
    assert add_gaussian_noise(x, 5.0).min() >= 0 and add_gaussian_noise(x, 5.0).max() <= 1
    with pytest.raises(ValueError, match="std"):
        add_gaussian_noise(x, -1.0)


def test_fgsm_matches_its_equation_and_stays_in_the_box():
    model, x = _linear_model(), _images(6)
    y = torch.arange(6)
    eps = 0.05
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.cross_entropy(model(leaf), y), leaf)
    expected = (x + eps * grad.sign()).clamp(0, 1)  # (5.1)
    out = fgsm(model, x, y, eps)
    assert torch.allclose(out, expected, atol=1e-12)
    assert (out - x).abs().max() <= eps + 1e-12 and out.min() >= 0 and out.max() <= 1
    assert F.cross_entropy(model(out), y) > F.cross_entropy(model(x), y)  # uphill
    assert torch.equal(fgsm(model, x, y, 0.0), x)
    assert all(p.grad is None for p in model.parameters())  # the model is not touched


def test_fgsm_restores_training_mode_and_checks_inputs():
    model, x = _linear_model(), _images(3)
    model.train()
    fgsm(model, x, torch.tensor([0, 1, 2]), 0.1)
    assert model.training
    with pytest.raises(ValueError, match="epsilon"):
        fgsm(model, x, torch.tensor([0, 1, 2]), -0.1)
    with pytest.raises(ValueError, match=r"labels of shape \(3,\)"):
        fgsm(model, x, torch.tensor([0, 1]), 0.1)
    with pytest.raises(TypeError, match="int64"):
        fgsm(model, x, torch.tensor([0.0, 1.0, 2.0]), 0.1)
    with pytest.raises(ValueError, match="images to be finite"):
        fgsm(model, torch.full_like(x, float("nan")), torch.tensor([0, 1, 2]), 0.1)


def test_saliency_of_a_linear_model_is_its_weight_row():
    model, x = _linear_model(), _images(3)
    y = torch.tensor([4, 0, 9])
    weight = model[1].weight.detach()  # (10, 64)
    expected = weight[y].abs().reshape(3, 8, 8)  # (5.2): ∂(W x + b)_y / ∂x = W_y
    assert torch.allclose(saliency_map(model, x, y), expected, atol=1e-12)


def test_occlusion_finds_the_only_pixel_that_matters():
    class TopLeft(nn.Module):  # class 1 when pixel (0, 0) is bright, class 0 otherwise
        def forward(self, x):
            s = 10 * x[:, 0, 0, 0]
            return torch.stack([-s, s], dim=1)

    x = torch.zeros(2, 1, 8, 8, dtype=torch.float64)
    x[:, 0, 0, 0] = 1.0
    heat = occlusion_map(TopLeft(), x, torch.tensor([1, 1]), patch=2)
    assert heat.shape == (2, 8, 8)
    assert torch.allclose(heat[:, 0, 0], torch.full((2,), 0.5, dtype=torch.float64), atol=1e-6)  # p: ~1 -> ½
    assert heat[:, 2:, :].abs().max() == 0 and heat[:, :, 2:].abs().max() == 0
    with pytest.raises(ValueError, match="patch"):
        occlusion_map(TopLeft(), x, torch.tensor([1, 1]), patch=9)
