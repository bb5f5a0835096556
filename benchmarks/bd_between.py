"""BD-rate and BD-PSNR of one run of a system against another run of it (two result folders).

For a change that moves one system's whole curve: the quality ladder after the change against the
ladder before, clip by clip, on RGB PSNR with the Pareto fronts ``benchmarks/rd.py`` uses::

    python -m benchmarks.bd_between benchmarks/results/rd_rate benchmarks/results/grids/rd_rate \\
        --system nvcodec --clips carphone bikes bunny motion --output benchmarks/results/grids/bd_before.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.common import run_record
from benchmarks.rd_metrics import bd_metric, bd_rate
from benchmarks.results_io import read_result, write_json


def curve(folder: Path, clip: str, system: str) -> tuple[list[float], list[float]]:
    points = read_result(folder / clip / f"{system}.json").points
    return [p["bpp"] for p in points], [p["psnr_rgb"] for p in points]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="result folder of the anchor run (<folder>/<clip>/<system>.json)")
    parser.add_argument("after", type=Path, help="result folder of the test run")
    parser.add_argument("--system", default="nvcodec")
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes", "bunny", "motion"])
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    rows = {}
    for clip in args.clips:
        anchor, test = curve(args.before, clip, args.system), curve(args.after, clip, args.system)
        rate, psnr = bd_rate(*anchor, *test, pareto=True), bd_metric(*anchor, *test, pareto=True)
        rows[clip] = {"bd_rate_percent": rate.value, "bd_rate_note": rate.reason, "bd_psnr_db": psnr.value}
        print(
            f"{clip}: BD-rate {rate.value:+.1f}%, BD-PSNR {psnr.value:+.2f} dB"
            + (f" ({rate.reason})" if rate.reason else "")
        )
    if args.output:
        write_json(args.output, {**run_record(), "before": str(args.before), "after": str(args.after), "clips": rows})


if __name__ == "__main__":
    main()
