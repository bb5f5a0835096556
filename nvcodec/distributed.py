"""Encoding on Ray: closed segments of many videos spread over a cluster, one ``.actv`` per video.

The unit of work is a closed segment (:mod:`nvcodec.segments`): a Ray task
opens the video itself from a path every node can read (frames never travel
through the object store), fits and codes the segment's groups with
:func:`nvcodec.encoder.encode_segment`, and returns their chunks. The driver
saves each chunk in the video's resume folder as it arrives and appends
segments to the video's file in order, so each file appears atomically when
its last segment is in; a killed driver resumes from the finished groups.
Tasks are retried when a worker is lost (``max_retries``); a segment's bytes
do not depend on the worker that made them, so a retry changes nothing.

Ray is optional (``pip install "nvcodec[ray]"``); nothing here imports it
until a cluster is asked for. ``ray.init(num_cpus=N)`` starts a local cluster;
an address joins an existing one.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nvcodec.config import Config, QuantConfig
from nvcodec.container import ContainerWriter
from nvcodec.encoder import (
    EncodeJob,
    EncodeStats,
    GroupCoded,
    GroupWriter,
    encode_segment,
    encode_stats,
    resumable_prefix,
)
from nvcodec.errors import ActvError, ArgumentError
from nvcodec.fit import FitProgress, VideoFitter
from nvcodec.journal import JournalChunk
from nvcodec.options import EncodeOptions
from nvcodec.source import ArraySource, FrameSource, SourceSpec

MAX_RETRIES = 3
"""Times a segment's task is run again after its worker was lost."""
TASKS_PER_WORKER = 2
"""Segments in flight per worker: enough to keep every worker busy, few enough to keep the driver's memory small."""
PROGRESS_INTERVAL = 10.0
"""Seconds between a task's progress reports to the driver."""


def ray_module() -> Any:
    """The ``ray`` package, or an :class:`ArgumentError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ArgumentError('encoding on several workers needs Ray: pip install "nvcodec[ray]"') from None
    return ray


Input = SourceSpec | np.ndarray


@dataclass(frozen=True)
class VideoRequest:
    """One video to encode: its frames (a path any node can read, or an array), its output and options."""

    source: Input
    output: Path
    fps: float | None = None
    """The stored frame rate; by default the source's."""
    mask: Input | None = None
    resume_folder: Path | None = None
    config: Config | None = None
    """This video's own config (e.g. at the width its trial fits chose,
    :func:`~nvcodec.recipe.trials.width_for_content`); by default the one given to :func:`encode_videos`."""


def _open(source: Input) -> FrameSource:
    return source.open() if isinstance(source, SourceSpec) else ArraySource(source)


@dataclass(frozen=True)
class SegmentTask:
    """Everything a worker needs to encode one segment, as plain data."""

    video: int
    source: Any  # a SourceSpec, or an object reference to an array
    mask: Any
    config: Config
    quant: QuantConfig
    options: EncodeOptions
    """The encode's options without listeners or resume folder (:meth:`EncodeOptions.plain`)."""
    segment: range
    done: tuple[JournalChunk, ...]
    header_bytes: int
    threads: int | None
    cuts: tuple[int, ...] = ()
    """The driver's scene cuts, so a worker plans the same groups without reading the whole video."""


def run_segment(task: SegmentTask, report: Callable[[FitProgress], None] | None = None) -> list[JournalChunk]:
    """Encode one segment where this runs (a Ray worker or the driver); returns its new chunks."""
    if task.threads is not None:
        import torch

        torch.set_num_threads(task.threads)
    source, mask = _open(task.source), _open(task.mask) if task.mask is not None else None
    try:
        fitter = VideoFitter(source, task.config, mask=mask, cuts=task.cuts)
        plan = EncodeJob.plan_for(fitter, task.options.segment_groups)
        height, width = fitter.grid.height, fitter.grid.width
        rate = plan.rate_control(task.segment, task.options.max_bpp, height, width, task.header_bytes)
        options = dataclasses.replace(task.options, callback=report)
        return encode_segment(fitter, task.quant, plan, task.segment, done=task.done, rate=rate, options=options)
    finally:
        source.close()
        if mask is not None:
            mask.close()


@dataclass
class _Video:
    """The driver's state of one video: its file being written, segments done and waiting."""

    request: VideoRequest
    job: EncodeJob
    fitter: VideoFitter
    writer: GroupWriter | None = None
    container: ContainerWriter | None = None
    next_segment: int = 0
    waiting: dict[int, list[JournalChunk]] = field(default_factory=dict)
    resumed: int = 0
    started: float = field(default_factory=time.perf_counter)
    error: str | None = None


@dataclass
class EncodeOutcome:
    """What became of one video: its statistics, or why it failed."""

    request: VideoRequest
    stats: EncodeStats | None = None
    error: str | None = None


