"""The RNN of §1.3.3: forward (eqs. 1.3.3a-b) against torch.nn.RNN, BPTT against autograd."""

import pytest
import torch

from companion.rnn import GRAD_KEYS, rnn_backward, rnn_forward, state_jacobian_norms


def make_params(T=5, N=3, D=4, H=6, O=2, dtype=torch.float64, seed=0, scale=0.5):
    g = torch.Generator().manual_seed(seed)

    def r(*shape):
        return (scale * torch.randn(*shape, generator=g, dtype=dtype)).requires_grad_()

    return {
        "x": torch.randn(T, N, D, generator=g, dtype=dtype),
        "h0": r(N, H),
        "W_xh": r(H, D),
        "W_hh": r(H, H),
        "b_h": r(H),
        "W_hy": r(O, H),
        "b_y": r(O),
    }


@pytest.mark.parametrize("T, N, D, H, O", [(1, 1, 1, 1, 1), (5, 3, 4, 6, 2), (12, 2, 3, 8, 5)])
def test_forward_equals_torch_rnn_with_copied_weights(T, N, D, H, O):
    p = make_params(T, N, D, H, O)
    h, y = rnn_forward(**p)
    assert h.shape == (T, N, H) and y.shape == (T, N, O) and h.dtype == torch.float64
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(p["W_xh"])
        rnn.weight_hh_l0.copy_(p["W_hh"])
        rnn.bias_ih_l0.copy_(p["b_h"])
        rnn.bias_hh_l0.zero_()  # torch keeps two biases that only ever appear as a sum
        h_torch, h_last = rnn(p["x"], p["h0"][None])
    torch.testing.assert_close(h, h_torch, rtol=0, atol=1e-12)
    torch.testing.assert_close(h[-1], h_last[0], rtol=0, atol=1e-12)
    y_torch = torch.nn.functional.linear(h_torch, p["W_hy"], p["b_y"])
    torch.testing.assert_close(y, y_torch, rtol=0, atol=1e-12)


