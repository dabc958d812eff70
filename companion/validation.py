"""The input checks of the whole package: one wording for every "expected ..., got ..." error.

Readers call the package from their own cells, and the error they get is the lesson. So every public
function checks its arguments with these helpers, which raise

- `TypeError` when the kind of thing is wrong (a list where a tensor belongs, an int tensor where
  floats belong, `True` where a count belongs), and
- `ValueError` when the kind is right but the value is not (a negative size, a wrong shape, nan),

and both name what was expected and what arrived: ``expected n to be a positive int, got True (bool)``.
`bool` is refused wherever an int is expected: Python counts `True` as 1, a reader never means it so.
Each helper returns the checked value, so a check and an assignment can be one line.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch

FLOAT_DTYPES = (torch.float32, torch.float64)


def describe(value) -> str:
    """A short description of what arrived: a tensor's shape, dtype and device, else the value and its type."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}, {value.dtype} on {value.device}"
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (int, float)):
        return f"{type(value).__name__} of shape {tuple(shape)}"
    text = repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def integer(value, name: str, minimum: int | None = None) -> int:
    """An int (not a bool), at least `minimum` if given."""
    if not _is_int(value):
        wanted = "an int" if minimum is None else f"an int >= {minimum}"
        raise TypeError(f"expected {name} to be {wanted}, got {describe(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"expected {name} to be an int >= {minimum}, got {value}")
    return int(value)


def positive_int(value, name: str) -> int:
    """An int >= 1 (a size, a count of steps), never a bool."""
    if not _is_int(value):
        raise TypeError(f"expected {name} to be a positive int, got {describe(value)}")
    if value < 1:
        raise ValueError(f"expected {name} to be a positive int, got {value}")
    return int(value)


def real(value, name: str, *, above: float | None = None, at_least: float | None = None,
         below: float | None = None, at_most: float | None = None) -> float:
    """A finite real number (int or float, not a bool) within the given bounds; returned as a float."""
    bounds = [f"> {above:g}" if above is not None else "", f">= {at_least:g}" if at_least is not None else "",
              f"< {below:g}" if below is not None else "", f"<= {at_most:g}" if at_most is not None else ""]
    wanted = " and ".join(b for b in bounds if b)
    wanted = f"a finite number {wanted}".rstrip()
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"expected {name} to be {wanted}, got {describe(value)}")
    value = float(value)
    if (not math.isfinite(value) or (above is not None and not value > above)
            or (at_least is not None and not value >= at_least) or (below is not None and not value < below)
            or (at_most is not None and not value <= at_most)):
        raise ValueError(f"expected {name} to be {wanted}, got {value!r}")
    return value


def betas(value, name: str = "betas") -> tuple[float, float]:
    """Adam's (β1, β2): a pair of numbers in [0, 1)."""
    if not isinstance(value, tuple) or len(value) != 2:
        raise TypeError(f"expected {name} to be a pair (beta1, beta2) of numbers in [0, 1), got {describe(value)}")
    return tuple(real(b, f"{name}[{i}]", at_least=0, below=1) for i, b in enumerate(value))


def one_of(value, name: str, choices: Sequence[str]) -> str:
    """One of a few names (a loss, a cell type, a split)."""
    if not isinstance(value, str):
        raise TypeError(f"expected {name} to be one of {tuple(choices)}, got {describe(value)}")
    if value not in choices:
        raise ValueError(f"expected {name} to be one of {tuple(choices)}, got {value!r}")
    return value


def flag(value, name: str) -> bool:
    """A bool: True or False, not 0, 1 or a string."""
    if not isinstance(value, bool):
        raise TypeError(f"expected {name} to be True or False, got {describe(value)}")
    return value


def instance(value, name: str, kind: type | tuple[type, ...], what: str) -> object:
    """An instance of `kind`; `what` says it in words ("a ClassifierConfig", "a torch.nn.Module")."""
    if not isinstance(value, kind):
        raise TypeError(f"expected {name} to be {what}, got {describe(value)}")
    return value


def generator(value, name: str = "generator") -> torch.Generator | None:
    """None or a torch.Generator."""
    if value is not None and not isinstance(value, torch.Generator):
        raise TypeError(f"expected {name} to be a torch.Generator or None, got {describe(value)}")
    return value


