"""companion.conv: every from-scratch convolution equals torch.nn.functional.conv2d, forward and backward."""

import itertools

import pytest
import torch
import torch.nn.functional as F

from companion.backprop import numerical_gradient, relative_error
from companion.conv import conv2d, conv2d_backward, conv2d_naive, conv_output_size, cross_correlate2d, im2col
from tests.helpers import FINITE_DIFFERENCE_TOLERANCE, assert_close, assert_matches_torch

# (N, C, C_out, H, W, kernel, stride, padding, dilation): batch of 1, several channels, non-square
# kernels and images, asymmetric stride/padding/dilation, strides that do not divide evenly.
GRID = [
    (1, 1, 1, 5, 5, (3, 3), 1, 0, 1),
    (2, 3, 4, 7, 9, (3, 3), 1, 1, 1),
    (1, 2, 3, 8, 6, (2, 4), 2, 0, 1),
    (3, 1, 2, 9, 9, (3, 3), 2, 1, 2),
    (2, 4, 1, 10, 7, (1, 3), (1, 2), (0, 2), (1, 1)),
    (1, 3, 5, 11, 12, (3, 2), 3, 2, (2, 3)),
    (2, 2, 2, 6, 6, (6, 6), 1, 0, 1),  # kernel as large as the image: one output pixel
    (1, 1, 2, 4, 5, (3, 3), 2, 3, 1),  # padding larger than half the kernel
    (2, 3, 2, 13, 8, (5, 3), (3, 1), (1, 0), (1, 2)),
]


def make(N, C, C_out, H, W, kernel, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, C, H, W, generator=g, dtype=dtype)
    weight = torch.randn(C_out, C, *kernel, generator=g, dtype=dtype)
    bias = torch.randn(C_out, generator=g, dtype=dtype)
    return x, weight, bias


@pytest.mark.parametrize("N, C, C_out, H, W, kernel, stride, padding, dilation", GRID)
@pytest.mark.parametrize("impl", [conv2d, conv2d_naive])
def test_forward_equals_torch_float64(impl, N, C, C_out, H, W, kernel, stride, padding, dilation):
    """Forward and autograd backward, with and without a bias, against F.conv2d."""
    setting = dict(stride=stride, padding=padding, dilation=dilation)
    shapes = [(N, C, H, W), (C_out, C, *kernel)]
    assert_matches_torch(lambda x, w, b: impl(x, w, b, **setting), lambda x, w, b: F.conv2d(x, w, b, **setting),
                         [[*shapes, (C_out,)]])
    assert_matches_torch(lambda x, w: impl(x, w, **setting), lambda x, w: F.conv2d(x, w, **setting), [shapes])


@pytest.mark.parametrize("N, C, C_out, H, W, kernel, stride, padding, dilation", GRID)
def test_hand_written_backward_equals_autograd(N, C, C_out, H, W, kernel, stride, padding, dilation):
    x, weight, bias = make(N, C, C_out, H, W, kernel)
    leaves = [t.clone().requires_grad_(True) for t in (x, weight, bias)]
    out = F.conv2d(*leaves, stride, padding, dilation)
    grad_output = torch.randn(out.shape, generator=torch.Generator().manual_seed(1), dtype=out.dtype)
    out.backward(grad_output)
    grad_x, grad_w, grad_b = conv2d_backward(x, weight, grad_output, stride, padding, dilation)
    for mine, leaf in zip((grad_x, grad_w, grad_b), leaves, strict=True):
        assert mine.shape == leaf.shape
        assert_close(mine, leaf.grad)


def test_hand_written_backward_matches_finite_differences():
    x, weight, bias = make(1, 2, 2, 6, 5, (3, 2), seed=3)
    kwargs = dict(stride=2, padding=1, dilation=(1, 2))
    grad_output = torch.randn(conv2d(x, weight, **kwargs).shape, generator=torch.Generator().manual_seed(4),
                              dtype=torch.float64)
    grad_x, grad_w, _ = conv2d_backward(x, weight, grad_output, **kwargs)

    def loss(_):
        return (conv2d(x, weight, **kwargs) * grad_output).sum()

    assert relative_error(grad_x, numerical_gradient(loss, x)) < FINITE_DIFFERENCE_TOLERANCE
    assert relative_error(grad_w, numerical_gradient(loss, weight)) < FINITE_DIFFERENCE_TOLERANCE


