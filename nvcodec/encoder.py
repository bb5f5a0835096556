"""Video -> ``.actv``: fit group by group, code each group, and stream it to disk.

This module is the orchestration: the order of fitting, coding and writing,
the resume folder and the statistics. How a group is coded (depth, steps,
rounding, fine-tuning) is the recipe of :mod:`nvcodec.recipe.group_coding`; what an encode is asked to
do comes whole in an :class:`~nvcodec.options.EncodeOptions`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nvcodec.config import Config, QuantConfig
from nvcodec.container import ContainerWriter, header_map_to_bytes
from nvcodec.decoder import GroupDecoder, State
from nvcodec.fit import GroupFit, VideoFitter
from nvcodec.header import is_intra, new_header_map
from nvcodec.journal import EncodeJournal, JournalChunk, fingerprint
from nvcodec.model.group import GroupModel
from nvcodec.model.tensors import group_tensors
from nvcodec.options import EncodeOptions
from nvcodec.payload import PackedGroup
from nvcodec.quant.ratecontrol import RateControl
from nvcodec.recipe.group_coding import ENCODER_POLICY, CodingPolicy, code_group
from nvcodec.recipe.quality import config_for_quality
from nvcodec.recipe.shape import Given
from nvcodec.segments import SegmentPlan
from nvcodec.source import FrameSource


@dataclass(frozen=True)
class EncodeStats:
    path: Path
    frames: int
    height: int
    width: int
    groups: int
    file_bytes: int
    bpp: float
    """Bits per pixel from the whole file size on disk."""
    coded_bits: int
    """Entropy-coded parameter bits (all groups, without tables and side data)."""
    entropy_bits: float
    """Empirical entropy of the same symbols: what an ideal coder would spend."""
    fit_psnr: list[float]
    seconds: float
    group_bits: list[int]
    """Frame-INR bit depth of each group (lower than asked where rate control had to); 0 for a group
    trained with rate in the loss, whose learned steps have no one depth."""
    resumed_groups: int
    """Groups taken from the resume folder instead of being fitted again."""
    group_coded_bits: list[int] = dataclasses.field(default_factory=list)
    """ANS-coded bits of each group."""
    group_estimated_bits: list[float | None] = dataclasses.field(default_factory=list)
    """What the training's rate model estimated for the same symbols (None: a fixed-depth group)."""
    cuts: list[int] = dataclasses.field(default_factory=list)
    """Scene cuts found in the input: frames where a group starts because a new shot does."""

    @property
    def estimated_bits(self) -> float | None:
        """The rate model's estimate of :attr:`coded_bits`, when every group was trained with rate in the loss."""
        known = [b for b in self.group_estimated_bits if b is not None]
        return sum(known) if known and len(known) == len(self.group_estimated_bits) else None


@dataclass(frozen=True)
class GroupCoded:
    """What ``on_group`` hears after each group is in the file."""

    index: int
    count: int
    start: int
    end: int
    payload_bytes: int
    bits: int
    """Bit depth of the frame-INR weights (lower than asked where rate control had to)."""
    fit_psnr: float
    resumed: bool
    """True for a group taken from the resume folder rather than fitted now."""


@dataclass
class CodedTotals:
    coded_bits: int = 0
    entropy_bits: float = 0.0
    fit_psnr: list[float] = dataclasses.field(default_factory=list)
    payload_bytes: int = 0
    bits: list[int] = dataclasses.field(default_factory=list)
    group_coded_bits: list[int] = dataclasses.field(default_factory=list)
    group_estimated_bits: list[float | None] = dataclasses.field(default_factory=list)

    def add(self, group: GroupCoded, coded_bits: int, entropy_bits: float, estimated_bits: float | None) -> None:
        self.coded_bits += coded_bits
        self.group_coded_bits.append(coded_bits)
        self.group_estimated_bits.append(estimated_bits)
        self.entropy_bits += entropy_bits
        self.fit_psnr.append(group.fit_psnr)
        self.payload_bytes += group.payload_bytes
        self.bits.append(group.bits)


