"""``python -m benchmarks.tasks``: run the tasks on the clips, or rewrite a result file's tables (``--report``)."""

from __future__ import annotations

import argparse
import datetime as _dt
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

import torch

import benchmarks.tasks
from benchmarks import task_baselines as classical
from benchmarks.results_io import with_provenance
from benchmarks.systems import NEURAL
from benchmarks.tasks.degradations import TEXT_LINES
from benchmarks.tasks.denoise import SIGMAS_8BIT
from benchmarks.tasks.inpaint import RANDOM_MISSING
from benchmarks.tasks.neural import NVCODEC_BASE, NVCODEC_TASK
from benchmarks.tasks.report import TASK_TITLES, markdown_table, report, write_results
from benchmarks.tasks.runner import estimate_seconds, frames_needed, run_task
from benchmarks.tasks.settings import FULL, QUICK, QUICK_CLIPS, TASKS, Settings


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    from benchmarks.clips import CLIPS

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tasks", description=benchmarks.tasks.__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="carphone only, 20 s fits, 11 frames for denoise/inpaint")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--clips", nargs="+", choices=CLIPS, default=None)
    parser.add_argument("--budget", type=float, default=None, help="seconds per neural fit (quick 20, full 120)")
    parser.add_argument(
        "--restore-frames", type=int, default=None, help="frames for denoise/inpaint (quick 11, full 31)"
    )
    parser.add_argument("--neural", nargs="*", choices=NEURAL, default=list(NEURAL), help="neural systems to run")
    parser.add_argument("--nerv-size", choices=("xs", "s", "m", "l"), default=None, help="default: matched to nvcodec")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core box)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=None, help="JSON path (the markdown goes beside it)")
    parser.add_argument("--report", type=Path, default=None, help="only rewrite the markdown of this result JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    from benchmarks.clips import CLIPS, clip_info, load_clip
    from benchmarks.common import RESULTS, command, machine

    args = _parse(argv)
    if args.report is not None:
        report(args.report)
        return
    torch.set_num_threads(args.threads)
    mode = QUICK if args.quick else FULL
    clips = args.clips or list(QUICK_CLIPS if args.quick else CLIPS)
    settings = Settings(
        budget=args.budget if args.budget is not None else mode["budget"],
        restore_frames=args.restore_frames if args.restore_frames is not None else mode["restore_frames"],
        neural=tuple(args.neural),
        device=args.device,
        seed=args.seed,
        nerv_size=args.nerv_size,
    )
    json_path = args.output or RESULTS / ("tasks_quick.json" if args.quick else "tasks.json")
    md_path = json_path.with_suffix(".md")
    estimate = estimate_seconds(args.tasks, clips, settings)
    print(
        f"tasks {', '.join(args.tasks)} on {', '.join(clips)}; {settings.budget:g} s per neural fit; "
        f"estimated run time {estimate / 60:.0f} min",
        flush=True,
    )
    started = time.perf_counter()
    rows: list[dict] = []
    infos = {}
    for clip in clips:
        length = max(frames_needed(task, settings) for task in args.tasks)
        frames, _ = load_clip(clip, length)
        infos[clip] = clip_info(clip, length)
        for task in args.tasks:
            print(f"{task} on {clip}", flush=True)
            rows += run_task(task, clip, frames, settings, log=lambda s: print(s, flush=True))
    meta = with_provenance(
        {
            "schema": 1,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "command": command(),
            "machine": machine(),
            "settings": {
                **asdict(replace(settings)),
                "threads": args.threads,
                "nvcodec_base": NVCODEC_BASE,
                "nvcodec_task": NVCODEC_TASK,
                "sigmas_8bit": SIGMAS_8BIT,
                "random_missing": RANDOM_MISSING,
                "text_lines": TEXT_LINES,
                "minterpolate": classical.MINTERPOLATE_OPTIONS,
            },
            "clips": infos,
            "total_seconds": round(time.perf_counter() - started, 1),
        }
    )
    write_results(rows, meta, json_path, md_path, args.tasks)
    for task in args.tasks:
        print(f"\n{TASK_TITLES[task]}\n")
        print(markdown_table(task, rows))
    print(f"\ntotal {meta['total_seconds'] / 60:.1f} min; wrote {json_path} and {md_path}")
