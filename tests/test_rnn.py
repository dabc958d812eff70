"""The RNN of §1.3.3: forward (eqs. 1.3.3a-b) against torch.nn.RNN, BPTT against autograd."""

import pytest
import torch

from companion.rnn import GRAD_KEYS, rnn_backward, rnn_forward, state_jacobian_norms
from tests.helpers import FINITE_DIFFERENCE_TOLERANCE, assert_close, assert_matches_torch


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


def torch_rnn(x, h0, W_xh, W_hh, b_h, W_hy, b_y, bias_split=0.0):
    """torch.nn.RNN run with these tensors as its weights (differentiably); its two biases share b_h."""
    H, D = W_xh.shape
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", dtype=x.dtype)
    weights = {"weight_ih_l0": W_xh, "weight_hh_l0": W_hh, "bias_ih_l0": (1 - bias_split) * b_h,
               "bias_hh_l0": bias_split * b_h}
    h, _ = torch.func.functional_call(rnn, weights, (x, h0[None]))
    return h, torch.nn.functional.linear(h, W_hy, b_y)


def rnn_shapes(T, N, D, H, O):
    return [(T, N, D), (N, H), (H, D), (H, H), (H,), (O, H), (O,)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_forward_equals_torch_rnn_with_copied_weights(dtype):
    """Eqs. (1.3.3a-b) against torch's RNN kernel, forward and backward, over a grid of sizes."""
    grid = [rnn_shapes(1, 1, 1, 1, 1), rnn_shapes(5, 3, 4, 6, 2), rnn_shapes(12, 2, 3, 8, 5)]
    assert_matches_torch(rnn_forward, torch_rnn, grid, dtype=dtype,
                         make=lambda shape, g: 0.5 * torch.randn(shape, generator=g, dtype=torch.float64))


def test_only_the_sum_of_torchs_two_biases_matters():
    assert_matches_torch(rnn_forward, lambda *p: torch_rnn(*p, bias_split=0.7), [rnn_shapes(5, 3, 4, 6, 2)])


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
        assert_close(by_hand[name], expected, msg=name)


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
        torch.testing.assert_close(by_hand[name], numeric, rtol=FINITE_DIFFERENCE_TOLERANCE, atol=1e-8, msg=name)


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
        assert_close(norms[t], torch.linalg.matrix_norm(J, ord=2))


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
        ({"W_xh": torch.zeros(6, 3, dtype=torch.float64)}, ValueError, r"W_xh of shape \(H, D=4\) .* got \(6, 3\)"),
        ({"W_hy": torch.zeros(2, 5, dtype=torch.float64)}, ValueError, r"W_hy of shape \(O, H=6\)"),
        ({"b_y": torch.zeros(3, dtype=torch.float64)}, ValueError, r"b_y of shape \(O,\) = \(2,\), got \(3,\)"),
        ({"b_h": torch.zeros(6, dtype=torch.float32)}, TypeError, "dtype and device of x"),
        ({"x": torch.zeros(5, 3, 4, dtype=torch.int64)}, TypeError, "torch.float32 or torch.float64, got torch.int64"),
        ({"W_hh": [[0.0]]}, TypeError, r"W_hh to be a torch.Tensor, got \[\[0.0\]\] \(list\)"),
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
