"""Batched decode: ``VideoReader.frames_at`` of a whole group against a loop of per-frame calls.

Encodes a 176x144 clip (the built-in sample's pan, 31 frames, the ``fast``
preset's model at width 36 and 48, few fit steps: weights do not change the
speed, their shapes do), then renders every frame of one 15-frame group at
native size (and at 2x) three ways, interleaved round by round so load from
other jobs hits each alike:

- ``loop_before``: what ``frame(t)`` did before batching, ``GroupModel.render(t)`` per frame;
- ``loop_frame``: ``reader.frame(t)`` per frame today (the in-place path, one time per pass);
- ``frames_at``: ``reader.frames_at(times)``, one batched pass for the group.

    python -m benchmarks.frames_at [--rounds 5] [--threads 2]

Writes ``benchmarks/results/frames_at.json``.
"""

from __future__ import annotations

import nvcodec.cli  # noqa: F401 - first, as the tools do: OpenMP threads spin briefly, set before torch loads

# isort: split
import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.common import RESULTS, run_record
from nvcodec import Config, QuantConfig, VideoReader, encode
from nvcodec.sample import sample_clip


def encode_sample(folder: Path, hidden: int, frames: int = 31) -> Path:
    """The built-in clip's first ``frames`` frames, encoded quickly at ``hidden`` width (fixed 8-bit depths)."""
    path = folder / f"sample_h{hidden}.actv"
    if not path.exists():
        clip = sample_clip(frames=frames)
        config = Config.preset("fast", hidden=hidden, iters=30, iters_warm=20, group_size=15, compile=False)
        encode(clip, path, config, QuantConfig(), fps=30)
    return path


def _finish(frames: torch.Tensor):
    return torch.round(frames * 255).to(torch.uint8).cpu().numpy()


def measure(reader: VideoReader, size: tuple[int, int], rounds: int) -> dict[str, dict[str, object]]:
    group = reader.group(1)
    times = [float(t) for t in range(group.start, group.end)]  # the 15 frames group 1 owns
    ways = {
        "loop_before": lambda: [_finish(group.render(t, size)) for t in times],
        "loop_frame": lambda: [reader.frame(t, size) for t in times],
        "frames_at": lambda: reader.frames_at(times, size),
    }
    runs: dict[str, list[float]] = {name: [] for name in ways}
    with torch.no_grad():
        for way in ways.values():
            way()  # warm-up: pixel plans, allocator
        for _ in range(rounds):
            for name, way in ways.items():
                started = time.perf_counter()
                way()
                runs[name].append(len(times) / (time.perf_counter() - started))
    # The best round is the least disturbed by other jobs on a shared machine; the median is kept beside it.
    out = {name: {"fps_best": max(v), "fps_median": statistics.median(v), "fps_runs": v} for name, v in runs.items()}
    for name in ("loop_before", "loop_frame"):
        for key in ("fps_best", "fps_median"):
            out[name][f"frames_at_speedup_{key.removeprefix('fps_')}"] = out["frames_at"][key] / out[name][key]  # type: ignore[operator]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--widths", type=int, nargs="+", default=[36, 48])
    parser.add_argument("--output", type=Path, default=RESULTS / "frames_at.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for hidden in args.widths:
            path = encode_sample(Path(folder), hidden)
            with VideoReader(path) as reader:
                for label, size in (
                    ("native", (reader.height, reader.width)),
                    ("2x", (2 * reader.height, 2 * reader.width)),
                ):
                    result = measure(reader, size, args.rounds)
                    rows.append({"hidden": hidden, "size": label, "height": size[0], "width": size[1], **result})
                    print(
                        f"width {hidden} {label:>6}: "
                        + ", ".join(f"{k} {v['fps_best']:.1f} frames/s" for k, v in result.items())
                        + f" (best of {args.rounds}); frames_at / loop_before "
                        + f"{result['loop_before']['frames_at_speedup_best']:.2f}x best, "
                        + f"{result['loop_before']['frames_at_speedup_median']:.2f}x median",
                        flush=True,
                    )
    record = {**run_record(), "benchmark": "frames_at", "threads": args.threads, "group_frames": 15, "rows": rows}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
