"""Video -> ``.actv``: fit group by group, code each group, and stream it to disk.

This module is the orchestration: the order of fitting, coding and writing,
the resume folder and the statistics. How a group is coded (depth, steps,
rounding, fine-tuning) is the policy of :mod:`nvcodec.quant.policy`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nvcodec.codec import PackedGroup
from nvcodec.config import Config, QuantConfig
from nvcodec.container import ContainerWriter, header_map_to_bytes
from nvcodec.decoder import GroupDecoder, State
from nvcodec.fit import GroupFit, ProgressCallback, VideoFitter
from nvcodec.header import is_intra, new_header_map
from nvcodec.journal import EncodeJournal, JournalChunk, fingerprint
from nvcodec.model.group import GroupModel
from nvcodec.model.tensors import group_tensors
from nvcodec.quant.policy import ENCODER_POLICY, CodingPolicy, code_group
from nvcodec.quant.ratecontrol import RateControl


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
    """Frame-INR bit depth of each group (lower than asked where rate control had to)."""
    resumed_groups: int
    """Groups taken from the resume folder instead of being fitted again."""


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

    def add(self, group: GroupCoded, coded_bits: int, entropy_bits: float) -> None:
        self.coded_bits += coded_bits
        self.entropy_bits += entropy_bits
        self.fit_psnr.append(group.fit_psnr)
        self.payload_bytes += group.payload_bytes
        self.bits.append(group.bits)


class GroupWriter:
    """Appends coded groups to a container in order, and does the bookkeeping of each.

    Every group is counted in the totals, charged to the rate budget, saved in
    the resume journal (when there is one) and announced to ``on_group``.
    """

    def __init__(
        self,
        container: ContainerWriter,
        rate: RateControl | None = None,
        journal: EncodeJournal | None = None,
        on_group: Callable[[GroupCoded], None] | None = None,
    ):
        self.container = container
        self.rate = rate
        self.journal = journal
        self.on_group = on_group
        self.totals = CodedTotals()

    def replay(self, chunk: JournalChunk) -> None:
        """Append a group finished by an earlier, interrupted encode."""
        info = chunk.info
        group = GroupCoded(
            chunk.index, info["count"], chunk.start, chunk.end, len(chunk.payload), info["bits"], info["fit_psnr"], True
        )
        self._append(group, chunk.payload, info["coded_bits"], info["entropy_bits"])

    def add(self, fit: GroupFit, packed: PackedGroup, used: QuantConfig) -> None:
        """Append a group fitted and coded now (``used``: the depths it was coded at)."""
        start, end = fit.group.start, fit.group.end
        group = GroupCoded(fit.index, fit.count, start, end, len(packed.payload), used.bits_frame, fit.psnr, False)
        if self.journal is not None:
            info = {
                "count": fit.count,
                "bits": used.bits_frame,
                "fit_psnr": fit.psnr,
                "coded_bits": packed.coded_bits,
                "entropy_bits": packed.entropy_bits,
            }
            self.journal.add(JournalChunk(fit.index, start, end, packed.payload, info))
        self._append(group, packed.payload, packed.coded_bits, packed.entropy_bits)

    def _append(self, group: GroupCoded, payload: bytes, coded_bits: int, entropy_bits: float) -> None:
        self.container.add_chunk(group.start, group.end, payload)
        self.totals.add(group, coded_bits, entropy_bits)
        if self.rate is not None:
            self.rate.spend(len(payload))
        if self.on_group is not None:
            self.on_group(group)


def write_groups(
    fits: Iterable[GroupFit],
    output: str | os.PathLike[str],
    header: dict,
    config: Config,
    quant: QuantConfig,
    *,
    policy: CodingPolicy = ENCODER_POLICY,
    rate: RateControl | None = None,
    on_group: Callable[[GroupCoded], None] | None = None,
) -> CodedTotals:
    """Code groups fitted elsewhere and write them to a new ``.actv`` file (atomically).

    For benchmarks that fit once and code at several settings: each group was
    warm-started from the previous *fitted* group, where :func:`encode` starts
    it from the previous *decoded* one. ``policy`` selects the steps and the
    rounding (:class:`~nvcodec.quant.policy.CodingPolicy`).
    """
    decoded: State | None = None
    with ContainerWriter(output, header) as container:
        writer = GroupWriter(container, rate, on_group=on_group)
        for fit in fits:
            reference = None if is_intra(fit.index, quant) else decoded
            packed, used = code_group(fit, config, quant, reference, rate, policy)
            writer.add(fit, packed, used)
            decoded = packed.decoded
    return writer.totals


def _resumable(
    folder: str | os.PathLike[str], key: str, fitter: VideoFitter
) -> tuple[EncodeJournal, list[JournalChunk]]:
    """The resume journal, and its finished groups that still match this encode's group plan."""
    journal = EncodeJournal(folder, key)
    resumed: list[JournalChunk] = []
    for chunk in journal.finished():
        if chunk.index >= fitter.count or (chunk.start, chunk.end) != fitter.span(chunk.index):
            break
        resumed.append(chunk)
    return journal, resumed


