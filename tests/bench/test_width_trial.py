"""The width-trial benchmark's verdict window: how far WIDTH_PAYS may move before a width verdict flips."""

from __future__ import annotations

import pytest

from benchmarks.width_trial import verdict_window
from nvcodec.recipe.trials import WIDTH_PAYS, least_fall


def _row(clip: str, picked: int, pays: float) -> dict:
    """A Q 30 row from width 48 whose trial falls as far as ``WIDTH_PAYS = pays`` would just allow."""
    least = least_fall(48, 64)
    return {"clip": clip, "quality": 30.0, "tried": 48, "picked": picked, "least_fall": least,
            "fall_lambdas": least * pays / WIDTH_PAYS}  # fmt: skip


def test_the_window_lies_between_the_kept_and_the_widened_points() -> None:
    reference = [_row("kept", 48, 0.2), _row("widened", 64, 0.5), _row("no trial", 24, 0.0)]
    del reference[2]["fall_lambdas"]
    assert verdict_window(reference, reference) == pytest.approx((0.2, 0.5))
    shorter = [_row("kept", 96, 0.3), _row("widened", 64, 0.45)]  # verdicts are judged against the reference
    assert verdict_window(reference, shorter) == pytest.approx((0.3, 0.45))


def test_no_window_where_a_kept_point_falls_further_than_a_widened_one() -> None:
    reference = [_row("kept", 48, 0.2), _row("widened", 64, 0.5)]
    low, high = verdict_window(reference, [_row("kept", 48, 0.6), _row("widened", 64, 0.4)])
    assert low >= high
