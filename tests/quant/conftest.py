"""A tiny group fitted once for the quantization tests that need trained weights (fitting takes seconds)."""

from __future__ import annotations

import pytest

from nvcodec.config import Config
from nvcodec.fit import GroupFit, fit_groups
from tests.conftest import TINY, moving_square_clip

FITTED_CONFIG = Config.preset("fast", **TINY, iters=200, group_size=5)
"""Six frames in one group of the tiny model, fitted for 200 iterations."""


@pytest.fixture(scope="package")
def fitted() -> GroupFit:
    """The fitted group with its frames; tests copy it before changing it.

    Fitting takes 10-30 s on 2 CPU cores, so the tests that use it are marked slow.
    """
    return next(fit_groups(moving_square_clip(6), FITTED_CONFIG))