class GroupWriter:
    """Appends coded groups to a container in order, and does the bookkeeping of each.

    Every group is counted in the totals, saved in the resume journal (when
    there is one and the group is new) and announced to ``on_group``.
    """

    def __init__(
        self,
        container: ContainerWriter,
        journal: EncodeJournal | None = None,
        on_group: Callable[[GroupCoded], None] | None = None,
    ):
        self.container = container
        self.journal = journal
        self.on_group = on_group
        self.totals = CodedTotals()

    def add(self, chunk: JournalChunk, resumed: bool = False) -> None:
        """Append one coded group; ``resumed`` for a group an earlier, interrupted encode finished."""
        info = chunk.info
        group = GroupCoded(
            chunk.index,
            info["count"],
            chunk.start,
            chunk.end,
            len(chunk.payload),
            info["bits"],
            info["fit_psnr"],
            resumed,
        )
        if self.journal is not None and not resumed:
            self.journal.add(chunk)
        self.container.add_chunk(chunk.start, chunk.end, chunk.payload)
        self.totals.add(group, info["coded_bits"], info["entropy_bits"], info.get("estimated_bits"))
        if self.on_group is not None:
            self.on_group(group)


def coded_chunk(fit: GroupFit, packed: PackedGroup, used: QuantConfig) -> JournalChunk:
    """A coded group as the container and the journal keep it, with what the statistics need."""
    info = {
        "count": fit.count,
        "bits": used.bits_frame if packed.estimated_bits is None else 0,  # 0: learned steps, no one depth
        "fit_psnr": fit.psnr,
        "coded_bits": packed.coded_bits,
        "entropy_bits": packed.entropy_bits,
        **({"estimated_bits": packed.estimated_bits} if packed.estimated_bits is not None else {}),
        **({"lambda_scale": packed.lambda_scale} if packed.lambda_scale is not None else {}),
    }
    return JournalChunk(fit.index, fit.group.start, fit.group.end, packed.payload, info)


def write_groups(
    fits: Iterable[GroupFit],
    output: str | os.PathLike[str],
    header: dict,
    config: Config,
    quant: QuantConfig,
    *,
    policy: CodingPolicy = ENCODER_POLICY,
    rate: RateControl | None = None,
    options: EncodeOptions = EncodeOptions(),  # noqa: B008  # frozen
) -> CodedTotals:
    """Code groups fitted elsewhere and write them to a new ``.actv`` file (atomically).

    For benchmarks that fit once and code at several settings: each group was
    warm-started from the previous *fitted* group, where :func:`encode` starts
    it from the previous *decoded* one. ``policy`` selects the steps and the
    rounding (:class:`~nvcodec.recipe.group_coding.CodingPolicy`); ``options`` the rate trade and ``on_group``.
    """
    trade = options.trade
    decoded: State | None = None
    with ContainerWriter(output, header) as container:
        writer = GroupWriter(container, on_group=options.on_group)
        for fit in fits:
            reference = None if is_intra(fit.index, quant) else decoded
            packed, used = code_group(fit, config, quant, reference, rate, policy, trade)
            if rate is not None:
                rate.spend(len(packed.payload), fit.group.end, packed.lambda_scale)
            writer.add(coded_chunk(fit, packed, used))
            decoded = packed.decoded
    return writer.totals


