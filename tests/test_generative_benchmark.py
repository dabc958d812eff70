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


def test_the_judge_scores_samples_with_the_package_measures():
    """The benchmark's judge runs on the package's current API: every figure of a row, each a number in range."""
    from benchmarks.generative import BLOCK, BLOCKS, Judge
    from companion.cnn import CNN
    from companion.data import load_digits

    torch.manual_seed(0)
    cnn = CNN(in_channels=1, image_size=8).eval()  # untrained: the test is about the plumbing, not the values
    x_train, _ = load_digits("train")
    x_test, _ = load_digits("test")
    with torch.no_grad():
        reference = cnn.features(x_train)
    judge = Judge(cnn, reference, 1.0, 50.0, 0.5, x_train, x_test)
    samples = torch.rand(BLOCK * BLOCKS, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    row = judge.score(samples)
    assert set(row) == {"fd_mean", "fd_sd", "fd_first_block", "fd_over_floor", "label_entropy", "classes_seen",
                        "novelty_median_ratio", "novelty_close_share"}
    assert row["fd_mean"] > 0 and row["fd_over_floor"] == row["fd_mean"]
    assert 0 <= row["label_entropy"] <= math.log(10) + 1e-9 and 1 <= row["classes_seen"] <= 10
    assert row["novelty_median_ratio"] > 0 and 0 <= row["novelty_close_share"] <= 1
