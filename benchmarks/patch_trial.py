"""Would a trial fit tell one large patch from four small ones at the top of the ladder? Measurement only.

At Q 36 a group is four patches of 96 pixels (176×144), width 64 or 96 by the width trial, with latent
grids where the grid trial keeps them. One patch of the frame at width 128 has as many hidden weights as
four patches at width 64, so at about equal rate the lower error should win, and a trial fit could pick
the patch side by content as it picks the width. For every clip: the grid trial at the quality's shape
(:func:`~nvcodec.recipe.trials.grids_for_content`), the trial MSE with the grids it keeps at the
quality's patches and width (the grid trial's own fit), and the trial MSE of one patch of the frame at
``--wide-width`` with the same grids; their ratio beside the whole encodes' J = MSE + lambda * bpp where
they are stored (the ladder's point, ``benchmarks.ceiling`` runs of the one-patch variant, which always has
the quality's grids)::

    python -m benchmarks.patch_trial                # 11 clips at Q 36; about 8 minutes on one core

Writes ``benchmarks/results/patch_trial_q36.json``. No rule reads it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from benchmarks.clips import CLIPS, HELD_OUT_CLIPS, load_clip
from benchmarks.common import RESULTS
from benchmarks.grid_trial import cost
from benchmarks.results_io import read_result, result_path, with_provenance, write_json
from nvcodec import Config
from nvcodec.recipe.shape import PATCH_STEPS, shaped_for_quality, with_patch
from nvcodec.recipe.trials import grids_for_content, trial_mse, with_grid_levels

ONE_PATCH_ENCODES = RESULTS / "one_patch" / "screen_q36_w128.json"
"""``benchmarks.ceiling`` runs of ``patch=176,hidden=128,grid_levels=4`` at Q 36."""


def ladder_point(clip: str, quality: float) -> dict | None:
    """The committed ladder's point of ``clip`` at ``quality`` (bench or held-out ladder)."""
    for folder in (RESULTS / "rd_rate", RESULTS / "heldout" / "rd_rate"):
        path = result_path(clip, "nvcodec", folder)
        if path.exists():
            return next((p for p in read_result(path).points if float(p["settings"]["quality"]) == quality), None)
    return None


def one_patch_encodes(path: Path, label: str) -> dict[tuple[str, float], dict]:
    """``(clip, quality) -> point`` of the stored one-patch encodes of ``label``."""
    if not path.exists():
        return {}
    points = json.loads(path.read_text())["points"]
    return {(p["clip"], float(p["quality"])): p for p in points if p["label"] == label}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="+", default=[*CLIPS, *HELD_OUT_CLIPS])
    parser.add_argument("--quality", type=float, default=36.0)
    parser.add_argument("--wide-width", type=int, default=128)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--output", type=Path, default=RESULTS / "patch_trial_q36.json")
    args = parser.parse_args()
    side = PATCH_STEPS[-1][1]
    label = f"patch={side},hidden={args.wide_width},grid_levels=4"
    stored = one_patch_encodes(ONE_PATCH_ENCODES, label)
    rows = []
    for clip in args.clips:
        frames, _ = load_clip(clip, args.frames)
        config = shaped_for_quality(Config.preset(args.preset), args.quality)
        grids = grids_for_content(frames, config)
        small = with_grid_levels(config, grids.levels)
        small_mse = grids.kept_mse if grids.kept_mse is not None else trial_mse(frames, small)
        one = dataclasses.replace(
            small, model=with_patch(dataclasses.replace(small.model, hidden=args.wide_width), side)
        )
        one_mse = trial_mse(frames, one)
        row: dict = {
            "clip": clip,
            "quality": args.quality,
            "grid_levels": grids.levels,
            "small": {"patch": small.model.patch, "width": small.model.hidden, "trial_mse": small_mse},
            "one": {
                "patch": one.model.patch,
                "width": one.model.hidden,
                "grid_levels": one.model.grid_levels,
                "trial_mse": one_mse,
            },
            "ratio": one_mse / small_mse,
        }
        ladder, wide = ladder_point(clip, args.quality), stored.get((clip, args.quality))
        if ladder is not None and wide is not None:
            row["whole_encode_cost_ratio"] = cost(wide, args.quality) / cost(ladder, args.quality)
        rows.append(row)
        whole = row.get("whole_encode_cost_ratio")
        print(
            f"{clip:>13} Q{args.quality:g}: one patch of {side} at width {args.wide_width} against "
            f"{small.model.patch}-pixel patches at width {small.model.hidden} ({grids.levels} grid levels): trial MSE "
            f"{row['ratio']:.3f}x" + (f"; whole encodes' J {whole:.3f}x" if whole is not None else ""),
            flush=True,
        )
    write_json(args.output, with_provenance({"one_patch_encodes": ONE_PATCH_ENCODES.name, "rows": rows}))


if __name__ == "__main__":
    main()
