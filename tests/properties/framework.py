"""The machinery of the property-based tests: argument descriptions, the catalogue of bad inputs, the checks.

A public callable of `companion` is described by a `Spec`: how to build valid arguments (`make`), and for
each argument that a reader could get wrong an `Arg` that says what kind of thing it is. From the kind,
`corruptions` derives the bad inputs the issue lists (empty tensors, nan and inf, int/bool/float16 dtypes,
a rank too many or too few, the meta device (and CUDA where there is one), lists and numpy arrays for
tensors, True for an int, zero and negative sizes, one element too few where two lengths must match)
and two views that are valid input (a non-contiguous copy and a zero-stride expansion).

Each bad input must be refused with a ValueError or TypeError whose message says what was expected and
what arrived ("expected ..., got ..."), unless the spec states why it is accepted (`Arg.ok`); a view must
give what the contiguous tensor gives. In every case the call must not hang, must not raise anything else
(no torch-internal error) and must leave its arguments as they were (a spec names any argument that a
successful call changes by design, as `recalibrate_batchnorm` changes its generator's statistics; a refused
call must leave even those alone).
"""

from __future__ import annotations

import copy
import math
import signal
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from hypothesis import strategies as st
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from companion.backprop import MLP

CUDA = torch.cuda.is_available()
TIME_LIMIT_S = 30  # a call that takes longer has hung, as far as these tests go
GENERATED = {"cases": 0}  # counted by the tests, reported at the end of the run (tests/conftest.py)


@dataclass
class Arg:
    """What an argument is, so that the catalogue knows how to get it wrong."""

    kind: str  # tensor, index (int64 tensor), int, real, choice, generator, config, instance, callable, flag,
    #           str, device, dtype, sizes, shift, pair, any
    ok: dict[str, str] = field(default_factory=dict)  # corruption -> why it is accepted, not refused
    paired: bool = False  # its first axis must match another argument's: one entry too few is refused
    fixed_last: bool = False  # its last axis is fixed by another argument: one entry too many is refused
    same_dtype: bool = False  # its dtype must match another tensor's: the other float dtype is refused
    nonneg: bool = False  # values must be >= 0: a negative entry is refused
    bound: int | None = None  # index tensors: values must be < bound
    minimum: float | None = None  # ints and reals: the smallest valid value
    above: float | None = None  # reals: must be greater than this
    optional: bool = False  # None is valid
    arrays: bool = False  # lists and numpy arrays are accepted by design
    also: dict[str, object] = field(default_factory=dict)  # further bad values, each to be refused
    holes: dict[str, str] = field(default_factory=dict)  # corruption -> a known hole in code this change leaves alone
    errors: dict[str, type] = field(default_factory=dict)  # corruption -> the error it gets here, against the rule


@dataclass
class Spec:
    """How to call one public callable with valid arguments, and which of them to get wrong."""

    call: Callable[..., object]
    make: Callable[[torch.Generator], dict]
    args: dict[str, Arg] = field(default_factory=dict)
    check: Callable[[object, dict], None] | None = None  # a property of the result of a valid call
    random: bool = False  # the result depends on a `generator` argument: the same seed, the same result
    allowed: tuple[type, ...] = ()  # exceptions that the callable raises by design (a failed check)
    changes: tuple[str, ...] = ()  # arguments a successful call changes by design; a refused call leaves them alone


VIEWS = ("noncontiguous", "expanded")
# The package's convention: TypeError when the kind of thing is wrong, ValueError when its value is.
WRONG_KIND = {"int64", "bool", "float16", "other_float", "float32", "int32", "list", "numpy", "none", "str", "int",
              "float", "dict", "class", "triple"}
WRONG_VALUE = {"empty", "zero_last", "nan", "inf", "negative", "too_large", "rank_up", "rank_down", "meta", "cuda",
               "short", "grow_last", "too_small", "unknown", "one", "zero"}


def expected_error(arg: Arg, corruption: str) -> type | None:
    """TypeError or ValueError, as the convention says for this mistake; None for a spec's own bad values."""
    if corruption in arg.errors:
        return arg.errors[corruption]
    if corruption in arg.also:
        return None
    if arg.kind == "sizes":  # a list of sizes: a wrong element type is a TypeError, a wrong length or value not
        return TypeError if corruption in ("bool", "float", "str", "none") else ValueError
    if corruption in WRONG_KIND:
        return TypeError
    return ValueError if corruption in WRONG_VALUE else None


