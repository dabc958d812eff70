"""Figures for the notebooks: a CJK font that works on a fresh machine, alt text, image grids, curves.

Every notebook calls `setup()` once in its first cell: Chinese labels then render as glyphs (Latin
text stays in DejaVu Sans and each CJK character falls back to a CJK font; a system CJK font is
preferred, else the Noto Sans CJK SC file that the `mplfonts` dependency ships is registered), and
lines and markers take their colours from a palette that readers with colour-blindness can tell apart
(matplotlib's `tableau-colorblind10` style).
Importing the module changes nothing. `show(fig, alt=...)` displays a figure with a text description for screen readers
and the website.
"""

from __future__ import annotations

from functools import lru_cache

import matplotlib
import numpy as np
import torch
from matplotlib import font_manager
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from companion import validation as check

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
# The colour cycle of matplotlib's style of this name: Tableau's ten colours chosen to stay distinct
# under deuteranopia, protanopia and tritanopia. Colour maps are left as they are (viridis is safe).
COLORBLIND_STYLE = "tableau-colorblind10"


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


def setup() -> str:
    """Make every later figure render Chinese text in a colour-blind-safe palette; return the CJK font's name."""
    name = cjk_font_name()
    # A list of families turns on matplotlib's per-glyph fallback (the generic "sans-serif" does not).
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", name]
    # Only the colour cycle of the style: the style's other settings (none today) are not taken along.
    matplotlib.rcParams["axes.prop_cycle"] = matplotlib.style.library[COLORBLIND_STYLE]["axes.prop_cycle"]
    return name


def show(fig=None, *, alt: str) -> None:
    """Display a figure as a PNG that carries ``alt``, a sentence saying what it shows, then close it.

    The alt text travels in the output's metadata (``{"image/png": {"alt": ...}}``), where JupyterLab,
    nbconvert and the website read it for screen readers. Use it instead of ``plt.show()``.
    """
    from IPython.core.pylabtools import print_figure
    from IPython.display import Image, display

    fig = plt.gcf() if fig is None else fig
    if not isinstance(fig, Figure):
        raise TypeError(f"expected a matplotlib Figure, got {check.describe(fig)}")
    if not fig.axes:
        raise ValueError("expected a figure with something drawn on it, got one without axes")
    check.instance(alt, "alt", str, "a str, a sentence that describes the figure")
    if len(alt.split()) < 3:
        raise ValueError(f"expected alt to be a sentence (three words or more) describing the figure, got {alt!r}")
    data = print_figure(fig, "png", bbox_inches="tight")
    plt.close(fig)
    display(Image(data=data, format="png", alt=alt.strip()))


def _check_cmap(cmap: str) -> str:
    check.instance(cmap, "cmap", str, "the name of a matplotlib colormap")
    if cmap not in matplotlib.colormaps:
        raise ValueError(f"expected cmap to be the name of a matplotlib colormap such as 'gray_r', got {cmap!r}")
    return cmap


def _as_image_batch(images) -> np.ndarray:
    """(N, H, W), (N, 1, H, W) or (N, 3, H, W) tensor/array -> (N, H, W[, 3]) float array."""
    if isinstance(images, torch.Tensor):
        check.tensor(images, "images")
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
    if n == 0 or 0 in batch.shape:
        raise ValueError(f"expected at least one image of at least one pixel, got shape {tuple(batch.shape)}")
    if titles is not None:
        if not isinstance(titles, (list, tuple)):
            raise TypeError(f"expected titles to be a list of {n} strings or None, got {check.describe(titles)}")
        if len(titles) != n:
            raise ValueError(f"expected {n} titles, one per image, got {len(titles)}")
    ncols = min(check.positive_int(ncols, "ncols"), n)
    check.real(cell_size, "cell_size", above=0)
    check.real(vmin, "vmin")
    check.real(vmax, "vmax", above=vmin)
    _check_cmap(cmap)
    if suptitle is not None:
        check.instance(suptitle, "suptitle", str, "a str or None")
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
    check.instance(history, "history", dict, "a dict of lists")
    keys = list(history) if keys is None else list(keys)
    missing = [key for key in keys if key not in history]
    if missing:
        raise ValueError(f"expected keys among {sorted(history)}, got unknown {missing}")
    for key in keys:
        values = history[key]
        if not isinstance(values, (list, tuple)) or not all(
                isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool) for v in values):
            raise TypeError(f"expected history[{key!r}] to be a list of numbers, got {check.describe(values)}")
    if ax is not None:
        check.instance(ax, "ax", Axes, "a matplotlib Axes or None")
    check.instance(xlabel, "xlabel", str, "a str")
    if title is not None:
        check.instance(title, "title", str, "a str or None")
    check.flag(logy, "logy")
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


