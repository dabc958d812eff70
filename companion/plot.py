"""Figures for the notebooks: a CJK font that works on a fresh machine, image grids, curves.

Importing this module sets matplotlib up so that Chinese labels render as glyphs: Latin text
stays in DejaVu Sans and each CJK character falls back to a CJK font. A CJK font installed on
the system is preferred; otherwise the Noto Sans CJK SC file that the `mplfonts` package ships
(a dependency in requirements.txt) is registered, so nothing needs to be downloaded.
"""

from __future__ import annotations

from functools import lru_cache

import matplotlib
import numpy as np
import torch
from matplotlib import font_manager
from matplotlib import pyplot as plt

SYSTEM_CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
)
BUNDLED_FONT_FILE = "NotoSansCJKsc-Regular.otf"


@lru_cache(maxsize=1)
def cjk_font_name() -> str:
    """Register a CJK font with matplotlib (once) and return its family name."""
    installed = {font.name for font in font_manager.fontManager.ttflist}
    for name in SYSTEM_CJK_FONTS:
        if name in installed:
            return name
    from importlib.resources import files

    path = str(files("mplfonts") / "fonts" / BUNDLED_FONT_FILE)
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def use_cjk_font() -> str:
    """Make every later figure render Chinese text; returns the CJK font's name."""
    name = cjk_font_name()
    # A list of families turns on matplotlib's per-glyph fallback (the generic "sans-serif" does not).
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", name]
    return name


use_cjk_font()


def _as_image_batch(images) -> np.ndarray:
    """(N, H, W), (N, 1, H, W) or (N, 3, H, W) tensor/array -> (N, H, W[, 3]) float array."""
    if isinstance(images, torch.Tensor):
        images = images.detach().to("cpu", torch.float32).numpy()
    elif not isinstance(images, np.ndarray):
        raise TypeError(f"expected a torch.Tensor or numpy array of images, got {type(images).__name__}")
    if images.ndim == 3:
        return images
    if images.ndim == 4 and images.shape[1] == 1:
        return images[:, 0]
    if images.ndim == 4 and images.shape[1] == 3:
        return images.transpose(0, 2, 3, 1)
    raise ValueError(f"expected images of shape (N, H, W), (N, 1, H, W) or (N, 3, H, W), got {tuple(images.shape)}")


def show_images(images, ncols: int = 10, titles=None, suptitle: str | None = None,
                cell_size: float = 0.9, cmap: str = "gray_r", vmin: float = 0.0, vmax: float = 1.0):
    """Draw a batch of images as a grid and return the figure.

    Args:
        images: (N, H, W), (N, 1, H, W) or (N, 3, H, W), values in [vmin, vmax].
        ncols: images per row.
        titles: optional list of N short strings drawn above the images.
        suptitle: a title for the whole grid (Chinese is fine).
    """
    batch = _as_image_batch(images)
    n = len(batch)
    if n == 0:
        raise ValueError("expected at least one image, got an empty batch")
    if titles is not None and len(titles) != n:
        raise ValueError(f"expected {n} titles, one per image, got {len(titles)}")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell_size * ncols, cell_size * nrows + (0.4 if suptitle else 0)),
                             squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < n:
            ax.imshow(batch[index], cmap=cmap, vmin=vmin, vmax=vmax)
            if titles is not None:
                ax.set_title(str(titles[index]), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_history(history: dict, keys=None, ax=None, xlabel: str = "epoch", title: str | None = None,
                 logy: bool = False):
    """Plot training curves: one line per key of ``history`` (a dict of equal-length lists)."""
    if not isinstance(history, dict):
        raise TypeError(f"expected history to be a dict of lists, got {type(history).__name__}")
    keys = list(history) if keys is None else list(keys)
    missing = [key for key in keys if key not in history]
    if missing:
        raise ValueError(f"expected keys among {sorted(history)}, got unknown {missing}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    for key in keys:
        values = history[key]
        ax.plot(range(1, len(values) + 1), values, label=key)
    ax.set_xlabel(xlabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return ax