def encode(
    frames: np.ndarray | torch.Tensor,
    output: str | os.PathLike[str],
    config: Config | None = None,
    quant: QuantConfig | None = None,
    *,
    fps: float = 25.0,
    mask: np.ndarray | torch.Tensor | None = None,
    max_bpp: float | None = None,
    resume_folder: str | os.PathLike[str] | None = None,
    callback: ProgressCallback | None = None,
    on_group: Callable[[GroupCoded], None] | None = None,
) -> EncodeStats:
    """Fit ``frames`` ``[T, H, W, 3]`` and write them to ``output`` as ``.actv``.

    Each group is quantized, entropy-coded and appended to the file as soon as
    it is fitted, so memory holds one group's parameters at a time; the file
    appears (atomically) only when the last group is written. Each group after
    the first starts from the previous group as the decoder will see it, so
    residuals stay small.

    max_bpp: a rate target for the whole file; groups that would overrun their
        share are coded at fewer bits (:mod:`nvcodec.quant.ratecontrol`).
    resume_folder: keep each finished group here (:mod:`nvcodec.journal`). If
        it already holds groups of this same encode (same frames, mask and
        settings), they are reused and fitting continues after them; the file
        is the same as an uninterrupted encode's. Removed once the file is written.
    """
    config = config or Config()
    quant = quant or QuantConfig()
    started = time.perf_counter()
    fitter = VideoFitter(frames, config, mask=mask)
    count, height, width = (int(n) for n in fitter.frames.shape[:3])
    header = new_header_map(count, height, width, fps, config, quant)  # refuses what no reader would accept
    header_bytes = header_map_to_bytes(header)
    rate = RateControl(max_bpp, count, height, width, len(header_bytes), fitter.count) if max_bpp is not None else None
    journal: EncodeJournal | None = None
    resumed: list[JournalChunk] = []
    if resume_folder is not None:
        key = fingerprint(header_bytes, [torch.as_tensor(frames), mask], f"max_bpp={max_bpp}")
        journal, resumed = _resumable(resume_folder, key, fitter)
    specs = group_tensors(fitter.grid.num_patches, config.model)

    with ContainerWriter(output, header) as container:
        writer = GroupWriter(container, rate, journal, on_group)
        for chunk in resumed:
            writer.replay(chunk)
        reference = (
            GroupDecoder(specs, quant, lambda i: resumed[i].payload).state(len(resumed) - 1) if resumed else None
        )
        for index in range(len(resumed), fitter.count):
            start_from = None
            if reference is not None:  # the previous group as the decoder will have it
                start_from = GroupModel.from_state(fitter.grid, config.model, *fitter.span(index - 1), reference)
            fit = fitter.fit(index, start_from, callback=callback)
            packed, used = code_group(fit, config, quant, None if is_intra(index, quant) else reference, rate)
            writer.add(fit, packed, used)
            reference = packed.decoded
    if journal is not None:
        journal.remove()
    return _stats(Path(output), count, height, width, writer.totals, time.perf_counter() - started, len(resumed))


def _stats(
    path: Path, frames: int, height: int, width: int, totals: CodedTotals, seconds: float, resumed: int
) -> EncodeStats:
    size = path.stat().st_size
    return EncodeStats(
        path,
        frames,
        height,
        width,
        len(totals.fit_psnr),
        size,
        8 * size / (frames * height * width),
        totals.coded_bits,
        totals.entropy_bits,
        totals.fit_psnr,
        seconds,
        totals.bits,
        resumed,
    )
