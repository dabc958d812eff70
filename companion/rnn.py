"""The recurrent layer of §1.3.3: its forward recurrence and backpropagation through time, by hand.

The textbook's two equations, one time step t = 1..T, with vectors as rows (``x @ W.T``):

    h_t = tanh(x_t W_xh^T + h_{t-1} W_hh^T + b_h)                                (1.3.3a)
    y_t = h_t W_hy^T + b_y                                                         (1.3.3b)

Backpropagation through time (BPTT; Werbos 1990, "Backpropagation through time: what it does and
how to do it") runs the chain rule backwards over the unrolled graph. With g_t = dL/dy_t and
a_t the pre-activation inside the tanh:

    dL/dh_t = g_t W_hy + (dL/da_{t+1}) W_hh        (the second term is 0 at t = T)  (1.3.3c)
    dL/da_t = dL/dh_t * (1 - h_t^2)                                                 (1.3.3d)

and each weight's gradient is the sum over time of its per-step contribution. The Jacobian that
carries a gradient from step T back to step t is a product of T - t factors,

    dh_T/dh_t = J_T J_{T-1} ... J_{t+1},   J_k = dh_k/dh_{k-1} = diag(1 - h_k^2) W_hh,   (1.3.3e)

(the latest step's Jacobian on the left; column convention, entry (i, j) = dh_{k,i}/dh_{k-1,j}),

whose norm shrinks or grows geometrically: the vanishing and exploding gradients of Bengio,
Simard & Frasconi (1994) and Pascanu, Mikolov & Bengio (2013). `state_jacobian_norms` measures it.
"""

from __future__ import annotations

import torch

from companion import validation as check

GRAD_KEYS = ("W_xh", "W_hh", "b_h", "W_hy", "b_y", "h0")


def _check_rnn_inputs(x, h0, W_xh, W_hh, b_h, W_hy, b_y) -> tuple[int, int, int, int, int]:
    """Validate types, ranks, shapes, dtypes and devices; return (T, N, D, H, O)."""
    named = {"x": x, "h0": h0, "W_xh": W_xh, "W_hh": W_hh, "b_h": b_h, "W_hy": W_hy, "b_y": b_y}
    for name, value in named.items():
        check.tensor(value, name, floating=True)
        if value.dtype != x.dtype or value.device != x.device:
            raise TypeError(
                f"expected {name} with the dtype and device of x ({x.dtype} on {x.device}), "
                f"got {value.dtype} on {value.device}"
            )
    if x.ndim != 3:
        raise ValueError(f"expected x of shape (T, N, D), got {tuple(x.shape)}")
    T, N, D = x.shape
    if T == 0:
        raise ValueError("expected at least one time step, got x with T = 0")
    if N == 0 or D == 0:
        raise ValueError(f"expected x of shape (T, N, D) with N, D >= 1, got {tuple(x.shape)}")
    if W_xh.ndim != 2 or W_xh.shape[1] != D or W_xh.shape[0] == 0:
        raise ValueError(f"expected W_xh of shape (H, D={D}) with H >= 1, got {tuple(W_xh.shape)}")
    H = W_xh.shape[0]
    expected = {"h0": (N, H), "W_hh": (H, H), "b_h": (H,)}
    for name, shape in expected.items():
        if tuple(named[name].shape) != shape:
            dims = {"h0": "(N, H)", "W_hh": "(H, H)", "b_h": "(H,)"}[name]
            raise ValueError(f"expected {name} of shape {dims} = {shape}, got {tuple(named[name].shape)}")
    if W_hy.ndim != 2 or W_hy.shape[1] != H or W_hy.shape[0] == 0:
        raise ValueError(f"expected W_hy of shape (O, H={H}) with O >= 1, got {tuple(W_hy.shape)}")
    O = W_hy.shape[0]
    if tuple(b_y.shape) != (O,):
        raise ValueError(f"expected b_y of shape (O,) = ({O},), got {tuple(b_y.shape)}")
    return T, N, D, H, O


