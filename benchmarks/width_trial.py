"""Does the trial fit pick the width of least cost? The check behind ``nvcodec.recipe.trials``.

For every clip and quality: the trial fits' MSE at the quality's width and at
the next one up (``width_for_content``), the fall between them in lambdas
against the least fall that makes the encoder widen, and the width picked.
Where the width sweeps (``benchmarks.width_quality``) hold whole encodes at
both widths and the encoder's group length, the width of least
J = MSE + lambda * bpp is set beside the pick: the rule agrees with the
measurement or it does not.

    python -m benchmarks.width_trial                       # 11 clips at Q 18, 24, 30; about 3 minutes

``--trial-share S`` runs the trials at another length. ``--windows FILE...`` reads runs at several
lengths instead and prints, for each, the values of ``WIDTH_PAYS`` that would give every point the
first run's width verdict: how far the threshold may move before a verdict flips.
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
from nvcodec.recipe.trials import next_width

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
        "trial_seconds": choice.trial_seconds,  # every trial fit, the grid trial's included
    }
    grids = choice.grids
    if grids is not None and grids.with_mse and grids.without_mse is not None:
        row["grids_ratio"] = grids.without_mse / grids.with_mse
    if choice.trial_mse is None or choice.wider_mse is None:
        return row
    row.update(
        trial_mse=choice.trial_mse,
        wider_trial_mse=choice.wider_mse,
        fall_lambdas=(choice.trial_mse - choice.wider_mse) / lambda_,
        least_fall=choice.least_fall,
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
    parser.add_argument("--windows", nargs="+", type=Path, help="print the verdict windows of these runs instead")
    args = parser.parse_args()
    if args.windows:
        print_windows(args.windows)
        return
    content.TRIAL_SHARE = args.trial_share
    costs = measured_costs([RESULTS / name for name in SWEEPS], args.preset)
    rows = []
    for clip in args.clips:
        for quality in args.qualities:
            row = trial(clip, quality, args.frames, args.preset)
            tried = row["tried"]
            wider = next_width(tried)
            if wider is not None:
                row["wider"] = wider
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


def verdict_window(reference: list[dict], rows: list[dict]) -> tuple[float, float]:
    """The ``WIDTH_PAYS`` values between which ``rows`` (one run) widen exactly where ``reference`` (another
    run over the same clips and qualities) picked the wider width; empty (low >= high) where none does."""
    widened = {(r["clip"], r["quality"]): r["picked"] != r["tried"] for r in reference}
    low, high = 0.0, float("inf")
    for row in rows:
        key = (row["clip"], row["quality"])
        if key not in widened or "fall_lambdas" not in row:
            continue
        # The trial widens where fall_lambdas > least_fall, which is proportional to WIDTH_PAYS.
        pays = content.WIDTH_PAYS * row["fall_lambdas"] / row["least_fall"]
        if widened[key]:
            high = min(high, pays)
        else:
            low = max(low, pays)
    return low, high


def print_windows(paths: list[Path]) -> None:
    """:func:`verdict_window` of each run in ``paths`` against the first."""
    runs = [json.loads(path.read_text()) for path in paths]
    for path, run in zip(paths, runs):
        low, high = verdict_window(runs[0]["rows"], run["rows"])
        seconds = [r["trial_seconds"] for r in run["rows"] if "trial_seconds" in r]
        mean = f", trials {sum(seconds) / len(seconds):.1f} s on average" if seconds else ""
        span = (
            f"{high / low:.2f}x wide" if 0 < low < high else "no value keeps every verdict" if low >= high else "open"
        )
        print(f"{path} (trial share {run['trial_share']:g}{mean}): WIDTH_PAYS in ({low:.3f}, {high:.3f}), {span}")


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