@pytest.mark.parametrize("impl", [conv2d, conv2d_naive])
def test_float32_keeps_dtype_and_agrees(impl):
    assert_matches_torch(lambda x, w, b: impl(x, w, b, stride=2, padding=1), lambda x, w, b: F.conv2d(x, w, b, 2, 1),
                         [[(2, 3, 9, 8), (4, 3, 3, 3), (4,)]], dtype=torch.float32)


def test_textbook_formula_is_cross_correlation():
    shapes = [[(H, W), (P, Q)] for H, W, P, Q in [(5, 5, 3, 3), (6, 4, 2, 3), (4, 7, 4, 1), (3, 3, 3, 3), (1, 5, 1, 2)]]
    assert_matches_torch(cross_correlate2d, lambda x, k: F.conv2d(x[None, None], k[None, None])[0, 0], shapes)


def test_correlation_and_convolution_differ_by_a_kernel_flip():
    impulse = torch.zeros(5, 5, dtype=torch.float64)
    impulse[2, 2] = 1.0
    k = torch.arange(1.0, 10.0, dtype=torch.float64).view(3, 3)  # asymmetric
    padded = F.pad(impulse, (2, 2, 2, 2))
    # correlating an impulse paints the flipped kernel; true convolution paints the kernel itself
    torch.testing.assert_close(cross_correlate2d(padded, k)[2:5, 2:5], k.flip(0, 1))
    torch.testing.assert_close(cross_correlate2d(padded, k.flip(0, 1))[2:5, 2:5], k)
    symmetric = k + k.flip(0, 1)
    torch.testing.assert_close(cross_correlate2d(padded, symmetric), cross_correlate2d(padded, symmetric.flip(0, 1)))


def test_true_convolution_is_correlation_with_the_rotated_kernel_at_an_offset():
    scipy_signal = pytest.importorskip("scipy.signal")
    g = torch.Generator().manual_seed(5)
    x, k = torch.randn(7, 6, generator=g, dtype=torch.float64), torch.randn(3, 2, generator=g, dtype=torch.float64)
    full = torch.from_numpy(scipy_signal.convolve2d(x.numpy(), k.numpy(), mode="full"))  # (x * k)(m, n), all m, n
    P, Q = k.shape
    # (x * k)(i + P - 1, j + Q - 1) = corr(x, rot180(k))(i, j) on the valid window
    assert_close(cross_correlate2d(x, k.rot90(2)), full[P - 1: 7, Q - 1: 6])


def test_sobel_kernel_as_written_in_the_notebook_is_plus_d_dx_under_correlation():
    sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=torch.float64)
    ramp = torch.arange(6, dtype=torch.float64).repeat(6, 1)  # x(i, j) = j
    assert torch.all(cross_correlate2d(ramp, sobel_x) == 8)  # 8 * dx/dj
    assert torch.all(cross_correlate2d(ramp.T, sobel_x.T) == 8)  # the transpose is +d/dy, y pointing down
    assert torch.all(cross_correlate2d(ramp, sobel_x.flip(0, 1)) == -8)  # true convolution: -d/dx


