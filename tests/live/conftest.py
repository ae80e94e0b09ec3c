"""Live-mode tests share one setting: a single torch thread."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: fast and reproducible on a small shared CPU; restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
