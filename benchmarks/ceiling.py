"""Why the top of the RD curve is flat: whole encodes at a high quality, one lever changed at a time.

From Q 30 to Q 36 bikes and motion gain 0.1-0.2 dB for 15% more bits. The
candidates are the fit's length, the model's width, the latent path, the
learning-rate schedule and the mini-batch's noise; each variant changes one.
Besides the decoded PSNR, each point records the mini-batch PSNR at the end
of each group's fit (``fit_psnr``), so a lever that lifts the fit but not
the file shows as a gap between the two. Run::

    python -m benchmarks.ceiling --clips carphone bikes --qualities 36 \\
        --variants base iters_scale=2 hidden=96 batch_pixels=16384 grid_levels=4 lr_final_factor=0.003

A variant is ``FIELD=VALUE[,FIELD=VALUE...]`` (:mod:`benchmarks.variants`). Writes
``benchmarks/results/ceiling.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.clips import load_clip
from benchmarks.common import run_record
from benchmarks.results_io import RESULTS, write_json
from benchmarks.variants import encode_variant, parse_variant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes"])
    parser.add_argument("--qualities", nargs="+", type=float, default=[36.0])
    parser.add_argument("--variants", nargs="+", default=["base", "iters_scale=2"])
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--output", type=Path, default=RESULTS / "ceiling.json")
    args = parser.parse_args()
    variants = {text: parse_variant(text) for text in args.variants}  # bad ones fail before any encode
    points = []
    for clip in args.clips:
        frames, fps = load_clip(clip, args.frames)
        for quality_ in args.qualities:
            for text, overrides in variants.items():
                point = {"clip": clip, "label": text, **encode_variant(frames, fps, quality_, overrides, args.preset)}
                points.append(point)
                fit = sum(point["fit_psnr"]) / len(point["fit_psnr"])
                print(
                    f"{clip} Q{quality_:g} {text}: {point['bpp']:.4f} bpp, {point['psnr_rgb']:.2f} dB "
                    f"(fit {fit:.2f}), {point['encode_seconds']:.0f} s",
                    flush=True,
                )
                write_json(args.output, {**run_record(), "points": points})


if __name__ == "__main__":
    main()
