"""Does the trial fit pick the width of least cost? The check behind ``nvcodec.recipe.trials``.

For every clip and quality: the trial fits' MSE at the quality's width and at
the next one up (``width_for_content``), the fall between them in lambdas
against the least fall that makes the encoder widen, and the width picked.
Where the width sweeps (``benchmarks.width_quality``) hold whole encodes at
both widths and the encoder's group length, the width of least
J = MSE + lambda * bpp is set beside the pick: the rule agrees with the
measurement or it does not.

    python -m benchmarks.width_trial                       # 11 clips at Q 18, 24, 30; about 3 minutes
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.clips import CLIPS, HELD_OUT_CLIPS, load_clip
from benchmarks.common import RESULTS, command, json_clean, machine
from benchmarks.results_io import with_provenance
from nvcodec import Config
from nvcodec.recipe import trials as content
from nvcodec.recipe.quality import RateTrade, config_for_quality
from nvcodec.recipe.shape import shaped_for_quality
from nvcodec.recipe.trials import least_fall, next_width

SWEEPS = (
    "group_quality.json",
    "group_quality_2.json",
    "width_quality_q30.json",
    "width_heldout_q30.json",
    "width_heldout2_q30.json",
    "width_q24_hard.json",
    "width_q24_check.json",
    "width_q18_hard.json",
    "width_q24_grids.json",
)
"""Width sweeps whose whole encodes give the least-cost width (those shaped as the encoder shapes their quality)."""


def measured_costs(paths: list[Path], preset: str) -> dict[tuple[str, float, int, int], float]:
    """J of every swept ``(clip, quality, width, grid levels)`` encoded at the group length the encoder
    gives that quality (a sweep point without ``grid_levels`` predates the grids: none)."""
    costs = {}
    for path in paths:
        if not path.exists():
            continue
        for point in json.loads(path.read_text())["points"]:
            quality = float(point["quality"])
            shaped = shaped_for_quality(Config.preset(preset), quality)
            if point.get("group_size") == shaped.fit.group_size:
                key = (point["clip"], quality, int(point["width"]), int(point.get("grid_levels", 0)))
                costs[key] = point["cost"]
    return costs


def trial(clip: str, quality: float, frames_count: int, preset: str) -> dict:
    """What the encoder's trial fits find on ``clip`` at ``quality`` and the width they pick."""
    frames, _ = load_clip(clip, frames_count)
    trade = RateTrade.for_quality(quality)
    lambda_ = trade.lambda_
    config, choice = config_for_quality(Config.preset(preset), trade, frames)
    row: dict = {
        "clip": clip,
        "quality": quality,
        "tried": choice.tried,
        "picked": choice.width,
        "grid_levels": config.model.grid_levels,  # the grid trial's verdict, which the width trial starts from
    }
    if choice.trial_mse is None or choice.wider_mse is None:
        return row
    row.update(
        trial_mse=choice.trial_mse,
        wider_trial_mse=choice.wider_mse,
        fall_lambdas=(choice.trial_mse - choice.wider_mse) / lambda_,
        seconds=choice.seconds,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="+", default=[*CLIPS, *HELD_OUT_CLIPS])
    parser.add_argument("--qualities", nargs="+", type=float, default=[18.0, 24.0, 30.0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--output", type=Path, default=RESULTS / "width_trial.json")
    parser.add_argument(
        "--trial-share",
        type=float,
        default=content.TRIAL_SHARE,
        help="steps of each trial as a share of the first group's (default: the encoder's)",
    )
    args = parser.parse_args()
    content.TRIAL_SHARE = args.trial_share
    costs = measured_costs([RESULTS / name for name in SWEEPS], args.preset)
    rows = []
    for clip in args.clips:
        for quality in args.qualities:
            row = trial(clip, quality, args.frames, args.preset)
            tried = row["tried"]
            wider = next_width(tried)
            if wider is not None:
                row["wider"], row["least_fall"] = wider, least_fall(tried, wider)
                measured = [costs.get((clip, quality, w, row["grid_levels"])) for w in (tried, wider)]
                if None not in measured:
                    row["cost"] = {str(tried): measured[0], str(wider): measured[1]}
                    row["least_cost_width"] = tried if measured[0] <= measured[1] else wider
                    row["wider_cost_change"] = measured[1] / measured[0] - 1
                    row["agrees"] = row["least_cost_width"] == row["picked"]
            rows.append(row)
            print(_line(row), flush=True)
            record = {
                "machine": machine(),
                "command": command(),
                "preset": args.preset,
                "trial_share": args.trial_share,
                "sweeps": SWEEPS,
                "rows": rows,
            }
            args.output.write_text(json.dumps(json_clean(with_provenance(record)), indent=2) + "\n")
    judged = [r for r in rows if "agrees" in r]
    print(f"the trial picks the least-cost width in {sum(r['agrees'] for r in judged)} of {len(judged)} measured cases")


def _line(row: dict) -> str:
    text = f"{row['clip']} Q {row['quality']:g}: width {row['tried']} -> {row['picked']}"
    if "fall_lambdas" in row:
        text += f" (fall {row['fall_lambdas']:.3f} lambda, least {row['least_fall']:.3f})"
    if "agrees" in row:
        text += (
            f"; least J at {row['least_cost_width']} (wider {100 * row['wider_cost_change']:+.1f}% J): "
            f"{'agrees' if row['agrees'] else 'DISAGREES'}"
        )
    return text


if __name__ == "__main__":
    main()
