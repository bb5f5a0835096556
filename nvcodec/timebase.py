"""Frame rates as exact fractions, shared by the ``.actv`` header and the video writers."""

from __future__ import annotations

from fractions import Fraction

MAX_FPS_DENOMINATOR = 1001
"""Denominators up to 1001 keep NTSC rates (30000/1001) exact."""


def fps_fraction(fps: float) -> Fraction:
    """The simplest fraction within reach of ``fps`` with a denominator of at most 1001."""
    return Fraction(fps).limit_denominator(MAX_FPS_DENOMINATOR)
