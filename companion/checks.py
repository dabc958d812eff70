"""Readable checks for the notebooks: each prints a verdict a reader can trust, or fails the cell.

A notebook states a claim ("BPTT by hand equals autograd"), computes the evidence in the cell, and
calls one of these. On success the cell prints one line starting with ✓; on failure it raises
`AssertionError` with the measured value, so strict nbval (and a reader's Run All) stops there.

What is printed never depends on floating-point rounding: a difference of 3.3e-16 on one CPU is
8.9e-16 on another, so `check_close` prints the bound the difference stayed within, not the
difference itself. Values that are stable to the digits shown (an accuracy to 4 places in a cell
that trains, a count) can be passed as ``value`` and are printed beside the claim.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from companion import validation

PASS = "✓"
FAIL = "✗"


def check(claim: str, holds, value: str | None = None) -> None:
    """Print ``✓ claim`` (and the measured ``value``) if ``holds`` is true, else raise AssertionError.

    Args:
        claim: what the prose says, as a short sentence ("test accuracy ≥ 0.99").
        holds: a bool, or a one-element bool tensor / numpy bool, saying whether the claim holds.
        value: optional text with the measured number(s), printed in brackets.
    """
    if not isinstance(claim, str) or not claim.strip():
        raise TypeError(f"expected claim to be a non-empty str, got {claim!r}")
    if value is not None and not isinstance(value, str):
        raise TypeError(f"expected value to be a str (format the number yourself) or None, got {type(value).__name__}")
    verdict = _as_bool(holds)
    detail = f" ({value})" if value else ""
    if not verdict:
        raise AssertionError(f"{FAIL} {claim}{detail}")
    print(f"{PASS} {claim}{detail}")


def max_abs_difference(actual, expected) -> float:
    """The largest |actual − expected| over all entries, in float64 (shapes must match)."""
    a, b = _as_float64(actual, "actual"), _as_float64(expected, "expected")
    if a.shape != b.shape:
        raise ValueError(f"expected actual and expected of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.numel() == 0:
        return 0.0
    return (a - b).abs().max().item()


def check_close(claim: str, actual, expected, atol: float = 0.0, rtol: float = 0.0) -> None:
    """Check that |actual − expected| ≤ atol + rtol·|expected| everywhere, and print only the bound.

    Prints ``✓ claim: max |difference| ≤ 1e-12`` (the tolerance, not the difference, which varies
    with the CPU) or raises AssertionError stating the difference that broke it.
    """
    if not isinstance(claim, str) or not claim.strip():
        raise TypeError(f"expected claim to be a non-empty str, got {claim!r}")
    for name, tol in (("atol", atol), ("rtol", rtol)):
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
            raise TypeError(f"expected {name} to be a finite number ≥ 0, got {validation.describe(tol)}")
        if not math.isfinite(tol) or tol < 0:
            raise ValueError(f"expected {name} to be a finite number ≥ 0, got {tol!r}")
    if atol == 0 and rtol == 0:
        raise ValueError("expected a tolerance: atol or rtol must be positive (exact float equality is not portable)")
    a, b = _as_float64(actual, "actual"), _as_float64(expected, "expected")
    if a.shape != b.shape:
        raise ValueError(f"expected actual and expected of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    excess = (a - b).abs() - (atol + rtol * b.abs())
    bound = _bound_text(atol, rtol)
    if not torch.isfinite(a).all() or (a.numel() and excess.max().item() > 0):
        raise AssertionError(f"{FAIL} {claim}: max |difference| = {max_abs_difference(a, b):.3g}, above {bound}")
    print(f"{PASS} {claim}: max |difference| ≤ {bound}")


def check_below(claim: str, value: float, bound: float) -> None:
    """Check that a measured error is below ``bound``; print the bound, never the (CPU-dependent) value.

    For errors at the level of floating-point rounding: ``check_below("relative error vs autograd",
    err, 1e-12)`` prints ``✓ relative error vs autograd < 1e-12``.
    """
    if not isinstance(claim, str) or not claim.strip():
        raise TypeError(f"expected claim to be a non-empty str, got {claim!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"expected value to be a float, got {type(value).__name__}")
    if isinstance(bound, bool) or not isinstance(bound, numbers.Real):
        raise TypeError(f"expected bound to be a positive number, got {validation.describe(bound)}")
    if not 0 < bound < math.inf:  # nan fails this too; '< inf' would claim nothing
        raise ValueError(f"expected bound to be a positive finite number, got {bound!r}")
    if not value < bound:  # also catches nan
        raise AssertionError(f"{FAIL} {claim}: {float(value):.3g}, not below {bound:.0e}")
    print(f"{PASS} {claim} < {bound:.0e}")


def _bound_text(atol: float, rtol: float) -> str:
    parts = [f"{atol:.0e}"] if atol else []
    if rtol:
        parts.append(f"{rtol:.0e}·|value|")
    return " + ".join(parts)


def _as_bool(holds) -> bool:
    if isinstance(holds, (bool, np.bool_)):
        return bool(holds)
    if isinstance(holds, torch.Tensor) and holds.dtype == torch.bool and holds.numel() == 1:
        return bool(holds.item())
    raise TypeError(f"expected holds to be a bool (or a one-element bool tensor), got {type(holds).__name__}")


def _as_float64(value, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        validation.tensor(value, name)  # refuses a tensor without data (the meta device)
        return value.detach().to("cpu", torch.float64)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return torch.from_numpy(value.astype(np.float64))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=torch.float64)
    raise TypeError(f"expected {name} to be a tensor, numpy array or number, got {type(value).__name__}")
