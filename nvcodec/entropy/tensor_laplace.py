"""The chunk's main stream with a model per tensor: a Laplace per channel where it pays, the count table elsewhere.

One count table pooled over every matrix and latent (:mod:`nvcodec.entropy.count_table`)
prices each tensor's symbols by the mixture of all of them, while their spreads
differ by an order of magnitude between tensors, and between the channels of one
tensor when rate-aware training gave the channels different steps. So each
tensor may instead be coded under zero-mean integer Laplace tables, one of the
64 scale levels of the latent grids' coder (:mod:`nvcodec.entropy.context`,
``mu = 0``) per channel (the numbers that share a quantization step), with its
own alphabet ``[-A, A]``. The encoder prices every tensor both ways and keeps the
cheaper; what stays pooled goes through the count table as before.

Stored (payload version 4, ``formats/ACTV.md`` section 5): the pooled stream's
four fields, then ``models`` (a zstd frame: per tensor in sorted name order, ``A``
as uint16 little-endian, 0 for a pooled tensor, else ``A`` and one level byte per
channel) and ``laplace`` (ANS words: the Laplace tensors in that order, each
tensor's numbers by level, channel by channel within a level, under the level's
table, then an end mark). The tables are the integers of
:func:`nvcodec.entropy.context.laplace_counts`, so decoding is bit-exact on every
machine. A chunk whose tensors all stay pooled is
stored as before (versions 2 and 3), and such chunks decode here with no
``models``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import constriction
import msgpack
import numpy as np

from nvcodec.entropy.context import (
    MAX_ALPHABET_HALF,
    PRECISION,
    SCALE_LEVELS,
    laplace_counts,
    push_end_mark,
    read_end_mark,
)
from nvcodec.entropy.count_table import SymbolStream, decode_stream, encode_stream
from nvcodec.entropy.model import EntropyModel, Layout
from nvcodec.entropy.zstd import zstd_compress, zstd_decompress
from nvcodec.errors import FormatError
from nvcodec.model.tensors import Coding

if TYPE_CHECKING:
    from torch import nn

POOLED = 0
"""``A`` of a tensor coded in the pooled count table."""
POOLED_FIELDS = 4
"""The count-table fields that come first (n, low, table, data): all that versions 2 and 3 store."""
LEVEL_BITS = 6
"""What the encoder reckons a stored level costs (the ``models`` frame is zstd'd: uniform levels cost less)."""
ALPHABET_BITS = 16
"""What the encoder reckons a tensor's stored ``A`` costs."""
MAX_LAPLACE_WORK = 1 << 26
"""Cap on table entries a chunk's Laplace stream may make a decoder build (levels in use times ``2A + 1``)."""


@functools.lru_cache(maxsize=512)
def _model(alphabet_half: int, level: int) -> constriction.stream.model.Categorical:
    """constriction's model of a zero-mean Laplace table, given its free weights (each count less 1), as the
    grids' coder gives its tables: they total ``2^PRECISION - (2A + 1)``, and constriction's leaky quantization
    adds the 1 back, so its fixed-point model is the table itself."""
    free = laplace_counts(alphabet_half, level) - 1
    return constriction.stream.model.Categorical(free.astype(np.float64), perfect=False)


@functools.lru_cache(maxsize=16)
def _bit_costs(alphabet_half: int) -> np.ndarray:
    """``[SCALE_LEVELS, 2A + 1]`` bits of every symbol under every level's table."""
    counts = np.stack([laplace_counts(alphabet_half, level) for level in range(SCALE_LEVELS)])
    return PRECISION - np.log2(counts.astype(np.float64))


def channel_ids(shape: tuple[int, ...], channels: tuple[int, ...]) -> np.ndarray:
    """Each number's channel, in flat order: the row-major index of the step that scales it. ``channels`` is the
    step shape (1 on the axes a step is shared along)."""
    return np.broadcast_to(np.arange(math.prod(channels)).reshape(channels), shape).reshape(-1)


def coding_order(ids: np.ndarray, levels: Sequence[int]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A Laplace tensor's coding order: the flat positions of its numbers by level, within a level channel by
    channel, within a channel in flat order; and the ``(level, count)`` runs of that order, so that a tensor
    takes one call to the coder per level it uses, however many channels it has."""
    number_levels = np.asarray(levels, dtype=np.int64)[ids]
    order = np.argsort(number_levels * len(levels) + ids, kind="stable")
    counts = np.bincount(number_levels, minlength=SCALE_LEVELS)
    return order, [(level, int(count)) for level, count in enumerate(counts.tolist()) if count]


@dataclass(frozen=True)
class TensorModel:
    """How one tensor's symbols are coded: pooled (``alphabet_half == 0``), or a Laplace level per channel."""

    alphabet_half: int = POOLED
    levels: tuple[int, ...] = ()

    @property
    def pooled(self) -> bool:
        return self.alphabet_half == POOLED


def choose_model(
    symbols: np.ndarray, shape: tuple[int, ...], channels: tuple[int, ...], pooled_bits: float
) -> TensorModel:
    """The cheaper coding of one tensor's symbols: pooled at ``pooled_bits`` (their cost under the count table),
    or Laplace, a level per channel or one for all, whichever costs fewer bits with its side data."""
    half = int(np.abs(symbols).max()) if symbols.size else 0
    if symbols.size == 0 or half > MAX_ALPHABET_HALF:
        return TensorModel()
    half = max(half, 1)
    ids = channel_ids(shape, channels)
    count = math.prod(channels)
    values = symbols.reshape(-1) + half
    # [channels, levels]: level by level, so memory stays that of the symbols at any channel count.
    bits = np.stack([np.bincount(ids, weights=cost[values], minlength=count) for cost in _bit_costs(half)], axis=1)
    per_channel = bits.min(axis=1).sum() + LEVEL_BITS * count
    shared = bits.sum(axis=0)
    one = int(np.argmin(shared))
    if min(per_channel, float(shared[one]) + LEVEL_BITS) + ALPHABET_BITS >= pooled_bits:
        return TensorModel()
    levels = bits.argmin(axis=1) if per_channel < shared[one] + LEVEL_BITS else np.full(count, one)
    return TensorModel(half, tuple(int(level) for level in levels))


def pack_models(models: Sequence[TensorModel]) -> bytes:
    """The ``models`` field: per tensor ``A`` (uint16 LE), then its levels (one byte each), all zstd'd."""
    raw = bytearray()
    for model in models:
        raw += model.alphabet_half.to_bytes(2, "little")
        raw += bytes(model.levels)
    return zstd_compress(bytes(raw))


def unpack_models(blob: object, channel_counts: Sequence[int]) -> list[TensorModel]:
    """Inverse of :func:`pack_models` for tensors of ``channel_counts`` channels; anything malformed is a
    :class:`FormatError`."""
    if not isinstance(blob, bytes):
        raise FormatError("tensor models must be bytes")
    raw = zstd_decompress(blob, 3 * len(channel_counts) + sum(channel_counts), "tensor models")
    models, offset, work = [], 0, 0
    for channels in channel_counts:
        if offset + 2 > len(raw):
            raise FormatError("tensor models end before every tensor has one")
        half = int.from_bytes(raw[offset : offset + 2], "little")
        offset += 2
        if half == POOLED:
            models.append(TensorModel())
            continue
        if half > MAX_ALPHABET_HALF:
            raise FormatError(f"a tensor's alphabet half-width {half} exceeds {MAX_ALPHABET_HALF}")
        levels = raw[offset : offset + channels]
        offset += channels
        if len(levels) != channels or max(levels, default=0) >= SCALE_LEVELS:
            raise FormatError(f"a tensor's Laplace levels are missing or not below {SCALE_LEVELS}")
        work += len(set(levels)) * (2 * half + 1)
        if work > MAX_LAPLACE_WORK:
            raise FormatError("tensor models ask for more Laplace tables than a chunk may build")
        models.append(TensorModel(half, tuple(levels)))
    if offset != len(raw):
        raise FormatError("tensor models go on after the last tensor")
    return models


def encode_laplace(
    parts: Sequence[np.ndarray],
    shapes: Sequence[tuple[int, ...]],
    channels: Sequence[tuple[int, ...]],
    models: Sequence[TensorModel],
) -> bytes:
    """ANS words of the Laplace tensors among ``parts`` (one symbol array per tensor of ``shapes``, whose step
    shapes are ``channels``)."""
    segments = []
    for symbols, shape, step_shape, model in zip(parts, shapes, channels, models):
        if model.pooled:
            continue
        order, runs = coding_order(channel_ids(shape, step_shape), model.levels)
        ordered = symbols.reshape(-1)[order] + model.alphabet_half
        start = 0
        for level, count in runs:
            segments.append((ordered[start : start + count].astype(np.int32), _model(model.alphabet_half, level)))
            start += count
    if not segments:
        return b""
    coder = constriction.stream.stack.AnsCoder()
    push_end_mark(coder)  # as the grids' stream: a truncated stream cannot end cleanly
    for symbols, model in reversed(segments):
        coder.encode_reverse(symbols, model)
    return coder.get_compressed().astype("<u4").tobytes()


def decode_laplace(
    data: object, shapes: Sequence[tuple[int, ...]], channels: Sequence[tuple[int, ...]], models: Sequence[TensorModel]
) -> list[np.ndarray | None]:
    """Inverse of :func:`encode_laplace`: each Laplace tensor's flat int64 symbols (None for a pooled one)."""
    if not isinstance(data, bytes) or len(data) % 4:
        raise FormatError("Laplace stream must be bytes, a whole number of 32-bit words")
    if all(model.pooled for model in models):
        if data:
            raise FormatError("Laplace stream present where every tensor is pooled")
        return [None] * len(models)
    try:
        coder = constriction.stream.stack.AnsCoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))
    except Exception as exc:  # constriction rejects some damaged data up front (a zero last word)
        raise FormatError(f"Laplace stream is damaged: {exc}") from None
    out: list[np.ndarray | None] = []
    for shape, step_shape, model in zip(shapes, channels, models):
        if model.pooled:
            out.append(None)
            continue
        order, runs = coding_order(channel_ids(shape, step_shape), model.levels)
        ordered = []
        for level, count in runs:
            try:
                ordered.append(np.asarray(coder.decode(_model(model.alphabet_half, level), count), dtype=np.int64))
            except Exception as exc:  # constriction reports damaged data with various exception types
                raise FormatError(f"Laplace stream is damaged: {exc}") from None
        flat = np.empty(len(order), dtype=np.int64)
        flat[order] = np.concatenate(ordered) - model.alphabet_half if ordered else 0
        out.append(flat)
    read_end_mark(coder, "Laplace stream")
    return out


