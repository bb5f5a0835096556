"""Denoising: fit frames with seeded Gaussian noise, score against the clean frames."""

from __future__ import annotations

import numpy as np

from benchmarks import task_baselines as classical
from benchmarks.tasks.degradations import add_noise
from benchmarks.tasks.rows import Log, restoration_rows, row, timed
from benchmarks.tasks.scoring import score
from benchmarks.tasks.settings import Settings

SIGMAS_8BIT: tuple[int, ...] = (25, 50)


def task_denoise(clip: str, frames: np.ndarray, settings: Settings, log: Log) -> list[dict]:
    frames = frames[: settings.restore_frames]
    rows = []
    for level in SIGMAS_8BIT:
        sigma = level / 255.0
        noisy = add_noise(frames, sigma, seed=settings.seed * 1000 + level)
        condition = f"sigma {level}/255"
        rows.append(row("denoise", clip, condition, "noisy input", score(frames, noisy), 0.0))
        out, seconds = timed(lambda noisy=noisy, sigma=sigma: classical.nlm_denoise(noisy, sigma))
        rows.append(row("denoise", clip, condition, "non-local means", score(frames, out), seconds))
        rows += restoration_rows("denoise", clip, condition, settings, log, degraded=noisy, clean=frames)
    return rows
