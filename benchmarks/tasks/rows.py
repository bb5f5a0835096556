"""The rows of a task's table: one per system and condition, classical methods timed, neural systems fitted and scored."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks.rd_metrics import psnr_rgb
from benchmarks.tasks.neural import run_frame_model, run_nvcodec
from benchmarks.tasks.scoring import score
from benchmarks.tasks.settings import Settings

Log = Callable[[str], None]


def row(task: str, clip: str, condition: str, system: str, scores: dict[str, float], seconds: float, **extra) -> dict:
    """One row of a task's table (scores, seconds rounded to 0.01 s, and any ``extra`` keys)."""
    return {
        "task": task,
        "clip": clip,
        "condition": condition,
        "system": system,
        **scores,
        "seconds": round(seconds, 2),
        **extra,
    }


def timed(function: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    """``function()`` and the seconds it took."""
    started = time.perf_counter()
    out = function()
    return out, time.perf_counter() - started


def neural_rows(
    task: str,
    clip: str,
    condition: str,
    settings: Settings,
    log: Log,
    *,
    train: np.ndarray,
    times: Sequence[int],
    num_frames: int,
    render_times: Sequence[float],
    reference: np.ndarray,
    trained_reference: np.ndarray | None,
    mask: np.ndarray | None = None,
    region: np.ndarray | None = None,
) -> list[dict]:
    """nvcodec first (its fit time sets the others' budget), then NeRV and HNeRV."""
    rows = []
    budget: float | None = None
    numbers: int | None = None
    for system in settings.neural:
        log(f"  [{task} {clip} {condition}] fitting {system}" + (f" for {budget:.1f} s" if budget else ""))
        if system == "nvcodec":
            run = run_nvcodec(task, train, times, settings, render_times, mask=mask)
            budget, numbers = run.seconds, run.info["numbers"]
        else:
            seconds = budget if budget is not None else settings.budget
            run = run_frame_model(
                system, train, times, num_frames, seconds, settings, render_times, mask=mask, numbers=numbers
            )
        scores = score(reference, run.output, region)
        extra: dict[str, Any] = {"settings": run.info}
        if trained_reference is not None and run.trained is not None:
            extra["psnr_trained"] = psnr_rgb(trained_reference, run.trained)
        rows.append(row(task, clip, condition, system, scores, run.seconds, **extra))
        log(f"    {system}: PSNR {scores['psnr']:.2f} dB in {run.seconds:.1f} s")
    return rows


def restoration_rows(
    task: str,
    clip: str,
    condition: str,
    settings: Settings,
    log: Log,
    *,
    degraded: np.ndarray,
    clean: np.ndarray,
    mask: np.ndarray | None = None,
    region: np.ndarray | None = None,
) -> list[dict]:
    """:func:`neural_rows` of a restoration task: fit every degraded frame, render them all, score against ``clean``."""
    times = list(range(len(clean)))
    return neural_rows(
        task,
        clip,
        condition,
        settings,
        log,
        train=degraded,
        times=times,
        num_frames=len(clean),
        render_times=times,
        reference=clean,
        trained_reference=None,
        mask=mask,
        region=region,
    )
