"""One table over a task run that was split into parts: nvcodec against the NeRV family and the best classical method.

The full task run does not fit a session on 2 cores, so it is run and
committed by clip and task (``benchmarks/results/tasks_full/CLIP_TASKS.json``).
This reads every part in a folder and writes ``summary.md`` beside them: for
each clip, task and condition, the headline score of every system (PSNR of
the in-between frames for slow motion, of all frames for super-resolution, of
the clean frames for denoising, of the unknown pixels for inpainting), nvcodec's
margin over HNeRV-Boost (the paper's comparison) and over the best other
system, and the commit of the part it comes from.

    python -m benchmarks.tasks.summary benchmarks/results/tasks_full
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from benchmarks.systems import NEURAL
from benchmarks.tasks.settings import TASKS

HEADLINE = {"slowmo": "psnr", "sr": "psnr", "denoise": "psnr", "inpaint": "psnr_region"}
"""The score each task is read by (``benchmarks.tasks.report.COLUMNS`` names them)."""
INPUTS = {"noisy input", "degraded input", "repeat previous"}
"""Rows that are the degraded input itself, not a method."""


def _parts(folder: Path) -> list[dict]:
    parts = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
    return [part for part in parts if "rows" in part and part.get("schema") == 1]


def summary_rows(parts: Sequence[dict]) -> list[dict]:
    """One row per (clip, task, condition): each system's headline score and nvcodec's margins."""
    out: dict[tuple[str, str, str], dict] = {}
    for part in parts:
        for row in part["rows"]:
            value = row.get(HEADLINE[row["task"]])
            if value is None or row["system"] in INPUTS:
                continue
            key = (row["clip"], row["task"], row["condition"])
            entry = out.setdefault(key, {"clip": key[0], "task": key[1], "condition": key[2], "scores": {}})
            entry["scores"][row["system"]] = value
            entry["commit"] = part.get("commit")
    order = {task: i for i, task in enumerate(TASKS)}
    rows = sorted(out.values(), key=lambda r: (r["clip"], order[r["task"]], r["condition"]))
    for entry in rows:
        scores = entry["scores"]
        ours = scores.get("nvcodec")
        others = {name: value for name, value in scores.items() if name != "nvcodec"}
        best = max(others, key=others.__getitem__) if others else None
        entry["best_other"] = best
        entry["margin_best"] = ours - others[best] if ours is not None and best else None
        boost = scores.get("hnerv-boost")
        entry["margin_boost"] = ours - boost if ours is not None and boost is not None else None
    return rows


def _cell(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def markdown(rows: Sequence[dict]) -> str:
    classical = sorted({n for r in rows for n in r["scores"] if n not in NEURAL})
    neural = [n for n in NEURAL if any(n in r["scores"] for r in rows)]
    header = ["clip", "task", "condition", *neural, "best classical", "nvcodec − HNeRV-Boost", "best other", "commit"]
    lines = [
        "# Paper tasks, full run: nvcodec against the NeRV family and classical methods",
        "",
        "Written by `python -m benchmarks.tasks.summary benchmarks/results/tasks_full` from the parts in this",
        "folder (each part's markdown has every column, its command, machine and fit times). Scores in dB:",
        "slow motion the in-between frames, super-resolution all frames at full size, denoising the clean",
        "frames, inpainting the unknown pixels. Classical methods: " + ", ".join(classical) + ".",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for r in rows:
        scores = r["scores"]
        best_classical = max((scores[n] for n in classical if n in scores), default=None)
        best = f"{r['best_other']} ({_cell(r['margin_best'], signed=True)})" if r["best_other"] else "—"
        cells = [r["clip"], r["task"], r["condition"], *(_cell(scores.get(n)) for n in neural)]
        cells += [_cell(best_classical), _cell(r["margin_boost"], signed=True), best, (r.get("commit") or "?")[:7]]
        lines.append("| " + " | ".join(cells) + " |")
    boost = [r["margin_boost"] for r in rows if r["margin_boost"] is not None]
    if boost:
        ahead = sum(m > 0 for m in boost)
        lines += ["", f"nvcodec is ahead of HNeRV-Boost on {ahead} of {len(boost)} rows where both ran."]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="folder of task-run parts (JSON)")
    args = parser.parse_args(argv)
    rows = summary_rows(_parts(args.folder))
    if not rows:
        raise SystemExit(f"no task results in {args.folder}")
    text = markdown(rows)
    (args.folder / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
