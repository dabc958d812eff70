"""Smaller networks for the same task: the listing's CNN at any width, and depthwise-separable convolutions.

§1.5.1 of the textbook expects 「更高效的神经网络结构」. Two standard levers, measured in notebook 05:

- Width. `CompactCNN` keeps the layout of listing 1.4.1 (two 3×3 convolutions with ReLU and 2×2 max
  pooling, a hidden dense layer, a linear read-out) with any channel counts and hidden width;
  ``CompactCNN(widths=(32, 64), hidden=512)`` is `companion.cnn.CNN` layer for layer.
- Depthwise-separable convolutions (Sifre 2014; Chollet 2017, "Xception"; Howard et al. 2017,
  "MobileNets"). A k×k convolution from C_in to C_out channels has k²·C_in·C_out weights; the separable
  one filters each input channel on its own (a depthwise k×k convolution, groups = C_in) and then mixes
  the channels with a 1×1 convolution:

      k²·C_in·C_out  weights  →  k²·C_in + C_in·C_out,  a fraction 1/C_out + 1/k²            (1.5.2)

  (biases aside). It is an ordinary convolution whose kernel factorises, W[o, i] = P[o, i] · D[i]:
  `SeparableConv2d.full_weight` builds that kernel, and the tests check the two agree.

`multiply_adds` counts the multiplications a forward pass makes in convolution and dense layers, the
usual measure of a network's compute.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from companion import validation as check
from companion.training import eval_mode


class SeparableConv2d(nn.Module):
    """A depthwise k×k convolution (one filter per input channel) followed by a pointwise 1×1 convolution.

    (N, C_in, H, W) -> (N, C_out, H', W') with H' = H + 2·padding − k + 1, like nn.Conv2d(C_in, C_out, k).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, padding: int = 1):
        super().__init__()
        check.positive_int(in_channels, "in_channels")
        check.positive_int(out_channels, "out_channels")
        check.positive_int(kernel_size, "kernel_size")
        check.integer(padding, "padding", minimum=0)
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, padding=padding, groups=in_channels,
                                   bias=False)  # weight (C_in, 1, k, k)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1)  # weight (C_out, C_in, 1, 1), bias (C_out,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check.tensor(x, "x", ndim=4, layout="(N, C, H, W)", floating=True)
        if x.shape[1] != self.depthwise.in_channels:
            raise ValueError(f"expected x of shape (N, {self.depthwise.in_channels}, H, W), got {tuple(x.shape)}")
        (k, _), (p, _) = self.depthwise.kernel_size, self.depthwise.padding
        if min(x.shape[2:]) + 2 * p < k:
            raise ValueError(f"expected x with H and W of at least {k - 2 * p} (kernel {k}, padding {p}), "
                             f"got {tuple(x.shape)}")
        check.like(x, "x", self.depthwise.weight, "the layer's weights")
        return self.pointwise(self.depthwise(x))

    def full_weight(self) -> torch.Tensor:
        """The ordinary convolution kernel (C_out, C_in, k, k) this layer equals: W[o, i] = P[o, i] · D[i]."""
        depthwise = self.depthwise.weight[:, 0]  # (C_in, k, k)
        pointwise = self.pointwise.weight[:, :, 0, 0]  # (C_out, C_in)
        return pointwise[:, :, None, None] * depthwise[None]  # (C_out, C_in, k, k)


class CompactCNN(nn.Module):
    """Listing 1.4.1's layout at any width: (N, C, S, S) images -> (N, num_classes) logits.

    Args:
        in_channels, image_size, num_classes: as for `companion.cnn.CNN`.
        widths: the channels (c1, c2) of the two convolutions (the listing: 32, 64).
        hidden: the units of the dense hidden layer (the listing: 512).
        separable: make the second convolution depthwise-separable (the first, from C = 1 or 3 input
            channels, has little to save).
    """

    def __init__(self, in_channels: int = 1, image_size: int = 8, num_classes: int = 10,
                 widths: tuple[int, int] = (32, 64), hidden: int = 512, separable: bool = False):
        super().__init__()
        check.integer(in_channels, "in_channels", minimum=1)
        check.integer(image_size, "image_size", minimum=4)
        check.integer(num_classes, "num_classes", minimum=2)
        if not isinstance(widths, tuple) or len(widths) != 2:
            raise TypeError(f"expected widths to be a pair (c1, c2) of positive ints, got {check.describe(widths)}")
        c1, c2 = (check.positive_int(w, f"widths[{i}]") for i, w in enumerate(widths))
        check.positive_int(hidden, "hidden")
        check.flag(separable, "separable")
        self.in_channels, self.image_size = in_channels, image_size
        side = image_size // 2 // 2
        self.conv1 = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.conv2 = SeparableConv2d(c1, c2) if separable else nn.Conv2d(c1, c2, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(c2 * side * side, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check.tensor(x, "x", ndim=4, layout="(N, C, S, S)", floating=True)
        expected = (self.in_channels, self.image_size, self.image_size)
        if tuple(x.shape[1:]) != expected:
            raise ValueError(f"expected x of shape (N, {', '.join(map(str, expected))}), got {tuple(x.shape)}")
        check.like(x, "x", self.conv1.weight, "the network's weights")
        x = self.pool(F.relu(self.conv1(x)))  # (N, c1, S/2, S/2)
        x = self.pool(F.relu(self.conv2(x)))  # (N, c2, S/4, S/4)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))  # (N, c2·(S/4)²) -> (N, hidden) -> (N, K)


def count_parameters(model: nn.Module) -> int:
    """The number of trained numbers (weights and biases) of a torch module."""
    check.instance(model, "model", nn.Module, "a torch.nn.Module")
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def multiply_adds(model: nn.Module, example: torch.Tensor) -> int:
    """Multiplications per example of every nn.Conv2d and nn.Linear in one forward pass of `example` (1, ...).

    A convolution makes (C_in / groups)·k_h·k_w of them for each of its C_out·H'·W' outputs; a dense
    layer in·out. Activations, pooling and biases are not counted (they are few).
    """
    check.instance(model, "model", nn.Module, "a torch.nn.Module")
    check.tensor(example, "example", floating=True)
    if example.ndim < 2 or example.shape[0] != 1:
        raise ValueError(f"expected example to be one input with a batch axis, (1, ...), got {tuple(example.shape)}")
    total = 0

    def count(layer, _inputs, output):
        nonlocal total
        if isinstance(layer, nn.Conv2d):
            per_output = layer.in_channels // layer.groups * layer.kernel_size[0] * layer.kernel_size[1]
            total += output[0].numel() * per_output
        else:
            total += layer.in_features * layer.out_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with eval_mode(model):
            model(example)
    finally:
        for hook in hooks:
            hook.remove()
    return total
