"""The baseline of the comparison table: independent pixels, with an exact likelihood."""

import math

import torch

from benchmarks.generative import IndependentPixels


def test_independent_pixels_likelihood_is_exact_and_samples_are_on_the_grid():
    images = torch.tensor([[[[0.0, 1.0]]], [[[0.0, 0.5]]], [[[1.0, 0.5]]]])  # (3, 1, 1, 2), 3 grey levels
    model = IndependentPixels(images, levels=3)
    # pixel 0 counts (2, 0, 1) + 1 -> (3, 1, 2)/6; pixel 1 counts (0, 2, 1) + 1 -> (1, 3, 2)/6
    torch.testing.assert_close(model.probs, torch.tensor([[3, 1, 2], [1, 3, 2]], dtype=torch.float64) / 6)
    nll = model.negative_log_likelihood(torch.tensor([[[[0.0, 0.5]]]]))
    torch.testing.assert_close(nll, torch.tensor([-math.log(3 / 6) - math.log(3 / 6)], dtype=torch.float64))
    samples = model.sample(500, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (500, 1, 1, 2)
    assert set((samples * 2).round().unique().tolist()) <= {0.0, 1.0, 2.0}
    first = (samples[:, 0, 0, 0] == 0).double().mean().item()
    assert abs(first - 0.5) < 0.1  # P(level 0) = 3/6 for pixel 0