def _set_one(t: torch.Tensor, value, data) -> torch.Tensor:
    out = t.clone()
    if out.numel() == 0:
        return out
    out.view(-1)[data.draw(st.integers(0, out.numel() - 1), label="element")] = value
    return out


def _grow_last(t: torch.Tensor) -> torch.Tensor:
    return torch.cat([t, torch.zeros(*t.shape[:-1], 1, dtype=t.dtype)], dim=-1)


def _noncontiguous(t: torch.Tensor) -> torch.Tensor:
    """The same values in memory with a stride of 2 along the last axis."""
    buffer = torch.zeros(*t.shape, 2, dtype=t.dtype)
    view = buffer[..., 0]
    view.copy_(t)
    return view


def tensor_corruptions(arg: Arg, t: torch.Tensor) -> dict[str, Callable]:
    c: dict[str, Callable] = {}
    if t.ndim >= 1:
        c["empty"] = lambda t, d: t[:0]
    if t.ndim >= 2:
        c["zero_last"] = lambda t, d: t[..., :0]
    if t.is_floating_point():
        c["nan"] = lambda t, d: _set_one(t, math.nan, d)
        c["inf"] = lambda t, d: _set_one(t, d.draw(st.sampled_from([math.inf, -math.inf]), label="inf"), d)
        c["int64"] = lambda t, d: t.to(torch.int64)
        c["bool"] = lambda t, d: t > 0.5
        c["float16"] = lambda t, d: t.to(torch.float16)
        if arg.same_dtype:
            c["other_float"] = lambda t, d: t.to(torch.float64 if t.dtype == torch.float32 else torch.float32)
        if arg.nonneg:
            c["negative"] = lambda t, d: _set_one(t, -1.0, d)
    else:
        c["float32"] = lambda t, d: t.to(torch.float32)
        c["bool"] = lambda t, d: t > 0
        c["int32"] = lambda t, d: t.to(torch.int32)
        c["negative"] = lambda t, d: _set_one(t, -1, d)
        if arg.bound is not None:
            c["too_large"] = lambda t, d: _set_one(t, arg.bound, d)
    c["rank_up"] = lambda t, d: t[None]
    if t.ndim >= 1 and len(t) > 0:
        c["rank_down"] = lambda t, d: t[0]
    if not arg.arrays:
        c["list"] = lambda t, d: t.tolist()
        c["numpy"] = lambda t, d: t.numpy()
    c["meta"] = lambda t, d: t.to("meta")
    if CUDA:
        c["cuda"] = lambda t, d: t.cuda()
    if arg.paired and t.ndim >= 1 and len(t) > 1:
        c["short"] = lambda t, d: t[:-1]
    if arg.fixed_last and t.ndim >= 1:
        c["grow_last"] = lambda t, d: _grow_last(t)
    c["noncontiguous"] = lambda t, d: _noncontiguous(t)
    if t.ndim >= 1 and len(t) > 1:
        c["expanded"] = lambda t, d: t[:1].expand(t.shape)
    return c


def corruptions(arg: Arg, value) -> dict[str, Callable]:
    """Every bad input for this argument: name -> function (valid value, hypothesis data) -> bad value."""
    def const(v):
        return lambda _, d: v

    k = arg.kind
    c: dict[str, Callable] = {}
    if k in ("tensor", "index"):
        c = tensor_corruptions(arg, value)
    elif k == "int":
        c = {"bool": const(True), "float": const(2.5), "str": const("3")}
        if arg.minimum is not None:
            c["too_small"] = lambda _, d: d.draw(st.integers(int(arg.minimum) - 5, int(arg.minimum) - 1), label="int")
    elif k == "real":
        c = {"bool": const(True), "str": const("0.5"), "nan": const(math.nan), "inf": const(math.inf)}
        if arg.above is not None:
            c["too_small"] = lambda _, d: d.draw(st.sampled_from([arg.above, arg.above - 1.0]), label="real")
        if arg.minimum is not None:
            c["too_small"] = const(arg.minimum - 0.5)
    elif k == "choice":
        c = {"unknown": const("nonsense"), "int": const(3)}
    elif k == "generator":
        c = {"int": const(0), "str": const("seed")}
    elif k == "config":
        c = {"dict": const({}), "class": const(type(value))}
    elif k == "instance":
        c = {"str": const("model"), "int": const(3)}
    elif k == "callable":
        c = {"int": const(3)}
    elif k == "flag":
        c = {"int": const(1), "str": const("yes")}
    elif k == "str":
        c = {"int": const(3)}
    elif k == "device":
        c = {"int": const(3), "unknown": const("nonsense-device")}
    elif k == "dtype":
        c = {"float16": const(torch.float16), "int64": const(torch.int64), "str": const("float32")}
    elif k == "sizes":
        c = {"empty": const([]), "one": const(list(value)[:1]), "zero": const([*list(value)[:-1], 0]),
             "bool": const([*list(value)[:-1], True]), "float": const([*list(value)[:-1], 2.5]),
             "str": const("3, 4")}
    elif k == "shift":
        c = {"bool": const(True), "float": const(1.5), "str": const("1")}
    elif k == "pair":
        c = {"bool": const(True), "float": const(1.5), "triple": const((1, 1, 1)), "str": const("1")}
        if arg.minimum is not None:
            c["too_small"] = const(int(arg.minimum) - 1)
    elif k != "any":
        raise ValueError(f"unknown argument kind {k!r}")
    if k not in ("any",) and not arg.optional and value is not None:
        c.setdefault("none", const(None))
    for name, bad in arg.also.items():
        c[name] = const(bad)
    return c


