"""The time axis: frame rates as exact fractions, and the plan of groups of frames.

Torch-free: the header, the video writers and the encoder's planning share it.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from nvcodec.errors import ArgumentError

MAX_FPS_DENOMINATOR = 1001
"""Denominators up to 1001 keep NTSC rates (30000/1001) exact."""


def fps_fraction(fps: float) -> Fraction:
    """The simplest fraction within reach of ``fps`` with a denominator of at most 1001."""
    return Fraction(fps).limit_denominator(MAX_FPS_DENOMINATOR)


def group_bounds(num_frames: int, group_size: int) -> list[int]:
    """Boundary frames ``b_0 = 0 < b_1 < ... < b_G = T - 1`` of groups of about ``group_size`` frames.

    Group ``k`` covers frames ``b_k..b_{k+1}`` inclusive, so neighbours share a
    frame and every time in ``[0, T - 1]`` falls inside a group. Sizes are spread
    evenly rather than leaving a short last group.
    """
    if num_frames < 1:
        raise ArgumentError(f"a video needs at least one frame, got {num_frames}")
    count = max(1, math.ceil((num_frames - 1) / group_size))
    return [round(x) for x in np.linspace(0, num_frames - 1, count + 1)]
