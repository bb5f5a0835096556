"""Does the grid trial keep latent grids where they pay? The check behind ``nvcodec.recipe.trials.GRIDS_PAY``.

For every clip and quality whose shape has latent grids (below Q 27): the
trial fits' MSE with the quality's grids and without them
(:func:`~nvcodec.recipe.trials.grids_for_content`), their ratio against
:data:`~nvcodec.recipe.trials.GRIDS_PAY`, and the verdict. Where whole encodes
with and without grids are stored (``benchmarks.latent_grids`` runs, variants
``0`` and ``4:4``), the variant of lower J = MSE + lambda * bpp is set beside
the verdict, with the bytes and PSNR the grids add. Where a clip has whole encodes of both
variants at every quality, the curve of the trial's picks is set against the
curves of always and never keeping the grids: the mean rate difference at equal
PSNR over their shared range, piecewise linear in log rate (three points are too
few for a BD-rate's cubic)::

    python -m benchmarks.grid_trial                 # 11 clips at Q 12, 18, 24; about 3 minutes

The trial does not depend on lambda, only on the model the quality shapes
(width and group length), so qualities of one shape (Q 12 and 18) share one
trial.
Writes ``benchmarks/results/grid_trial.json``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from benchmarks.clips import CLIPS, HELD_OUT_CLIPS, load_clip
from benchmarks.common import RESULTS, command, json_clean, machine
from benchmarks.results_io import with_provenance
from nvcodec import Config
from nvcodec.recipe.quality import RateTrade
from nvcodec.recipe.shape import shaped_for_quality
from nvcodec.recipe.trials import GRIDS_PAY, GridChoice, grids_for_content

ENCODES = ("latent_grids_low_motion.json", "latent_grids_q12.json", "latent_grids_heldout2.json")
"""``benchmarks.latent_grids`` runs with variants ``0`` and ``4:4`` at the encoder's widths and group lengths."""


def whole_encodes(paths: list[Path]) -> dict[tuple[str, float, int], dict]:
    """``(clip, quality, grid levels) -> point`` of the stored whole encodes."""
    points = {}
    for path in paths:
        if path.exists():
            for point in json.loads(path.read_text())["points"]:
                levels = int(point["variant"].get("grid_levels", 0))
                points[(point["clip"], float(point["quality"]), levels)] = point
    return points


def cost(point: dict, quality: float) -> float:
    """J = MSE + lambda * bpp of a whole encode, MSE from its RGB PSNR."""
    return 10 ** (-point["psnr_rgb"] / 10) + RateTrade.for_quality(quality).lambda_ * point["bpp"]


def rate_change(anchor: list[dict], test: list[dict]) -> float:
    """Mean rate of ``test`` against ``anchor`` at equal RGB PSNR over their shared PSNR range, piecewise
    linear in log rate (points in quality order); NaN without a shared range."""
    curves = []
    for points in (anchor, test):
        psnr = np.maximum.accumulate([p["psnr_rgb"] for p in points])  # a dip would not be a function of PSNR
        curves.append((psnr, np.log([p["bpp"] for p in points])))
    low, high = max(c[0][0] for c in curves), min(c[0][-1] for c in curves)
    if high <= low:
        return math.nan
    grid = np.linspace(low, high, 200)
    anchor_rate, test_rate = (np.interp(grid, psnr, rate) for psnr, rate in curves)
    return math.exp(float(np.mean(test_rate - anchor_rate))) - 1