def encode_segment(
    fitter: VideoFitter,
    quant: QuantConfig,
    plan: SegmentPlan,
    segment: range,
    *,
    done: Sequence[JournalChunk] = (),
    rate: RateControl | None = None,
    options: EncodeOptions = EncodeOptions(),  # noqa: B008  # frozen
    on_chunk: Callable[[JournalChunk], None] | None = None,
) -> list[JournalChunk]:
    """Fit and code the groups of one segment that are not in ``done`` (its first groups, finished earlier).

    The unit of work of serial and parallel encodes alike: the result depends
    only on the segment's frames and the settings, not on what ran before in
    this process. Each group after a segment's first starts from the previous
    group as the decoder will see it, so residuals stay small. Returns the new
    chunks; ``on_chunk`` hears each as soon as it is coded.
    """
    config, trade = fitter.config, options.trade
    specs = group_tensors(fitter.grid.num_patches, config.model, fitter.grid.patch_shape)
    reference = (
        GroupDecoder(specs, quant, lambda i: done[i - segment.start].payload).state(done[-1].index) if done else None
    )
    if rate is not None:
        for chunk in done:
            rate.spend(len(chunk.payload), chunk.end, chunk.info.get("lambda_scale"))
    chunks = []
    for index in segment[len(done) :]:
        start_from = None
        if reference is not None and not plan.starts_segment(index):
            start_from = GroupModel.from_state(fitter.grid, config.model, *fitter.span(index - 1), reference)
        fit = fitter.fit(index, start_from, callback=options.callback)
        packed, used = code_group(fit, config, quant, None if is_intra(index, quant) else reference, rate, trade=trade)
        if rate is not None:
            rate.spend(len(packed.payload), fit.group.end, packed.lambda_scale)
        chunk = coded_chunk(fit, packed, used)
        chunks.append(chunk)
        if on_chunk is not None:
            on_chunk(chunk)
        reference = packed.decoded
    return chunks


def resumable_prefix(plan: SegmentPlan, segment: range, saved: Mapping[int, JournalChunk]) -> list[JournalChunk]:
    """The saved groups that start ``segment`` and still match the group plan."""
    done = []
    for index in segment:
        chunk = saved.get(index)
        if chunk is None or (chunk.start, chunk.end) != (plan.bounds[index], plan.bounds[index + 1]):
            break
        done.append(chunk)
    return done


def encode(
    frames: np.ndarray | torch.Tensor | FrameSource,
    output: str | os.PathLike[str],
    config: Config | None = None,
    quant: QuantConfig | None = None,
    *,
    fps: float = 25.0,
    mask: np.ndarray | torch.Tensor | FrameSource | None = None,
    options: EncodeOptions | None = None,
) -> EncodeStats:
    """Fit ``frames`` ``[T, H, W, 3]`` (or a :class:`~nvcodec.source.FrameSource`) and write ``output`` as ``.actv``.

    Each group is quantized, entropy-coded and appended to the file as soon as
    it is fitted, so memory holds one group's parameters (and, with a source,
    one group's frames) at a time; the file appears (atomically) only when
    the last group is written. ``options`` (:class:`~nvcodec.options.EncodeOptions`)
    says the rest:

    - ``quality``: train every group with rate in the loss (:mod:`nvcodec.quant.rdtrain`)
      at ``lambda = 10^(-quality/10)``: the one quality knob, like a CRF, but
      higher is better. Each group then gets the steps and symbols that lower
      ``MSE + lambda * bpp``, so bits go where the content needs them.
      ``lambda_`` sets ``lambda`` directly instead. With neither, groups are
      coded at ``quant``'s bit depths (``benchmarks/results/README.md`` compares the two).
      Without a ``config``, the config follows the quality
      (:func:`~nvcodec.recipe.quality.config_for_quality`: its width and group
      length, and without a mask two short trial fits that may widen the model),
      as in ``actv-encode``.
    - ``max_bpp``: a rate target for the whole file; groups that would overrun their
      share are coded at fewer bits, or with coarser learned steps
      (:mod:`nvcodec.quant.ratecontrol`).
    - ``segment_groups``: cut the video into closed segments of this many groups
      (:mod:`nvcodec.segments`), the unit of parallel encoding
      (:mod:`nvcodec.distributed`); recorded in the header.
    - ``resume_folder``: keep each finished group here (:mod:`nvcodec.journal`). If
      it already holds groups of this same encode (same frames, mask and
      settings), they are reused and fitting continues after them; the file
      is the same as an uninterrupted encode's. Removed once the file is written.
    - ``callback`` hears each fit step, ``on_group`` each group written.
    """
    started = time.perf_counter()
    options = options or EncodeOptions()
    trade = options.trade
    if config is None:
        config = Config()
        if trade is not None:
            config, _ = config_for_quality(config, trade, frames, Given(masked=mask is not None))
    quant = quant or QuantConfig()
    fitter = VideoFitter(frames, config, mask=mask)
    job = EncodeJob.prepare(fitter, fps, quant, options)
    with ContainerWriter(output, job.header) as container:
        writer = GroupWriter(container, job.journal, options.on_group)
        for segment in job.plan.segments():
            done = resumable_prefix(job.plan, segment, job.saved)
            for chunk in done:
                writer.add(chunk, resumed=True)
            if len(done) < len(segment):
                height, width = fitter.grid.height, fitter.grid.width
                rate = job.plan.rate_control(segment, options.max_bpp, height, width, job.header_bytes)
                encode_segment(fitter, quant, job.plan, segment, done=done, rate=rate, options=options,
                               on_chunk=writer.add)  # fmt: skip
    if job.journal is not None:
        job.journal.remove()
    resumed = sum(len(resumable_prefix(job.plan, s, job.saved)) for s in job.plan.segments())
    return encode_stats(Path(output), fitter, writer.totals, started, resumed)


