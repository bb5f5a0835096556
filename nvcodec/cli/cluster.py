"""``actv-encode --workers N`` / ``--ray-address``: the tool's side of encoding on Ray.

Builds one request per input (frames read by the workers from the input's
path; the sample clip and stdin travel as arrays), shows one bar over all
segments and, every few seconds, a line per worker, then prints each
video's summary. A failed input is reported and the others go on; the exit
status is 1 when any failed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nvcodec.cli.common import info, progress_enabled
from nvcodec.cli.input_config import config_for_video
from nvcodec.cli.jobs import PROG, Job, decoded_psnr, open_input, open_mask, rate_trade, stop_frame, summary
from nvcodec.config import Config, QuantConfig
from nvcodec.device import resolve_device
from nvcodec.distributed import VideoRequest, encode_videos, ray_module
from nvcodec.errors import ActvError
from nvcodec.fit import FitProgress
from nvcodec.segments import SegmentPlan
from nvcodec.source import ArraySource, SourceSpec
from nvcodec.timebase import group_bounds

WORKER_LINE_INTERVAL = 30.0
"""Seconds between the per-worker progress lines."""


def encode_on_cluster(jobs: list[Job], config: Config, quant: QuantConfig, args) -> int:
    ray_module()  # one line saying how to install Ray, before reading anything
    trade = rate_trade(args)
    requests, failed = [], 0
    totals: dict[Path, int] = {}  # segments per output: estimated here, exact once its first segment is written
    in_memory: dict[int, ArraySource] = {}  # the sample clip or stdin, kept for the summary
    runnable: list[Job] = []
    for job in jobs:
        try:
            frames = open_input(job, args)
        except ActvError as exc:
            if len(jobs) == 1:
                raise
            failed += 1
            info(PROG, f"error: {job.name}: {exc}", False)
            continue
        number = len(runnable)
        runnable.append(job)
        if job.spec is not None:
            source: SourceSpec | np.ndarray = job.spec
        else:
            assert isinstance(frames, ArraySource)
            source, in_memory[number] = frames.frames, frames
        mask: SourceSpec | np.ndarray | None = None
        if args.mask is not None:
            opened = open_mask(args.mask, args, frames.shape)
            if isinstance(opened, np.ndarray):  # one image, for every frame
                mask = opened
            else:
                opened.close()
                mask = SourceSpec(str(args.mask), args.start, stop_frame(args), args.stride)
        video_config = config_for_video(config, quant, job.name, frames, mask is not None, args)
        groups = len(group_bounds(frames.num_frames, config.fit.group_size)) - 1  # scene cuts may add some
        totals[job.output] = SegmentPlan.segment_count(groups, args.segment_groups or quant.intra_period)
        requests.append(VideoRequest(source, job.output, frames.fps, mask, job.resume_folder, video_config))
        if job.spec is not None:
            frames.close()
    bar = tqdm(total=sum(totals.values()), desc="segments", unit="segment", disable=not progress_enabled(args.quiet))
    last_line: dict[str, float] = {}

    def on_segment(output: Path, done: int, total: int) -> None:
        if totals.get(output) != total:
            totals[output] = total
            bar.total = sum(totals.values())
        bar.update(1)
        if not progress_enabled(args.quiet):
            info(PROG, f"{output}: segment {done}/{total} written", args.quiet)

    def on_progress(who: str, progress: FitProgress) -> None:
        now = time.perf_counter()
        if args.quiet or now - last_line.get(who, 0.0) < WORKER_LINE_INTERVAL:
            return
        last_line[who] = now
        tqdm.write(
            f"{PROG}: worker {who}: group {progress.group + 1}, iteration {progress.iteration}/"
            f"{progress.iterations}, {progress.psnr:.2f} dB",
            file=sys.stderr,
        )

    try:
        outcomes = encode_videos(
            requests,
            config,
            quant,
            max_bpp=args.max_bpp,
            segment_groups=args.segment_groups,
            workers=args.workers,
            address=args.ray_address,
            gpus_per_task=args.gpus_per_task,
            threads_per_task=args.threads or 1,
            on_segment=on_segment,
            on_progress=on_progress,
            trade=trade,
        )
    finally:
        bar.close()
    for number, (job, outcome) in enumerate(zip(runnable, outcomes)):
        if outcome.stats is None:
            failed += 1
            info(PROG, f"error: {job.name}: {outcome.error}", False)
            continue
        frames = in_memory.get(number) or open_input(job, args)
        known = open_mask(args.mask, args, frames.shape) if args.mask is not None else None
        try:
            device = str(resolve_device(config.fit.device if args.gpus_per_task <= 0 else "auto"))
            quality = decoded_psnr(job.output, frames, known, device, args.quiet)
            summary(outcome.stats, quality, known is not None, args)
        finally:
            frames.close()
            if known is not None and not isinstance(known, np.ndarray):
                known.close()
    if failed:
        info(PROG, f"error: {failed} of {len(jobs)} inputs failed", False)
        return 1
    return 0