# --- snapshots: the arguments must be as they were after the call -------------------------------


def snapshot(value):
    if isinstance(value, torch.Tensor):
        return value if value.device.type == "meta" else value.detach().clone()
    if isinstance(value, torch.nn.Module):
        return ({k: v.detach().clone() for k, v in value.state_dict().items()},
                [m.training for m in value.modules()])
    if isinstance(value, MLP):
        return [w.clone() for w in value.weights], [b.clone() for b in value.biases]
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple, dict)):
        return copy.deepcopy(value)
    return value


def same(a, b, tolerance: float = 0.0) -> bool:
    """Equal values (nan equal to nan), with a relative tolerance for floats if given."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return False
        if a.device.type == "meta" or b.device.type == "meta":
            return a.shape == b.shape and a.dtype == b.dtype
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        a, b = a.detach().cpu(), b.detach().cpu()
        if a.is_floating_point():
            return bool(torch.allclose(a, b, rtol=tolerance, atol=tolerance, equal_nan=True))
        return torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.allclose(a, b, rtol=tolerance,
                                                                                   atol=tolerance, equal_nan=True)
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], tolerance) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, tolerance) for x, y in zip(a, b, strict=True))
    if isinstance(a, torch.nn.Module) and isinstance(b, torch.nn.Module):
        return same(a.state_dict(), b.state_dict(), tolerance)
    if isinstance(a, MLP) and isinstance(b, MLP):
        return same(a.weights + a.biases, b.weights + b.biases, tolerance)
    if isinstance(a, (Figure, Axes)):
        return type(a) is type(b)  # pictures are not compared, only that both were drawn
    return a == b


def unchanged(before: dict, after: dict) -> list[str]:
    """The names of the arguments whose values changed."""
    changed = []
    for name, old in before.items():
        new = after[name]
        if isinstance(new, torch.nn.Module):
            state, modes = old
            if not same(state, {k: v for k, v in new.state_dict().items()}) or modes != [
                    m.training for m in new.modules()]:
                changed.append(name)
        elif isinstance(new, MLP):
            if not same(list(old[0]) + list(old[1]), new.weights + new.biases):
                changed.append(name)
        elif not same(old, new):
            changed.append(name)
    return changed


# --- running one call ------------------------------------------------------------------------------


class Hang(Exception):
    """The call ran past TIME_LIMIT_S."""


@contextmanager
def time_limit(seconds: float):
    """Interrupt a call that runs longer than `seconds` (SIGALRM, main thread of a POSIX system only)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise Hang(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    result: object = None
    error: BaseException | None = None
    changed: list[str] = field(default_factory=list)


def run(spec: Spec, kwargs: dict) -> Outcome:
    """Call the spec's callable once, under the time limit, and note which arguments it changed."""
    GENERATED["cases"] += 1
    before = {name: snapshot(value) for name, value in kwargs.items()}
    outcome = Outcome()
    try:
        with time_limit(TIME_LIMIT_S):
            outcome.result = spec.call(**kwargs)
    except Hang:
        raise
    except Exception as error:  # judged by the caller
        outcome.error = error
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")
    outcome.changed = unchanged(before, kwargs)
    return outcome


def clear_error(error: BaseException) -> bool:
    """A ValueError or TypeError whose message says what was expected and what arrived."""
    text = str(error)
    return isinstance(error, (ValueError, TypeError)) and "expected" in text and "got" in text
