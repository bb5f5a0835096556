"""The README's main job, timed: ``actv-encode --sample`` then ``actv-decode`` to mp4.

Runs the two tools through their ``main(argv)`` exactly as a user types them,
then measures the decoded file against the generated clip and times decoding
through ``VideoReader`` at native size and at 4x.

    python -m benchmarks.sample_job                  # preset fast, about 2-3 minutes on 2 CPU cores

Writes ``benchmarks/results/sample_job.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS, command, machine
from benchmarks.results_io import with_provenance
from nvcodec.cli import decode as decode_cli
from nvcodec.cli import encode as encode_cli
from nvcodec.metrics import psnr
from nvcodec.reader import VideoReader
from nvcodec.sample import sample_clip


def decode_rate(path: Path, scale: int, frames: int) -> float:
    """Frames per second of ``VideoReader.frame`` over the first ``frames`` frames (after one warm-up frame)."""
    with VideoReader(path) as reader:
        size = (reader.height * scale, reader.width * scale)
        reader.frame(0, size=size)
        started = time.perf_counter()
        for t in range(frames):
            reader.frame(t, size=size)
        return frames / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--output", type=Path, default=RESULTS / "sample_job.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        actv, mp4 = Path(tmp) / "sample.actv", Path(tmp) / "sample.mp4"
        started = time.perf_counter()
        if encode_cli.main(["--sample", "-o", str(actv), "--preset", args.preset, "-q"]) != 0:
            raise SystemExit("actv-encode failed")
        encode_seconds = time.perf_counter() - started
        started = time.perf_counter()
        if decode_cli.main([str(actv), "-o", str(mp4), "-q"]) != 0:
            raise SystemExit("actv-decode failed")
        decode_seconds = time.perf_counter() - started
        clip = sample_clip()
        with VideoReader(actv) as reader:
            decoded = reader[:].astype(np.float32) / 255
        count, height, width = clip.shape[:3]
        size = actv.stat().st_size
        row = {
            "preset": args.preset,
            "frames": count,
            "width": width,
            "height": height,
            "file_bytes": size,
            "bpp": 8 * size / (count * height * width),
            "psnr_db": psnr(decoded, clip),
            "encode_seconds": encode_seconds,
            "decode_to_mp4_seconds": decode_seconds,
            "decode_fps_native": decode_rate(actv, 1, count),
            "decode_fps_4x": decode_rate(actv, 4, 8),
        }
    print(
        f"sample ({args.preset}): {count} frames {width}x{height}, {row['file_bytes']:,} bytes, {row['bpp']:.3f} bpp, "
        f"{row['psnr_db']:.2f} dB; encode {encode_seconds:.0f} s, decode to mp4 {decode_seconds:.1f} s, "
        f"{row['decode_fps_native']:.1f} fps native, {row['decode_fps_4x']:.2f} fps at 4x"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(with_provenance({"machine": machine(), "command": command(), "result": row}), indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
