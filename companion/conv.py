"""The convolution layer's formula (§1.3.2), from the textbook's loops to a vectorised layer.

Equations, numbered as in notebooks/03_algorithms.ipynb:

    (1.3.2)   y(i, j) = Σ_p Σ_q x(i + p, j + q) k(p, q)         the textbook's formula: cross-correlation
    (1.3.2a)  (x ∗ k)(i, j) = Σ_p Σ_q x(i − p, j − q) k(p, q)   true convolution: the kernel is flipped;
              on the valid window (x ∗ k)(i + P − 1, j + Q − 1) = (1.3.2) with k rotated by 180°
    (1.3.2b)  y[n, o, i, j] = b[o] + Σ_c Σ_p Σ_q x̃[n, c, s·i + d·p, s·j + d·q] w[o, c, p, q]
              with x̃ the input zero-padded by p on each side, stride s, dilation d
    (1.3.2c)  H_out = ⌊(H + 2p − d(k − 1) − 1) / s⌋ + 1
    (1.3.2d)  ∂ℒ/∂x[n, c, h, v] = Σ_o Σ_p Σ_q ∂ℒ/∂y[n, o, h − p, v − q] w[o, c, p, q]   (stride 1): a full
              correlation of ∂ℒ/∂y with the kernel rotated by 180°, its channel axes swapped
    (1.3.2e)  ∂ℒ/∂w[o, c, p, q] = Σ_n Σ_i Σ_j x[n, c, i + p, j + q] ∂ℒ/∂y[n, o, i, j]   (stride 1)
    (1.3.2f)  with stride s and dilation d: (1.3.2d) on ∂ℒ/∂y with s − 1 zeros between its entries and the
              kernel dilated by d, zero-extended at the bottom/right when s does not divide (H + 2p − d(k − 1) − 1)
    (1.3.2g)  with stride s and dilation d: (1.3.2e) as a correlation of x̃ with ∂ℒ/∂y at stride d and
              dilation s (stride and dilation trade places)

Like every deep learning library, ``conv2d`` computes (1.3.2b), a cross-correlation; "convolution" is
the customary name. ``conv2d`` builds the im2col matrix with ``Tensor.as_strided`` (a strided view,
no copy until the reshape) and one matrix product; it is differentiable through autograd, and
``conv2d_backward`` computes (1.3.2f)–(1.3.2g) by hand with ``conv2d`` itself.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from companion import validation as check

Pair = int | tuple[int, int]


def _pair(value: Pair, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= minimum, as a pair."""
    pair = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not (isinstance(pair, tuple) and len(pair) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in pair)):
        raise TypeError(f"expected {name} to be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"expected {name} >= {minimum}, got {value!r}")
    return pair


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Eq. (1.3.2c): the output length along one axis, ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1."""
    for name, value, minimum in (("n", n, 1), ("kernel_size", kernel_size, 1), ("stride", stride, 1),
                                 ("padding", padding, 0), ("dilation", dilation, 1)):
        check.integer(value, name, minimum)
    span = dilation * (kernel_size - 1) + 1  # how far the dilated kernel reaches
    if span > n + 2 * padding:
        raise ValueError(f"expected a kernel no larger than the padded input: a kernel of size {kernel_size} with "
                         f"dilation {dilation} spans {span}, got a padded input of size {n + 2 * padding}")
    return (n + 2 * padding - span) // stride + 1


def _check_tensor(t, name: str, ndim: int, layout: str) -> None:
    check.tensor(t, name, ndim=ndim, layout=layout, floating=True)
    if 0 in t.shape:
        raise ValueError(f"expected {name} of shape {layout} with no size 0, got {tuple(t.shape)}")


def cross_correlate2d(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Eq. (1.3.2) exactly as the textbook writes it, one output pixel and one product at a time.

    Args:
        x: (H, W) image; k: (P, Q) kernel, same dtype and device.
    Returns:
        y: (H − P + 1, W − Q + 1), y(i, j) = Σ_p Σ_q x(i + p, j + q) k(p, q).
    """
    _check_tensor(x, "x", 2, "(H, W)")
    _check_tensor(k, "k", 2, "(P, Q)")
    check.like(k, "k", x, "x")
    H, W = x.shape
    P, Q = k.shape
    if P > H or Q > W:
        raise ValueError(f"expected a kernel no larger than the image {(H, W)}, got {(P, Q)}")
    rows = []
    for i in range(H - P + 1):
        row = []
        for j in range(W - Q + 1):
            total = x.new_zeros(())
            for p in range(P):
                for q in range(Q):
                    total = total + x[i + p, j + q] * k[p, q]
            row.append(total)
        rows.append(torch.stack(row))
    return torch.stack(rows)  # (H − P + 1, W − Q + 1)


def _check_conv_args(x, weight, bias, stride, padding, dilation):
    """Validate the arguments of a 2-D convolution; return (stride, padding, dilation, output size)."""
    _check_tensor(x, "x", 4, "(N, C, H, W)")
    _check_tensor(weight, "weight", 4, "(C_out, C, kH, kW)")
    check.like(weight, "weight", x, "x")
    N, C, H, W = x.shape
    C_out, C_w, kH, kW = weight.shape
    if C_w != C:
        raise ValueError(f"channel mismatch: x has {C} channels, so expected weight of shape "
                         f"({C_out}, {C}, {kH}, {kW}), got {tuple(weight.shape)}")
    if bias is not None:
        check.tensor(bias, "bias")
        if bias.shape != (C_out,):
            raise ValueError(f"expected bias of shape ({C_out},), one per output channel, got {tuple(bias.shape)}")
        check.like(bias, "bias", x, "x")
    stride, padding, dilation = _pair(stride, "stride", 1), _pair(padding, "padding", 0), _pair(dilation, "dilation", 1)
    H_out = conv_output_size(H, kH, stride[0], padding[0], dilation[0])
    W_out = conv_output_size(W, kW, stride[1], padding[1], dilation[1])
    return stride, padding, dilation, (H_out, W_out)


def conv2d_naive(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                 stride: Pair = 1, padding: Pair = 0, dilation: Pair = 1) -> torch.Tensor:
    """Eq. (1.3.2b) with a Python loop over output positions: each position is one small contraction.

    Args:
        x: (N, C, H, W); weight: (C_out, C, kH, kW); bias: (C_out,) or None.
        stride, padding, dilation: an int or a pair (rows, columns).
    Returns:
        (N, C_out, H_out, W_out), sizes from eq. (1.3.2c).
    """
    (sH, sW), (pH, pW), (dH, dW), (H_out, W_out) = _check_conv_args(x, weight, bias, stride, padding, dilation)
    _, _, kH, kW = weight.shape
    x_pad = F.pad(x, (pW, pW, pH, pH))  # x̃: (N, C, H + 2pH, W + 2pW)
    y = x.new_zeros(x.shape[0], weight.shape[0], H_out, W_out)
    for i in range(H_out):
        for j in range(W_out):
            # the receptive field of y[:, :, i, j]: rows s·i + d·p, columns s·j + d·q
            patch = x_pad[:, :, sH * i: sH * i + dH * (kH - 1) + 1: dH, sW * j: sW * j + dW * (kW - 1) + 1: dW]
            y[:, :, i, j] = torch.einsum("ncpq,ocpq->no", patch, weight)  # Σ over c, p, q
    if bias is not None:
        y = y + bias.view(1, -1, 1, 1)
    return y


def im2col(x: torch.Tensor, kernel_size: tuple[int, int], stride: Pair = 1, padding: Pair = 0,
           dilation: Pair = 1) -> torch.Tensor:
    """Every receptive field of x as one column: (N, C, H, W) -> (N, C·kH·kW, H_out·W_out).

    Built with ``as_strided``: a view of the padded input whose two extra axes step by the dilation
    inside a patch and by the stride between patches; only the final reshape copies.
    """
    _check_tensor(x, "x", 4, "(N, C, H, W)")
    kH, kW = _pair(kernel_size, "kernel_size", 1)
    sH, sW = _pair(stride, "stride", 1)
    pH, pW = _pair(padding, "padding", 0)
    dH, dW = _pair(dilation, "dilation", 1)
    N, C, H, W = x.shape
    H_out, W_out = conv_output_size(H, kH, sH, pH, dH), conv_output_size(W, kW, sW, pW, dW)
    x_pad = F.pad(x, (pW, pW, pH, pH)).contiguous()  # (N, C, Hp, Wp)
    n_stride, c_stride, h_stride, w_stride = x_pad.stride()
    patches = x_pad.as_strided(
        (N, C, kH, kW, H_out, W_out),
        (n_stride, c_stride, dH * h_stride, dW * w_stride, sH * h_stride, sW * w_stride),
    )  # patches[n, c, p, q, i, j] = x̃[n, c, s·i + d·p, s·j + d·q]
    return patches.reshape(N, C * kH * kW, H_out * W_out)


def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: Pair = 1, padding: Pair = 0, dilation: Pair = 1) -> torch.Tensor:
    """Eq. (1.3.2b) vectorised: im2col, then one matrix product; equals ``torch.nn.functional.conv2d``.

    The arguments and the result are `conv2d_naive`'s; this one is fast and differentiable (autograd).
    """
    stride, padding, dilation, (H_out, W_out) = _check_conv_args(x, weight, bias, stride, padding, dilation)
    C_out, C, kH, kW = weight.shape
    cols = im2col(x, (kH, kW), stride, padding, dilation)  # (N, C·kH·kW, H_out·W_out)
    y = weight.reshape(C_out, C * kH * kW) @ cols  # (N, C_out, H_out·W_out)
    if bias is not None:
        y = y + bias.view(1, C_out, 1)
    return y.view(x.shape[0], C_out, H_out, W_out)


