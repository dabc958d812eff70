"""Backpropagation by hand for a multilayer perceptron (§1.3.1), and a finite-difference check.

Vectors are rows: a batch is (N, D) and a layer with weight W (out, in) and bias b (out,) computes
``z = a @ W.T + b``. For layers l = 1..L, with a⁰ = x, the notebook's equations are

    (1.3.1a)  zˡ = aˡ⁻¹ Wˡᵀ + bˡ,   aˡ = f(zˡ) for l < L,   a^L = z^L (the last layer is linear)
    (1.3.1b)  δ^L = ∂ℒ/∂z^L                           (given: ``grad_output``)
    (1.3.1c)  δˡ = (δˡ⁺¹ Wˡ⁺¹) ⊙ f′(zˡ)               (column form: (Wˡ⁺¹ᵀ δˡ⁺¹) ⊙ f′(zˡ))
    (1.3.1d)  ∂ℒ/∂Wˡ = δˡᵀ aˡ⁻¹,   ∂ℒ/∂bˡ = Σₙ δˡₙ   (column form, one example: δˡ aˡ⁻¹ᵀ and δˡ)

Backpropagation only computes these gradients; gradient descent (``train_mlp``) is what uses them:
W ← W − η ∂ℒ/∂W. Rumelhart, Hinton & Williams (1986), "Learning representations by
back-propagating errors", Nature 323. How often a trained MLP is right: `companion.metrics.accuracy`.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from companion import validation as check
from companion.training import progress_bar, resolve_device, seed_generator, stop_if_diverged

ACTIVATIONS = ("tanh", "relu")


def _activate(z: torch.Tensor, activation: str) -> torch.Tensor:
    return torch.tanh(z) if activation == "tanh" else torch.clamp(z, min=0)


def _activation_derivative(z: torch.Tensor, a: torch.Tensor, activation: str) -> torch.Tensor:
    """f′(z), from z or from a = f(z), whichever is cheaper."""
    if activation == "tanh":
        return 1 - a * a  # tanh′(z) = 1 − tanh²(z)
    return (z > 0).to(z.dtype)  # relu′(z) = 1 if z > 0 else 0 (0 at the kink, as torch does)


class MLP:
    """A fully connected network whose gradients are computed by hand, layer by layer.

    ``weights[l]`` is (sizes[l+1], sizes[l]) and ``biases[l]`` is (sizes[l+1],). They are plain
    lists of tensors (no autograd) that ``forward`` reads on every call, so an exercise may
    perturb or replace them.

    Args:
        sizes: layer widths, input first, e.g. (64, 32, 10); at least two.
        activation: "tanh" or "relu" for the hidden layers; the last layer is linear.
        seed: seeds the initial weights (N(0, gain²/fan_in), gain 1 for tanh, √2 for relu; biases 0).
        dtype, device: of the parameters; inputs must match them.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "tanh", seed: int = 0,
                 dtype: torch.dtype = torch.float32, device: torch.device | str | None = None):
        if not isinstance(sizes, (list, tuple)):
            raise TypeError(f"expected sizes to be a list of at least two positive ints, got {check.describe(sizes)}")
        if len(sizes) < 2:
            raise ValueError(f"expected sizes to be a list of at least two positive ints, got {list(sizes)!r}")
        for n in sizes:
            check.positive_int(n, "each of sizes")
        check.one_of(activation, "activation", ACTIVATIONS)
        check.integer(seed, "seed")
        if dtype not in check.FLOAT_DTYPES:
            raise TypeError(f"expected dtype torch.float32 or torch.float64, got {check.describe(dtype)}")
        device = resolve_device(device)
        self.sizes = tuple(sizes)
        self.activation = activation
        generator = torch.Generator().manual_seed(seed)  # on the CPU, so every device starts alike
        gain = 1.0 if activation == "tanh" else 2.0**0.5
        self.weights: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            w = torch.randn(fan_out, fan_in, generator=generator, dtype=torch.float64) * (gain / fan_in**0.5)
            self.weights.append(w.to(device=device, dtype=dtype))
            self.biases.append(torch.zeros(fan_out, dtype=dtype, device=device))
        self._cache: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None

    def __repr__(self) -> str:
        return f"MLP(sizes={self.sizes}, activation={self.activation!r})"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Eq. (1.3.1a) for every layer: x (N, sizes[0]) -> output (N, sizes[-1]); caches what backward needs."""
        check.tensor(x, "x")
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"expected x of shape (N, {self.sizes[0]}), got {tuple(x.shape)}")
        check.like(x, "x", self.weights[0], "the weights")
        a, inputs, zs = x, [], []
        last = len(self.weights) - 1
        for l, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            inputs.append(a)  # aˡ⁻¹, (N, in)
            z = a @ W.T + b  # zˡ, (N, out)
            zs.append(z)
            a = z if l == last else _activate(z, self.activation)
        self._cache = (inputs, zs)
        return a

    __call__ = forward

    def backward(self, grad_output: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Eqs. (1.3.1b)–(1.3.1d): given δ^L = ∂ℒ/∂output (N, sizes[-1]) for the last ``forward`` call,
        return ``(grad_weights, grad_biases)``, two lists aligned with ``weights`` and ``biases``."""
        if self._cache is None:
            raise RuntimeError("backward needs the activations of a forward pass: call forward(x) first")
        inputs, zs = self._cache
        check.tensor(grad_output, "grad_output")
        if grad_output.shape != zs[-1].shape:
            raise ValueError(f"expected grad_output of shape {tuple(zs[-1].shape)} (the last output), "
                             f"got {tuple(grad_output.shape)}")
        check.like(grad_output, "grad_output", zs[-1], "the last output")
        L = len(self.weights)
        grad_weights: list[torch.Tensor] = [None] * L  # type: ignore[list-item]
        grad_biases: list[torch.Tensor] = [None] * L  # type: ignore[list-item]
        delta = grad_output  # δ^L, (N, out)
        for l in range(L - 1, -1, -1):
            grad_weights[l] = delta.T @ inputs[l]  # (1.3.1d): (out, N) @ (N, in) -> (out, in)
            grad_biases[l] = delta.sum(dim=0)  # (1.3.1d): (out,)
            if l > 0:
                # (1.3.1c): inputs[l] is aˡ⁻¹ = f(zˡ⁻¹), so f′ is evaluated on the layer below
                delta = (delta @ self.weights[l]) * _activation_derivative(zs[l - 1], inputs[l], self.activation)
        return grad_weights, grad_biases


