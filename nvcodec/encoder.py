"""Video -> ``.actv``: fit group by group, fine-tune for quantization, code, and stream to disk."""

from __future__ import annotations

import copy
import dataclasses
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nvcodec.codec import PackedGroup, pack_group
from nvcodec.config import Config, QuantConfig
from nvcodec.container import ContainerWriter
from nvcodec.errors import InputError
from nvcodec.fit import GroupFit, ProgressCallback, fit_groups, stream_seed
from nvcodec.header import build_header, is_intra
from nvcodec.model.group import GroupModel
from nvcodec.qat import finetune_for_quantization


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


@dataclass
class CodedTotals:
    coded_bits: int = 0
    entropy_bits: float = 0.0
    fit_psnr: list[float] = dataclasses.field(default_factory=list)


def write_groups(
    fits: Iterable[GroupFit],
    output: str | os.PathLike[str],
    header: dict,
    config: Config,
    quant: QuantConfig,
    *,
    on_group: Callable[[int, int], None] | None = None,
    on_packed: Callable[[PackedGroup], None] | None = None,
) -> CodedTotals:
    """Fine-tune (QAT), quantize, code and append each fitted group to a new ``.actv`` file.

    ``fits`` may be a generator that fits lazily (streaming) or groups fitted
    earlier (to code one fit at several settings). The file appears atomically
    once the last group is written.
    """
    totals = CodedTotals()
    decoded: dict[str, torch.Tensor] | None = None
    with ContainerWriter(output, header) as writer:
        for fit in fits:
            reference = None if is_intra(fit.index, quant) else decoded
            if quant.qat_iters:
                generator = torch.Generator(device=fit.frames.device)
                generator.manual_seed(stream_seed(config.fit.seed, "qat", fit.index))
                finetune_for_quantization(fit, config, quant, reference, generator)
            packed = pack_group(fit.group.state_dict(), quant, reference)
            writer.add_chunk(fit.group.start, fit.group.end, packed.payload)
            decoded = packed.decoded
            totals.coded_bits += packed.coded_bits
            totals.entropy_bits += packed.entropy_bits
            totals.fit_psnr.append(fit.psnr)
            if on_packed is not None:
                on_packed(packed)
            if on_group is not None:
                on_group(fit.index, fit.count)
    return totals


def encode(
    frames: np.ndarray | torch.Tensor,
    output: str | os.PathLike[str],
    config: Config | None = None,
    quant: QuantConfig | None = None,
    *,
    fps: float = 25.0,
    mask: np.ndarray | torch.Tensor | None = None,
    callback: ProgressCallback | None = None,
    on_group: Callable[[int, int], None] | None = None,
) -> EncodeStats:
    """Fit ``frames`` ``[T, H, W, 3]`` and write them to ``output`` as ``.actv``.

    Each group is quantized, entropy-coded and appended to the file as soon as
    it is fitted, so memory holds one group's parameters at a time; the file
    appears (atomically) only when the last group is written.
    """
    config = config or Config()
    quant = quant or QuantConfig()
    started = time.perf_counter()
    array = torch.as_tensor(frames)
    if array.ndim != 4 or array.shape[-1] != 3:
        raise InputError(f"frames must have shape [T, H, W, 3], got {tuple(array.shape)}")
    count, height, width = (int(n) for n in array.shape[:3])
    decoded: dict[str, torch.Tensor] | None = None

    def warm_start(previous: GroupModel) -> GroupModel:
        # Start the next group from what the decoder will have, so residuals stay small.
        group = copy.deepcopy(previous)
        if decoded is not None:
            group.load_state_dict({n: t.to(next(group.parameters()).device) for n, t in decoded.items()})
        return group

    header = build_header(count, height, width, fps, config, quant)  # refuses what no reader would accept
    fits = fit_groups(frames, config, mask=mask, callback=callback, warm_start=warm_start)

    def remember(packed: PackedGroup) -> None:
        nonlocal decoded
        decoded = packed.decoded

    coded = write_groups(fits, output, header, config, quant, on_group=on_group, on_packed=remember)
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
    )
