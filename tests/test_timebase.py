"""Frame rates as exact fractions (the ``.actv`` header's ``fps`` and the video writers' time base)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvcodec.timebase import MAX_FPS_DENOMINATOR, fps_fraction


@pytest.mark.parametrize(
    ("fps", "expected"),
    [
        (25.0, Fraction(25)),
        (25, Fraction(25)),
        (12.5, Fraction(25, 2)),
        (30000 / 1001, Fraction(30000, 1001)),
        (24000 / 1001, Fraction(24000, 1001)),
        (60000 / 1001, Fraction(60000, 1001)),
        (29.97, Fraction(2997, 100)),
        (0.5, Fraction(1, 2)),
    ],
)
def test_common_rates_are_exact(fps, expected):
    assert fps_fraction(fps) == expected


@given(st.floats(min_value=0.01, max_value=1000.0))
def test_any_rate_is_the_nearest_fraction_with_a_small_denominator(fps):
    rate = fps_fraction(fps)
    assert 1 <= rate.denominator <= MAX_FPS_DENOMINATOR
    assert rate > 0
    # Within half the gap between neighbouring fractions of denominator 1001, far below any visible drift.
    assert abs(float(rate) - fps) <= 1 / (2 * MAX_FPS_DENOMINATOR) + 1e-12
    assert fps_fraction(float(rate)) == rate  # a rate read back from a header maps to itself