def cpu_generator(value, name: str = "generator") -> torch.Generator | None:
    """None or a torch.Generator on the CPU (the trainers draw all their random numbers there)."""
    if generator(value, name) is not None and value.device.type != "cpu":
        raise ValueError(f"expected {name} on the CPU, got a torch.Generator on {value.device}")
    return value


def tensor(value, name: str, *, ndim: int | None = None, layout: str | None = None, floating: bool = False,
           dtype: torch.dtype | None = None, min_size: int | None = None, finite: bool = False) -> torch.Tensor:
    """A torch.Tensor with the stated rank (`layout` spells it, e.g. "(N, C, H, W)"), dtype and finiteness.

    Args:
        floating: require float32 or float64 (the dtypes the package computes in; float16, bfloat16,
            ints and bools are refused with a TypeError).
        dtype: require exactly this dtype (int64 for labels and indices).
        min_size: require at least this many entries along the first axis (1: not empty).
        finite: require no nan or inf.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"expected {name} to be a torch.Tensor, got {describe(value)}")
    if value.device.type == "meta":
        raise ValueError(f"expected {name} on a device that holds data (cpu, cuda, mps), got a tensor on 'meta'")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"expected {name} of shape {layout or f'with {ndim} dimensions'}, got {tuple(value.shape)}")
    if floating and value.dtype not in FLOAT_DTYPES:
        raise TypeError(f"expected {name} of dtype torch.float32 or torch.float64, got {value.dtype}")
    if dtype is not None and value.dtype != dtype:
        raise TypeError(f"expected {name} of dtype {dtype}, got {value.dtype}")
    if min_size is not None and (value.ndim == 0 or value.shape[0] < min_size):
        what = "at least one entry" if min_size == 1 else f"at least {min_size} entries"
        raise ValueError(f"expected {name} with {what} along its first axis, got shape {tuple(value.shape)}")
    if finite:
        finite_values(value, name)
    return value


def finite_values(value: torch.Tensor, name: str) -> torch.Tensor:
    """No nan or inf among the values of a float tensor (other dtypes have none)."""
    tensor(value, name)
    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
        bad = int((~torch.isfinite(value)).sum())
        raise ValueError(f"expected {name} to be finite, got {bad} nan/inf value{'s' * (bad != 1)}")
    return value


def in_unit_interval(value: torch.Tensor, name: str) -> torch.Tensor:
    """Values in [0, 1] (pixels read as probabilities); nan and inf are refused too."""
    finite_values(value, name)
    if value.numel() and (value.min() < 0 or value.max() > 1):
        raise ValueError(f"expected {name} in [0, 1], got values in [{value.min().item():.3g}, "
                         f"{value.max().item():.3g}]")
    return value


def class_indices(value, name: str, n: int | None = None, num_classes: int | None = None) -> torch.Tensor:
    """int64 class indices (N,), one per example when `n` is given, in [0, num_classes) when that is given."""
    tensor(value, name, ndim=1, layout="(N,)" if n is None else f"({n},)", dtype=torch.int64)
    if n is not None and value.shape[0] != n:
        raise ValueError(f"expected {name} of shape ({n},), one per example, got {tuple(value.shape)}")
    if value.numel() and (value.min() < 0 or (num_classes is not None and value.max() >= num_classes)):
        bound = f"[0, {num_classes})" if num_classes is not None else ">= 0"
        raise ValueError(f"expected {name} in {bound}, got values in [{int(value.min())}, {int(value.max())}]")
    return value


def like(value: torch.Tensor, name: str, reference: torch.Tensor, reference_name: str) -> torch.Tensor:
    """The same dtype and device as `reference` (operands of one computation)."""
    tensor(value, name)
    if value.dtype != reference.dtype or value.device != reference.device:
        raise TypeError(f"expected {name} of dtype {reference.dtype} on {reference.device} like {reference_name}, "
                        f"got {value.dtype} on {value.device}")
    return value


def distinct_memory(value: torch.Tensor, name: str) -> torch.Tensor:
    """One memory location per element: refuses expanded views (a stride of 0), whose elements share one place,
    where a function writes into its argument."""
    tensor(value, name)
    if any(stride == 0 and size > 1 for stride, size in zip(value.stride(), value.shape, strict=True)):
        raise ValueError(f"expected {name} whose elements have their own memory, got an expanded view "
                         f"(strides {value.stride()}); pass {name}.clone()")
    return value
