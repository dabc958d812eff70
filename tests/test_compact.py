"""Compact CNNs and depthwise-separable convolutions: equal to an ordinary convolution with a factorised
kernel, eq. (1.5.2)'s counts, the listing's network at the listing's widths, and the multiply-add count."""

import pytest
import torch
import torch.nn.functional as F

from companion.cnn import CNN
from companion.compact import CompactCNN, SeparableConv2d, count_parameters, multiply_adds
from tests.helpers import assert_close, assert_matches_torch


@pytest.mark.parametrize("c_in, c_out, k, padding", [(1, 1, 3, 1), (4, 6, 3, 1), (3, 5, 5, 0), (8, 2, 1, 0)])
def test_separable_convolution_is_a_convolution_with_a_factorised_kernel(c_in, c_out, k, padding):
    torch.manual_seed(0)
    layer = SeparableConv2d(c_in, c_out, k, padding).double()

    def separable(x, depthwise, pointwise, bias):  # our layer, with the weights as inputs
        layer.depthwise.weight.data, layer.pointwise.weight.data, layer.pointwise.bias.data = depthwise, pointwise, bias
        return F.conv2d(F.conv2d(x, depthwise, padding=padding, groups=c_in), pointwise, bias)

    def factorised(x, depthwise, pointwise, bias):  # one ordinary convolution, W[o, i] = P[o, i] · D[i]
        return F.conv2d(x, pointwise[:, :, 0, 0, None, None] * depthwise[:, 0][None], bias, padding=padding)

    assert_matches_torch(separable, factorised,
                         [[(2, c_in, 7, 6), (c_in, 1, k, k), (c_out, c_in, 1, 1), (c_out,)]])
    x = torch.rand(2, c_in, 7, 6, dtype=torch.float64)
    assert_close(layer(x), F.conv2d(x, layer.full_weight(), layer.pointwise.bias, padding=padding))


@pytest.mark.parametrize("c_in, c_out, k", [(32, 64, 3), (3, 16, 5)])
def test_parameter_counts_follow_eq_1_5_2(c_in, c_out, k):
    layer = SeparableConv2d(c_in, c_out, k)
    assert count_parameters(layer) == k * k * c_in + c_in * c_out + c_out
    plain = torch.nn.Conv2d(c_in, c_out, k)
    weights = count_parameters(layer) - c_out
    assert weights / (count_parameters(plain) - c_out) == pytest.approx(1 / c_out + 1 / k**2)


def test_compact_cnn_at_the_listing_widths_is_the_listing_network():
    torch.manual_seed(0)
    listing = CNN(1, 8, 10)
    torch.manual_seed(0)
    compact = CompactCNN(1, 8, 10)
    for (name, p), (name_c, q) in zip(listing.named_parameters(), compact.named_parameters(), strict=True):
        assert name == name_c and torch.equal(p, q)
    x = torch.rand(3, 1, 8, 8)
    assert_close(compact(x), listing.eval()(x))
    assert count_parameters(compact) == 155_530


def test_multiply_adds_counts_convolutions_and_dense_layers():
    # the listing's CNN on 8×8: conv1 8·8·32·9, conv2 4·4·64·32·9, fc1 256·512, fc2 512·10
    expected = 8 * 8 * 32 * 9 + 4 * 4 * 64 * 32 * 9 + 256 * 512 + 512 * 10
    model = CompactCNN(1, 8, 10).train()
    assert multiply_adds(model, torch.rand(1, 1, 8, 8)) == expected
    assert model.training  # the mode is given back
    separable = CompactCNN(1, 8, 10, separable=True)
    conv2_separable = 4 * 4 * (32 * 9 + 32 * 64)  # depthwise on 32 maps of 4×4, then 1×1 from 32 to 64
    assert multiply_adds(separable, torch.rand(1, 1, 8, 8)) == expected - 4 * 4 * 64 * 32 * 9 + conv2_separable


def test_narrow_network_shapes_and_bad_input():
    model = CompactCNN(1, 8, 10, widths=(4, 8), hidden=16, separable=True)
    assert model(torch.rand(5, 1, 8, 8)).shape == (5, 10)
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 1, 8, 8\), got \(5, 1, 9, 9\)"):
        model(torch.rand(5, 1, 9, 9))
    with pytest.raises(TypeError, match="widths to be a pair"):
        CompactCNN(widths=[4, 8])
    with pytest.raises(ValueError, match=r"widths\[1\] to be a positive int"):
        CompactCNN(widths=(4, 0))
    with pytest.raises(TypeError, match="separable to be True or False"):
        CompactCNN(separable=1)
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 4, H, W\)"):
        SeparableConv2d(4, 8)(torch.rand(2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"one input with a batch axis"):
        multiply_adds(model, torch.rand(2, 1, 8, 8))
    with pytest.raises(TypeError, match="a torch.nn.Module"):
        count_parameters("CNN")