def _tensors(layout: Layout, count: int) -> tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...]] | None:
    """The layout's shapes and step shapes where they account for ``count`` symbols (a tensor without step
    shapes is one channel); None where the layout says nothing of the tensors (all pooled)."""
    if not layout.shapes or sum(math.prod(shape) for shape in layout.shapes) != count:
        return None
    channels = layout.channels or tuple((1,) * len(shape) for shape in layout.shapes)
    if len(channels) != len(layout.shapes):
        return None
    return layout.shapes, channels


def _split(symbols: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    sizes = [math.prod(shape) for shape in shapes]
    return np.split(symbols, np.cumsum(sizes)[:-1]) if sizes else []


def _pooled_costs(parts: Sequence[np.ndarray]) -> list[float]:
    """Each tensor's bits under the count table of all the symbols (what staying pooled costs it, about)."""
    everything = np.concatenate(parts) if parts else np.zeros(0, np.int64)
    if not everything.size:
        return [0.0] * len(parts)
    low = int(everything.min())
    counts = np.bincount(everything - low)
    bits = np.log2(everything.size) - np.log2(np.maximum(counts, 1))
    return [float(bits[part - low].sum()) for part in parts]


def has_models(stored: Sequence[object]) -> bool:
    """Whether stored fields give some tensor its own tables (a version-4 chunk's), not the count table alone."""
    return len(stored) > POOLED_FIELDS and stored[POOLED_FIELDS] != b""


def _stored_size(fields: Sequence[object]) -> int:
    """Bytes the fields take in a chunk (msgpack elements)."""
    return sum(len(msgpack.packb(field, use_bin_type=True)) for field in fields)


class TensorLaplaceANS(EntropyModel):
    """The main stream: per tensor a Laplace per channel where it pays, the pooled count table for the rest."""

    coding = Coding.ANS
    fields = ("n", "low", "table", "data", "models", "laplace")

    def encode(self, symbols: np.ndarray, layout: Layout) -> list[object]:
        """The six fields; ``models`` and ``laplace`` are empty where every tensor stays pooled (a version-2 or
        3 chunk stores the first four only)."""
        symbols = np.asarray(symbols, dtype=np.int64).reshape(-1)
        tensors = _tensors(layout, symbols.size)
        if tensors is None:
            stream = encode_stream(symbols)
            return [stream.size, stream.low, stream.table, stream.data, b"", b""]
        shapes, channels = tensors
        parts = _split(symbols, shapes)
        costs = _pooled_costs(parts)
        models = [choose_model(*args) for args in zip(parts, shapes, channels, costs)]
        everything = encode_stream(symbols)
        alone = [everything.size, everything.low, everything.table, everything.data, b"", b""]
        if all(model.pooled for model in models):
            return alone
        pooled = [part for part, model in zip(parts, models) if model.pooled]
        stream = encode_stream(np.concatenate(pooled) if pooled else np.zeros(0, np.int64))
        laplace = encode_laplace(parts, shapes, channels, models)
        mixed = [stream.size, stream.low, stream.table, stream.data, pack_models(models), laplace]
        # The choices above price symbols; the stored bytes also hold a table, zstd and msgpack framing and
        # the end mark, which can outweigh what a tiny model's tensors gain: keep whichever is smaller.
        return mixed if _stored_size(mixed) < _stored_size(alone[:POOLED_FIELDS]) else alone

    def stream(self, stored: Sequence[object]) -> SymbolStream:
        """The pooled :class:`SymbolStream` of the stored elements, checked."""
        if len(stored) not in (POOLED_FIELDS, len(self.fields)):
            raise FormatError(f"symbol stream has {len(stored)} fields, not {POOLED_FIELDS} or {len(self.fields)}")
        return SymbolStream.from_dict(dict(zip(self.fields[:POOLED_FIELDS], stored[:POOLED_FIELDS])))

    def decode(self, stored: Sequence[object], count: int, layout: Layout) -> np.ndarray:
        stream = self.stream(stored)
        models_field, laplace_field = stored[POOLED_FIELDS:] or (b"", b"")
        if not has_models(stored):  # every tensor pooled (versions 2 and 3 store no models)
            if laplace_field != b"":
                raise FormatError("Laplace stream present where every tensor is pooled")
            if stream.size != count:
                raise FormatError(f"group chunk declares {stream.size} symbols, the model needs {count}")
            return decode_stream(stream)
        tensors = _tensors(layout, count)
        if tensors is None:
            raise FormatError("tensor models stored where the layout names no tensors for them")
        shapes, channels = tensors
        models = unpack_models(models_field, [math.prod(step_shape) for step_shape in channels])
        pooled_count = sum(math.prod(shape) for shape, model in zip(shapes, models) if model.pooled)
        if stream.size != pooled_count:
            raise FormatError(f"group chunk declares {stream.size} pooled symbols, the models leave {pooled_count}")
        pooled = iter(_split(decode_stream(stream), [s for s, m in zip(shapes, models) if m.pooled]))
        laplace = decode_laplace(laplace_field, shapes, channels, models)
        return np.concatenate([next(pooled) if part is None else part for part in laplace])

    def coded_bits(self, stored: Sequence[object]) -> int:
        laplace = stored[-1] if has_models(stored) and isinstance(stored[-1], bytes) else b""
        return 8 * (len(self.stream(stored).data) + len(laplace))

    def rate_model(self) -> nn.Module:
        """A Laplace per symbol, as the chunk's tables: training learns a scale per channel (the spread)."""
        from nvcodec.quant.ratemodel import LaplacePrior  # torch, for training only

        return LaplacePrior()


__all__ = [
    "POOLED_FIELDS",
    "TensorLaplaceANS",
    "TensorModel",
    "channel_ids",
    "choose_model",
    "coding_order",
    "decode_laplace",
    "encode_laplace",
    "has_models",
    "pack_models",
    "unpack_models",
]
