"""What the benchmark tests share."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for tiny networks, whose thread hand-offs cost more than they save (badly so on a busy
    2-core machine), and the optimizer's lazy imports done up front, outside any fit a test looks at."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    weight = torch.zeros(1, requires_grad=True)
    weight.sum().backward()
    torch.optim.Adam([weight]).step()  # the first step imports torch._dynamo (seconds)
    yield
    torch.set_num_threads(threads)
