"""Fitting the neural systems for a task: nvcodec with its iteration count set by the budget, and the NeRV family.

nvcodec's fit has an iteration count, not a time limit, so a few iterations of
the task's own fit are timed first and the count is set to fill the budget
(first group : later groups = 3 : 2 iterations, the ``fast`` preset's ratio when the task settings were chosen).
NeRV and HNeRV (found by name in :mod:`benchmarks.systems`) train for a given
number of seconds at a preset matched to nvcodec's number count.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from benchmarks.common import to_float32
from benchmarks.systems import frame_model
from benchmarks.tasks.settings import Settings

CALIBRATION_WARMUP = 10

# Per-task nvcodec overrides of the "fast" preset (the iteration counts are set by the budget).
NVCODEC_BASE: dict[str, Any] = {"compile": False, "batch_pixels": 8192}
NVCODEC_TASK: dict[str, dict[str, Any]] = {
    "slowmo": {"group_size": 30},
    "sr": {"group_size": 30},
    "denoise": {},
    "inpaint": {},
}


@dataclass
class NeuralRun:
    """One neural system fitted for a task and rendered."""

    output: np.ndarray
    """Rendered frames, float32 ``[N, H, W, 3]``."""
    seconds: float
    """Fit time (what the budget limits)."""
    info: dict[str, Any]
    trained: np.ndarray | None = None
    """The model's rendering of the trained frames, where asked for."""


def nvcodec_config(task: str, settings: Settings, iters: int, iters_warm: int):
    from nvcodec import Config

    overrides = {**NVCODEC_BASE, **NVCODEC_TASK.get(task, {}), **settings.nvcodec}
    return Config.preset("fast", **overrides, iters=iters, iters_warm=iters_warm, device=settings.device)


def _group_count(times: Sequence[int], group_size: int) -> int:
    from nvcodec.timebase import group_bounds

    return len(group_bounds(int(times[-1]) + 1, group_size)) - 1


def split_iterations(total: float, groups: int) -> tuple[int, int]:
    """First-group and later-group iterations summing to about ``total``, in a 3 : 2 ratio (see the package docstring)."""
    warm = total / (groups + 0.5)
    return max(1, round(1.5 * warm)), max(1, round(warm))


def _seconds_per_iteration(task: str, frames, times, mask, settings: Settings) -> tuple[float, float]:
    """Time iterations of the task's first group; returns (seconds per iteration, seconds spent).

    The first few steps are several times slower than the rest (allocation,
    first-touch), so the rate is the slope between the end of a warm-up and the
    end of the calibration, read from the progress callback.
    """
    from nvcodec.fit import fit_groups

    warmup, count = CALIBRATION_WARMUP, settings.calibration_iters
    config = nvcodec_config(task, settings, warmup + count, warmup + count)
    marks: dict[int, float] = {}

    def note(progress) -> None:
        marks[progress.iteration] = progress.elapsed

    started = time.perf_counter()
    next(fit_groups(frames, config, mask=mask, times=times, callback=note, report_every=warmup))
    spent = time.perf_counter() - started
    return (marks[warmup + count] - marks[warmup]) / count, spent


def run_nvcodec(
    task: str,
    frames: np.ndarray,
    times: Sequence[int],
    settings: Settings,
    render_times: Sequence[float],
    *,
    mask: np.ndarray | None = None,
    size: tuple[int, int] | None = None,
    trained_size: tuple[int, int] | None = None,
) -> NeuralRun:
    from nvcodec import fit_video

    info: dict[str, Any] = {}
    if settings.nvcodec_iters is not None:
        iters, iters_warm = settings.nvcodec_iters
    else:
        per_iteration, spent = _seconds_per_iteration(task, frames, times, mask, settings)
        groups = _group_count(times, nvcodec_config(task, settings, 1, 1).fit.group_size)
        iters, iters_warm = split_iterations(settings.budget / per_iteration, groups)
        info.update(calibration_seconds=round(spent, 2), seconds_per_iteration=round(per_iteration, 4))
    config = nvcodec_config(task, settings, iters, iters_warm)
    result = fit_video(frames, config, times=list(times), mask=mask)
    model = result.model
    with torch.no_grad():
        output = to_float32(model.render([float(t) for t in render_times], size))
        trained = to_float32(model.render([float(t) for t in times], trained_size))
    info.update(
        iters=iters,
        iters_warm=iters_warm,
        groups=len(model.groups),
        numbers=model.num_parameters(),
        config=config.to_dict(),
    )
    return NeuralRun(output, result.seconds, info, trained)


def run_frame_model(
    kind: str,
    frames: np.ndarray,
    times: Sequence[int],
    num_frames: int,
    seconds: float,
    settings: Settings,
    render_times: Sequence[float],
    *,
    mask: np.ndarray | None = None,
    numbers: int | None = None,
) -> NeuralRun:
    """Fit NeRV or HNeRV for ``seconds`` of wall clock and render ``render_times``.

    The preset is ``settings.nerv_size``, or the one whose stored-number count is nearest ``numbers``.
    """
    system = frame_model(kind)
    _, height, width, _ = frames.shape
    size = settings.nerv_size or system.matched_size(numbers or 0, height, width, num_frames, times)
    started = time.perf_counter()
    model = system.fit(
        frames,
        size=size,
        seconds=seconds,
        times=list(times),
        mask=mask,
        num_frames=num_frames,
        seed=settings.seed,
        device=settings.device,
    )
    fit_seconds = time.perf_counter() - started
    output = to_float32(model.render_frames([float(t) for t in render_times]))
    trained = to_float32(model.render_frames([float(t) for t in times]))
    stats = model.train_stats
    info = {"size": size, "numbers": model.numbers(), "iterations": stats.iterations, "train_seconds": stats.seconds}
    return NeuralRun(output, fit_seconds, info, trained)