@dataclass(frozen=True)
class Cluster:
    """Where the segments run: a local cluster of ``workers`` CPUs, or the one at ``address``."""

    workers: int | None = None
    """CPUs of a local cluster started for this encode (default: every core)."""
    address: str | None = None
    """Join an existing cluster instead (``"auto"``, or ``host:port``)."""
    gpus_per_task: float = 0.0
    """GPUs per segment task (fractions allowed); 0 asks for one CPU instead."""
    threads_per_task: int | None = 1
    """torch threads in each task (None: torch's default)."""


@dataclass(frozen=True)
class Listeners:
    """What the caller hears of a cluster encode (``output`` names the video)."""

    on_group: Callable[[Path, GroupCoded], None] | None = None
    on_segment: Callable[[Path, int, int], None] | None = None
    """``(output, done, total)`` after each segment is written."""
    on_progress: Callable[[str, FitProgress], None] | None = None
    """``(worker, progress)`` every few seconds from each busy worker."""


def encode_videos(
    requests: Sequence[VideoRequest],
    config: Config,
    quant: QuantConfig,
    options: EncodeOptions = EncodeOptions(),  # noqa: B008  # frozen
    cluster: Cluster = Cluster(),  # frozen
    listeners: Listeners = Listeners(),  # frozen
) -> list[EncodeOutcome]:
    """Encode ``requests`` on a Ray cluster, segments of all videos sharing the workers.

    ``cluster`` says where (:class:`Cluster`); ``options`` what each encode
    does, as for :func:`nvcodec.encode` (each request brings its own resume
    folder; the segment length defaults to the intra period). A video that
    fails (a bad input) is reported in its outcome and does not stop the others.
    """
    ray = ray_module()
    if options.segment_groups is None:
        options = dataclasses.replace(options, segment_groups=quant.intra_period)
    started_here = not ray.is_initialized()
    if started_here:
        if cluster.address is not None:
            ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(num_cpus=cluster.workers or os.cpu_count(), include_dashboard=False, log_to_driver=False)
    try:
        return _Driver(ray, config, quant, options, cluster, listeners).run(requests)
    finally:
        if started_here:
            ray.shutdown()


