"""Whether shorter trial fits reach the same verdicts: the config each trial length gives, clip by clip.

The trial fits (:mod:`nvcodec.recipe.trials`: latent grids or not, then the
next width or not) take :data:`~nvcodec.recipe.trials.TRIAL_SHARE` of the
first group's fit steps each, eagerly, before the encode starts. Where a
shorter trial picks the same grids and width, the encode that follows is the
same, byte for byte, and only the trials' time differs; where it does not,
the whole ladder has to say which verdict was right. For each clip and
quality, ``config_for_quality`` runs with each share::

    python -m benchmarks.trial_length --clips carphone bikes bunny motion --shares 0.1 0.05

Writes ``benchmarks/results/trial_length.json``. ``--report FILE...`` reads such files instead and prints,
per share, the width trial's fall in units of :data:`~nvcodec.recipe.trials.WIDTH_PAYS` at each point and
the window of thresholds that gives the first share's width verdicts at every point.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.clips import load_clip
from benchmarks.common import run_record
from benchmarks.results_io import RESULTS, write_json
from nvcodec import Config
from nvcodec.recipe import trials
from nvcodec.recipe.quality import RateTrade, config_for_quality
from nvcodec.recipe.shape import width_for_quality

LADDER = (12.0, 18.0, 24.0, 30.0, 36.0)
"""The qualities of ``benchmarks.rd --plan rate``."""


def verdicts(frames: Any, quality: float, share: float, preset: str) -> dict[str, Any]:
    """The grids and width the trials pick at ``quality`` with trial fits of ``share`` of the fit's steps."""
    saved = trials.TRIAL_SHARE
    trials.TRIAL_SHARE = share
    try:
        config, choice = config_for_quality(
            Config.preset(preset, device="auto"), RateTrade.for_quality(quality), frames
        )
    finally:
        trials.TRIAL_SHARE = saved
    grids = choice.grids
    return {
        "share": share,
        "hidden": config.model.hidden,
        "grid_levels": config.model.grid_levels,
        "grids_ratio": grids.without_mse / grids.with_mse if grids is not None and grids.with_mse else None,
        "trial_mse": choice.trial_mse,
        "wider_mse": choice.wider_mse,
        "trial_seconds": choice.trial_seconds,
    }


def normalized_falls(point: dict[str, Any]) -> tuple[int, list[float]]:
    """The quality's width and, per share, the trial's MSE fall from it to the next width in lambdas, divided
    by :func:`~nvcodec.recipe.trials.least_fall` over :data:`~nvcodec.recipe.trials.WIDTH_PAYS`: the point
    widens where this exceeds ``WIDTH_PAYS``."""
    lambda_ = RateTrade.for_quality(point["quality"]).lambda_
    tried = width_for_quality(point["quality"])
    wider = trials.next_width(tried)
    assert wider is not None
    unit = trials.least_fall(tried, wider) / trials.WIDTH_PAYS
    return tried, [(r["trial_mse"] - r["wider_mse"]) / lambda_ / unit for r in point["runs"]]


def report(paths: list[Path]) -> None:
    """Each point's normalized falls, and per share the window of ``WIDTH_PAYS`` that reproduces the first
    share's width verdicts everywhere (empty where none does)."""
    points = [p for path in paths for p in json.loads(path.read_text())["points"] if p["runs"][0]["wider_mse"]]
    shares = [r["share"] for r in points[0]["runs"]]
    falls = []
    for point in points:
        tried, values = normalized_falls(point)
        widened = point["runs"][0]["hidden"] != tried
        falls.append((widened, values))
        shown = ", ".join(f"{share:g}: {value:.3f}" for share, value in zip(shares, values))
        print(f"{point['clip']} Q{point['quality']:g} from width {tried}: {shown}{' (widens)' if widened else ''}")
    for index, share in enumerate(shares):
        low = max(v[index] for w, v in falls if not w)
        high = min(v[index] for w, v in falls if w)
        print(
            f"share {share:g}: WIDTH_PAYS in ({low:.3f}, {high:.3f}) gives the first share's verdicts ({high / low:.2f}x wide)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes", "bunny", "motion"])
    parser.add_argument("--qualities", nargs="+", type=float, default=list(LADDER))
    parser.add_argument("--shares", nargs="+", type=float, default=[trials.TRIAL_SHARE, trials.TRIAL_SHARE / 2])
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--output", type=Path, default=RESULTS / "trial_length.json")
    parser.add_argument("--report", nargs="+", type=Path, help="print the width windows of these result files")
    args = parser.parse_args()
    if args.report:
        report(args.report)
        return
    points = []
    for clip in args.clips:
        frames, _ = load_clip(clip, args.frames)
        for quality in args.qualities:
            runs = [verdicts(frames, quality, share, args.preset) for share in args.shares]
            same = all((r["hidden"], r["grid_levels"]) == (runs[0]["hidden"], runs[0]["grid_levels"]) for r in runs)
            points.append({"clip": clip, "quality": quality, "same_config": same, "runs": runs})
            described = "; ".join(
                f"{r['share']:g}: width {r['hidden']}, grids {r['grid_levels']}, {r['trial_seconds']:.1f} s"
                for r in runs
            )
            print(f"{clip} Q{quality:g}: {described}{'' if same else '  <- differs'}", flush=True)
            write_json(args.output, {**run_record(), "points": points})


if __name__ == "__main__":
    main()
