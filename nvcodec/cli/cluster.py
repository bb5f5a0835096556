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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nvcodec.cli.common import info, progress_enabled
from nvcodec.cli.input_config import config_for_video
from nvcodec.cli.jobs import PROG, Job, decoded_psnr, open_input, open_mask, summary
from nvcodec.cli.request import EncodeRequest
from nvcodec.device import resolve_device
from nvcodec.distributed import Listeners, VideoRequest, encode_videos, ray_module
from nvcodec.encoder import EncodeStats
from nvcodec.errors import ActvError
from nvcodec.fit import FitProgress
from nvcodec.segments import SegmentPlan
from nvcodec.source import ArraySource, SourceSpec
from nvcodec.timebase import group_bounds

WORKER_LINE_INTERVAL = 30.0
"""Seconds between the per-worker progress lines."""


def encode_on_cluster(jobs: list[Job], request: EncodeRequest) -> int:
    """Encode ``jobs`` as segments on Ray; 1 when any input failed."""
    ray_module()  # one line saying how to install Ray, before reading anything
    assert request.cluster is not None
    plan = _plan(jobs, request)
    bar = tqdm(total=sum(plan.totals.values()), desc="segments", unit="segment",
               disable=not progress_enabled(request.quiet))  # fmt: skip
    try:
        outcomes = encode_videos(
            plan.requests, request.config, request.quant, request.options, request.cluster,
            _listeners(request, plan.totals, bar),
        )  # fmt: skip
    finally:
        bar.close()
    failed = plan.failed
    for number, (job, outcome) in enumerate(zip(plan.runnable, outcomes)):
        if outcome.stats is None:
            failed += 1
            info(PROG, f"error: {job.name}: {outcome.error}", False)
            continue
        _report(job, outcome.stats, plan.in_memory.get(number), request)
    if failed:
        info(PROG, f"error: {failed} of {len(jobs)} inputs failed", False)
        return 1
    return 0


@dataclass
class _Plan:
    """The videos to send to the cluster, and what the driver keeps of them."""

    requests: list[VideoRequest] = field(default_factory=list)
    runnable: list[Job] = field(default_factory=list)
    totals: dict[Path, int] = field(default_factory=dict)
    """Segments per output: estimated here, exact once its first segment is written."""
    in_memory: dict[int, ArraySource] = field(default_factory=dict)
    """The sample clip or stdin, kept for the summary."""
    failed: int = 0


def _plan(jobs: list[Job], request: EncodeRequest) -> _Plan:
    """One :class:`VideoRequest` per input that opens (frames read by the workers from its path)."""
    plan = _Plan()
    span = request.frames
    for job in jobs:
        try:
            frames = open_input(job, span)
        except ActvError as exc:
            if len(jobs) == 1:
                raise
            plan.failed += 1
            info(PROG, f"error: {job.name}: {exc}", False)
            continue
        number = len(plan.runnable)
        plan.runnable.append(job)
        if job.spec is not None:
            source: SourceSpec | np.ndarray = job.spec
        else:
            assert isinstance(frames, ArraySource)
            source, plan.in_memory[number] = frames.frames, frames
        mask = _mask_for_workers(request, frames.shape)
        video_config = config_for_video(request, job.name, frames, mask is not None)
        groups = len(group_bounds(frames.num_frames, request.config.fit.group_size)) - 1  # scene cuts may add some
        plan.totals[job.output] = SegmentPlan.segment_count(
            groups, request.options.segment_groups or request.quant.intra_period
        )
        plan.requests.append(VideoRequest(source, job.output, frames.fps, mask, job.resume_folder, video_config))
        if job.spec is not None:
            frames.close()
    return plan


def _mask_for_workers(request: EncodeRequest, shape: tuple[int, int, int]) -> SourceSpec | np.ndarray | None:
    """The mask as the workers read it: one image as an array, a video by its path."""
    if request.mask is None:
        return None
    span = request.frames
    opened = open_mask(request.mask, span, shape)
    if isinstance(opened, np.ndarray):  # one image, for every frame
        return opened
    opened.close()
    return SourceSpec(str(request.mask), span.start, span.stop, span.stride)


def _listeners(request: EncodeRequest, totals: dict[Path, int], bar: tqdm) -> Listeners:
    """One bar over all segments; a line per worker every :data:`WORKER_LINE_INTERVAL` seconds."""
    last_line: dict[str, float] = {}

    def on_segment(output: Path, done: int, total: int) -> None:
        if totals.get(output) != total:
            totals[output] = total
            bar.total = sum(totals.values())
        bar.update(1)
        if not progress_enabled(request.quiet):
            info(PROG, f"{output}: segment {done}/{total} written", request.quiet)

    def on_progress(who: str, progress: FitProgress) -> None:
        now = time.perf_counter()
        if request.quiet or now - last_line.get(who, 0.0) < WORKER_LINE_INTERVAL:
            return
        last_line[who] = now
        tqdm.write(
            f"{PROG}: worker {who}: group {progress.group + 1}, iteration {progress.iteration}/"
            f"{progress.iterations}, {progress.psnr:.2f} dB",
            file=sys.stderr,
        )

    return Listeners(on_segment=on_segment, on_progress=on_progress)


def _report(job: Job, stats: EncodeStats, frames: ArraySource | None, request: EncodeRequest) -> None:
    """The summary line of a finished video, with the PSNR of the file as a reader decodes it."""
    source = frames or open_input(job, request.frames)
    known = open_mask(request.mask, request.frames, source.shape) if request.mask is not None else None
    try:
        assert request.cluster is not None
        device = str(resolve_device(request.config.fit.device if request.cluster.gpus_per_task <= 0 else "auto"))
        quality = decoded_psnr(job.output, source, known, device, request.quiet)
        summary(stats, quality, known is not None, request)
    finally:
        source.close()
        if known is not None and not isinstance(known, np.ndarray):
            known.close()
