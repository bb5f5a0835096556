"""What a decoded pixel costs: multiply-accumulates per output pixel (the field's kMAC/pixel) and CPU frames/s.

For each input size, one group of the encoder's model (the fast preset at the
widths given; weights do not change the cost) renders frames through
``GroupModel.render_frames``, the batched decode ``VideoReader.frames_at``
uses, at the native size and at 4x. The MACs are counted by torch's
``FlopCounterMode`` over the whole render (every matmul of both networks:
the frame INR of every patch that covers a pixel, blending bands included, and
the bias INR), halved (two flops a MAC) and divided by the output pixels.
The elementwise activation is not a MAC and not counted, though on CPU it is
most of the time (``benchmarks/results/README.md``, "frames_at").

    python -m benchmarks.decode_cost
    python -m benchmarks.decode_cost --sizes 176x144 --widths 36 48 64
    python -m benchmarks.decode_cost --sizes 176x144 --widths 24 36 --scales 1 --grid-levels 4 \
        --output benchmarks/results/decode_cost_grids.json
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.common import RESULTS
from benchmarks.results_io import with_provenance, write_json
from nvcodec.config import Config
from nvcodec.model.group import GroupModel
from nvcodec.recipe.shape import with_patch
from nvcodec.tiling import PatchGrid

GROUP_FRAMES = 15
"""Frames of the group (the default quality's group length)."""


def parse_size(text: str) -> tuple[int, int]:
    width, height = (int(part) for part in text.lower().split("x"))
    return height, width


def model_for(height: int, width: int, hidden: int, grid_levels: int = 0, patch: int | None = None) -> GroupModel:
    config = Config.preset("fast", hidden=hidden, grid_levels=grid_levels)
    if patch is not None:
        config = dataclasses.replace(config, model=with_patch(config.model, patch))
    grid = PatchGrid.build(height, width, config.model.patch, config.model.overlap)
    return GroupModel(grid, config.model, 0, GROUP_FRAMES, torch.Generator().manual_seed(0)).eval()


def macs_per_pixel(model: GroupModel, size: tuple[int, int], frames: int) -> float:
    """Matmul multiply-accumulates of rendering ``frames`` frames at ``size``, per output pixel."""
    times = torch.linspace(0, GROUP_FRAMES, frames)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.render_frames(times, size)
    return counter.get_total_flops() / 2 / (frames * size[0] * size[1])


def frames_per_second(model: GroupModel, size: tuple[int, int], frames: int, budget: float) -> tuple[float, int]:
    """Frames/s of batched renders of ``frames`` times at ``size``, repeated while under ``budget`` seconds."""
    times = torch.linspace(0, GROUP_FRAMES, frames)
    rates = []
    spent = 0.0
    while not rates or spent < budget:
        with torch.no_grad():
            started = time.perf_counter()
            model.render_frames(times, size)
            seconds = time.perf_counter() - started
        rates.append(frames / seconds)
        spent += seconds
    return statistics.median(rates), len(rates)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["176x144", "640x360", "1920x1080"], help="input WxH")
    parser.add_argument("--widths", type=int, nargs="+", default=[36, 48], help="frame-INR widths (--hidden)")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4], help="output size over input size")
    parser.add_argument(
        "--grid-levels",
        type=int,
        default=0,
        help="latent grid levels (their bilinear sampling, 4 MACs a level and patch per pixel, is not a matmul "
        "and not counted; their widening of the first layer is)",
    )
    parser.add_argument(
        "--patch", type=int, help="patch side in pixels, overlap as the encoder gives it (default: the preset's)"
    )
    parser.add_argument("--budget", type=float, default=3.0, help="seconds of rendering per measurement (at least one)")
    parser.add_argument("--max-pixels", type=float, default=4e6, help="fewer frames per render above this many pixels")
    parser.add_argument("--output", type=Path, default=RESULTS / "decode_cost.json")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    rows = []
    for text in args.sizes:
        height, width = parse_size(text)
        for hidden in args.widths:
            model = model_for(height, width, hidden, args.grid_levels, args.patch)
            for scale in args.scales:
                size = (scale * height, scale * width)
                frames = max(1, min(GROUP_FRAMES, int(args.max_pixels // (size[0] * size[1]))))
                macs = macs_per_pixel(model, size, 1)
                fps, rounds = frames_per_second(model, size, frames, args.budget)
                row = {
                    "input": f"{width}x{height}",
                    "output": f"{size[1]}x{size[0]}",
                    "hidden": hidden,
                    "grid_levels": args.grid_levels,
                    "patch": max(model.grid.rows.size, model.grid.cols.size),
                    "patches": model.grid.num_patches,
                    "kmac_per_pixel": macs / 1e3,
                    "frames_per_second": fps,
                    "mpixel_per_second": fps * size[0] * size[1] / 1e6,
                    "frames_per_render": frames,
                    "renders": rounds,
                }
                rows.append(row)
                print(
                    f"{row['input']:>9} -> {row['output']:>9}, width {hidden}: {row['kmac_per_pixel']:6.2f} kMAC/pixel, "
                    f"{fps:8.2f} frames/s ({row['mpixel_per_second']:.2f} Mpixel/s)",
                    flush=True,
                )
    record = with_provenance(
        {
            "benchmark": "decode_cost",
            "device": "cpu",
            "threads": torch.get_num_threads(),
            "preset": "fast",
            "group_frames": GROUP_FRAMES,
            "rows": rows,
        }
    )
    write_json(args.output, record)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
