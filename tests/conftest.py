"""Shared test settings."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread, as the notebooks use: the tensors here are tiny, and on a shared 2-core
    machine two threads made these tests 5-10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
