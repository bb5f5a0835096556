"""A user's whole ``actv-encode`` run, timed from process start to exit, for two or more checkouts side by side.

Each checkout (a path: the repository, or a ``git worktree`` of an older
commit) runs its own ``nvcodec.cli.encode`` in a fresh process, on the same
bench clips written as y4m, with the same arguments (default:
``--preset fast``, the default quality). Rounds interleave the checkouts, so
load from other jobs hits each alike. What the tool prints (bytes, PSNR
against the input) is recorded with each run, since a later commit may
encode to another size and quality::

    git worktree add /tmp/start aabec33
    python -m benchmarks.encode_wall --checkouts /tmp/start . --clips carphone bikes --rounds 2

Writes ``benchmarks/results/encode_wall.json`` (each checkout's commit included).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.clips import load_clip
from benchmarks.common import RESULTS, command, machine
from benchmarks.results_io import with_provenance
from nvcodec.io import write_video

SUMMARY = re.compile(r"([\d,]+) bytes, ([\d.]+) bpp, PSNR vs input ([\d.]+) dB")
"""The tool's last line: ``... N bytes, B bpp, PSNR vs input P dB, S s``."""


def checkout_commit(path: Path) -> str | None:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True)
    return out.stdout.strip() or None


def run_encode(checkout: Path, clip: Path, output: Path, arguments: list[str]) -> dict:
    """One ``actv-encode`` of ``checkout``'s own code (its folder first on the import path), timed whole."""
    argv = ["actv-encode", str(clip), "-o", str(output), "-y", *arguments]
    code = f"import sys; from nvcodec.cli.encode import main; sys.argv = {argv!r}; sys.exit(main())"
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=checkout, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(f"{checkout}: actv-encode failed: {done.stderr.strip().splitlines()[-1:]}")
    found = SUMMARY.search(done.stdout + done.stderr)
    return {
        "wall_seconds": seconds,
        "file_bytes": output.stat().st_size,
        "psnr": float(found.group(3)) if found else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", nargs="+", type=Path, required=True)
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--arguments", default="--preset fast", help="actv-encode arguments (one string)")
    parser.add_argument("--output", type=Path, default=RESULTS / "encode_wall.json")
    args = parser.parse_args()
    checkouts = [path.resolve() for path in args.checkouts]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {}
        for name in args.clips:
            frames, fps = load_clip(name)
            inputs[name] = Path(tmp) / f"{name}.y4m"
            write_video(inputs[name], frames, fps)
        for round_ in range(1, args.rounds + 1):
            for name in args.clips:
                for index, checkout in enumerate(checkouts):
                    out = Path(tmp) / f"out{index}.actv"
                    row = {"round": round_, "clip": name, "checkout": index,
                           **run_encode(checkout, inputs[name], out, args.arguments.split())}  # fmt: skip
                    runs.append(row)
                    print(f"round {round_} {name} checkout {index}: {row['wall_seconds']:.1f} s, "
                          f"{row['file_bytes']:,} bytes, {row['psnr']} dB", flush=True)  # fmt: skip
    ratios = {}
    for name in args.clips:
        means = [statistics.mean(r["wall_seconds"] for r in runs if r["clip"] == name and r["checkout"] == i)
                 for i in range(len(checkouts))]  # fmt: skip
        ratios[name] = [mean / means[0] for mean in means]
        print(f"{name}: mean wall time " + ", ".join(f"{m:.1f} s" for m in means)
              + "; against the first checkout " + ", ".join(f"{r:.2f}x" for r in ratios[name]))  # fmt: skip
    record = {
        "machine": machine(),
        "command": command(),
        "checkouts": [{"index": i, "commit": checkout_commit(p)} for i, p in enumerate(checkouts)],
        "arguments": args.arguments,
        "runs": runs,
        "mean_ratio_to_first": ratios,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(with_provenance(record), indent=2) + "\n")


if __name__ == "__main__":
    main()
