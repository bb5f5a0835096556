"""Which group length pays at which quality: the sweep behind ``nvcodec.quant.policy.group_size_for_quality``.

Every group pays once for its frame INR and bias INR, so the group length is
a rate-distortion choice like the width. Each point is a whole encode at the
width ``actv-encode --quality Q`` picks, with groups of the given length and
the preset's fit steps scaled to stay the same per frame
(:func:`~nvcodec.quant.policy.with_group_length`), so the lengths compare at
about equal encode time. The length with the least J = MSE + lambda * bpp at a
quality is the one the trade asks for there. The JSON is rewritten after
every point, so an interrupted run keeps what it measured.

    python -m benchmarks.group_quality                     # carphone and bikes; about 15 minutes
    python -m benchmarks.group_quality --clips bunny motion --output benchmarks/results/group_quality_2.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from benchmarks.clips import load_clip
from benchmarks.common import RESULTS, command, json_clean, machine
from benchmarks.width_quality import encode_point, least_cost
from nvcodec import Config
from nvcodec.quant.policy import width_for_quality, with_group_length


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes"])
    parser.add_argument("--group-sizes", nargs="+", type=int, default=[10, 15, 30])
    parser.add_argument("--qualities", nargs="+", type=float, default=[18.0, 24.0, 30.0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--output", type=Path, default=RESULTS / "group_quality.json")
    args = parser.parse_args()
    points: list[dict] = []
    for clip in args.clips:
        frames, fps = load_clip(clip, args.frames)
        for quality in args.qualities:
            for size in args.group_sizes:
                config = Config.preset(args.preset, hidden=width_for_quality(quality))
                config = dataclasses.replace(config, fit=with_group_length(config.fit, size))
                point = {"clip": clip, **encode_point(frames, fps, config, quality)}
                points.append(point)
                print(
                    f"{clip} Q {quality:g} groups of {size} ({point['iters']}/{point['iters_warm']} steps): "
                    f"{point['bpp']:.4f} bpp, {point['psnr']:.2f} dB, J {point['cost']:.3e}, "
                    f"{point['encode_seconds']:.0f} s",
                    flush=True,
                )
                record = {
                    "machine": machine(),
                    "command": command(),
                    "preset": args.preset,
                    "points": points,
                    "best_group_size": least_cost(points, "group_size"),
                }
                args.output.write_text(json.dumps(json_clean(record), indent=2) + "\n")
    print(json.dumps(least_cost(points, "group_size")))


if __name__ == "__main__":
    main()
