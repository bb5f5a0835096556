"""What a task run depends on besides the clips: the tasks, the :class:`Settings` and the quick / full modes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchmarks.systems import NEURAL

TASKS: tuple[str, ...] = ("slowmo", "sr", "denoise", "inpaint")


@dataclass
class Settings:
    """Everything a run depends on besides the clips (stored in the result file)."""

    budget: float = 120.0
    """Seconds of wall clock per neural fit."""
    restore_frames: int = 31
    """Frames used by denoise and inpaint."""
    neural: tuple[str, ...] = NEURAL
    device: str = "cpu"
    seed: int = 0
    nvcodec: dict[str, Any] = field(default_factory=dict)
    """Extra overrides of the ``fast`` preset, applied after the per-task ones."""
    nvcodec_iters: tuple[int, int] | None = None
    """Fixed (first group, later groups) iterations instead of filling the budget (tests)."""
    calibration_iters: int = 30
    """Timed iterations (after ``neural.CALIBRATION_WARMUP`` warm-up ones) that set nvcodec's iteration count."""
    nerv_size: str | None = None
    """NeRV / HNeRV preset; ``None``: the one nearest nvcodec's number count."""


QUICK = {"budget": 20.0, "restore_frames": 11}
QUICK_CLIPS: tuple[str, ...] = ("carphone",)
FULL = {"budget": 120.0, "restore_frames": 31}
