"""Scene cuts: what the warm start costs after a cut, what the new content costs, and what cut-aware groups buy.

Two parts, on ``bikes_cut`` (frames 122-152 of bikes.mp4, a cut at its frame 15):

1. **Warm start against new content.** With evenly spaced groups
   (0-10, 10-20, 20-30), group 2 holds only the new shot. It is fitted three
   ways: warm from group 1 (as the encoder does, ``iters_warm`` steps), warm
   with a first group's ``iters``, cold with ``iters_warm``, and cold with ``iters``. Group 0
   (only the old shot, cold, ``iters``) gives the old content's level. The
   warm-start cost is cold minus warm at equal steps; the new content's cost
   is group 0 minus group 2, both cold at ``iters``. PSNR of the unquantized
   fit over the group's frames, decoded to 8 bits.
2. **Cut-aware groups.** Whole encodes at each quality with
   ``scene_cuts`` off (even groups) and on (a group starts at the cut): rate,
   PSNR, per-group PSNR and its spread over groups.

    python -m benchmarks.scene_cut                 # about 10 minutes
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from benchmarks.clips import load_clip
from benchmarks.common import RESULTS, command, json_clean, machine
from benchmarks.rate_estimate import encode_decoded
from benchmarks.results_io import with_provenance
from nvcodec import Config, QuantConfig
from nvcodec.fit import GroupFit, VideoFitter
from nvcodec.metrics import psnr
from nvcodec.model.group import GroupModel
from nvcodec.scenecut import frame_changes, scene_cuts


def fitted_psnr(fitter: VideoFitter, index: int, start_from: GroupModel | None = None) -> tuple[float, GroupFit]:
    """PSNR of group ``index`` fitted from ``start_from`` (cold without), over its frames at 8 bits; and the fit."""
    fit = fitter.fit(index, start_from)
    start, end = fitter.span(index)
    with torch.no_grad():
        decoded = torch.round(fit.group.render([float(t) for t in range(start, end + 1)]) * 255) / 255
    return psnr(decoded.cpu().numpy(), fit.frames.cpu().numpy()), fit


def warm_against_cold(frames: np.ndarray, preset: str) -> dict:
    even = Config.preset(preset, scene_cuts=False)
    short = dataclasses.replace(even, fit=dataclasses.replace(even.fit, iters=even.fit.iters_warm))
    fitter, short_fitter = VideoFitter(frames, even), VideoFitter(frames, short)
    old_cold, first = fitted_psnr(fitter, 0)
    straddling = fitter.fit(1, first.group)
    warm, _ = fitted_psnr(fitter, 2, straddling.group)
    long = dataclasses.replace(even, fit=dataclasses.replace(even.fit, iters_warm=even.fit.iters))
    warm_long, _ = fitted_psnr(VideoFitter(frames, long), 2, straddling.group)
    cold_short, _ = fitted_psnr(short_fitter, 2)
    cold_long, _ = fitted_psnr(fitter, 2)
    result = {
        "bounds": fitter.bounds,
        "iters": even.fit.iters,
        "iters_warm": even.fit.iters_warm,
        "old_shot_cold_iters": old_cold,
        "new_shot_warm_iters_warm": warm,
        "new_shot_warm_iters": warm_long,
        "new_shot_cold_iters_warm": cold_short,
        "new_shot_cold_iters": cold_long,
        "warm_start_cost_db": cold_short - warm,
        "new_content_cost_db": old_cold - cold_long,
    }
    print(json.dumps(result), flush=True)
    return result


def encode_point(frames: np.ndarray, fps: float, preset: str, quality: float, cuts: bool) -> dict:
    coded = encode_decoded(frames, fps, Config.preset(preset, scene_cuts=cuts), QuantConfig(), quality)
    stats, per_group = coded.stats, coded.group_psnr
    bounds = [start for start, _ in coded.spans] + [coded.spans[-1][1]]
    point = {
        "quality": quality,
        "scene_cuts": cuts,
        "bounds": bounds,
        "bpp": stats.bpp,
        "psnr": psnr(coded.decoded, frames),
        "encode_seconds": stats.seconds,
        "group_psnr": per_group,
        "group_psnr_spread_db": max(per_group) - min(per_group),
    }
    print(
        f"Q {quality:g} cuts {'on' if cuts else 'off'} {bounds}: {stats.bpp:.4f} bpp, {point['psnr']:.2f} dB, "
        f"groups {', '.join(f'{p:.2f}' for p in per_group)}, {stats.seconds:.0f} s",
        flush=True,
    )
    return point


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default="bikes_cut")
    parser.add_argument("--qualities", nargs="+", type=float, default=[18.0, 24.0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--output", type=Path, default=RESULTS / "scene_cut.json")
    parser.add_argument("--skip-warm", action="store_true", help="only the encodes (part 2)")
    args = parser.parse_args()
    frames, fps = load_clip(args.clip, args.frames)
    changes = frame_changes([frames])
    record: dict = {
        "machine": machine(),
        "command": command(),
        "clip": args.clip,
        "preset": args.preset,
        "cuts": scene_cuts(changes),
        "largest_changes": sorted((round(float(c), 4) for c in changes), reverse=True)[:3],
    }
    print(f"{args.clip}: cuts at {record['cuts']}, largest changes {record['largest_changes']}", flush=True)
    if not args.skip_warm:
        record["warm_against_cold"] = warm_against_cold(frames, args.preset)
    record["encodes"] = [
        encode_point(frames, fps, args.preset, q, cuts) for q in args.qualities for cuts in (False, True)
    ]
    args.output.write_text(json.dumps(json_clean(with_provenance(record)), indent=2) + "\n")


if __name__ == "__main__":
    main()
