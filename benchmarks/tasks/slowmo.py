"""10x slow motion: train on frames 0, 10, 20, 30 and score the frames in between (see :mod:`benchmarks.tasks`)."""

from __future__ import annotations

import numpy as np

from benchmarks import task_baselines as classical
from benchmarks.tasks.rows import Log, neural_rows, row, timed
from benchmarks.tasks.scoring import score
from benchmarks.tasks.settings import Settings

SLOWMO_STEP = 10
SLOWMO_FRAMES = 31


def task_slowmo(clip: str, frames: np.ndarray, settings: Settings, log: Log) -> list[dict]:
    frames = frames[:SLOWMO_FRAMES]
    count = (len(frames) - 1) // SLOWMO_STEP * SLOWMO_STEP + 1
    frames = frames[:count]
    known_times = list(range(0, count, SLOWMO_STEP))
    if len(known_times) < 2:
        raise ValueError(f"slow motion needs at least {SLOWMO_STEP + 1} frames, got {len(frames)}")
    known = frames[known_times]
    targets = [t for t in range(count) if t % SLOWMO_STEP]
    reference = frames[targets]
    condition = f"{len(known_times)} trained, {len(targets)} scored"
    rows = []
    for system, function in (
        ("repeat previous", lambda: classical.repeat_previous(known, known_times, targets)),
        ("linear blend", lambda: classical.linear_blend(known, known_times, targets)),
        ("minterpolate (FFmpeg)", lambda: classical.minterpolate(known, SLOWMO_STEP)[targets]),
    ):
        out, seconds = timed(function)
        rows.append(row("slowmo", clip, condition, system, score(reference, out), seconds))
    rows += neural_rows(
        "slowmo",
        clip,
        condition,
        settings,
        log,
        train=known,
        times=known_times,
        num_frames=count,
        render_times=targets,
        reference=reference,
        trained_reference=known,
    )
    return rows
