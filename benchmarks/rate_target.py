"""``--max-bpp`` against the quality ladder: does a rate target land where the right quality would?

For each clip and target ``B``, one encode as ``actv-encode --preset fast --max-bpp B`` runs it (the
starting quality of :func:`~nvcodec.recipe.quality.quality_for_bpp`, the width and group length it
picks, the trial fits, then lambda following the budget group by group), decoded through
``VideoReader``. The reference is the committed quality ladder of the same encoder
(``benchmarks/results/rd_rate/<clip>/nvcodec.json``): its RGB PSNR at ``B``, log-linear in rate between
the two ladder points around ``B``, what the best ``--quality`` under ``B`` would give. Run::

    python -m benchmarks.rate_target --clips carphone bikes bunny motion --targets 0.15 0.3

Writes ``benchmarks/results/rate_target.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import time
from pathlib import Path

import numpy as np

from benchmarks.clips import load_clip
from benchmarks.common import run_record
from benchmarks.results_io import RESULTS, write_json
from benchmarks.variants import encode_scored
from nvcodec import Config
from nvcodec.options import EncodeOptions
from nvcodec.recipe.quality import RateTrade, config_for_quality, quality_for_bpp
from nvcodec.recipe.shape import Given

LADDER = RESULTS / "rd_rate"


def ladder_psnr_at(clip: str, bpp: float) -> dict:
    """The ladder's RGB PSNR at ``bpp``, log-linear between the ladder points around it (None outside)."""
    points = json.loads((LADDER / clip / "nvcodec.json").read_text())["points"]
    ladder = sorted((p["bpp"], p["psnr_rgb"], p["settings"]["quality"]) for p in points)
    for (r0, p0, q0), (r1, p1, q1) in itertools.pairwise(ladder):
        if r0 <= bpp <= r1:
            share = math.log(bpp / r0) / math.log(r1 / r0)
            return {"psnr": p0 + share * (p1 - p0), "between": [q0, q1]}
    return {"psnr": None, "between": None}


def target_point(clip: str, frames: np.ndarray, fps: float, target: float) -> dict:
    start = quality_for_bpp(target)
    started = time.perf_counter()
    config, _ = config_for_quality(Config.preset("fast", device="auto"), RateTrade.for_quality(start), frames, Given())
    options = EncodeOptions(quality=start, max_bpp=target)
    scored = encode_scored(frames, fps, config, options, started)
    reference = ladder_psnr_at(clip, target)
    point = {
        "clip": clip,
        "target_bpp": target,
        "start_quality": start,
        "hidden": config.model.hidden,
        "group_size": config.fit.group_size,
        **scored,
        "ladder_psnr_at_target": reference["psnr"],
        "ladder_between_qualities": reference["between"],
    }
    if reference["psnr"] is not None:
        point["psnr_minus_ladder"] = point["psnr_rgb"] - reference["psnr"]
    return point


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes", "bunny", "motion"])
    parser.add_argument("--targets", nargs="+", type=float, default=[0.15, 0.3])
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--output", type=Path, default=RESULTS / "rate_target.json")
    args = parser.parse_args()
    points = []
    for clip in args.clips:
        frames, fps = load_clip(clip, args.frames)
        for target in args.targets:
            point = target_point(clip, frames, fps, target)
            points.append(point)
            delta = point.get("psnr_minus_ladder")
            ladder = "n/a" if delta is None else f"{point['ladder_psnr_at_target']:.2f} dB ({delta:+.2f})"
            print(
                f"{clip} --max-bpp {target:g} (from Q{point['start_quality']:g}): {point['bpp']:.4f} bpp, "
                f"{point['psnr_rgb']:.2f} dB; ladder at the target {ladder}, {point['encode_seconds']:.0f} s",
                flush=True,
            )
            write_json(args.output, {**run_record(), "points": points})


if __name__ == "__main__":
    main()
