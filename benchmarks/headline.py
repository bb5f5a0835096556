"""Today's headline figures, generated from the result JSON into the top of ``benchmarks/results/README.md``.

    python -m benchmarks.headline            # rewrite the block between the markers in the README
    python -m benchmarks.headline --check    # exit 1 if the README's block is not what the JSON gives
    python -m benchmarks.headline --print    # print the table only

The block between :data:`START` and :data:`END` is replaced whole; nothing
else in the README is touched. Sources, each a current result (older runs
live under ``benchmarks/results/archive/``):

- rate-distortion: ``rd_rate/<clip>/<system>.json``, BD-rate (on RGB PSNR) and
  BD-PSNR of ``nvcodec`` against each system of :data:`RD_AGAINST`, computed by
  :func:`benchmarks.rd.bd_tables` (Pareto fronts, as ``bd.md``);
- fit and decode speed on CPU: ``sample_job.json``;
- GPU: ``gpu_check.json`` (fit steps/s, decode frames/s at 1080p) and
  ``sample_job_gpu.json``.

Every figure names its file and the commit in it (``commit``, or for files
written before commits were recorded, ``commit_recorded_after``: the commit
that stored the file, made after the run).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS
from benchmarks.rd import bd_tables
from benchmarks.results_io import read_results, result_clips

START = "<!-- headline:start -->"
END = "<!-- headline:end -->"
RD_RUN = "rd_rate"
RD_SYSTEM = "nvcodec"
RD_AGAINST = {
    "nvcodec-depths": "old encoder (fixed depths)",
    "hnerv": "HNeRV (equal time)",
    "x264-medium": "x264 medium",
    "x265-medium": "x265 medium",
}
"""Anchors of the RD table, by system name, with their column titles."""


def _short(commit: str | None) -> str:
    return commit[:7] if commit else "?"


def _commit_of(data: dict[str, Any]) -> str:
    """How a result names its commit: ``abc1234``, ``after abc1234`` (backfilled), or ``no commit``."""
    if data.get("commit"):
        return _short(data["commit"]) + (", dirty" if data.get("dirty") else "")
    if data.get("commit_recorded_after"):
        return f"recorded after {_short(data['commit_recorded_after'])}"
    return "no commit"


def _load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "—"
    rate, psnr = row["bd_rate_percent"], row["bd_psnr_db"]
    text = f"n/a: {row['bd_rate_note']}" if rate is None or math.isnan(rate) else f"{rate:+.1f}%"
    if psnr is not None and not math.isnan(psnr):
        text += f" ({psnr:+.2f} dB)"
    return text


def rd_table(results: Path = RESULTS) -> list[str]:
    """Markdown lines: one row per clip of ``rd_rate/``, BD-rate (BD-PSNR) of nvcodec against each anchor."""
    folder = results / RD_RUN
    clips = result_clips(folder)
    if not clips:
        return []
    table = bd_tables(clips, folder, anchors=tuple(RD_AGAINST))
    commits = sorted({_commit_of(_load(r.path) or {}) for c in clips for r in read_results(c, folder).values()})
    lines = [
        f"Rate–distortion of `{RD_SYSTEM}` (quality ladder) on `{RD_RUN}/`: BD-rate on RGB PSNR "
        f"(negative: fewer bytes for the same quality) and BD-PSNR, against",
        "",
        "| clip | " + " | ".join(RD_AGAINST.values()) + " |",
        "|---|" + "---|" * len(RD_AGAINST),
    ]
    for clip in clips:
        rows = [table.get(clip, {}).get(anchor, {}).get(RD_SYSTEM) for anchor in RD_AGAINST]
        lines.append(f"| {clip} | " + " | ".join(_cell(r) for r in rows) + " |")
    lines += ["", f"Source: `{RD_RUN}/<clip>/<system>.json` ({', '.join(commits)}).", ""]
    return lines


def _machine(data: dict[str, Any]) -> str:
    m = data.get("machine") or {}
    if m.get("cuda"):
        return m["cuda"]
    return f"{m.get('cpu', '?')}, {m.get('cores_available', '?')} cores"


def speed_rows(results: Path = RESULTS) -> list[str]:
    """Markdown rows (figure | value | machine | source) for fit and decode speed on CPU and GPU."""
    rows: list[str] = []

    def add(name: str, figure: str, value: str, data: dict[str, Any]) -> None:
        rows.append(f"| {figure} | {value} | {_machine(data)} | `{name}` ({_commit_of(data)}) |")

    for name in ("sample_job.json", "sample_job_gpu.json"):
        data = _load(results / name)
        if data is None or "result" not in data:
            continue
        r = data["result"]
        clip = f"{r['frames']} frames {r['width']}×{r['height']}, `{r['preset']}`"
        add(name, f"Encode (fit + code), {clip}", f"{r['encode_seconds']:.0f} s", data)
        add(name, "Decode, frames/s native / 4×", f"{r['decode_fps_native']:.0f} / {r['decode_fps_4x']:.1f}", data)
    data = _load(results / "gpu_check.json")
    if data is not None:
        parts = data.get("parts", {})
        fits = [
            p["result"]
            for key, p in parts.items()
            if key.startswith("fit_") and "steps_per_second" in p.get("result", {})
        ]
        if fits:
            best = max(fits, key=lambda f: f["steps_per_second"])
            how = f"{best['precision']}{', compiled' if best.get('compile') else ''}"
            add("gpu_check.json", f"Fit steps/s at {data.get('size', '?')} (best: {how})",
                f"{best['steps_per_second']:.0f}", data)  # fmt: skip
        decode = parts.get("decode", {}).get("result", {})
        if "native" in decode:
            value = f"{decode['native']['fps']:.0f} at {decode['native']['size']}"
            if "4x_of_360p" in decode:
                value += f" / {decode['4x_of_360p']['fps']:.0f} at {decode['4x_of_360p']['size']}"
            add("gpu_check.json", "Decode, frames/s", value, data)
    if not rows:
        return []
    return ["| figure | value | machine | source |", "|---|---|---|---|", *rows, ""]


def table(results: Path = RESULTS) -> str:
    """The whole generated block (without the markers)."""
    lines = [
        "## Today's headline figures",
        "",
        "_Generated from the JSON by `python -m benchmarks.headline`; do not edit by hand._",
        "",
        *rd_table(results),
        *speed_rows(results),
    ]
    return "\n".join(lines).rstrip("\n")


def rewrite(readme: Path, block: str) -> bool:
    """Put ``block`` between the markers of ``readme`` (after the first heading if there are none); True if changed."""
    text = readme.read_text()
    wrapped = f"{START}\n{block}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        new = head + wrapped + rest.split(END, 1)[1]
    else:
        first, _, rest = text.partition("\n")
        new = f"{first}\n\n{wrapped}\n{rest}"
    if new == text:
        return False
    readme.write_text(new)
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--readme", type=Path, default=None, help="default: <results>/README.md")
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's block is stale")
    parser.add_argument("--print", action="store_true", dest="print_only", help="print the block only")
    args = parser.parse_args(argv)
    readme = args.readme or args.results / "README.md"
    block = table(args.results)
    if args.print_only:
        print(block)
        return
    if args.check:
        text = readme.read_text()
        if f"{START}\n{block}\n{END}" not in text:
            sys.exit(f"{readme}: the headline block is not what the JSON gives; run python -m benchmarks.headline")
        return
    print(f"{readme}: {'rewritten' if rewrite(readme, block) else 'already up to date'}")


if __name__ == "__main__":
    main()
