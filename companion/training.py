"""What every trainer of the package does the same way, written once.

Every trainer has one shape,

    train_X(data..., config=None, *, device=None, generator=None, progress=True, <extras>) -> (model, history)

and shares these rules, which the helpers below implement:

- `generator` (a CPU `torch.Generator`) is the only source of randomness: initial weights, batch
  order, noise. The same seed gives the same model on a given machine and thread count. None draws
  one seed from torch's global generator (`seed_generator`).
- Layers initialised by torch draw from the global generator; `weights_from` forks it and seeds it
  from `generator`, so the caller's global random state is left as it was.
- `device=None` means the data's device (`resolve_device`); the model is returned there.
- A model handed to an evaluation helper gets its train/eval mode back even when an exception is
  raised (`eval_mode`), and the trainers return their model in eval mode.
- `progress` shows a tqdm bar (`progress_bar`); the library itself never prints.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from companion import validation as check


def seed_generator(generator: torch.Generator | None) -> torch.Generator:
    """`generator` itself (checked: a CPU torch.Generator), or a new one seeded from torch's global generator."""
    check.cpu_generator(generator)
    if generator is None:
        generator = torch.Generator().manual_seed(int(torch.randint(2**62, (1,))))
    return generator


def resolve_device(device: torch.device | str | None, data: torch.Tensor | None = None) -> torch.device:
    """`device` as a torch.device; None means the device of `data` (the CPU if there is no tensor)."""
    if device is None:
        return data.device if isinstance(data, torch.Tensor) else torch.device("cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"expected device to be a str, a torch.device or None, got {check.describe(device)}")
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"expected device to name a device such as 'cpu' or 'cuda', got {device!r}") from error


@contextmanager
def weights_from(generator: torch.Generator, device: torch.device | str) -> Iterator[None]:
    """Inside the block torch's global generator is seeded from `generator`; outside it is as it was.

    torch's layers draw their initial weights (and dropout masks) from the global generator; forking
    it makes them reproducible from `generator` without touching the caller's random state.
    """
    check.instance(generator, "generator", torch.Generator, "a torch.Generator")
    device = resolve_device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        yield


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put `model` in eval mode for the block; restore its train/eval mode afterwards, even after an error."""
    check.instance(model, "model", nn.Module, "a torch.nn.Module")
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def progress_bar(iterable: Iterable, desc: str, progress: bool) -> Iterable:
    """The iterable, wrapped in a tqdm bar (notebook widget or text) when `progress` is True."""
    from tqdm.auto import tqdm

    if not isinstance(iterable, Iterable):
        raise TypeError(f"expected iterable to be something to loop over (a range, a list), "
                        f"got {check.describe(iterable)}")
    check.instance(desc, "desc", str, "a str")
    check.flag(progress, "progress")
    return tqdm(iterable, desc=desc, disable=not progress)


def check_config(config, kind: type):
    """`config`, or `kind()` (its defaults) when None; a TypeError for anything else."""
    if not isinstance(kind, type):
        raise TypeError(f"expected kind to be a config class, got {check.describe(kind)}")
    if config is None:
        return kind()
    return check.instance(config, "config", kind, f"a {kind.__name__} or None")


def stop_if_diverged(step: int, hint: str, **losses: float) -> None:
    """Stop a diverging run at once: a FloatingPointError naming the losses that became nan or inf and the step."""
    check.integer(step, "step", minimum=0)
    check.instance(hint, "hint", str, "a str")
    for name, value in losses.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"expected {name} to be a number (a loss), got {check.describe(value)}")
    bad = [f"{name} became {value}" for name, value in losses.items() if not math.isfinite(value)]
    if bad:
        raise FloatingPointError(f"{', '.join(bad)} at step {step}; {hint}")


def model_device(model: nn.Module, default: torch.device | None = None) -> torch.device:
    """The device of a model's first parameter (or buffer), else `default` (the CPU if None)."""
    check.instance(model, "model", nn.Module, "a torch.nn.Module")
    default = resolve_device(default)
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return default


@torch.no_grad()
def update_average(averaged: nn.Module, model: nn.Module, decay: float, *, buffers: bool = False) -> None:
    """One step of an exponential moving average of weights: θ_avg ← decay·θ_avg + (1 − decay)·θ.

    `averaged` must be a copy of `model` (same parameters in the same order). With `buffers=True` the
    buffers (BatchNorm's running statistics) are copied over as they are, not averaged.
    """
    check.instance(averaged, "averaged", nn.Module, "a torch.nn.Module")
    check.instance(model, "model", nn.Module, "a torch.nn.Module")
    check.real(decay, "decay", at_least=0, below=1)
    check.flag(buffers, "buffers")
    shapes = [[tuple(t.shape) for t in m.parameters()] for m in (averaged, model)]
    if shapes[0] != shapes[1]:
        raise ValueError(f"expected averaged to be a copy of model, with parameters of the same shapes, "
                         f"got {shapes[0]} and {shapes[1]}")
    for p_avg, p in zip(averaged.parameters(), model.parameters(), strict=True):
        p_avg.lerp_(p, 1 - decay)
    if buffers:
        for b_avg, b in zip(averaged.buffers(), model.buffers(), strict=True):
            b_avg.copy_(b)
