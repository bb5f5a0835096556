"""Latent grids against the grid-free model: rate, PSNR and time of whole encodes, variant by variant.

Each point is ``actv-encode --preset fast --quality Q`` as the RD benchmark's
``nvcodec`` system runs it (the width and group length ``--quality`` picks,
the trial fits included), with the model's latent grid settings replaced by
the variant's, decoded through ``VideoReader``. Run::

    python -m benchmarks.latent_grids --clips carphone bikes --qualities 24 30 \\
        --variants 0 4:4 4:8

A variant is ``LEVELS[:CELL[:HIDDEN]]`` (``0``: no grids, the encoder before
them; ``HIDDEN`` replaces the width ``--quality`` picks). Writes
``benchmarks/results/latent_grids.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.clips import load_clip
from benchmarks.common import run_record
from benchmarks.results_io import RESULTS, write_json
from benchmarks.variants import encode_variant


def parse_variant(text: str) -> dict[str, int]:
    """``LEVELS[:CELL[:HIDDEN]]`` -> the config overrides of :mod:`benchmarks.variants`."""
    parts = [int(p) for p in text.split(":")]
    names = ("grid_levels", "grid_cell", "hidden")
    return dict(zip(names, parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="+", default=["carphone"])
    parser.add_argument("--qualities", nargs="+", type=float, default=[24.0, 30.0])
    parser.add_argument("--variants", nargs="+", default=["0", "4:4"])
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--output", type=Path, default=RESULTS / "latent_grids.json")
    args = parser.parse_args()
    points = []
    for clip in args.clips:
        frames, fps = load_clip(clip, args.frames)
        for quality_ in args.qualities:
            for text in args.variants:
                point = {"clip": clip, **encode_variant(frames, fps, quality_, parse_variant(text), args.preset)}
                points.append(point)
                print(
                    f"{clip} Q{quality_:g} grids {text}: {point['bpp']:.4f} bpp, {point['psnr_rgb']:.2f} dB, "
                    f"{point['encode_seconds']:.0f} s, decode {point['decode_fps']:.0f} fps",
                    flush=True,
                )
                write_json(args.output, {**run_record(), "points": points})


if __name__ == "__main__":
    main()
