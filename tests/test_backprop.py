"""companion.backprop: hand-written gradients against autograd (float64) and finite differences."""

import pytest
import torch

from companion.backprop import (
    MLP,
    MLPConfig,
    numerical_gradient,
    relative_error,
    softmax_cross_entropy,
    train_mlp,
)
from companion.metrics import accuracy
from tests.helpers import FINITE_DIFFERENCE_TOLERANCE, assert_close, assert_matches_torch

SIZES = [(3, 5, 2), (6, 7, 5, 3), (2, 1), (4, 8, 8, 8, 1)]


class HandMLP(torch.autograd.Function):
    """Our forward and our hand-written backward as one autograd op, so that the shared checker can
    compare both with torch's own autograd of the same network."""

    @staticmethod
    def forward(ctx, x, activation, *params):
        n = len(params) // 2
        model = MLP([params[0].shape[1]] + [w.shape[0] for w in params[:n]], activation, dtype=x.dtype)
        model.weights, model.biases = list(params[:n]), list(params[n:])
        ctx.model = model
        return model.forward(x)

    @staticmethod
    def backward(ctx, grad_output):
        grad_w, grad_b = ctx.model.backward(grad_output)
        return None, None, *grad_w, *grad_b


def torch_mlp(activation):
    def run(x, *params):
        n = len(params) // 2
        a = x
        for l, (W, b) in enumerate(zip(params[:n], params[n:], strict=True)):
            a = torch.nn.functional.linear(a, W, b)
            if l < n - 1:
                a = torch.tanh(a) if activation == "tanh" else torch.relu(a)
        return a
    return run


def mlp_shapes(sizes, n):
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    return [(n, sizes[0]), *[(out, inp) for inp, out in pairs], *[(out,) for _, out in pairs]]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_forward_and_backward_match_autograd(activation):
    grid = [mlp_shapes(sizes, n) for sizes, n in zip(SIZES, (4, 1, 9, 5), strict=True)]
    for shapes in grid:  # the gradients of the parameters, inputs 1.., which is what backward computes
        assert_matches_torch(lambda x, *p: HandMLP.apply(x, activation, *p), torch_mlp(activation), [shapes],
                             grad_of=range(1, len(shapes)))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_backward_matches_finite_differences_of_a_real_loss(activation):
    model = MLP((5, 6, 4), activation, seed=3, dtype=torch.float64)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(7, 5, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 4, (7,), generator=g)

    def loss(_):
        return softmax_cross_entropy(model.forward(x), labels)[0]

    _, grad_logits = softmax_cross_entropy(model.forward(x), labels)
    grad_w, grad_b = model.backward(grad_logits)
    for l in range(2):
        assert relative_error(grad_w[l], numerical_gradient(loss, model.weights[l])) < FINITE_DIFFERENCE_TOLERANCE
        assert relative_error(grad_b[l], numerical_gradient(loss, model.biases[l])) < FINITE_DIFFERENCE_TOLERANCE


def test_numerical_gradient_restores_its_input_and_is_accurate():
    x = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    before = x.clone()
    grad = numerical_gradient(lambda t: (t**3).sum() + torch.sin(t[0] * t[1]), x)
    assert torch.equal(x, before)
    expected = 3 * x**2 + torch.tensor([x[1] * torch.cos(x[0] * x[1]), x[0] * torch.cos(x[0] * x[1]), 0.0],
                                       dtype=torch.float64)
    torch.testing.assert_close(grad, expected, rtol=1e-8, atol=1e-8)


def test_numerical_gradient_writes_through_any_strides_and_refuses_expanded_views():
    base = torch.arange(12, dtype=torch.float64).view(3, 4)
    x = base.T  # not contiguous: x[i] is not base.view(-1)[i]
    grad = numerical_gradient(lambda t: (t * torch.arange(12.0, dtype=torch.float64).view(4, 3)).sum(), x)
    torch.testing.assert_close(grad, torch.arange(12.0, dtype=torch.float64).view(4, 3), rtol=1e-8, atol=1e-8)
    assert torch.equal(base, torch.arange(12, dtype=torch.float64).view(3, 4))
    with pytest.raises(ValueError, match="expanded view"):
        numerical_gradient(lambda t: t.sum(), torch.zeros(1, dtype=torch.float64).expand(3))


@pytest.mark.parametrize("N, K", [(6, 4), (1, 3), (5, 1)])
def test_softmax_cross_entropy_and_its_gradient_match_torch(N, K):
    g = torch.Generator().manual_seed(5)
    logits = (torch.randn(N, K, generator=g, dtype=torch.float64) * 10).requires_grad_(True)
    labels = torch.randint(K, (N,), generator=g)
    loss, grad = softmax_cross_entropy(logits.detach(), labels)
    ref = torch.nn.functional.cross_entropy(logits, labels)
    ref.backward()
    assert_close(loss, ref.detach())
    assert_close(grad, logits.grad)


def test_forward_reads_the_weight_lists_on_every_call():
    model = MLP((3, 4, 2), "tanh", seed=0, dtype=torch.float64)
    x = torch.ones(2, 3, dtype=torch.float64)
    before = model.forward(x)
    model.biases[-1] = model.biases[-1] + 1.0
    torch.testing.assert_close(model.forward(x), before + 1.0)
    model.weights[0][0, 0] += 0.5  # in place works too
    assert not torch.allclose(model.forward(x), before + 1.0)