def test_only_the_sum_of_torchs_two_biases_matters():
    p = make_params()
    h, _ = rnn_forward(**p)
    rnn = torch.nn.RNN(4, 6, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(p["W_xh"])
        rnn.weight_hh_l0.copy_(p["W_hh"])
        split = torch.linspace(-1, 1, 6, dtype=torch.float64)
        rnn.bias_ih_l0.copy_(p["b_h"] - split)
        rnn.bias_hh_l0.copy_(split)
        h_torch, _ = rnn(p["x"], p["h0"][None])
    torch.testing.assert_close(h, h_torch, rtol=0, atol=1e-12)


def test_float32_is_kept_and_close_to_torch():
    p = make_params(dtype=torch.float32)
    h, y = rnn_forward(**p)
    assert h.dtype == y.dtype == torch.float32
    rnn = torch.nn.RNN(4, 6)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(p["W_xh"])
        rnn.weight_hh_l0.copy_(p["W_hh"])
        rnn.bias_ih_l0.copy_(p["b_h"])
        rnn.bias_hh_l0.zero_()
        h_torch, _ = rnn(p["x"], p["h0"][None])
    torch.testing.assert_close(h, h_torch, rtol=0, atol=1e-6)


@pytest.mark.parametrize("T, N, D, H, O", [(1, 1, 1, 1, 1), (5, 3, 4, 6, 2), (20, 2, 3, 8, 5)])
def test_backward_by_hand_equals_autograd(T, N, D, H, O):
    p = make_params(T, N, D, H, O, seed=T)
    grad_y = torch.randn(T, N, O, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    _, y = rnn_forward(**p)
    names = list(GRAD_KEYS)
    auto = torch.autograd.grad((y * grad_y).sum(), [p[k] for k in names])
    by_hand = rnn_backward(**p, grad_y=grad_y)
    assert set(by_hand) == set(GRAD_KEYS)
    for name, expected in zip(names, auto, strict=True):
        assert by_hand[name].shape == p[name].shape
        torch.testing.assert_close(by_hand[name], expected, rtol=1e-10, atol=1e-12, msg=name)


def test_backward_equals_finite_differences():
    p = {k: v.detach() for k, v in make_params(T=4, N=2, D=3, H=3, O=2).items()}
    grad_y = torch.randn(4, 2, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    by_hand = rnn_backward(**p, grad_y=grad_y)
    eps = 1e-6
    for name in GRAD_KEYS:
        numeric = torch.zeros_like(p[name])
        for i in range(p[name].numel()):
            plus, minus = dict(p), dict(p)
            plus[name] = p[name].clone().view(-1)
            plus[name][i] += eps
            minus[name] = p[name].clone().view(-1)
            minus[name][i] -= eps
            plus[name], minus[name] = plus[name].view_as(p[name]), minus[name].view_as(p[name])
            f_plus = (rnn_forward(**plus)[1] * grad_y).sum()
            f_minus = (rnn_forward(**minus)[1] * grad_y).sum()
            numeric.view(-1)[i] = (f_plus - f_minus) / (2 * eps)
        torch.testing.assert_close(by_hand[name], numeric, rtol=1e-6, atol=1e-8, msg=name)


def test_state_jacobian_norms_equal_autograd_jacobians():
    p = make_params(T=6, N=1, D=2, H=4, O=1, scale=0.9)
    h, _ = rnn_forward(**{k: v.detach() for k, v in p.items()})
    norms = state_jacobian_norms(h[:, 0], p["W_hh"].detach())
    assert norms.shape == (6,)

    def h_T_from(t, h_t):  # run the recurrence from state h_t (after step t) to h_T
        for s in range(t, 6):
            h_t = torch.tanh(p["x"][s, 0] @ p["W_xh"].detach().T + h_t @ p["W_hh"].detach().T + p["b_h"].detach())
        return h_t

    states = torch.cat([p["h0"].detach(), h[:, 0]])  # (T + 1, H): h_0..h_T
    for t in range(6):
        J = torch.autograd.functional.jacobian(lambda s, t=t: h_T_from(t, s), states[t])
        torch.testing.assert_close(norms[t], torch.linalg.matrix_norm(J, ord=2), rtol=1e-10, atol=1e-14)


def test_jacobian_norms_shrink_for_a_contracting_matrix():
    H = 8
    W_hh = 0.5 * torch.eye(H, dtype=torch.float64)  # spectral radius 0.5, and tanh' <= 1
    h = torch.tanh(torch.randn(30, H, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    norms = state_jacobian_norms(h, W_hh)
    gaps = torch.arange(30, 0, -1)  # T - t
    assert torch.all(norms <= 0.5 ** gaps.double() + 1e-15)


def test_outputs_are_deterministic():
    p = make_params()
    assert torch.equal(rnn_forward(**p)[1], rnn_forward(**p)[1])


def _bad(**changes):
    p = {k: v.detach() for k, v in make_params(T=5, N=3, D=4, H=6, O=2).items()}
    p.update(changes)
    return p


@pytest.mark.parametrize(
    "changes, error, message",
    [
        ({"x": torch.zeros(3, 4, dtype=torch.float64)}, ValueError, r"x of shape \(T, N, D\), got \(3, 4\)"),
        ({"h0": torch.zeros(3, 5, dtype=torch.float64)}, ValueError, r"h0 of shape \(N, H\) = \(3, 6\), got \(3, 5\)"),
        ({"h0": torch.zeros(6, dtype=torch.float64)}, ValueError, r"h0 of shape .* got \(6,\)"),
        ({"W_hh": torch.zeros(6, 5, dtype=torch.float64)}, ValueError, r"W_hh of shape \(H, H\)"),
        ({"W_xh": torch.zeros(6, 3, dtype=torch.float64)}, ValueError, r"W_xh of shape \(H, D=4\), got \(6, 3\)"),
        ({"W_hy": torch.zeros(2, 5, dtype=torch.float64)}, ValueError, r"W_hy of shape \(O, H=6\)"),
        ({"b_y": torch.zeros(3, dtype=torch.float64)}, ValueError, r"b_y of shape \(O,\) = \(2,\), got \(3,\)"),
        ({"b_h": torch.zeros(6, dtype=torch.float32)}, TypeError, "dtype and device of x"),
        ({"x": torch.zeros(5, 3, 4, dtype=torch.int64)}, TypeError, "floating-point"),
        ({"W_hh": [[0.0]]}, TypeError, "W_hh to be a torch.Tensor, got list"),
        ({"x": torch.zeros(0, 3, 4, dtype=torch.float64)}, ValueError, "T = 0"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(changes, error, message):
    with pytest.raises(error, match=message):
        rnn_forward(**_bad(**changes))
    with pytest.raises(error, match=message):
        rnn_backward(**_bad(**changes), grad_y=torch.zeros(5, 3, 2, dtype=torch.float64))


def test_backward_checks_grad_y():
    p = _bad()
    with pytest.raises(ValueError, match=r"grad_y of shape \(T, N, O\) = \(5, 3, 2\), got \(5, 3\)"):
        rnn_backward(**p, grad_y=torch.zeros(5, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="grad_y with the dtype"):
        rnn_backward(**p, grad_y=torch.zeros(5, 3, 2))


def test_state_jacobian_norms_checks_shapes():
    with pytest.raises(ValueError, match=r"h of shape \(T, H\)"):
        state_jacobian_norms(torch.zeros(3, 2, 4), torch.eye(4))
    with pytest.raises(ValueError, match=r"W_hh of shape \(H, H\) = \(4, 4\), got \(3, 3\)"):
        state_jacobian_norms(torch.zeros(3, 4), torch.eye(3))
