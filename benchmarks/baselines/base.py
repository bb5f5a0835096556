"""What every system in the rate-distortion benchmark returns for one rate point."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Coded:
    """One clip coded by one system at one setting, measured from real bytes."""

    system: str
    """e.g. ``nvcodec``, ``nerv``, ``hnerv``, ``x264-medium``, ``x265-veryslow``, ``svtav1``, ``vp9``."""
    settings: dict
    """Everything needed to reproduce this point (CRF, preset, width, bits, iterations...)."""
    file_bytes: int
    """Size of everything a decoder needs: the whole file, not a parameter-count estimate."""
    decoded: np.ndarray
    """The decoded clip, uint8 RGB ``[T, H, W, 3]``."""
    encode_seconds: float
    decode_fps: float
    extra: dict = field(default_factory=dict)