def test_backward_gives_zero_gradient_to_pixels_that_no_window_reads():
    x, weight, _ = make(1, 2, 3, 6, 6, (3, 3), seed=6)  # (6 - 3) mod 2 = 1: the last row and column are unread
    grad_output = torch.randn(1, 3, 2, 2, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    grad_x, _, _ = conv2d_backward(x, weight, grad_output, stride=2)
    assert torch.all(grad_x[..., -1, :] == 0) and torch.all(grad_x[..., :, -1] == 0)
    assert grad_x[..., :-1, :-1].abs().max() > 0  # the rest does receive gradient
    leaf = x.clone().requires_grad_(True)
    (F.conv2d(leaf, weight, stride=2) * grad_output).sum().backward()
    assert_close(grad_x, leaf.grad)


def test_output_size_formula_matches_torch_over_a_grid():
    checked = 0
    for n, k, s, p, d in itertools.product(range(1, 9), range(1, 5), range(1, 4), range(3), range(1, 3)):
        if d * (k - 1) + 1 > n + 2 * p:
            with pytest.raises(ValueError, match="expected a kernel no larger than the padded input"):
                conv_output_size(n, k, s, p, d)
            continue
        out = F.conv2d(torch.zeros(1, 1, n, 1), torch.zeros(1, 1, k, 1), stride=(s, 1), padding=(p, 0),
                       dilation=(d, 1))
        assert conv_output_size(n, k, s, p, d) == out.shape[2], (n, k, s, p, d)
        checked += 1
    assert checked > 400


def test_im2col_equals_torch_unfold():
    x, _, _ = make(2, 3, 1, 9, 7, (1, 1))
    for kwargs in (dict(), dict(stride=2, padding=1, dilation=(2, 1))):
        torch.testing.assert_close(im2col(x, (3, 2), **kwargs), F.unfold(x, (3, 2), **kwargs), rtol=0, atol=0)


def test_conv2d_is_deterministic():
    x, weight, bias = make(3, 2, 4, 10, 10, (3, 3), dtype=torch.float32)
    assert torch.equal(conv2d(x, weight, bias, padding=1), conv2d(x, weight, bias, padding=1))


@pytest.mark.parametrize("impl", [conv2d, conv2d_naive])
def test_bad_input_says_what_was_expected_and_what_arrived(impl):
    x, weight, bias = make(2, 3, 4, 8, 8, (3, 3))
    with pytest.raises(ValueError, match=r"channel mismatch: x has 3 channels, so expected weight of shape "
                                         r"\(4, 3, 3, 3\), got \(4, 2, 3, 3\)"):
        impl(x, weight[:, :2])
    with pytest.raises(ValueError, match=r"no larger than the padded input.*spans 9, got a padded input of size 8"):
        impl(x, torch.zeros(4, 3, 9, 9, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"kernel no larger than the padded input.*dilation 4 spans 9"):
        impl(x, weight, dilation=4)
    with pytest.raises(ValueError, match=r"expected x of shape \(N, C, H, W\), got \(3, 8, 8\)"):
        impl(x[0], weight)
    with pytest.raises(ValueError, match=r"expected weight of shape \(C_out, C, kH, kW\), got \(3, 3, 3\)"):
        impl(x, weight[0])
    with pytest.raises(ValueError, match=r"expected bias of shape \(4,\), one per output channel, got \(3,\)"):
        impl(x, weight, bias[:3])
    with pytest.raises(TypeError, match=r"expected weight of dtype torch.float64 .* got torch.float32"):
        impl(x, weight.float())
    with pytest.raises(TypeError, match=r"expected x to be a torch.Tensor, got ndarray of shape \(2, 3, 8, 8\)"):
        impl(x.numpy(), weight)
    with pytest.raises(TypeError, match=r"expected x of dtype torch.float32 or torch.float64, got torch.int64"):
        impl(x.long(), weight)
    with pytest.raises(TypeError, match=r"expected stride to be an int or a pair of ints, got \(1, 2, 3\)"):
        impl(x, weight, stride=(1, 2, 3))
    with pytest.raises(ValueError, match=r"expected stride >= 1, got 0"):
        impl(x, weight, stride=0)
    with pytest.raises(TypeError, match=r"expected stride to be an int or a pair of ints, got True"):
        impl(x, weight, stride=True)
    with pytest.raises(ValueError, match=r"expected padding >= 0, got \(0, -1\)"):
        impl(x, weight, padding=(0, -1))


def test_bad_input_to_the_textbook_formula_and_the_backward():
    with pytest.raises(ValueError, match=r"expected x of shape \(H, W\), got \(1, 4, 4\)"):
        cross_correlate2d(torch.zeros(1, 4, 4), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"no larger than the image \(4, 4\), got \(5, 2\)"):
        cross_correlate2d(torch.zeros(4, 4), torch.zeros(5, 2))
    x, weight, _ = make(1, 2, 3, 6, 6, (3, 3))
    with pytest.raises(ValueError, match=r"grad_output of shape \(1, 3, 4, 4\) \(the output's\), got \(1, 3, 6, 6\)"):
        conv2d_backward(x, weight, torch.zeros(1, 3, 6, 6, dtype=torch.float64))
    with pytest.raises(TypeError, match="kernel_size to be an int"):
        conv_output_size(8, 2.5)
