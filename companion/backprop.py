"""Backpropagation by hand for a multilayer perceptron (§1.3.1), and a finite-difference check.

Vectors are rows: a batch is (N, D) and a layer with weight W (out, in) and bias b (out,) computes
``z = a @ W.T + b``. For layers l = 1..L, with a⁰ = x, the notebook's equations are

    (1.3.1a)  zˡ = aˡ⁻¹ Wˡᵀ + bˡ,   aˡ = f(zˡ) for l < L,   a^L = z^L (the last layer is linear)
    (1.3.1b)  δ^L = ∂ℒ/∂z^L                           (given: ``grad_output``)
    (1.3.1c)  δˡ = (δˡ⁺¹ Wˡ⁺¹) ⊙ f′(zˡ)               (column form: (Wˡ⁺¹ᵀ δˡ⁺¹) ⊙ f′(zˡ))
    (1.3.1d)  ∂ℒ/∂Wˡ = δˡᵀ aˡ⁻¹,   ∂ℒ/∂bˡ = Σₙ δˡₙ   (column form, one example: δˡ aˡ⁻¹ᵀ and δˡ)

Backpropagation only computes these gradients; gradient descent (``train_mlp``) is what uses them:
W ← W − η ∂ℒ/∂W. Rumelhart, Hinton & Williams (1986), "Learning representations by
back-propagating errors", Nature 323.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

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
        sizes = list(sizes) if isinstance(sizes, (list, tuple)) else sizes
        if not isinstance(sizes, list) or len(sizes) < 2 or not all(
                isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes):
            raise ValueError(f"expected sizes to be a list of at least two positive ints, got {sizes!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"expected activation to be one of {ACTIVATIONS}, got {activation!r}")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise TypeError(f"expected seed to be an int, got {type(seed).__name__}")
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(f"expected dtype torch.float32 or torch.float64, got {dtype}")
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
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected x to be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"expected x of shape (N, {self.sizes[0]}), got {tuple(x.shape)}")
        w0 = self.weights[0]
        if x.dtype != w0.dtype or x.device != w0.device:
            raise TypeError(f"expected x of dtype {w0.dtype} on {w0.device} like the weights, "
                            f"got {x.dtype} on {x.device}")
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
        if not isinstance(grad_output, torch.Tensor):
            raise TypeError(f"expected grad_output to be a torch.Tensor, got {type(grad_output).__name__}")
        if grad_output.shape != zs[-1].shape:
            raise ValueError(f"expected grad_output of shape {tuple(zs[-1].shape)} (the last output), "
                             f"got {tuple(grad_output.shape)}")
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
    in float32 the rounding error (~1e-7/ε) swamps the answer. Returns a tensor shaped like x.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected x to be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"expected a floating-point x, got {x.dtype}")
    if not (isinstance(eps, float) and eps > 0):
        raise ValueError(f"expected eps to be a positive float, got {eps!r}")
    grad = torch.zeros_like(x)
    flat, grad_flat = x.view(-1), grad.view(-1)  # views: writing flat[i] writes x
    with torch.no_grad():
        for i in range(flat.numel()):
            original = flat[i].item()
            try:
                flat[i] = original + eps
                f_plus = float(f(x))
                flat[i] = original - eps
                f_minus = float(f(x))
            finally:
                flat[i] = original
            grad_flat[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a − b| / max(max |a|, max |b|, tiny): one number for "do these two gradients agree?"."""
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        raise TypeError(f"expected two tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.shape != b.shape:
        raise ValueError(f"expected tensors of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    a, b = a.detach().double(), b.detach().to(a.device).double()
    scale = max(a.abs().max().item(), b.abs().max().item(), 1e-300) if a.numel() else 1.0
    return (a - b).abs().max().item() / scale if a.numel() else 0.0


def softmax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy of softmax(logits) and its gradient by hand, the δ^L of eq. (1.3.1b).

    ℒ = −(1/N) Σₙ log softmax(zₙ)[yₙ]  and  ∂ℒ/∂z = (softmax(z) − onehot(y)) / N.

    Args:
        logits: (N, K) float; labels: (N,) int64 in [0, K).
    Returns:
        (loss, a 0-d tensor; grad_logits, (N, K)).
    """
    if not isinstance(logits, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise TypeError(f"expected tensors, got {type(logits).__name__} and {type(labels).__name__}")
    if logits.ndim != 2:
        raise ValueError(f"expected logits of shape (N, K), got {tuple(logits.shape)}")
    if labels.shape != logits.shape[:1] or labels.dtype != torch.int64:
        raise ValueError(f"expected int64 labels of shape ({logits.shape[0]},), "
                         f"got {labels.dtype} of shape {tuple(labels.shape)}")
    N, K = logits.shape
    if N and (labels.min() < 0 or labels.max() >= K):
        raise ValueError(f"expected labels in [0, {K}), got values in [{labels.min().item()}, {labels.max().item()}]")
    log_p = torch.log_softmax(logits, dim=1)  # (N, K), stable: subtracts the row maximum
    loss = -log_p[torch.arange(N, device=logits.device), labels].mean()
    grad = log_p.exp()
    grad[torch.arange(N, device=logits.device), labels] -= 1
    return loss, grad / N


@dataclass(frozen=True)
class GradientDescent:
    """Plain (mini-batch) gradient descent: W ← W − lr · ∂ℒ/∂W, for a fixed number of steps."""

    lr: float = 0.5
    steps: int = 500
    batch_size: int | None = None  # None: the whole training set every step

    def __post_init__(self):
        if not self.lr > 0:
            raise ValueError(f"expected lr > 0, got {self.lr!r}")
        if not (isinstance(self.steps, int) and self.steps >= 1):
            raise ValueError(f"expected steps to be a positive int, got {self.steps!r}")
        if self.batch_size is not None and not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ValueError(f"expected batch_size to be None or a positive int, got {self.batch_size!r}")


def accuracy(model: MLP, x: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows of x whose largest output is at the label."""
    return (model.forward(x).argmax(dim=1) == labels).double().mean().item()


def train_mlp(model: MLP, x: torch.Tensor, labels: torch.Tensor, config: GradientDescent = GradientDescent(),
              generator: torch.Generator | None = None, progress: bool = False) -> dict[str, list[float]]:
    """Train ``model`` in place on a classification task with hand-computed gradients only.

    Each step: forward (1.3.1a), softmax cross-entropy and δ^L, backward (1.3.1b)–(1.3.1d), then the
    update.
    x (N, sizes[0]) and labels (N,) are moved to the model's device and dtype. ``generator`` draws
    the mini-batches (CPU generator). Returns {"loss": [...], "accuracy": [...]}, one entry per
    step, measured on the batch of that step before its update.
    """
    from tqdm.auto import tqdm

    if not isinstance(model, MLP):
        raise TypeError(f"expected model to be a companion.backprop.MLP, got {type(model).__name__}")
    if not isinstance(config, GradientDescent):
        raise TypeError(f"expected config to be a GradientDescent, got {type(config).__name__}")
    w0 = model.weights[0]
    x, labels = x.to(device=w0.device, dtype=w0.dtype), labels.to(w0.device)
    N = x.shape[0]
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for step in tqdm(range(config.steps), disable=not progress, desc="gradient descent"):
        if config.batch_size is None or config.batch_size >= N:
            xb, yb = x, labels
        else:
            index = torch.randperm(N, generator=generator)[: config.batch_size].to(w0.device)
            xb, yb = x[index], labels[index]
        logits = model.forward(xb)
        loss, grad_logits = softmax_cross_entropy(logits, yb)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}; try a smaller lr than {config.lr}")
        grad_weights, grad_biases = model.backward(grad_logits)
        for l in range(len(model.weights)):
            # Rebind rather than modify in place, so tensors a caller holds are not changed under them.
            model.weights[l] = model.weights[l] - config.lr * grad_weights[l]
            model.biases[l] = model.biases[l] - config.lr * grad_biases[l]
        history["loss"].append(loss.item())
        history["accuracy"].append((logits.argmax(dim=1) == yb).double().mean().item())
    return history
