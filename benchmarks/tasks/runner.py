"""Which function runs each task, and how long a run will take."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from benchmarks.tasks.denoise import task_denoise
from benchmarks.tasks.inpaint import task_inpaint
from benchmarks.tasks.rows import Log
from benchmarks.tasks.settings import TASKS, Settings
from benchmarks.tasks.slowmo import SLOWMO_FRAMES, task_slowmo
from benchmarks.tasks.sr import SR_FRAMES, task_sr

TASK_FUNCTIONS: dict[str, Callable[[str, np.ndarray, Settings, Log], list[dict]]] = {
    "slowmo": task_slowmo,
    "sr": task_sr,
    "denoise": task_denoise,
    "inpaint": task_inpaint,
}


def run_task(task: str, clip: str, frames: np.ndarray, settings: Settings, log: Log = print) -> list[dict]:
    """Rows of one task on one clip (float32 ``[T, H, W, 3]`` frames in [0, 1])."""
    if task not in TASK_FUNCTIONS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    return TASK_FUNCTIONS[task](clip, np.asarray(frames, dtype=np.float32), settings, log)


def frames_needed(task: str, settings: Settings) -> int:
    return {"slowmo": SLOWMO_FRAMES, "sr": SR_FRAMES}.get(task, settings.restore_frames)


def neural_fits(task: str, settings: Settings) -> int:
    """Neural fits a task runs per clip (for the run-time estimate)."""
    others = len([s for s in settings.neural if s != "nvcodec"])
    has_nv = "nvcodec" in settings.neural
    per_condition = {"slowmo": 1, "sr": 0, "denoise": 2, "inpaint": 2}[task]
    if task == "sr":
        return int(has_nv)
    return per_condition * (int(has_nv) + others)


def estimate_seconds(tasks: Sequence[str], clips: Sequence[str], settings: Settings) -> float:
    """Rough wall clock: the neural fits at their budget plus ~25 % for calibration, rendering and baselines."""
    fits = sum(neural_fits(task, settings) for task in tasks) * len(clips)
    return 1.25 * fits * settings.budget + 5.0 * len(tasks) * len(clips)
