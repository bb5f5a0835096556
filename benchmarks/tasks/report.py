"""The results of a task run: the JSON file, one markdown table per task beside it, and printing the tables."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import json_clean
from benchmarks.systems import NEURAL
from benchmarks.tasks.settings import TASKS

TASK_TITLES = {
    "slowmo": "10x slow motion: train on every 10th frame, score the in-between frames",
    "sr": "4x spatial + 2x temporal super-resolution: train on 4x-shrunk even frames, score all frames at full size",
    "denoise": "Denoising: Gaussian noise, scored against the clean frames",
    "inpaint": "Inpainting: scored on the unknown pixels and on the whole frame",
}

COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    # (key, header, format)
    "slowmo": [("psnr", "PSNR in-between", ".2f"), ("ssim", "SSIM", ".4f"), ("psnr_trained", "PSNR trained", ".2f")],
    "sr": [
        ("psnr", "PSNR all", ".2f"),
        ("ssim", "SSIM all", ".4f"),
        ("psnr_trained", "PSNR trained", ".2f"),
        ("psnr_between", "PSNR in-between", ".2f"),
    ],
    "denoise": [("psnr", "PSNR", ".2f"), ("ssim", "SSIM", ".4f")],
    "inpaint": [
        ("psnr_region", "PSNR unknown px", ".2f"),
        ("psnr", "PSNR frame", ".2f"),
        ("ssim", "SSIM frame", ".4f"),
    ],
}


def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return format(value, fmt)


def markdown_table(task: str, rows: Sequence[dict]) -> str:
    columns = COLUMNS[task]
    header = ["clip", "condition", "system", *(c[1] for c in columns), "seconds", "notes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        if row["task"] != task:
            continue
        settings = row.get("settings") or {}
        notes = row.get("note", "")
        if row["system"] == "nvcodec" and settings:
            groups = settings["groups"]
            steps = (
                f"{settings['iters']} it."
                if groups == 1
                else f"{settings['iters']} + {groups - 1} x {settings['iters_warm']} it."
            )
            notes = f"{steps}, {groups} group{'s' if groups > 1 else ''}, {settings['numbers']:,} numbers"
        elif row["system"] in NEURAL and settings:  # the NeRV family: its preset, iterations and numbers
            notes = f"size {settings['size']}, {settings['iterations']} it., {settings['numbers']:,} numbers"
        cells = [row["clip"], row["condition"], row["system"], *(_cell(row.get(k), f) for k, _, f in columns)]
        seconds = "—" if row.get("note") else f"{row['seconds']:.1f}"
        lines.append("| " + " | ".join([*cells, seconds, notes]) + " |")
    return "\n".join(lines)


def write_results(rows: list[dict], meta: dict[str, Any], json_path: Path, md_path: Path, tasks: Sequence[str]) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(json_clean({**meta, "rows": rows}), indent=1) + "\n")
    parts = [
        "# ActINR tasks",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine'].get('cpu')}, {meta['machine'].get('cores_available')} cores, "
        f"torch {meta['machine'].get('torch')} ({meta['settings']['threads']} thread(s)); created {meta['created']}.  ",
        f"Budget per neural fit: {meta['settings']['budget']} s (nvcodec's iterations fill it; the NeRV family gets "
        "nvcodec's actual fit time). Seconds are fit/processing wall clock on a shared machine.",
        "",
    ]
    for task in tasks:
        parts += [f"## {TASK_TITLES[task]}", "", markdown_table(task, rows), ""]
    parts += [
        "Columns: PSNR is RGB PSNR from the mean squared error over all scored pixels, SSIM the mean over "
        "frames of scikit-image's Gaussian SSIM (`benchmarks/rd_metrics.py`). *PSNR trained*: a neural "
        "model's own rendering of the frames it was fitted to (slow motion), or every system's full-size "
        "output on the frames whose shrunk version it saw (super-resolution). *PSNR unknown px*: only the "
        "pixels the systems were not given. Notes give nvcodec's iterations (set by timing its first steps "
        "to fill the budget) and the NeRV family's preset (nearest nvcodec's number count) and iterations.",
        "",
    ]
    md_path.write_text("\n".join(parts))


def report(json_path: Path) -> None:
    """Rewrite the markdown beside a result file from its rows, and print the tables."""
    data = json.loads(json_path.read_text())
    rows = data["rows"]
    tasks = [task for task in TASKS if any(row["task"] == task for row in rows)]
    write_results(rows, {k: v for k, v in data.items() if k != "rows"}, json_path, json_path.with_suffix(".md"), tasks)
    for task in tasks:
        print(f"\n{TASK_TITLES[task]}\n")
        print(markdown_table(task, rows))
