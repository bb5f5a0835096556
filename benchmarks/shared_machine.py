"""Encodes sharing a machine: N ``actv-encode`` runs started at once, each against its time alone.

Each round starts ``N`` identical encodes of the same input together (whole
processes, as a user would run them) and records every one's wall time; the
slowdown of a run is its time over the median time of one encode alone in the
same mode. Two modes, in one run of this script:

- ``share``: the tools' default, each process on its share of the cores
  (:mod:`nvcodec.threads`);
- ``all``: ``--threads <cores>``, every process on one thread per core, as the
  tools ran before the share (torch's default).

Sharing two cores between N encodes should cost about N times, not 10-30.

    python -m benchmarks.shared_machine                      # the sample clip, 12 frames, N = 1, 2, 4
    python -m benchmarks.shared_machine --counts 1 2 --modes share --frames 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import RESULTS
from benchmarks.results_io import with_provenance, write_json
from nvcodec.threads import usable_cores

MODES = ("share", "all")


def encode_command(output: Path, frames: int, mode: str, extra: list[str]) -> list[str]:
    command = [sys.executable, "-m", "nvcodec.cli.encode", "--sample", "--frames", str(frames), "-o", str(output)]
    command += ["-y", "-q", "--preset", "fast", *extra]
    if mode == "all":
        command += ["--threads", str(usable_cores())]
    return command


def run_together(count: int, frames: int, mode: str, extra: list[str], timeout: float) -> list[float | None]:
    """Wall seconds of ``count`` encodes started at once (None: still running after ``timeout``)."""
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        processes = [
            subprocess.Popen(encode_command(Path(folder) / f"{i}.actv", frames, mode, extra)) for i in range(count)
        ]
        seconds: list[float | None] = [None] * count
        while any(s is None for s in seconds) and time.perf_counter() - started < timeout:
            for i, process in enumerate(processes):
                if seconds[i] is None and process.poll() is not None:
                    if process.returncode != 0:
                        raise SystemExit(f"an encode failed with exit status {process.returncode}")
                    seconds[i] = time.perf_counter() - started
            time.sleep(0.05)
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4], help="encodes started at once")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--frames", type=int, default=12, help="frames of the sample clip to encode")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before a round is given up")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more actv-encode options")
    parser.add_argument("--output", type=Path, default=RESULTS / "shared_machine.json")
    args = parser.parse_args(argv)
    counts = sorted(set(args.counts) | {1})
    rows = []
    for mode in args.modes:
        alone: list[float] = []
        for count in counts:
            for _ in range(args.rounds):
                seconds = run_together(count, args.frames, mode, args.extra, args.timeout)
                if count == 1 and seconds[0] is not None:
                    alone.append(seconds[0])
                rows.append({"mode": mode, "count": count, "seconds": seconds})
                shown = ", ".join("timed out" if s is None else f"{s:.1f}" for s in seconds)
                print(f"{mode:5s} x{count}: {shown} s", flush=True)
        base = statistics.median(alone) if alone else None
        for row in rows:
            if row["mode"] == mode and base:
                done = [s for s in row["seconds"] if s is not None]
                row["alone_seconds"] = base
                finished = len(done) == len(row["seconds"])
                row["slowdown_max"] = max(done) / base if finished else None
                if not finished:  # given up at the timeout: slower than this, by how much is unknown
                    row["slowdown_at_least"] = args.timeout / base
    record = with_provenance(
        {
            "benchmark": "shared_machine",
            "input": f"the sample clip, {args.frames} frames, --preset fast, default quality",
            "cores": usable_cores(),
            "extra": args.extra,
            "rows": rows,
        }
    )
    write_json(args.output, record)
    for row in rows:
        slow = row.get("slowdown_max")
        shown = f"{slow:.2f}x" if slow is not None else f"more than {row.get('slowdown_at_least', 0):.1f}x"
        print(f"{row['mode']:5s} x{row['count']}: slowest {shown} alone")
    print(f"wrote {os.path.relpath(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
