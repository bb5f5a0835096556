"""Decode throughput of ``render`` against the chunk size (pixel evaluations per chunk).

Builds one carphone-sized group model (weights do not affect speed) and
renders frames at native size and at 4x with each chunk size, interleaved
round by round so drift on a shared machine hits every setting alike.

    python -m benchmarks.render_speed

Writes ``benchmarks/results/render_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

import nvcodec.model.group as group_module
from benchmarks.common import RESULTS, command, machine
from benchmarks.results_io import with_provenance
from nvcodec.config import Config
from nvcodec.model.group import GroupModel
from nvcodec.tiling import PatchGrid


def frames_per_second(model: GroupModel, size: tuple[int, int], frames: int) -> float:
    with torch.no_grad():
        started = time.perf_counter()
        for t in range(frames):
            model.render(t * 0.37, size)
    return frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, nargs="+", default=[1 << 14, 1 << 16, 1 << 18, 1 << 21])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--height", type=int, default=144)
    parser.add_argument("--width", type=int, default=176)
    args = parser.parse_args()
    config = Config()
    grid = PatchGrid.build(args.height, args.width, config.model.patch, config.model.overlap)
    model = GroupModel(grid, config.model, 0, 10, torch.Generator().manual_seed(0)).eval()
    sizes = {"native": (args.height, args.width), "4x": (4 * args.height, 4 * args.width)}
    counts = {"native": 20, "4x": 3}
    for size in sizes.values():
        frames_per_second(model, size, 1)  # warm-up and pixel plans
    results: dict[str, dict[int, list[float]]] = {name: {c: [] for c in args.chunks} for name in sizes}
    for _ in range(args.rounds):
        for chunk in args.chunks:
            group_module.RENDER_CHUNK_POINTS["cpu"] = chunk
            for name, size in sizes.items():
                results[name][chunk].append(frames_per_second(model, size, counts[name]))
    rows = []
    for name, by_chunk in results.items():
        for chunk, values in by_chunk.items():
            median = statistics.median(values)
            rows.append({"size": name, "chunk_points": chunk, "fps_median": median, "fps_runs": values})
            mpix = median * sizes[name][0] * sizes[name][1] / 1e6
            print(f"{name:>6} chunk {chunk:>8}: {median:7.2f} frames/s ({mpix:.2f} Mpixel/s)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"benchmark": "render_speed", "rows": rows, "machine": machine(), "command": command()}
    (RESULTS / "render_speed.json").write_text(json.dumps(with_provenance(out), indent=2))


if __name__ == "__main__":
    main()