@dataclass(frozen=True)
class EncodeJob:
    """What an encode fixes before its first fit: header, segment plan and the resume journal's saved groups."""

    header: dict
    header_bytes: int
    plan: SegmentPlan
    journal: EncodeJournal | None
    saved: dict[int, JournalChunk]

    @classmethod
    def prepare(cls, fitter: VideoFitter, fps: float, quant: QuantConfig, options: EncodeOptions) -> EncodeJob:
        config, segment_groups, trade = fitter.config, options.segment_groups, options.trade
        plan = cls.plan_for(fitter, segment_groups)
        plan.check(quant)
        count = len(fitter.frame_times)
        header = new_header_map(count, fitter.grid.height, fitter.grid.width, fps, config, quant, segment_groups)
        header_bytes = header_map_to_bytes(header)  # refuses what no reader would accept
        journal, saved = None, {}
        if options.resume_folder is not None:
            # The header holds the model and quantization; the fit settings (iterations, schedule, device) are
            # not in it but decide the weights too: a resume with other ones must not mix the two fits.
            settings = f"max_bpp={options.max_bpp};fit={sorted(dataclasses.asdict(config.fit).items())}"
            if trade is not None:  # kept out for fixed-depth encodes, so their journals stay valid
                settings += f";trade={trade}"
            key = fingerprint(header_bytes, fitter.fingerprints(), settings)
            journal = EncodeJournal(options.resume_folder, key)
            saved = journal.intact()
        return cls(header, len(header_bytes), plan, journal, saved)

    @staticmethod
    def plan_for(fitter: VideoFitter, segment_groups: int | None) -> SegmentPlan:
        return SegmentPlan(tuple(fitter.bounds), segment_groups)


def encode_stats(path: Path, fitter: VideoFitter, totals: CodedTotals, started: float, resumed: int) -> EncodeStats:
    """The statistics of a finished file; bpp from its whole size on disk."""
    size = path.stat().st_size
    grid, frames = fitter.grid, len(fitter.frame_times)
    return EncodeStats(
        path,
        frames,
        grid.height,
        grid.width,
        len(totals.fit_psnr),
        size,
        8 * size / (frames * grid.height * grid.width),
        totals.coded_bits,
        totals.entropy_bits,
        totals.fit_psnr,
        time.perf_counter() - started,
        totals.bits,
        resumed,
        totals.group_coded_bits,
        totals.group_estimated_bits,
        list(fitter.cuts),
    )