def numerical_gradient(f: Callable[[torch.Tensor], torch.Tensor | float], x: torch.Tensor,
                       eps: float = 1e-6) -> torch.Tensor:
    """Central differences ∂f/∂xᵢ ≈ (f(x + εeᵢ) − f(x − εeᵢ)) / 2ε for a scalar function f.

    Each element of ``x`` is nudged in place and restored, so ``x`` may be a tensor that ``f``
    reads indirectly (``numerical_gradient(lambda _: loss(model), model.weights[0])``). Use float64:
    in float32 the rounding error (~1e-7/ε) swamps the answer. Returns a tensor shaped like x
    (contiguous). An expanded view (a stride of 0) is refused: its elements share one memory place.
    """
    if not callable(f):
        raise TypeError(f"expected f to be a function of x that returns a number, got {check.describe(f)}")
    check.distinct_memory(check.tensor(x, "x", floating=True), "x")
    eps = check.real(eps, "eps", above=0)
    grad = torch.zeros(x.shape, dtype=x.dtype, device=x.device)
    with torch.no_grad():
        for index in itertools.product(*map(range, x.shape)):  # x[index] is x's memory, whatever its strides
            original = x[index].item()
            try:
                x[index] = original + eps
                f_plus = _number(f(x), "f(x)")
                x[index] = original - eps
                f_minus = _number(f(x), "f(x)")
            finally:
                x[index] = original
            grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def _number(value, name: str) -> float:
    """A Python float from a number or a one-element tensor."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"expected {name} to be a number (one element), got shape {tuple(value.shape)}")
        return value.item()
    return check.real(value, name) if not isinstance(value, float) else value


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a − b| / max(max |a|, max |b|, tiny): one number for "do these two gradients agree?"."""
    check.tensor(a, "a", floating=True, finite=True)
    check.tensor(b, "b", floating=True, finite=True)
    if a.shape != b.shape:
        raise ValueError(f"expected a and b of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.numel() == 0:
        return 0.0
    a, b = a.detach().double(), b.detach().to(a.device).double()
    scale = max(a.abs().max().item(), b.abs().max().item(), 1e-300)
    return (a - b).abs().max().item() / scale


def softmax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy of softmax(logits) and its gradient by hand, the δ^L of eq. (1.3.1b).

    ℒ = −(1/N) Σₙ log softmax(zₙ)[yₙ]  and  ∂ℒ/∂z = (softmax(z) − onehot(y)) / N.

    Args:
        logits: (N, K) float, N >= 1; labels: (N,) int64 in [0, K), on the logits' device.
    Returns:
        (loss, a 0-d tensor; grad_logits, (N, K)).
    """
    check.tensor(logits, "logits", ndim=2, layout="(N, K)", floating=True, min_size=1)
    N, K = logits.shape
    if K < 1:
        raise ValueError(f"expected logits of shape (N, K) with K >= 1 classes, got {tuple(logits.shape)}")
    check.class_indices(labels, "labels", n=N, num_classes=K)
    if labels.device != logits.device:
        raise ValueError(f"expected labels on the logits' device {logits.device}, got {labels.device}")
    log_p = torch.log_softmax(logits, dim=1)  # (N, K), stable: subtracts the row maximum
    loss = -log_p[torch.arange(N, device=logits.device), labels].mean()
    grad = log_p.exp()
    grad[torch.arange(N, device=logits.device), labels] -= 1
    return loss, grad / N


@dataclass(frozen=True)
class MLPConfig:
    """How `train_mlp` trains: plain (mini-batch) gradient descent, W ← W − lr · ∂ℒ/∂W, a fixed number of steps.

    `hidden` and `activation` shape the network that `train_mlp` builds, sizes (D, *hidden, K) for D
    inputs and K classes; a network passed as ``model=`` keeps its own.
    """

    hidden: tuple[int, ...] = (32,)
    activation: str = "tanh"
    lr: float = 0.5
    steps: int = 500
    batch_size: int | None = None  # None: the whole training set every step

    def __post_init__(self):
        if not isinstance(self.hidden, tuple):
            raise TypeError(f"expected hidden to be a tuple of layer widths, got {check.describe(self.hidden)}")
        for width in self.hidden:
            check.positive_int(width, "each of hidden")
        check.one_of(self.activation, "activation", ACTIVATIONS)
        check.real(self.lr, "lr", above=0)
        check.positive_int(self.steps, "steps")
        if self.batch_size is not None:
            check.positive_int(self.batch_size, "batch_size")


def train_mlp(x: torch.Tensor, labels: torch.Tensor, config: MLPConfig | None = None, *, model: MLP | None = None,
              device: torch.device | str | None = None, generator: torch.Generator | None = None,
              progress: bool = True) -> tuple[MLP, dict[str, list[float]]]:
    """Train an `MLP` on a classification task with hand-computed gradients only; return (model, history).

    Each step: forward (1.3.1a), softmax cross-entropy and δ^L, backward (1.3.1b)–(1.3.1d), then the
    update.

    Args:
        x: (N, D) float inputs; labels: (N,) int64 classes in [0, K).
        config: `MLPConfig()` if None.
        model: a network to start from (e.g. one with hand-set weights); it is copied, not changed.
            None builds MLP((D, *config.hidden, labels.max() + 1)) with weights drawn from `generator`.
        device: where to train; None: x's device. The model is returned there, in x's dtype.
        generator: a CPU generator for the initial weights and the mini-batches; None draws a seed
            from torch's global generator.
        progress: show a tqdm progress bar over steps.

    Returns:
        (model, history): the trained copy, and {"loss": [...], "accuracy": [...]}, one entry per step,
        measured on the batch of that step before its update.
    Raises:
        FloatingPointError: when the loss becomes nan or inf.
    """
    config = MLPConfig() if config is None else check.instance(config, "config", MLPConfig, "an MLPConfig or None")
    check.tensor(x, "x", ndim=2, layout="(N, D)", floating=True, min_size=1, finite=True)
    N, D = x.shape
    check.class_indices(labels, "labels", n=N)
    device = resolve_device(device, x)
    generator = seed_generator(generator)
    check.flag(progress, "progress")
    if model is None:
        num_classes = max(int(labels.max()) + 1, 2)
        seed = int(torch.randint(2**62, (1,), generator=generator))
        model = MLP((D, *config.hidden, num_classes), config.activation, seed=seed, dtype=x.dtype, device=device)
    else:
        check.instance(model, "model", MLP, "a companion.backprop.MLP or None")
        if model.sizes[0] != D or model.sizes[-1] <= int(labels.max()):
            raise ValueError(f"expected a model with {D} inputs and more than {int(labels.max())} outputs for "
                             f"this data, got sizes {model.sizes}")
        model = copy.deepcopy(model)
        model.weights = [w.to(device, x.dtype) for w in model.weights]
        model.biases = [b.to(device, x.dtype) for b in model.biases]
    x, labels = x.to(device), labels.to(device)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for step in progress_bar(range(config.steps), "gradient descent", progress):
        if config.batch_size is None or config.batch_size >= N:
            xb, yb = x, labels
        else:
            index = torch.randperm(N, generator=generator)[: config.batch_size].to(device)
            xb, yb = x[index], labels[index]
        logits = model.forward(xb)
        loss, grad_logits = softmax_cross_entropy(logits, yb)
        stop_if_diverged(step, f"try a smaller lr than {config.lr}", loss=loss.item())
        grad_weights, grad_biases = model.backward(grad_logits)
        for l in range(len(model.weights)):
            # Rebind rather than modify in place, so tensors a caller holds are not changed under them.
            model.weights[l] = model.weights[l] - config.lr * grad_weights[l]
            model.biases[l] = model.biases[l] - config.lr * grad_biases[l]
        history["loss"].append(loss.item())
        history["accuracy"].append((logits.argmax(dim=1) == yb).double().mean().item())
    return model, history