def curves(rows: list[dict], encodes: dict[tuple[str, float, int], dict], qualities: list[float]) -> list[dict]:
    """Per clip with whole encodes of both variants at every quality: the trial's picks against always and
    never keeping the grids."""
    out = []
    for clip in dict.fromkeys(r["clip"] for r in rows):
        picks = {r["quality"]: r for r in rows if r["clip"] == clip}
        if set(picks) != set(qualities):
            continue
        tried = picks[qualities[0]]["tried"]
        variants = {
            "grids": [encodes.get((clip, q, tried)) for q in qualities],
            "none": [encodes.get((clip, q, 0)) for q in qualities],
            "trial": [encodes.get((clip, q, picks[q]["kept"])) for q in qualities],
        }
        if any(None in v for v in variants.values()):
            continue
        out.append(
            {
                "clip": clip,
                "trial_against_grids": rate_change(variants["grids"], variants["trial"]),
                "trial_against_none": rate_change(variants["none"], variants["trial"]),
                "grids_against_none": rate_change(variants["none"], variants["grids"]),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="+", default=[*CLIPS, *HELD_OUT_CLIPS])
    parser.add_argument("--qualities", nargs="+", type=float, default=[12.0, 18.0, 24.0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--output", type=Path, default=RESULTS / "grid_trial.json")
    args = parser.parse_args()
    encodes = whole_encodes([RESULTS / name for name in ENCODES])
    rows = []
    for clip in args.clips:
        frames, _ = load_clip(clip, args.frames)
        trials: dict[Config, GridChoice] = {}  # qualities of one width and group length share one trial
        for quality in args.qualities:
            config = shaped_for_quality(Config.preset(args.preset), quality)
            if config not in trials:
                trials[config] = grids_for_content(frames, config)
            choice = trials[config]
            if choice.with_mse is None or choice.without_mse is None:
                continue
            row: dict = {
                "clip": clip,
                "quality": quality,
                "width": config.model.hidden,
                "tried": choice.tried,
                "kept": choice.levels,
                "trial_mse_with": choice.with_mse,
                "trial_mse_without": choice.without_mse,
                "ratio": choice.without_mse / choice.with_mse,
                "seconds": choice.seconds,
            }
            pair = [encodes.get((clip, quality, levels)) for levels in (choice.tried, 0)]
            if None not in pair:
                gridded, plain = pair
                row["whole_encode"] = {
                    "grids_bytes_change": gridded["file_bytes"] / plain["file_bytes"] - 1,
                    "grids_psnr_change_db": gridded["psnr_rgb"] - plain["psnr_rgb"],
                    "grids_cost_ratio": cost(gridded, quality) / cost(plain, quality),
                }
                row["least_cost"] = choice.tried if cost(gridded, quality) <= cost(plain, quality) else 0
                row["agrees"] = row["least_cost"] == row["kept"]
            rows.append(row)
            print(_line(row), flush=True)
            record = {"machine": machine(), "command": command(), "grids_pay": GRIDS_PAY, "encodes": ENCODES}
            args.output.write_text(json.dumps(json_clean(with_provenance({**record, "rows": rows})), indent=2) + "\n")
    judged = [r for r in rows if "agrees" in r]
    print(f"the trial keeps the least-J variant in {sum(r['agrees'] for r in judged)} of {len(judged)} judged cases")
    by_clip = curves(rows, encodes, args.qualities)
    for c in by_clip:
        print(
            f"{c['clip']:>13}: the trial's picks {c['trial_against_grids']:+.1%} in rate against always keeping the "
            f"grids, {c['trial_against_none']:+.1%} against never (grids against none {c['grids_against_none']:+.1%})"
        )
    record = {"machine": machine(), "command": command(), "grids_pay": GRIDS_PAY, "encodes": ENCODES}
    output = {**record, "rows": rows, "curves": by_clip}
    args.output.write_text(json.dumps(json_clean(with_provenance(output)), indent=2) + "\n")


def _line(row: dict) -> str:
    verdict = f"{row['kept']} levels" if row["kept"] else "no grids"
    text = (
        f"{row['clip']:>13} Q{row['quality']:g} width {row['width']}: without grids the trial MSE is "
        f"{row['ratio']:.3f}x (keep at >= {GRIDS_PAY}) -> {verdict}"
    )
    if "whole_encode" in row:
        whole = row["whole_encode"]
        least = f"{row['least_cost']} levels" if row["least_cost"] else "no grids"
        text += (
            f"; whole encodes: grids {whole['grids_bytes_change']:+.1%} bytes, "
            f"{whole['grids_psnr_change_db']:+.2f} dB, least J {least} ({'agrees' if row['agrees'] else 'DISAGREES'})"
        )
    return text


if __name__ == "__main__":
    main()