def test_float32_is_kept_and_seed_is_deterministic():
    a, b, c = MLP((4, 3, 2), seed=7), MLP((4, 3, 2), seed=7), MLP((4, 3, 2), seed=8)
    assert all(torch.equal(u, v) for u, v in zip(a.weights, b.weights, strict=True))
    assert not torch.equal(a.weights[0], c.weights[0])
    out = a.forward(torch.randn(5, 4))
    grad_w, grad_b = a.backward(torch.ones_like(out))
    assert out.dtype == grad_w[0].dtype == grad_b[0].dtype == torch.float32


def test_gradient_descent_learns_xor_and_leaves_the_starting_model_alone():
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([0, 1, 1, 0])
    start = MLP((2, 8, 2), "tanh", seed=0)
    before = [w.clone() for w in start.weights]
    model, history = train_mlp(x, y, MLPConfig(lr=1.0, steps=300), model=start, progress=False)
    assert len(history["loss"]) == 300 and history["loss"][-1] < 0.05 * history["loss"][0]
    assert accuracy(model, x, y) == 1.0
    assert model is not start and all(torch.equal(w, b) for w, b in zip(start.weights, before, strict=True))


def test_train_mlp_builds_its_network_from_the_config_and_the_generator():
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([0, 1, 1, 0])
    config = MLPConfig(hidden=(8, 4), activation="relu", steps=5)
    model, _ = train_mlp(x, y, config, generator=torch.Generator().manual_seed(1), progress=False)
    again, _ = train_mlp(x, y, config, generator=torch.Generator().manual_seed(1), progress=False)
    assert model.sizes == (2, 8, 4, 2) and model.activation == "relu" and model.weights[0].dtype == torch.float64
    assert all(torch.equal(a, b) for a, b in zip(model.weights, again.weights, strict=True))


def test_training_is_deterministic_with_minibatches():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 3, generator=g), torch.randint(0, 2, (40,), generator=g)
    config = MLPConfig(lr=0.3, steps=20, batch_size=8)
    runs = [train_mlp(x, y, config, model=MLP((3, 5, 2), "relu", seed=1), generator=torch.Generator().manual_seed(9),
                      progress=False)[1]["loss"] for _ in range(2)]
    assert runs[0] == runs[1]


def test_diverging_training_raises_floating_point_error():
    x = torch.randn(16, 2, generator=torch.Generator().manual_seed(0)) * 100
    y = torch.arange(16) % 2
    with pytest.raises(FloatingPointError, match="loss became .* at step"):
        train_mlp(x, y, MLPConfig(lr=1e30, steps=50), model=MLP((2, 32, 2), "relu", seed=0), progress=False)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(sizes=(3,)), ValueError, "at least two positive ints, got"),
    (dict(sizes=(3, 0)), ValueError, "each of sizes to be a positive int, got 0"),
    (dict(sizes=(3, True)), TypeError, r"each of sizes to be a positive int, got True \(bool\)"),
    (dict(sizes=(3, 2), activation="sigmoid"), ValueError, r"one of \('tanh', 'relu'\), got 'sigmoid'"),
    (dict(sizes=(3, 2), seed=1.5), TypeError, r"seed to be an int, got 1.5 \(float\)"),
    (dict(sizes=(3, 2), dtype=torch.int64), TypeError, "float32 or torch.float64, got torch.int64"),
])
def test_bad_construction_is_rejected(kwargs, error, message):
    with pytest.raises(error, match=message):
        MLP(**kwargs)


def test_bad_inputs_say_what_was_expected_and_what_arrived():
    model = MLP((3, 4, 2))
    with pytest.raises(RuntimeError, match="call forward"):
        model.backward(torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 3\), got \(5, 4\)"):
        model.forward(torch.zeros(5, 4))
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 3\), got \(3,\)"):
        model.forward(torch.zeros(3))
    with pytest.raises(TypeError, match="dtype torch.float32.*got torch.float64"):
        model.forward(torch.zeros(5, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"torch.Tensor, got \[\[0.0, 0.0, 0.0\]\] \(list\)"):
        model.forward([[0.0, 0.0, 0.0]])
    model.forward(torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"grad_output of shape \(5, 2\).*got \(5, 3\)"):
        model.backward(torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"labels in \[0, 2\), got values in \[0, 2\]"):
        softmax_cross_entropy(torch.zeros(3, 2), torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="x of dtype torch.float32 or torch.float64, got torch.int64"):
        numerical_gradient(lambda t: t.sum(), torch.arange(3))
    with pytest.raises(ValueError, match="same shape"):
        relative_error(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="lr to be a finite number > 0, got 0.0"):
        MLPConfig(lr=0.0)
    with pytest.raises(ValueError, match=r"model with 3 inputs and more than 1 outputs.*\(2, 2\)"):
        train_mlp(torch.zeros(4, 3), torch.tensor([0, 1, 0, 1]), model=MLP((2, 2)), progress=False)