def plot_decision_regions(predict_proba, points=None, labels=None, ax=None, extent=(-1.0, 1.0, -1.0, 1.0),
                          resolution: int = 200, title: str | None = None, cmap: str = "RdBu_r"):
    """Colour the plane by a 2-class model's probability of class 1 and draw its 0.5 contour, the boundary.

    Args:
        predict_proba: maps a (M, 2) float32 tensor of points to (M,) probabilities of class 1.
        points, labels: optional data to scatter on top, (N, 2) floats and (N,) int64 classes 0/1 (tensors or
            numpy arrays).
        extent: (xmin, xmax, ymin, ymax) of the grid.
    """
    if not callable(predict_proba):
        raise TypeError(f"expected predict_proba to be a function of points (M, 2), "
                        f"got {check.describe(predict_proba)}")
    if not isinstance(extent, (tuple, list)) or len(extent) != 4:
        raise TypeError(f"expected extent to be (xmin, xmax, ymin, ymax), got {check.describe(extent)}")
    for i, value in enumerate(extent):
        check.real(value, f"extent[{i}]")
    if not (extent[0] < extent[1] and extent[2] < extent[3]):
        raise ValueError(f"expected extent (xmin, xmax, ymin, ymax) with min < max, got {extent!r}")
    check.integer(resolution, "resolution", minimum=2)
    if ax is not None:
        check.instance(ax, "ax", Axes, "a matplotlib Axes or None")
    if title is not None:
        check.instance(title, "title", str, "a str or None")
    _check_cmap(cmap)
    if points is not None:
        points = torch.as_tensor(points) if isinstance(points, np.ndarray) else points
        check.tensor(points, "points", ndim=2, layout="(N, 2)", floating=True, finite=True)
        if points.shape[1] != 2:
            raise ValueError(f"expected points of shape (N, 2), got {tuple(points.shape)}")
    if labels is not None:
        if points is None:
            raise ValueError("expected points with the labels, got labels alone")
        labels = torch.as_tensor(labels) if isinstance(labels, np.ndarray) else labels
        check.class_indices(labels, "labels", n=len(points), num_classes=2)
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    xs = torch.linspace(extent[0], extent[1], resolution)
    ys = torch.linspace(extent[2], extent[3], resolution)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    grid = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)  # (R*R, 2)
    with torch.no_grad():
        prob = torch.as_tensor(predict_proba(grid)).detach().to("cpu", torch.float32)
    if prob.shape != (len(grid),):
        raise ValueError(f"expected predict_proba to return ({len(grid)},) probabilities for ({len(grid)}, 2) "
                         f"points, got shape {tuple(prob.shape)}")
    prob = prob.reshape(resolution, resolution)
    ax.imshow(prob.numpy(), origin="lower", extent=extent, cmap=cmap, vmin=0.0, vmax=1.0, alpha=0.6, aspect="auto")
    if prob.min() < 0.49 and prob.max() > 0.51:  # a model that says 1/2 everywhere has no boundary to draw
        ax.contour(grid_x.numpy(), grid_y.numpy(), prob.numpy(), levels=[0.5], colors="k", linewidths=1.0)
    if points is not None:
        points = points.detach().cpu()
        colours = None if labels is None else labels.detach().cpu().numpy()
        ax.scatter(points[:, 0].numpy(), points[:, 1].numpy(), c=colours, cmap=cmap, vmin=0, vmax=1, s=8,
                   edgecolors="k", linewidths=0.3)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    if title:
        ax.set_title(title)
    return ax


def moving_average(values, window: int) -> np.ndarray:
    """The mean of each run of `window` consecutive values (len(values) − window + 1 of them), for noisy curves."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    if not isinstance(values, (list, tuple, np.ndarray)):
        raise TypeError(f"expected values to be a list, array or 1-D tensor of numbers, got {check.describe(values)}")
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype.kind not in "iuf":
        raise TypeError(f"expected values to be a 1-D sequence of numbers, got {check.describe(values)}")
    window = check.positive_int(window, "window")
    if window > len(array):
        raise ValueError(f"expected window <= the number of values ({len(array)}), got {window}")
    return np.convolve(array.astype(np.float64), np.ones(window) / window, mode="valid")
