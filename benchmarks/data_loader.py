"""Frames/s through a ``DataLoader``: ``ClipDataset`` over ``.actv`` files against H.264 mp4 through PyAV.

Makes a folder of clips (the built-in sample's pan at 144x176 from several
start offsets, 31 frames each), encodes each to ``.actv`` (the ``fast``
preset's model at width 36, a few fit steps: speed depends on the model's
shape, not its weights) and to H.264 mp4 (CRF 18, x264 medium, default GOP),
then reads every 8-frame clip at native size as uint8 ``[T, C, H, W]``
through a ``DataLoader`` with 0, 2 and 4 workers, rounds interleaved. With
0 workers the main process runs torch's default threads (one per core); each
worker runs one (DataLoader's rule), so on 2 cores workers add no cores; the
row ``workers -1`` is 0 workers on one thread, the baseline workers do beat.
The PyAV dataset seeks to each clip's first frame and decodes forward,
the usual way to read a clip from mp4. torchcodec was tried and does not
load here (its libraries need FFmpeg's shared libraries of its build); decord
(last released 2021) was not tried.

    python -m benchmarks.data_loader [--videos 4] [--rounds 2]

Writes ``benchmarks/results/data_loader.json``.
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

import av
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from benchmarks.common import RESULTS, run_record
from nvcodec import Config, QuantConfig, encode
from nvcodec.data import ClipDataset
from nvcodec.io import write_video
from nvcodec.sample import sample_clip

CLIP_FRAMES = 8


class PyAVClips(Dataset):
    """Non-overlapping clips of ``CLIP_FRAMES`` frames from mp4 files, decoded with PyAV per item."""

    def __init__(self, paths: list[Path], frames: int) -> None:
        self.items = [(p, s) for p in paths for s in range(0, frames - CLIP_FRAMES + 1, CLIP_FRAMES)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> torch.Tensor:
        path, start = self.items[index]
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            pts_per_frame = 1 / (stream.average_rate * stream.time_base)
            container.seek(int(start * pts_per_frame), stream=stream, backward=True)
            out = []
            for frame in container.decode(stream):
                index_in_video = round(frame.pts / pts_per_frame) if frame.pts is not None else len(out)
                if index_in_video < start:
                    continue
                out.append(frame.to_ndarray(format="rgb24"))
                if len(out) == CLIP_FRAMES:
                    break
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def frames_per_second(dataset: Dataset, workers: int) -> float:
    """Frames/s of one pass; ``workers = -1``: no workers and one torch thread in the main process."""
    threads = torch.get_num_threads()
    if workers < 0:
        torch.set_num_threads(1)
    try:
        return _pass(dataset, max(workers, 0))
    finally:
        torch.set_num_threads(threads)


def _pass(dataset: Dataset, workers: int) -> float:
    loader = DataLoader(dataset, batch_size=2, num_workers=workers, persistent_workers=False)
    started = time.perf_counter()
    frames = sum(batch.shape[0] * batch.shape[1] for batch in loader)
    return frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[0, 2, 4, -1],
        help="-1: no workers, one torch thread in the main process",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "data_loader.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        long = sample_clip(frames=args.frames + 10 * (args.videos - 1))
        actv, mp4 = [], []
        config = Config.preset("fast", hidden=36, iters=20, iters_warm=10, group_size=15, compile=False)
        for v in range(args.videos):
            clip = long[10 * v : 10 * v + args.frames]
            actv.append(folder / f"clip{v}.actv")
            encode(clip, actv[-1], config, QuantConfig(), fps=30)
            mp4.append(folder / f"clip{v}.mp4")
            write_video(mp4[-1], clip, fps=30, crf=18)
        datasets = {
            "actv": ClipDataset(actv, clip_frames=CLIP_FRAMES, dtype=torch.uint8),
            "pyav_h264": PyAVClips(mp4, args.frames),
        }
        assert len(datasets["actv"]) == len(datasets["pyav_h264"])
        for dataset in datasets.values():
            frames_per_second(dataset, 0)  # warm-up
        runs: dict[str, dict[int, list[float]]] = {k: {w: [] for w in args.workers} for k in datasets}
        for _ in range(args.rounds):
            for workers in args.workers:
                for key, dataset in datasets.items():
                    runs[key][workers].append(frames_per_second(dataset, workers))
    rows = []
    for key, by_workers in runs.items():
        base = statistics.median(by_workers[args.workers[0]])
        for workers, values in by_workers.items():
            median = statistics.median(values)
            rows.append(
                {"reader": key, "workers": workers, "fps_median": median, "fps_runs": values, "vs_first": median / base}
            )
            print(f"{key:>10} workers {workers}: {median:7.1f} frames/s ({median / base:.2f}x)", flush=True)
    record = {
        **run_record(),
        "benchmark": "data_loader",
        "videos": args.videos,
        "frames_per_video": args.frames,
        "clip_frames": CLIP_FRAMES,
        "clips": len(datasets["actv"]),
        "size": [144, 176],
        "torch_threads_main": torch.get_num_threads(),
        "rows": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
