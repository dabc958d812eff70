"""Timing small computations on a shared machine: the one timer of the notebooks and the benchmarks.

Wall-clock times on a laptop that does other work are noisy, so `time_calls` times several functions
taking turns within each round (a burst of load then hits them alike), after untimed warm-up calls
(allocation, kernel selection), and reports per function the minimum over the rounds (the run least
disturbed) or the median. On a CUDA device it waits for the queued kernels before reading the clock.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping

import torch

from companion import validation as check
from companion.training import resolve_device

STATISTICS = ("min", "median")


def time_calls(functions: Mapping[str, Callable[[], object]], rounds: int = 5, number: int | Mapping[str, int] = 1,
               warmup: int = 1, statistic: str = "min", device: torch.device | str | None = None) -> dict[str, float]:
    """Seconds per call of each function, measured in turns: {name: seconds}.

    Args:
        functions: name -> a function of no arguments (a lambda around the computation).
        rounds: how many times each function is timed; the functions take turns within a round.
        number: calls per timing (for calls of a millisecond or less), the time divided by it; an int for
            every function or a dict name -> int.
        warmup: untimed calls of each function first.
        statistic: "min" (the least disturbed round) or "median" over the rounds.
        device: a CUDA device to synchronise before and after each timing; None or a CPU: no waiting.
    """
    check.instance(functions, "functions", Mapping, "a dict of name -> function")
    if not functions or not all(callable(f) for f in functions.values()):
        raise ValueError(f"expected functions to map names to functions of no arguments, got {functions!r:.80}")
    rounds = check.positive_int(rounds, "rounds")
    if isinstance(number, Mapping):
        if set(number) != set(functions):
            raise ValueError(f"expected number to have the keys {sorted(functions)}, got {sorted(number)}")
        numbers = {name: check.positive_int(n, f"number[{name!r}]") for name, n in number.items()}
    else:
        numbers = dict.fromkeys(functions, check.positive_int(number, "number"))
    warmup = check.integer(warmup, "warmup", minimum=0)
    check.one_of(statistic, "statistic", STATISTICS)
    cuda = device is not None and resolve_device(device).type == "cuda"

    def wait() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    for f in functions.values():
        for _ in range(warmup):
            f()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, f in functions.items():
            wait()
            start = time.perf_counter()
            for _ in range(numbers[name]):
                f()
            wait()
            samples[name].append((time.perf_counter() - start) / numbers[name])
    summary = min if statistic == "min" else statistics.median
    return {name: summary(times) for name, times in samples.items()}


def time_call(function: Callable[[], object], rounds: int = 5, number: int = 1, warmup: int = 1,
              statistic: str = "min", device: torch.device | str | None = None) -> float:
    """Seconds per call of one function: `time_calls` for a single entry."""
    if not callable(function):
        raise TypeError(f"expected function to be a function of no arguments, got {check.describe(function)}")
    return time_calls({"function": function}, rounds, number, warmup, statistic, device)["function"]
