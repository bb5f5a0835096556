"""A tiny group fitted once for the quantization tests that need trained weights (fitting takes seconds)."""

from __future__ import annotations

import pytest

from nvcodec.config import Config
from nvcodec.fit import GroupFit, fit_groups
from tests.conftest import TINY, moving_square_clip

FITTED_CONFIG = Config.preset(
    "fast", **TINY, iters=200, group_size=5, lr_schedule="exponential", lr_warmup=0.0, lr_final_factor=0.1
)
"""Six frames in one group of the tiny model, fitted for 200 iterations.

The schedule is the one the thresholds of these tests were measured on (before the cosine default):
with the cosine schedule, compensated rounding's error on this group is 0.88x nearest rounding's
instead of 0.65x, still below, but not the figure test_rounding states."""


@pytest.fixture(scope="package")
def fitted() -> GroupFit:
    """The fitted group with its frames; tests copy it before changing it.

    Fitting takes 10-30 s on 2 CPU cores, so the tests that use it are marked slow.
    """
    return next(fit_groups(moving_square_clip(6), FITTED_CONFIG))
