"""What the unit tests share: one tolerance per dtype, and one checker of from-scratch code against torch.

`assert_matches_torch` follows tinygrad's op tests (`helper_test_op`): for every case of a grid of
shapes it draws float64 inputs, runs our function and torch's reference on the same inputs, and compares
the outputs and the gradients of a random weighted sum of them with respect to every input. A test of a
from-scratch piece is then one call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

# rounding only (the same sums in another order): float64 agrees to ~1e-15 relative, float32 to ~1e-7
TOLERANCE = {torch.float64: dict(rtol=1e-10, atol=1e-12), torch.float32: dict(rtol=1e-5, atol=1e-5)}
FINITE_DIFFERENCE_TOLERANCE = 1e-6  # float64 central differences, eps=1e-6: truncation ~eps², rounding ~1e-16/eps


def assert_close(actual: torch.Tensor, expected: torch.Tensor, msg: str | None = None) -> None:
    """torch.testing.assert_close with the tolerance of the expected tensor's dtype."""
    torch.testing.assert_close(actual, expected, **TOLERANCE.get(expected.dtype, TOLERANCE[torch.float32]), msg=msg)


def _as_tuple(out) -> tuple[torch.Tensor, ...]:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def assert_matches_torch(ours: Callable, reference: Callable, shapes: Sequence[Sequence[tuple[int, ...]]], *,
                         dtype: torch.dtype = torch.float64, grad: bool = True, grad_of: Sequence[int] | None = None,
                         seed: int = 0,
                         make: Callable[[tuple[int, ...], torch.Generator], torch.Tensor] | None = None) -> None:
    """ours(*inputs) equals reference(*inputs), forward and backward, for each list of input shapes.

    Args:
        ours, reference: functions of the same tensors; each returns a tensor or a tuple of tensors.
        shapes: the grid: one entry per case, each a list with the shape of every input.
        grad: also compare the gradients of sum_k (out_k * g_k), g_k random, with respect to the inputs.
        grad_of: the positions of the inputs whose gradients are compared; None: all of them.
        make: how to draw an input of a shape (default: standard normal).
    """
    assert len(shapes) > 0, "an empty grid tests nothing"
    for case, case_shapes in enumerate(shapes):
        g = torch.Generator().manual_seed(seed + case)
        draw = make or (lambda shape, gen: torch.randn(shape, generator=gen, dtype=dtype))
        inputs = [draw(tuple(shape), g).to(dtype) for shape in case_shapes]
        results = []
        for fn in (ours, reference):
            wanted = range(len(inputs)) if grad_of is None else grad_of
            leaves = [t.clone().requires_grad_(grad and i in wanted) for i, t in enumerate(inputs)]
            out = _as_tuple(fn(*leaves))
            grads = None
            if grad:
                weights = [torch.randn(o.shape, generator=torch.Generator().manual_seed(seed + 1000 + case),
                                       dtype=o.dtype) for o in out]
                total = sum((o * w).sum() for o, w in zip(out, weights, strict=True))
                grads = torch.autograd.grad(total, [leaves[i] for i in wanted], allow_unused=True)
            results.append(([o.detach() for o in out], grads))
        (out_ours, grads_ours), (out_ref, grads_ref) = results
        assert len(out_ours) == len(out_ref), f"case {case}: {len(out_ours)} outputs, reference {len(out_ref)}"
        for k, (a, b) in enumerate(zip(out_ours, out_ref, strict=True)):
            assert a.shape == b.shape and a.dtype == b.dtype == dtype, (case, k, a.shape, b.shape, a.dtype)
            assert_close(a, b, msg=f"case {case} {case_shapes}: output {k}")
        if grad:
            for k, a, b in zip(wanted, grads_ours, grads_ref, strict=True):
                a = torch.zeros_like(inputs[k]) if a is None else a
                b = torch.zeros_like(inputs[k]) if b is None else b
                assert_close(a, b, msg=f"case {case} {case_shapes}: gradient of input {k}")


# A JavaScript function for the browser tests: the picture of one character drawn in a CSS font on a canvas,
# as a data URL, so that two drawings can be compared (a missing glyph draws like U+0378, the "tofu" box).
DRAW_GLYPH_JS = r"""
  const draw = (ch, font) => {
    const canvas = document.createElement('canvas');
    canvas.width = 96; canvas.height = 96;
    const ctx = canvas.getContext('2d');
    ctx.font = font; ctx.textBaseline = 'top'; ctx.fillText(ch, 8, 8);
    return canvas.toDataURL();
  };
"""
