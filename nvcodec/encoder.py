"""Video -> ``.actv``: fit group by group, fine-tune for quantization, code, and stream to disk."""

from __future__ import annotations

import copy
import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nvcodec.codec import PackedGroup, pack_group, unpack_group
from nvcodec.config import Config, QuantConfig
from nvcodec.container import ContainerWriter, encode_header
from nvcodec.device import resolve_device
from nvcodec.errors import ArgumentError, InputError
from nvcodec.fit import GroupFit, ProgressCallback, fit_groups, stream_seed
from nvcodec.header import build_header, is_intra
from nvcodec.journal import EncodeJournal, JournalChunk, fingerprint
from nvcodec.model.group import GroupModel
from nvcodec.model.video import group_bounds
from nvcodec.qat import finetune_for_quantization
from nvcodec.quant import quantization_steps
from nvcodec.ratecontrol import RateControl
from nvcodec.sensitivity import measure
from nvcodec.tiling import PatchGrid


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


STEP_RULES = ("sensitivity", "peak")
"""How a group's quantization steps are chosen: ``sensitivity`` spends the bits where the decoded
frames need them (:func:`nvcodec.quant.quantization_steps`); ``peak`` is each channel's peak
magnitude over the depth's levels. The decoder reads the steps from the chunk either way."""

ROUNDINGS = ("compensated", "nearest")
"""How symbols are chosen on those steps: ``compensated`` rounds so that errors cancel in each
layer's output (:mod:`nvcodec.rounding`); ``nearest`` rounds every value on its own."""


def _pack_fitted(
    fit: GroupFit,
    config: Config,
    quant: QuantConfig,
    reference: dict[str, torch.Tensor] | None,
    rate: RateControl | None,
    step_rule: str = "sensitivity",
    rounding: str = "compensated",
) -> tuple[PackedGroup, QuantConfig]:
    """QAT (if asked) and coding of one group at the depth rate control allows."""
    cost = measure(fit.group) if (step_rule, rounding) != ("peak", "nearest") else None
    sensitivity = cost.sensitivity if cost is not None and step_rule == "sensitivity" else None
    hessians = cost.hessians if cost is not None and rounding == "compensated" else None

    def steps_for(state: dict[str, torch.Tensor], q: QuantConfig) -> dict[str, torch.Tensor] | None:
        return quantization_steps(state, q, sensitivity, reference) if sensitivity is not None else None

    def pack(state: dict[str, torch.Tensor], q: QuantConfig, steps: dict[str, torch.Tensor] | None) -> PackedGroup:
        return pack_group(state, q, reference, steps, hessians)

    def payload_bytes(state: dict[str, torch.Tensor]) -> Callable[[QuantConfig], int]:
        return lambda q: len(pack(state, q, steps_for(state, q)).payload)

    state = fit.group.state_dict()
    if rate is not None:
        quant = rate.choose(fit.group.end, quant, payload_bytes(state))
    steps = steps_for(state, quant)  # fixed before QAT, so fine-tuning sees the grid it will be coded on
    if quant.qat_iters:
        generator = torch.Generator(device=fit.frames.device)
        generator.manual_seed(stream_seed(config.fit.seed, "qat", fit.index))
        finetune_for_quantization(fit, config, quant, reference, generator, steps, hessians)
        state = fit.group.state_dict()
        if hessians is not None:  # the layers' inputs moved with the weights
            hessians = measure(fit.group).hessians
    packed = pack(state, quant, steps)
    if rate is not None and len(packed.payload) > rate.allowance(fit.group.end):
        # Fine-tuning moved the weights enough to need fewer bits still.
        quant = rate.choose(fit.group.end, quant, payload_bytes(state))
        packed = pack(state, quant, steps_for(state, quant))
    return packed, quant


def write_groups(
    fits: Iterable[GroupFit],
    output: str | os.PathLike[str],
    header: dict,
    config: Config,
    quant: QuantConfig,
    *,
    on_group: Callable[[GroupCoded], None] | None = None,
    on_packed: Callable[[PackedGroup], None] | None = None,
    rate: RateControl | None = None,
    journal: EncodeJournal | None = None,
    resumed: Sequence[JournalChunk] = (),
    resumed_state: dict[str, torch.Tensor] | None = None,
    step_rule: str = "sensitivity",
    rounding: str = "compensated",
) -> CodedTotals:
    """Fine-tune (QAT), quantize, code and append each fitted group to a new ``.actv`` file.

    ``fits`` may be a generator that fits lazily (streaming) or groups fitted
    earlier (to code one fit at several settings). The file appears atomically
    once the last group is written. ``rate`` lowers bit depth where a group
    would overrun its share of a bpp budget. ``resumed`` chunks (from a resume
    folder, with ``resumed_state`` the decoded parameters of the last of them)
    go first; each new group is also saved to ``journal``. ``step_rule``: see
    :data:`STEP_RULES`; ``rounding``: see :data:`ROUNDINGS`.
    """
    if step_rule not in STEP_RULES:
        raise ArgumentError(f"unknown step rule {step_rule!r}; use {' or '.join(STEP_RULES)}")
    if rounding not in ROUNDINGS:
        raise ArgumentError(f"unknown rounding {rounding!r}; use {' or '.join(ROUNDINGS)}")
    totals = CodedTotals()
    decoded = resumed_state
    with ContainerWriter(output, header) as writer:
        for chunk in resumed:
            writer.add_chunk(chunk.start, chunk.end, chunk.payload)
            info = chunk.info
            group = GroupCoded(
                chunk.index,
                info["count"],
                chunk.start,
                chunk.end,
                len(chunk.payload),
                info["bits"],
                info["fit_psnr"],
                True,
            )
            totals.add(group, info["coded_bits"], info["entropy_bits"])
            if rate is not None:
                rate.spend(len(chunk.payload))
            if on_group is not None:
                on_group(group)
        for fit in fits:
            reference = None if is_intra(fit.index, quant) else decoded
            packed, used = _pack_fitted(fit, config, quant, reference, rate, step_rule, rounding)
            writer.add_chunk(fit.group.start, fit.group.end, packed.payload)
            group = GroupCoded(
                fit.index,
                fit.count,
                fit.group.start,
                fit.group.end,
                len(packed.payload),
                used.bits_frame,
                fit.psnr,
                False,
            )
            totals.add(group, packed.coded_bits, packed.entropy_bits)
            if rate is not None:
                rate.spend(len(packed.payload))
            if journal is not None:
                info = {
                    "count": fit.count,
                    "bits": used.bits_frame,
                    "fit_psnr": fit.psnr,
                    "coded_bits": packed.coded_bits,
                    "entropy_bits": packed.entropy_bits,
                }
                journal.add(JournalChunk(fit.index, fit.group.start, fit.group.end, packed.payload, info))
            decoded = packed.decoded
            if on_packed is not None:
                on_packed(packed)
            if on_group is not None:
                on_group(group)
    return totals


