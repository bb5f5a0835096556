"""What the tests share: tiny clips generated in code (no data files) and one tiny model.

Test modules import these as ``from tests.conftest import ...`` (``pythonpath = ["."]``).
Tests of tiny networks run on one torch thread through the module-scoped ``one_thread`` fixture
(``pytestmark = pytest.mark.usefixtures("one_thread")``, or as an argument).

Layout: a library module ``nvcodec/X.py`` is tested in ``tests/test_X.py``, and
``nvcodec/{cli,model,quant}/X.py`` in ``tests/{cli,model,quant}/test_X.py``. Those three
folders are packages (``__init__.py``), so their test files may share names with flat ones
and each may have its own conftest.py. Pytest imports them as ``cli``, ``model`` and
``quant`` with tests/ first on ``sys.path``: a package folder here must never be named like
a top-level package of the repository (``nvcodec``, ``tools``, ``benchmarks``).

Tests that run an encode or a fit of their own, or a long sweep, are marked
``@pytest.mark.slow``: 1-8 s each on a quiet 2-core machine, 5-30 s while other jobs
share it. ``python -m pytest -q -m "not slow"`` is the quick loop (under a minute on a
quiet machine), ``python -m pytest -q`` (CI) runs everything. A module-scoped encode
that many quick tests share (test_reader, cli/) stays in the quick loop. On a machine
busy with other jobs, ``OMP_NUM_THREADS=1`` keeps torch's threads from oversubscribing
the cores: with two other jobs running, the quick loop took 8.5 minutes without it and
1.5 with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from nvcodec.config import Config

if TYPE_CHECKING:
    import torch

    from nvcodec.fit import GroupFit
    from nvcodec.model.group import GroupModel

TINY_MODEL: dict[str, Any] = dict(hidden=12, layers=2, patch=24, overlap=6, rff_freqs=4, latent_dim=4, hyper_hidden=8)
"""``ModelConfig`` overrides for a model small enough that an encode takes a second: tests of plumbing, not quality.

tools/make_vectors.py keeps its own frozen copy on purpose (the golden vectors must not move with this one).
"""

TINY: dict[str, Any] = {**TINY_MODEL, "batch_pixels": 2048, "compile": False}
"""``Config.preset(name, **TINY, ...)`` overrides: the tiny model, a small batch and no ``torch.compile``."""

GROUP_HEIGHT, GROUP_WIDTH = 40, 56
"""Frame size of :func:`make_group`'s groups: a 3x2 patch grid with the tiny model's patches."""


def make_group(
    activation: str = "gabor",
    *,
    start: int = 0,
    end: int = 4,
    seed: int = 0,
    height: int = GROUP_HEIGHT,
    width: int = GROUP_WIDTH,
    **model_overrides: Any,
) -> GroupModel:
    """A freshly initialized tiny group (``TINY_MODEL`` with ``model_overrides``) of frames ``start..end``."""
    import torch

    from nvcodec.config import ModelConfig
    from nvcodec.model.group import GroupModel
    from nvcodec.tiling import PatchGrid

    config = ModelConfig(activation=activation, **{**TINY_MODEL, **model_overrides})
    grid = PatchGrid.build(height, width, config.patch, config.overlap)
    return GroupModel(grid, config, start, end, torch.Generator().manual_seed(seed))


def render_unclamped(group: GroupModel) -> torch.Tensor:
    """Every frame of ``group`` at its native size, ``[F, H*W, 3]``, blended but not clamped to [0, 1].

    The output that quantization's measurements (:mod:`nvcodec.quant.sensitivity`) see.
    """
    import torch

    with torch.no_grad():
        out = torch.zeros(group.end - group.start + 1, group.grid.height * group.grid.width, 3)
        plan = group.grid.pixel_plan(group.grid.height, group.grid.width)
        times = torch.arange(group.start, group.end + 1, dtype=torch.float32)
        rgb = group.frame_inr(plan.coords[:, None], group.bias_inr(group.local_time(times)))
        weighted = (rgb * plan.weights[:, None, :, None]).transpose(0, 1).reshape(times.shape[0], -1, 3)
        return out.index_add(1, plan.index.reshape(-1), weighted)


def moving_square_clip(frames: int = 6, height: int = 48, width: int = 48, seed: int = 0) -> np.ndarray:
    """A smooth textured background with a bright square sliding across it, float32 [T, H, W, 3]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phases = rng.uniform(0, 2 * np.pi, size=3)
    background = np.stack(
        [0.5 + 0.25 * np.sin(x / 5.0 + phases[c]) * np.cos(y / 7.0 - phases[c]) for c in range(3)], axis=-1
    )
    clip = np.repeat(background[None], frames, axis=0)
    side = max(4, height // 4)
    for t in range(frames):
        top, left = height // 3, 4 + t * 3
        clip[t, top : top + side, left : left + side] = (0.9, 0.2, 0.1)
    return clip.astype(np.float32)


@pytest.fixture
def tiny_clip() -> np.ndarray:
    return moving_square_clip()


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """One torch thread for the module, and the optimizer's lazy imports done up front.

    Tiny networks' thread hand-offs cost more than they save, many times over on a busy 2-core
    machine; the first optimizer step imports torch._dynamo (seconds), which then falls outside
    any fit a test looks at.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    weight = torch.zeros(1, requires_grad=True)
    weight.sum().backward()
    torch.optim.Adam([weight]).step()
    yield
    torch.set_num_threads(threads)


FITTED_CONFIG = Config.preset(
    "fast", **TINY, iters=200, group_size=5, lr_schedule="exponential", lr_warmup=0.0, lr_final_factor=0.1
)
"""Six frames in one group of the tiny model, fitted for 200 iterations.

The schedule is the one the thresholds of these tests were measured on (before the cosine default):
with the cosine schedule, compensated rounding's error on this group is 0.88x nearest rounding's
instead of 0.65x, still below, but not the figure test_rounding states."""


@pytest.fixture(scope="session")
def fitted() -> GroupFit:
    """The fitted group with its frames; tests copy it before changing it.

    Fitting takes 10-30 s on 2 CPU cores, so the tests that use it are marked slow.
    """
    from nvcodec.fit import fit_groups  # torch: only for the tests that fit

    return next(fit_groups(moving_square_clip(6), FITTED_CONFIG))
