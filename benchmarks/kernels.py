"""The companion's from-scratch code as a ratio to torch's own, on the same inputs and thread count."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from companion.timing import time_call


def conv_ratios(device: torch.device) -> list[tuple[str, float, float]]:
    """(what, companion seconds, torch seconds) for a batch of 64 × 1 × 28 × 28 and 8 filters of 3 × 3."""
    from companion.conv import conv2d, conv2d_naive

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 1, 28, 28, generator=gen).to(device)
    w = torch.randn(8, 1, 3, 3, generator=gen).to(device)
    b = torch.randn(8, generator=gen).to(device)
    reference = time_call(lambda: F.conv2d(x, w, b, padding=1), rounds=20, warmup=3, statistic="median", device=device)
    vectorised = time_call(lambda: conv2d(x, w, b, padding=1), rounds=20, warmup=3, statistic="median", device=device)
    loops = time_call(lambda: conv2d_naive(x, w, b, padding=1), rounds=1, warmup=0, device=device)
    return [("conv2d (unfold) vs F.conv2d", vectorised, reference),
            ("conv2d_naive (loops) vs F.conv2d", loops, reference)]


def rnn_ratio(device: torch.device) -> tuple[str, float, float]:
    """rnn_forward against nn.RNN with the same weights: T=50 steps, N=32, D=16, H=64."""
    from companion.rnn import rnn_forward

    T, N, D, H, O = 50, 32, 16, 64, 10
    gen = torch.Generator().manual_seed(0)
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh").to(device)
    head = torch.nn.Linear(H, O).to(device)
    x = torch.randn(T, N, D, generator=gen).to(device)
    h0 = torch.zeros(N, H, device=device)
    with torch.no_grad():
        b_h = rnn.bias_ih_l0 + rnn.bias_hh_l0
        ours = time_call(lambda: rnn_forward(x, h0, rnn.weight_ih_l0, rnn.weight_hh_l0, b_h, head.weight, head.bias),
                         rounds=10, statistic="median", device=device)
        theirs = time_call(lambda: head(rnn(x, h0[None])[0]), rounds=10, statistic="median", device=device)
    return ("rnn_forward vs nn.RNN (+ Linear head)", ours, theirs)


def mlp_backward_ratio(device: torch.device) -> tuple[str, float, float]:
    """The hand-written MLP backward against autograd's, on a batch of 256 digits-sized inputs."""
    from companion.backprop import MLP

    sizes = [64, 128, 128, 10]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, 64, generator=gen).to(device)
    grad_out = torch.randn(256, 10, generator=gen).to(device)
    mlp = MLP(sizes, activation="tanh", seed=0)
    mlp.weights = [w.to(device) for w in mlp.weights]
    mlp.biases = [b.to(device) for b in mlp.biases]

    def by_hand():
        mlp.forward(x)
        mlp.backward(grad_out)

    def by_autograd():
        params = [p.detach().requires_grad_(True) for p in mlp.weights + mlp.biases]
        n = len(mlp.weights)
        a = x
        for i, (w, b) in enumerate(zip(params[:n], params[n:], strict=True)):
            a = a @ w.T + b
            if i < n - 1:
                a = torch.tanh(a)
        torch.autograd.grad((a * grad_out).sum(), params)

    return ("MLP forward+backward by hand vs autograd",
            time_call(by_hand, rounds=20, warmup=3, statistic="median", device=device),
            time_call(by_autograd, rounds=20, warmup=3, statistic="median", device=device))


def all_ratios(device: torch.device) -> list[tuple[str, float, float]]:
    return [*conv_ratios(device), rnn_ratio(device), mlp_backward_ratio(device)]
