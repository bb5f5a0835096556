"""The systems the benchmarks compare, by name: the :class:`System` protocol and the table of registered systems.

A system's module registers it when imported (``register(...)`` at module
level); :mod:`benchmarks.systems` imports every module of
:mod:`benchmarks.baselines`, so a new baseline is one new file there. This
module imports no system, so none of them imports a module that imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from benchmarks.baselines.base import Coded


@dataclass
class RatePoints:
    """One system's rate points on one clip, with what its result file records besides the points."""

    coded: list[Coded]
    version: str
    """The ``version`` of the result file."""
    settings: dict[str, Any] = field(default_factory=dict)
    """What every point shares (the result file's ``settings``)."""
    budget: float | None = None
    """Seconds of training the neural systems run after this one get (nvcodec sets it: its median fit time)."""


@runtime_checkable
class System(Protocol):
    """A compared system: nvcodec, a NeRV-family baseline or a classical codec."""

    name: str
    """The ``system`` of its results (``nvcodec``, ``hnerv``, ``x265-medium``...)."""

    def available(self) -> bool:
        """Whether this machine can run it (a classical codec needs its encoder and decoder in PyAV's FFmpeg)."""
        ...

    def rate_points(self, frames: np.ndarray, fps: float, plan: Mapping[str, Any], budget: float | None) -> RatePoints:
        """Code one clip (float32 ``[T, H, W, 3]`` in [0, 1]) at the rate points ``plan`` asks of this system.

        ``budget``: seconds of training per fit set by an earlier system, or
        None when none has run.
        """
        ...


S = TypeVar("S", bound=System)

_SYSTEMS: dict[str, System] = {}


def register(system: S) -> S:
    """Add ``system`` under its name (the same name twice is an error); returns it."""
    if system.name in _SYSTEMS and _SYSTEMS[system.name] is not system:
        raise ValueError(f"a system named {system.name!r} is already registered")
    _SYSTEMS[system.name] = system
    return system


def get(name: str) -> System:
    """The system registered under ``name`` (``KeyError`` listing the names)."""
    try:
        return _SYSTEMS[name]
    except KeyError:
        raise KeyError(f"unknown system {name!r}; registered: {', '.join(_SYSTEMS) or 'none'}") from None


def names() -> list[str]:
    """Every registered name, in the order of registration."""
    return list(_SYSTEMS)
