"""Reproducibility and hardware: seeding, the device to train on, and a report of the setup.

Every notebook starts with `seed_everything(...)` and `env_report()`, so that a reader can
compare their numbers with the stored ones knowing which versions, device and threads made them.
"""

from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

from companion import validation as check

DEVICE_VARIABLE = "COMPANION_DEVICE"


def seed_everything(seed: int, num_threads: int | None = 1) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) and fix torch's intra-op thread count.

    One thread is the default: on a shared two-core laptop it is usually as fast as two, and a
    fixed count makes float sums (and therefore the printed digits) the same on every machine.
    Pass ``num_threads=None`` to leave torch's setting alone.
    """
    check.integer(seed, "seed")
    if num_threads is not None:
        torch.set_num_threads(check.positive_int(num_threads, "num_threads"))
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # seeds every CUDA device too


DEVICE_CHOICES = ("cpu", "cuda", "mps")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return backend is not None and backend.is_available()


def default_device() -> torch.device:
    """CUDA if available, else Apple's MPS if available, else the CPU.

    ``COMPANION_DEVICE=cpu`` (or ``cuda``, ``mps``) overrides the choice; the stored outputs of the
    notebooks come from the CPU.
    """
    choice = os.environ.get(DEVICE_VARIABLE, "").strip().lower()
    if choice == "":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    if choice not in DEVICE_CHOICES:
        raise ValueError(f"expected {DEVICE_VARIABLE} to be one of {DEVICE_CHOICES}, got {choice!r}")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{DEVICE_VARIABLE}=cuda, but torch sees no CUDA device")
    if choice == "mps" and not _mps_available():
        raise ValueError(f"{DEVICE_VARIABLE}=mps, but torch sees no Apple MPS device")
    return torch.device(choice)


def env_report() -> dict[str, str]:
    """Print (and return) the versions, device, thread count and CJK font this run uses."""
    import matplotlib
    import sklearn

    from companion.plot import cjk_font_name

    device = default_device()
    report = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "matplotlib": matplotlib.__version__,
        "scikit-learn": sklearn.__version__,
        "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        "torch threads": str(torch.get_num_threads()),
        "CJK font": cjk_font_name(),
    }
    width = max(map(len, report))
    for key, value in report.items():
        print(f"{key:<{width}}  {value}")
    return report