def rnn_forward(x: torch.Tensor, h0: torch.Tensor, W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor,
                W_hy: torch.Tensor, b_y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Unroll eqs. (1.3.3a-b) over T steps. Differentiable (autograd sees plain torch ops).

    Args:
        x: (T, N, D) inputs, time first. h0: (N, H) initial state.
        W_xh: (H, D), W_hh: (H, H), b_h: (H,), W_hy: (O, H), b_y: (O,).
    Returns:
        h: (T, N, H), the states h_1..h_T;  y: (T, N, O), the outputs y_1..y_T.
    """
    T, N, D, H, O = _check_rnn_inputs(x, h0, W_xh, W_hh, b_h, W_hy, b_y)
    states = []
    h_prev = h0
    for t in range(T):
        h_prev = torch.tanh(x[t] @ W_xh.T + h_prev @ W_hh.T + b_h)  # (N, H), eq. (1.3.3a)
        states.append(h_prev)
    h = torch.stack(states)  # (T, N, H)
    y = h @ W_hy.T + b_y  # (T, N, O), eq. (1.3.3b) for all steps at once
    return h, y


def rnn_backward(x: torch.Tensor, h0: torch.Tensor, W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor,
                 W_hy: torch.Tensor, b_y: torch.Tensor, grad_y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Backpropagation through time by hand: the gradients of L = (y * grad_y).sum().

    Args:
        as `rnn_forward`, plus grad_y: (T, N, O), dL/dy for every step.
    Returns:
        a dict with keys "W_xh", "W_hh", "b_h", "W_hy", "b_y", "h0", each of its parameter's shape.
    """
    T, N, D, H, O = _check_rnn_inputs(x, h0, W_xh, W_hh, b_h, W_hy, b_y)
    check.tensor(grad_y, "grad_y")
    if tuple(grad_y.shape) != (T, N, O):
        raise ValueError(f"expected grad_y of shape (T, N, O) = {(T, N, O)}, got {tuple(grad_y.shape)}")
    if grad_y.dtype != x.dtype or grad_y.device != x.device:
        raise TypeError(f"expected grad_y with the dtype and device of x, got {grad_y.dtype} on {grad_y.device}")
    with torch.no_grad():
        h, _ = rnn_forward(x, h0, W_xh, W_hh, b_h, W_hy, b_y)  # (T, N, H)
        h_prev = torch.cat([h0[None], h[:-1]])  # (T, N, H): h_{t-1} for each t
        grads = {
            "W_hy": torch.einsum("tno,tnh->oh", grad_y, h),  # sum_t g_t^T h_t
            "b_y": grad_y.sum(dim=(0, 1)),
            "W_xh": torch.zeros_like(W_xh),
            "W_hh": torch.zeros_like(W_hh),
            "b_h": torch.zeros_like(b_h),
        }
        da_next = torch.zeros_like(h0)  # dL/da_{T+1} = 0: nothing comes after the last step
        for t in reversed(range(T)):
            dh = grad_y[t] @ W_hy + da_next @ W_hh  # (N, H), eq. (1.3.3c)
            da = dh * (1.0 - h[t] ** 2)  # (N, H), eq. (1.3.3d): tanh' = 1 - tanh^2
            grads["W_xh"] += da.T @ x[t]  # (H, D)
            grads["W_hh"] += da.T @ h_prev[t]  # (H, H)
            grads["b_h"] += da.sum(dim=0)
            da_next = da
        grads["h0"] = da_next @ W_hh  # (N, H): h0 enters only through step 1
    return grads


def state_jacobian_norms(h: torch.Tensor, W_hh: torch.Tensor) -> torch.Tensor:
    """Spectral norms ||dh_T/dh_t||_2 for t = 0..T-1 (eq. 1.3.3e), one sequence.

    Args:
        h: (T, H) the states h_1..h_T of one sequence (e.g. ``rnn_forward(...)[0][:, 0]``).
        W_hh: (H, H).
    Returns:
        (T,) tensor; entry t is the norm for the gradient carried over T - t steps
        (entry T - 1 is ||diag(1 - h_T^2) W_hh||, one step; entry 0 reaches back to h_0).
    """
    check.tensor(h, "h", floating=True)
    check.tensor(W_hh, "W_hh", floating=True)
    if h.ndim != 2 or 0 in h.shape:
        raise ValueError(f"expected h of shape (T, H) for one sequence, T, H >= 1, got {tuple(h.shape)}")
    check.finite_values(h, "h")
    check.finite_values(W_hh, "W_hh")
    T, H = h.shape
    if tuple(W_hh.shape) != (H, H):
        raise ValueError(f"expected W_hh of shape (H, H) = {(H, H)}, got {tuple(W_hh.shape)}")
    if W_hh.dtype != h.dtype or W_hh.device != h.device:
        raise TypeError(f"expected W_hh with the dtype and device of h, got {W_hh.dtype} on {W_hh.device}")
    norms = torch.empty(T, dtype=h.dtype, device=h.device)
    jacobian = torch.eye(H, dtype=h.dtype, device=h.device)  # dh_T/dh_T
    for t in reversed(range(T)):  # t indexes h_{t+1} in h; after this step jacobian = dh_T/dh_t
        # Column convention of the derivative: dh_{k}/dh_{k-1} = diag(1 - h_k^2) W_hh.
        jacobian = jacobian @ ((1.0 - h[t] ** 2)[:, None] * W_hh)  # (H, H)
        norms[t] = torch.linalg.matrix_norm(jacobian, ord=2)
    return norms
