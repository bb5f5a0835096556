"""Every system the benchmarks can run, found by name.

Each module of :mod:`benchmarks.baselines` registers the systems it defines
when imported (:func:`benchmarks.baselines.registry.register`); this module
imports them all on first use, so ``rd.py`` and the task benchmark find
nvcodec, NeRV, HNeRV, HiNeRV, HNeRV-Boost and every classical codec by name, and a new baseline is
one new file in ``benchmarks/baselines/`` that registers itself.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Mapping

import numpy as np
import torch

from benchmarks import baselines
from benchmarks.baselines import registry
from benchmarks.baselines.base import Coded
from benchmarks.baselines.frame_system import FrameModelSystem
from benchmarks.baselines.registry import System

NEURAL: tuple[str, ...] = ("nvcodec", "nerv", "hnerv", "hinerv", "hnerv-boost")
"""The fitted systems, in the order they run: nvcodec first, as its fit time is the others' training budget."""


@functools.cache
def load() -> None:
    """Import every module of :mod:`benchmarks.baselines` (each registers its systems)."""
    for module in pkgutil.iter_modules(baselines.__path__, f"{baselines.__name__}."):
        importlib.import_module(module.name)


def get(name: str) -> System:
    """The system called ``name`` (``KeyError`` listing the registered names)."""
    load()
    return registry.get(name)


def names() -> list[str]:
    """Every registered system, in the order of registration (module by module, alphabetically)."""
    load()
    return registry.names()


def frame_model(name: str) -> FrameModelSystem:
    """The NeRV-family system called ``name`` (``ValueError`` if there is none)."""
    load()
    system = registry.get(name) if name in registry.names() else None
    if not isinstance(system, FrameModelSystem):
        known = [n for n in registry.names() if isinstance(registry.get(n), FrameModelSystem)]
        raise ValueError(f"unknown frame model system {name!r}: use one of {', '.join(known)}")
    return system


def run_rd_point(frames: np.ndarray | torch.Tensor, fps: float, setting: Mapping[str, object]) -> Coded:
    """One rate point of the frame model named by ``setting["system"]`` (default ``nerv``).

    See :meth:`FrameModelSystem.rd_point` for the other keys of ``setting``.
    """
    return frame_model(str(setting.get("system", "nerv"))).rd_point(frames, fps, setting)
