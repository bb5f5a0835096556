"""Inpainting: random missing pixels and a text overlay; every system is told which pixels are unknown."""

from __future__ import annotations

import numpy as np

from benchmarks import task_baselines as classical
from benchmarks.tasks.degradations import apply_mask, random_known_mask, text_known_mask
from benchmarks.tasks.rows import Log, restoration_rows, row, timed
from benchmarks.tasks.scoring import score
from benchmarks.tasks.settings import Settings

RANDOM_MISSING = 0.3


def inpaint_conditions(frames: np.ndarray, seed: int) -> list[tuple[str, np.ndarray, float]]:
    """(name, known mask ``[T, H, W]``, fill value of unknown pixels) of each inpainting case."""
    t, h, w, _ = frames.shape
    return [
        (f"random {round(100 * RANDOM_MISSING)}% missing", random_known_mask((t, h, w), RANDOM_MISSING, seed), 0.0),
        ("text overlay", np.broadcast_to(text_known_mask(h, w), (t, h, w)).copy(), 1.0),
    ]


def task_inpaint(clip: str, frames: np.ndarray, settings: Settings, log: Log) -> list[dict]:
    frames = frames[: settings.restore_frames]
    rows = []
    for name, known, fill in inpaint_conditions(frames, settings.seed):
        degraded = apply_mask(frames, known, fill)
        unknown = ~known
        condition = f"{name} ({100 * unknown.mean():.1f}% of pixels)"
        rows.append(row("inpaint", clip, condition, "degraded input", score(frames, degraded, unknown), 0.0))
        out, seconds = timed(lambda degraded=degraded, known=known: classical.biharmonic_inpaint(degraded, known))
        rows.append(row("inpaint", clip, condition, "biharmonic", score(frames, out, unknown), seconds))
        rows += restoration_rows(
            "inpaint", clip, condition, settings, log, degraded=degraded, clean=frames, mask=known, region=unknown
        )
    return rows
