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
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.clips import load_clip
from benchmarks.common import run_record
from benchmarks.rd_metrics import quality
from benchmarks.results_io import RESULTS, write_json
from nvcodec import Config, QuantConfig, VideoReader
from nvcodec.encoder import encode
from nvcodec.options import EncodeOptions
from nvcodec.recipe.quality import RateTrade, config_for_quality
from nvcodec.recipe.shape import Given
from nvcodec.recipe.trials import with_width


def parse_variant(text: str) -> dict[str, int]:
    parts = [int(p) for p in text.split(":")]
    out = {"grid_levels": parts[0]}
    if len(parts) > 1:
        out["grid_cell"] = parts[1]
    if len(parts) > 2:
        out["hidden"] = parts[2]
    return out


def encode_point(frames: np.ndarray, fps: float, quality_: float, variant: dict[str, int], preset: str) -> dict:
    base = Config.preset(preset, device="auto")
    if "hidden" in variant:
        base = with_width(base, variant["hidden"])
    started = time.perf_counter()
    config, choice = config_for_quality(base, RateTrade.for_quality(quality_), frames, Given(width="hidden" in variant))
    grids = {k: v for k, v in variant.items() if k.startswith("grid_")}
    config = Config(dataclasses.replace(config.model, **grids), config.fit)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.actv"
        stats = encode(frames, path, config, QuantConfig(), fps=fps, options=EncodeOptions(quality=quality_))
        seconds = time.perf_counter() - started
        began = time.perf_counter()
        with VideoReader(path) as reader:
            decoded = np.stack([reader.frame(t) for t in range(frames.shape[0])])
        decode_fps = frames.shape[0] / (time.perf_counter() - began)
        size = path.stat().st_size
    t, h, w, _ = frames.shape
    point = {
        "quality": quality_,
        "variant": variant,
        "hidden": config.model.hidden,
        "group_size": config.fit.group_size,
        "file_bytes": size,
        "bpp": 8 * size / (t * h * w),
        **quality(frames, decoded),
        "encode_seconds": seconds,
        "width_trial_seconds": choice.seconds,
        "decode_fps": decode_fps,
        "coded_bits": stats.coded_bits,
    }
    return point


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
                point = {"clip": clip, **encode_point(frames, fps, quality_, parse_variant(text), args.preset)}
                points.append(point)
                print(
                    f"{clip} Q{quality_:g} grids {text}: {point['bpp']:.4f} bpp, {point['psnr_rgb']:.2f} dB, "
                    f"{point['encode_seconds']:.0f} s, decode {point['decode_fps']:.0f} fps",
                    flush=True,
                )
                write_json(args.output, {**run_record(), "points": points})


if __name__ == "__main__":
    main()
