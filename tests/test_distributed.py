"""Data-parallel training: two processes with DistributedDataParallel (gloo) take the steps one process
takes on the combined batch, eq. (1.5.1); the configuration and the inputs are checked."""

import pytest
import torch

from companion.data import load_digits
from companion.distributed import DataParallelConfig, train_data_parallel


@pytest.fixture(scope="module")
def digits():
    images, labels = load_digits("train")
    return images[:200], labels[:200]


def _run(digits, world_size, seed=0):
    config = DataParallelConfig(world_size=world_size, epochs=1, batch_size=32)
    return train_data_parallel(*digits, config, generator=torch.Generator().manual_seed(seed), progress=False)


def test_one_process_learns_and_is_reproducible(digits):
    model, history = _run(digits, 1)
    assert len(history["loss"]) == 200 // 32  # whole batches only
    assert history["world_size"] == 1 and history["overhead_seconds"] == 0.0
    assert history["loss"][-1] < history["loss"][0]
    assert not model.training
    again, history_again = _run(digits, 1)
    assert history_again["loss"] == history["loss"]
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), again.parameters(), strict=True))


def test_two_processes_take_the_steps_of_one_process_on_the_combined_batch(digits):
    one, h1 = _run(digits, 1)
    two, h2 = _run(digits, 2)
    assert h2["world_size"] == 2 and h2["overhead_seconds"] > 0 and len(h2["loss"]) == len(h1["loss"])
    scale = max(g.abs().max() for g in h1["first_gradients"])
    for g2, g1 in zip(h2["first_gradients"], h1["first_gradients"], strict=True):
        torch.testing.assert_close(g2 / scale, g1 / scale, rtol=0, atol=1e-5)  # float32: rounding only
    torch.testing.assert_close(torch.tensor(h2["loss"]), torch.tensor(h1["loss"]), rtol=0, atol=1e-5)
    for p2, p1 in zip(two.parameters(), one.parameters(), strict=True):
        torch.testing.assert_close(p2, p1, rtol=0, atol=1e-5)


def test_config_and_inputs_are_checked(digits):
    with pytest.raises(ValueError, match="batch_size divisible by world_size=3"):
        DataParallelConfig(world_size=3, batch_size=64)
    with pytest.raises(TypeError, match=r"world_size to be a positive int, got True \(bool\)"):
        DataParallelConfig(world_size=True)
    with pytest.raises(ValueError, match="momentum"):
        DataParallelConfig(momentum=1.0)
    images, labels = digits
    with pytest.raises(ValueError, match=r"expected images of shape \(N, C, S, S\)"):
        train_data_parallel(images[:, 0], labels)
    with pytest.raises(ValueError, match=r"expected labels of shape \(200,\)"):
        train_data_parallel(images, labels[:10])
    with pytest.raises(TypeError, match="expected images to be a torch.Tensor"):
        train_data_parallel(images.numpy(), labels)
    with pytest.raises(ValueError, match="at least batch_size=64 images"):
        train_data_parallel(images[:10], labels[:10])
    with pytest.raises(TypeError, match="a DataParallelConfig or None"):
        train_data_parallel(images, labels, {"world_size": 2})
