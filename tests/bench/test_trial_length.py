"""The trial-length benchmark's report: falls in units of WIDTH_PAYS, and the window that keeps every verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.trial_length import normalized_falls, report
from nvcodec.recipe import trials
from nvcodec.recipe.quality import RateTrade


def _point(clip: str, quality: float, falls: list[float], hidden: int) -> dict:
    """A point whose trials fall by ``falls`` (in units of WIDTH_PAYS, one per share) from width 48 to 64."""
    lambda_ = RateTrade.for_quality(quality).lambda_
    unit = trials.least_fall(48, 64) / trials.WIDTH_PAYS
    runs = [
        {"share": share, "hidden": hidden, "trial_mse": 1.0 + fall * unit * lambda_, "wider_mse": 1.0}
        for share, fall in zip((0.1, 0.05), falls)
    ]
    return {"clip": clip, "quality": quality, "runs": runs}


def test_normalized_falls_are_in_units_of_width_pays() -> None:
    tried, falls = normalized_falls(_point("a", 30.0, [0.2, 0.35], 48))
    assert tried == 48
    assert falls == pytest.approx([0.2, 0.35])


def test_report_gives_the_window_that_keeps_the_first_shares_verdicts(tmp_path: Path, capsys) -> None:
    points = [
        _point("kept", 30.0, [0.2, 0.3], 48),  # the first share keeps 48
        _point("widened", 30.0, [0.5, 0.45], 64),  # the first share widens to 64
    ]
    path = tmp_path / "trial_length.json"
    path.write_text(json.dumps({"points": points}))
    report([path])
    out = capsys.readouterr().out
    assert "share 0.1: WIDTH_PAYS in (0.200, 0.500)" in out
    assert "share 0.05: WIDTH_PAYS in (0.300, 0.450)" in out
    assert "widened Q30 from width 48: 0.1: 0.500, 0.05: 0.450 (widens)" in out
