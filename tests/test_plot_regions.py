"""companion.plot.plot_decision_regions: the boundary drawn where a 2-class model says 1/2."""

import warnings

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

from companion.plot import plot_decision_regions  # noqa: E402


def test_boundary_of_a_linear_model_lies_on_its_line():
    fig, ax = plt.subplots()
    points = torch.tensor([[-0.5, 0.0], [0.5, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot_decision_regions(lambda p: torch.sigmoid(10 * p[:, 0]), points, torch.tensor([0, 1]), ax=ax,
                              extent=(-1, 1, -1, 1), resolution=51, title="x > 0")
        fig.canvas.draw()
    assert ax.get_title() == "x > 0"
    assert ax.get_xlim() == (-1.0, 1.0)
    # The 0.5 level of sigmoid(10 x) is the line x = 0.
    contours = [c for c in ax.collections if isinstance(c, ContourSet)]
    assert len(contours) == 1
    vertices = torch.cat([torch.as_tensor(path.vertices) for path in contours[0].get_paths() if len(path.vertices)])
    assert vertices[:, 0].abs().max() < 0.03
    plt.close(fig)


def test_a_constant_one_half_model_gets_no_boundary():
    fig, ax = plt.subplots()
    plot_decision_regions(lambda p: torch.full((len(p),), 0.5), ax=ax, resolution=11)
    assert not any(isinstance(c, ContourSet) for c in ax.collections)
    plt.close(fig)


def test_bad_extent_is_rejected():
    with pytest.raises(ValueError, match=r"extent \(xmin, xmax, ymin, ymax\)"):
        plot_decision_regions(lambda p: p[:, 0], extent=(1, -1, 0, 1))