class _Driver:
    def __init__(
        self, ray: Any, config: Config, quant: QuantConfig, options: EncodeOptions, cluster: Cluster,
        listeners: Listeners,
    ):  # fmt: skip
        self.ray = ray
        self.config, self.quant, self.options = config, quant, options
        self.gpus_per_task, self.threads = cluster.gpus_per_task, cluster.threads_per_task
        self.on_group, self.on_segment, self.on_progress = (
            listeners.on_group,
            listeners.on_segment,
            listeners.on_progress,
        )
        resources = {"num_gpus": self.gpus_per_task} if self.gpus_per_task > 0 else {"num_cpus": 1}
        self.remote = ray.remote(max_retries=MAX_RETRIES, **resources)(_remote_segment)
        self.board = ray.remote(num_cpus=0)(_ProgressBoard).remote() if self.on_progress is not None else None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.cap = max(1, cpus) * TASKS_PER_WORKER

    def run(self, requests: Sequence[VideoRequest]) -> list[EncodeOutcome]:
        videos: list[_Video | None] = []
        outcomes = [EncodeOutcome(request) for request in requests]
        pending: list[SegmentTask] = []
        for number, request in enumerate(requests):
            try:
                prepared = self._prepare(request)
            except ActvError as exc:
                outcomes[number].error = str(exc)
                videos.append(None)
                continue
            videos.append(prepared)
            pending.extend(self._tasks(number, prepared))
            self._write_ready(prepared)  # segments finished by an interrupted run
        in_flight: dict[Any, SegmentTask] = {}
        last_poll = time.perf_counter()
        while pending or in_flight:
            while pending and len(in_flight) < self.cap:
                task = pending.pop(0)
                in_flight[self.remote.remote(task, self.board)] = task
            done, _ = self.ray.wait(list(in_flight), num_returns=1, timeout=1.0)
            for ref in done:
                self._collect(ref, in_flight.pop(ref), videos, pending)
            if time.perf_counter() - last_poll >= 1.0:
                last_poll = time.perf_counter()
                self._relay_progress()
        for number, video in enumerate(videos):
            if video is None:
                continue
            if video.error is not None:
                outcomes[number].error = video.error
                continue
            outcomes[number].stats = self._close(video)
        return outcomes

    def _collect(self, ref: Any, task: SegmentTask, videos: list[_Video | None], pending: list[SegmentTask]) -> None:
        """Take in one finished task: its chunks, or the failure of its video."""
        video = videos[task.video]
        assert video is not None
        try:
            chunks = self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            if video.error is None:  # the first failure of this video: the others are its echo
                cause = getattr(exc, "cause", None)
                self._fail(task.video, video, cause if isinstance(cause, ActvError) else exc, pending)
            return
        if video.error is None:
            self._finished(video, task, chunks)

    def _relay_progress(self) -> None:
        """Pass the workers' latest fit progress to ``on_progress``."""
        if self.board is None or self.on_progress is None:
            return
        for who, progress in self.ray.get(self.board.take.remote()):
            self.on_progress(who, progress)

    def _config_of(self, request: VideoRequest) -> Config:
        """The video's config, on the GPU where the tasks get one."""
        config = request.config or self.config
        return (
            config if self.gpus_per_task <= 0 else Config(config.model, dataclasses.replace(config.fit, device="cuda"))
        )

    def _prepare(self, request: VideoRequest) -> _Video:
        source = _open(request.source)
        mask = _open(request.mask) if request.mask is not None else None
        config = self._config_of(request)
        try:
            fitter = VideoFitter(source, config, mask=mask)
            fps = request.fps or source.fps
            options = dataclasses.replace(self.options, resume_folder=request.resume_folder)
            job = EncodeJob.prepare(fitter, fps, self.quant, options)
        finally:
            source.close()
            if mask is not None:
                mask.close()
        video = _Video(request, job, fitter)
        for number, segment in enumerate(job.plan.segments()):
            done = resumable_prefix(job.plan, segment, job.saved)
            if len(done) == len(segment):
                video.waiting[number] = done
                video.resumed += len(done)
        return video

    def _tasks(self, number: int, video: _Video) -> list[SegmentTask]:
        request, job = video.request, video.job
        source = request.source if isinstance(request.source, SourceSpec) else self.ray.put(request.source)
        mask = request.mask
        if mask is not None and not isinstance(mask, SourceSpec):
            mask = self.ray.put(mask)
        tasks = []
        for index, segment in enumerate(job.plan.segments()):
            if index in video.waiting:
                continue
            done = tuple(resumable_prefix(job.plan, segment, job.saved))
            video.resumed += len(done)
            tasks.append(SegmentTask(number, source, mask, video.fitter.config, self.quant, self.options.plain(),
                                     segment, done, job.header_bytes, self.threads, tuple(video.fitter.cuts)))  # fmt: skip
        return tasks

    def _finished(self, video: _Video, task: SegmentTask, chunks: list[JournalChunk]) -> None:
        if video.job.journal is not None:
            for chunk in chunks:
                video.job.journal.add(chunk)
        number = task.segment.start // video.job.plan.length
        video.waiting[number] = [*task.done, *chunks]
        self._write_ready(video, resumed=len(task.done))

    def _write_ready(self, video: _Video, resumed: int = 0) -> None:
        """Append the segments that are next in order; the journal already holds them."""
        segments = video.job.plan.segments()
        while video.next_segment in video.waiting:
            if video.container is None:
                video.container = ContainerWriter(video.request.output, video.job.header)
                video.writer = GroupWriter(video.container, None, self._reporter(video.request.output))
            assert video.writer is not None
            chunks = video.waiting.pop(video.next_segment)
            for chunk in chunks:
                video.writer.add(chunk, resumed=chunk.index in video.job.saved)
            video.next_segment += 1
            if self.on_segment is not None:
                self.on_segment(video.request.output, video.next_segment, len(segments))

    def _reporter(self, output: Path) -> Callable[[GroupCoded], None] | None:
        on_group = self.on_group
        if on_group is None:
            return None
        return lambda group: on_group(output, group)

    def _fail(self, number: int, video: _Video, error: BaseException, pending: list[SegmentTask]) -> None:
        """Give up on one video: drop its pending segments and its part-written file; the others go on."""
        video.error = str(error) if isinstance(error, ActvError) else f"{type(error).__name__}: {error}"
        pending[:] = [task for task in pending if task.video != number]
        if video.container is not None:
            video.container.abort()

    def _close(self, video: _Video) -> EncodeStats:
        assert video.container is not None and video.writer is not None
        video.container.close()
        if video.job.journal is not None:
            video.job.journal.remove()
        return encode_stats(video.request.output, video.fitter, video.writer.totals, video.started, video.resumed)


class _ProgressBoard:
    """A Ray actor the tasks report their fit progress to; the driver takes the reports now and then."""

    def __init__(self) -> None:
        self.reports: dict[str, FitProgress] = {}

    def report(self, who: str, progress: FitProgress) -> None:
        self.reports[who] = progress

    def take(self) -> list[tuple[str, FitProgress]]:
        reports, self.reports = list(self.reports.items()), {}
        return reports


def _remote_segment(task: SegmentTask, board: Any) -> list[JournalChunk]:
    """The body of a segment's Ray task; progress goes to ``board`` at most every few seconds."""
    import ray

    # Arrays travel as object references inside the task; Ray resolves only top-level arguments.
    resolved = {
        name: ray.get(value) for name in ("source", "mask") if isinstance(value := getattr(task, name), ray.ObjectRef)
    }
    task = dataclasses.replace(task, **resolved)
    report = None
    if board is not None:
        who = f"{os.uname().nodename}:{os.getpid()}"
        last = [0.0]

        def report(progress: FitProgress) -> None:
            now = time.perf_counter()
            if now - last[0] >= PROGRESS_INTERVAL or progress.iteration == progress.iterations:
                last[0] = now
                board.report.remote(who, progress)

    return run_segment(task, report)
