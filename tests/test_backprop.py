"""companion.backprop: hand-written gradients against autograd (float64) and finite differences."""

import pytest
import torch

from companion.backprop import (
    MLP,
    GradientDescent,
    accuracy,
    numerical_gradient,
    relative_error,
    softmax_cross_entropy,
    train_mlp,
)

TOL = 1e-10  # float64, hand gradients vs autograd: same operations, rounding only
FD_TOL = 1e-6  # float64, central differences with eps=1e-6: truncation ~eps², rounding ~1e-16/eps



def autograd_reference(model: MLP, x: torch.Tensor, grad_output: torch.Tensor):
    """The same network rebuilt from torch ops; autograd's gradients of sum(output * grad_output)."""
    weights = [w.clone().requires_grad_(True) for w in model.weights]
    biases = [b.clone().requires_grad_(True) for b in model.biases]
    a = x
    for l, (W, b) in enumerate(zip(weights, biases, strict=True)):
        z = torch.nn.functional.linear(a, W, b)
        a = z if l == len(weights) - 1 else (torch.tanh(z) if model.activation == "tanh" else torch.relu(z))
    (a * grad_output).sum().backward()
    return a.detach(), [w.grad for w in weights], [b.grad for b in biases]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("sizes, n", [((3, 5, 2), 4), ((6, 7, 5, 3), 1), ((2, 1), 9), ((4, 8, 8, 8, 1), 5)])
def test_forward_and_backward_match_autograd(activation, sizes, n):
    model = MLP(sizes, activation, seed=1, dtype=torch.float64)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(n, sizes[0], generator=g, dtype=torch.float64)
    grad_output = torch.randn(n, sizes[-1], generator=g, dtype=torch.float64)
    out = model.forward(x)
    ref_out, ref_w, ref_b = autograd_reference(model, x, grad_output)
    assert out.shape == (n, sizes[-1]) and out.dtype == torch.float64
    torch.testing.assert_close(out, ref_out, rtol=TOL, atol=TOL)
    grad_w, grad_b = model.backward(grad_output)
    assert [g.shape for g in grad_w] == [w.shape for w in model.weights]
    assert [g.shape for g in grad_b] == [b.shape for b in model.biases]
    for mine, ref in zip(grad_w + grad_b, ref_w + ref_b, strict=True):
        torch.testing.assert_close(mine, ref, rtol=TOL, atol=TOL)


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
        assert relative_error(grad_w[l], numerical_gradient(loss, model.weights[l])) < FD_TOL
        assert relative_error(grad_b[l], numerical_gradient(loss, model.biases[l])) < FD_TOL


def test_numerical_gradient_restores_its_input_and_is_accurate():
    x = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    before = x.clone()
    grad = numerical_gradient(lambda t: (t**3).sum() + torch.sin(t[0] * t[1]), x)
    assert torch.equal(x, before)
    expected = 3 * x**2 + torch.tensor([x[1] * torch.cos(x[0] * x[1]), x[0] * torch.cos(x[0] * x[1]), 0.0],
                                       dtype=torch.float64)
    torch.testing.assert_close(grad, expected, rtol=1e-8, atol=1e-8)


def test_softmax_cross_entropy_and_its_gradient_match_torch():
    g = torch.Generator().manual_seed(5)
    logits = (torch.randn(6, 4, generator=g, dtype=torch.float64) * 10).requires_grad_(True)
    labels = torch.tensor([0, 3, 1, 1, 2, 0])
    loss, grad = softmax_cross_entropy(logits.detach(), labels)
    ref = torch.nn.functional.cross_entropy(logits, labels)
    ref.backward()
    torch.testing.assert_close(loss, ref.detach(), rtol=TOL, atol=TOL)
    torch.testing.assert_close(grad, logits.grad, rtol=TOL, atol=TOL)


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


def test_gradient_descent_learns_xor():
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([0, 1, 1, 0])
    model = MLP((2, 8, 2), "tanh", seed=0)
    history = train_mlp(model, x, y, GradientDescent(lr=1.0, steps=300))
    assert len(history["loss"]) == 300 and history["loss"][-1] < 0.05 * history["loss"][0]
    assert accuracy(model, x, y) == 1.0


def test_training_is_deterministic_with_minibatches():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 3, generator=g), torch.randint(0, 2, (40,), generator=g)
    config = GradientDescent(lr=0.3, steps=20, batch_size=8)
    runs = []
    for _ in range(2):
        model = MLP((3, 5, 2), "relu", seed=1)
        runs.append(train_mlp(model, x, y, config, generator=torch.Generator().manual_seed(9))["loss"])
    assert runs[0] == runs[1]


def test_diverging_training_raises_floating_point_error():
    x = torch.randn(16, 2, generator=torch.Generator().manual_seed(0)) * 100
    y = torch.arange(16) % 2
    model = MLP((2, 32, 2), "relu", seed=0)
    with pytest.raises(FloatingPointError, match="loss became .* at step"):
        train_mlp(model, x, y, GradientDescent(lr=1e30, steps=50))


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(sizes=(3,)), ValueError, "at least two positive ints, got"),
    (dict(sizes=(3, 0)), ValueError, "positive ints"),
    (dict(sizes=(3, 2), activation="sigmoid"), ValueError, r"one of \('tanh', 'relu'\), got 'sigmoid'"),
    (dict(sizes=(3, 2), seed=1.5), TypeError, "seed to be an int, got float"),
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
    with pytest.raises(TypeError, match="torch.Tensor, got list"):
        model.forward([[0.0, 0.0, 0.0]])
    model.forward(torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"grad_output of shape \(5, 2\).*got \(5, 3\)"):
        model.backward(torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"labels in \[0, 2\), got values in \[0, 2\]"):
        softmax_cross_entropy(torch.zeros(3, 2), torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="floating-point x"):
        numerical_gradient(lambda t: t.sum(), torch.arange(3))
    with pytest.raises(ValueError, match="same shape"):
        relative_error(torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="lr > 0"):
        GradientDescent(lr=0.0)