def conv2d_backward(x: torch.Tensor, weight: torch.Tensor, grad_output: torch.Tensor, stride: Pair = 1,
                    padding: Pair = 0, dilation: Pair = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eqs. (1.3.2f)–(1.3.2g) by hand: the gradients of ``(conv2d(x, weight, bias, ...) * grad_output).sum()``.

    At stride 1 and dilation 1 they are (1.3.2d)–(1.3.2e).

    Both gradients are themselves convolutions, computed here with ``conv2d``.

    Args:
        x: (N, C, H, W); weight: (C_out, C, kH, kW); grad_output: (N, C_out, H_out, W_out).
    Returns:
        (grad_x (N, C, H, W), grad_weight (C_out, C, kH, kW), grad_bias (C_out,)).
    """
    (sH, sW), (pH, pW), (dH, dW), (H_out, W_out) = _check_conv_args(x, weight, None, stride, padding, dilation)
    N, C, H, W = x.shape
    C_out, _, kH, kW = weight.shape
    check.tensor(grad_output, "grad_output", ndim=4, layout="(N, C_out, H_out, W_out)", floating=True)
    if grad_output.shape != (N, C_out, H_out, W_out):
        raise ValueError(f"expected grad_output of shape {(N, C_out, H_out, W_out)} (the output's), "
                         f"got {tuple(grad_output.shape)}")
    check.like(grad_output, "grad_output", x, "x")
    Hp, Wp = H + 2 * pH, W + 2 * pW
    spanH, spanW = dH * (kH - 1), dW * (kW - 1)

    # (1.3.2f) Put ∂ℒ/∂y back on the stride grid (zeros between), pad it fully and correlate with the
    # flipped kernel, its in/out channels swapped: every x̃ pixel collects from the outputs it fed.
    g = grad_output.new_zeros(N, C_out, sH * (H_out - 1) + 1, sW * (W_out - 1) + 1)
    g[:, :, ::sH, ::sW] = grad_output
    g = F.pad(g, (spanW, spanW, spanH, spanH))
    w_flipped = weight.flip(2, 3).transpose(0, 1)  # (C, C_out, kH, kW)
    grad_x_pad = conv2d(g, w_flipped, dilation=(dH, dW))  # (N, C, sH(H_out − 1) + 1 + spanH, ...)
    # rows of x̃ that no window reached (when the stride does not divide evenly) get zero gradient
    grad_x_pad = F.pad(grad_x_pad, (0, Wp - grad_x_pad.shape[3], 0, Hp - grad_x_pad.shape[2]))
    grad_x = grad_x_pad[:, :, pH: pH + H, pW: pW + W]  # drop the padding: (N, C, H, W)

    # (1.3.2g) ∂ℒ/∂w[o, c, p, q] = Σ_n Σ_i Σ_j x̃[n, c, s·i + d·p, s·j + d·q] ∂ℒ/∂y[n, o, i, j]: a correlation of
    # x̃ (batch as channels) with ∂ℒ/∂y (batch as channels) in which stride and dilation trade places.
    x_pad = F.pad(x, (pW, pW, pH, pH)).transpose(0, 1)  # (C, N, Hp, Wp)
    grad_w = conv2d(x_pad, grad_output.transpose(0, 1), stride=(dH, dW), dilation=(sH, sW))  # (C, C_out, ≥kH, ≥kW)
    grad_w = grad_w[:, :, :kH, :kW].transpose(0, 1)  # (C_out, C, kH, kW)
    return grad_x.contiguous(), grad_w.contiguous(), grad_output.sum(dim=(0, 2, 3))