def _template(config: Config, height: int, width: int) -> GroupModel:
    grid = PatchGrid.build(height, width, config.model.patch, config.model.overlap)
    return GroupModel(grid, config.model, 0, 1, torch.Generator().manual_seed(0))


def _decode_chain(chunks: Sequence[JournalChunk], template: GroupModel, quant: QuantConfig) -> dict[str, torch.Tensor]:
    """Decoded parameters of the last chunk, exactly as a reader rebuilds them."""
    state: dict[str, torch.Tensor] | None = None
    names = template.state_dict()
    for chunk in chunks:
        intra = is_intra(chunk.index, quant)
        state = unpack_group(chunk.payload, names, None if intra else state, intra=intra)
    assert state is not None
    return state


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
    appears (atomically) only when the last group is written.

    max_bpp: a rate target for the whole file; groups that would overrun their
        share are coded at fewer bits (:mod:`nvcodec.ratecontrol`).
    resume_folder: keep each finished group here (:mod:`nvcodec.journal`). If
        it already holds groups of this same encode (same frames, mask and
        settings), they are reused and fitting continues after them; the file
        is the same as an uninterrupted encode's. Removed once the file is written.
    """
    config = config or Config()
    quant = quant or QuantConfig()
    started = time.perf_counter()
    array = torch.as_tensor(frames)
    if array.ndim != 4 or array.shape[-1] != 3:
        raise InputError(f"frames must have shape [T, H, W, 3], got {tuple(array.shape)}")
    count, height, width = (int(n) for n in array.shape[:3])
    header = build_header(count, height, width, fps, config, quant)  # refuses what no reader would accept
    header_bytes = encode_header(header)
    bounds = group_bounds(count, config.fit.group_size)
    groups = len(bounds) - 1
    rate = RateControl(max_bpp, count, height, width, len(header_bytes), groups) if max_bpp is not None else None

    journal = None
    resumed: list[JournalChunk] = []
    decoded: dict[str, torch.Tensor] | None = None
    previous: GroupModel | None = None
    if resume_folder is not None:
        journal = EncodeJournal(resume_folder, fingerprint(header_bytes, [array, mask], f"max_bpp={max_bpp}"))
        for chunk in journal.finished():
            if (chunk.start, chunk.end) != (bounds[chunk.index], bounds[chunk.index + 1]):
                break
            resumed.append(chunk)
        if resumed:
            template = _template(config, height, width)
            decoded = _decode_chain(resumed, template, quant)
            template.load_state_dict(decoded)
            template.start, template.end = resumed[-1].start, resumed[-1].end  # the next group moves on from here
            previous = template.to(resolve_device(config.fit.device)).eval()

    def warm_start(previous: GroupModel) -> GroupModel:
        # Start the next group from what the decoder will have, so residuals stay small.
        group = copy.deepcopy(previous)
        if decoded is not None:
            group.load_state_dict({n: t.to(next(group.parameters()).device) for n, t in decoded.items()})
        return group

    fits: Iterable[GroupFit] = ()
    if len(resumed) < groups:
        fits = fit_groups(
            frames,
            config,
            mask=mask,
            callback=callback,
            warm_start=warm_start,
            first_group=len(resumed),
            previous=previous,
        )

    def remember(packed: PackedGroup) -> None:
        nonlocal decoded
        decoded = packed.decoded

    coded = write_groups(
        fits,
        output,
        header,
        config,
        quant,
        on_group=on_group,
        on_packed=remember,
        rate=rate,
        journal=journal,
        resumed=resumed,
        resumed_state=decoded,
    )
    if journal is not None:
        journal.remove()
    path = Path(output)
    size = path.stat().st_size
    return EncodeStats(
        path,
        count,
        height,
        width,
        len(coded.fit_psnr),
        size,
        8 * size / (count * height * width),
        coded.coded_bits,
        coded.entropy_bits,
        coded.fit_psnr,
        time.perf_counter() - started,
        coded.bits,
        len(resumed),
    )
