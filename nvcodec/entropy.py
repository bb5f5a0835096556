"""Entropy coding of integer symbols with ANS (constriction).

A stream carries its own probability model as *integer* counts of every
symbol value from ``low`` to ``low + len(counts) - 1``. The decoder rebuilds
the model from those integers with float64 division, which is exact IEEE
arithmetic, so decoding is bit-exact on every machine. Side data (the count
table) is small and goes through zstandard.
"""

from __future__ import annotations

from dataclasses import dataclass

import constriction
import numpy as np
import zstandard

from nvcodec.errors import FormatError

MAX_SYMBOLS = 1 << 28
"""Cap on the symbols one stream may declare (bounds decode allocation)."""
MAX_ALPHABET = 1 << 17
ZSTD_LEVEL = 19
"""zstd level of every side table and vector: they are small, so the slowest level costs nothing."""


@dataclass(frozen=True)
class SymbolStream:
    """A coded stream: count, alphabet offset, zstd'd uint32 count table, ANS words."""

    size: int
    low: int
    table: bytes
    data: bytes

    def to_dict(self) -> dict[str, object]:
        return {"n": self.size, "low": self.low, "table": self.table, "data": self.data}

    @classmethod
    def from_dict(cls, value: object) -> SymbolStream:
        if not isinstance(value, dict) or set(value) != {"n", "low", "table", "data"}:
            raise FormatError("symbol stream must be a map with keys n, low, table, data")
        size, low, table, data = value["n"], value["low"], value["table"], value["data"]
        if not (isinstance(size, int) and 0 <= size <= MAX_SYMBOLS):
            raise FormatError(f"symbol stream declares {size!r} symbols (cap {MAX_SYMBOLS})")
        if not isinstance(low, int) or abs(low) > 1 << 31:
            raise FormatError(f"symbol stream has an invalid alphabet start {low!r}")
        if not isinstance(table, bytes) or not isinstance(data, bytes) or len(data) % 4:
            raise FormatError("symbol stream table and data must be bytes, data a whole number of 32-bit words")
        return cls(size, low, table, data)


def empirical_entropy_bits(symbols: np.ndarray) -> float:
    """Shannon bound of the symbols under their own histogram, in bits."""
    if symbols.size == 0:
        return 0.0
    _, counts = np.unique(symbols, return_counts=True)
    p = counts / symbols.size
    return float(-(counts * np.log2(p)).sum())


def _model(counts: np.ndarray) -> constriction.stream.model.Categorical:
    probabilities = counts.astype(np.float64) / float(counts.sum())
    return constriction.stream.model.Categorical(probabilities, perfect=False)


def encode(symbols: np.ndarray) -> SymbolStream:
    """ANS-code a 1-D integer array."""
    symbols = np.asarray(symbols, dtype=np.int64).reshape(-1)
    if symbols.size == 0:
        return SymbolStream(0, 0, b"", b"")
    low, high = int(symbols.min()), int(symbols.max())
    if high - low + 1 > MAX_ALPHABET:
        raise ValueError(f"alphabet of {high - low + 1} symbols exceeds {MAX_ALPHABET}")
    counts = np.bincount(symbols - low, minlength=high - low + 1).astype(np.uint32)
    table = compress(counts.astype("<u4").tobytes())
    if counts.size == 1:  # a single value: the table says it all
        return SymbolStream(int(symbols.size), low, table, b"")
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse((symbols - low).astype(np.int32), _model(counts))
    return SymbolStream(int(symbols.size), low, table, coder.get_compressed().astype("<u4").tobytes())


def compress(data: bytes) -> bytes:
    """One zstd frame of ``data`` at :data:`ZSTD_LEVEL` (side data is small: the slowest level costs nothing)."""
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)


def decompress(blob: bytes, limit: int, what: str) -> bytes:
    """One zstd frame of at most ``limit`` bytes; anything else is a :class:`FormatError`.

    A frame may declare its own size, and zstandard allocates what it declares
    before looking further, whatever ``max_output_size`` says: that size is
    checked against ``limit`` first, so a hostile chunk cannot make a reader
    allocate more than the model needs.
    """
    try:
        declared = zstandard.frame_content_size(blob)
        if declared > limit:
            raise FormatError(f"{what} declares {declared} bytes, more than the {limit} it may hold")
        return zstandard.ZstdDecompressor().decompress(blob, max_output_size=limit)
    except zstandard.ZstdError as exc:
        raise FormatError(f"{what} is damaged: {exc}") from None


def decode(stream: SymbolStream) -> np.ndarray:
    """Inverse of :func:`encode`; any inconsistency raises :class:`FormatError`."""
    if stream.size == 0:
        return np.zeros(0, dtype=np.int64)
    raw = decompress(stream.table, 4 * MAX_ALPHABET, "symbol table")
    if not raw or len(raw) % 4 or len(raw) > 4 * MAX_ALPHABET:
        raise FormatError("symbol table has an invalid size")
    counts = np.frombuffer(raw, dtype="<u4").astype(np.uint64)
    if int(counts.sum()) != stream.size or counts[0] == 0 or counts[-1] == 0:
        raise FormatError("symbol table does not match the declared symbol count")
    if counts.size == 1:
        if stream.data:
            raise FormatError("entropy-coded data present for a one-symbol alphabet")
        return np.full(stream.size, stream.low, dtype=np.int64)
    words = np.frombuffer(stream.data, dtype="<u4").astype(np.uint32)
    try:
        decoder = constriction.stream.stack.AnsCoder(words)
        values = decoder.decode(_model(counts), stream.size)
    except Exception as exc:  # constriction reports damaged data with various exception types
        raise FormatError(f"entropy-coded data is damaged: {exc}") from None
    values = np.asarray(values, dtype=np.int64)
    if values.size != stream.size or values.min() < 0 or values.max() >= counts.size:
        raise FormatError("entropy-coded data is damaged")
    return values + stream.low


def coded_bits(stream: SymbolStream) -> int:
    return 8 * len(stream.data)


def encode_vectors(symbols: np.ndarray) -> bytes:
    """Symbols too wide and rare for the ANS stream's count table, as one zstd frame of byte planes.

    Each symbol ``v`` becomes ``u = 2v`` (``v >= 0``) or ``-2v - 1`` (zigzag), a uint32 whose four bytes
    are stored as four planes, most significant first: bias symbols are small next to their 32-bit
    range, so the upper planes are nearly constant and zstd packs them to almost nothing (about 30%
    smaller than the plain int32 of version-1 chunks).
    """
    values = np.asarray(symbols).astype(np.int64).reshape(-1)
    zigzag = np.where(values >= 0, 2 * values, -2 * values - 1).astype("<u4")
    return compress(np.ascontiguousarray(zigzag.view(np.uint8).reshape(-1, 4)[:, ::-1].T).tobytes())


def decode_vectors(blob: bytes, count: int, *, planes: bool = True) -> np.ndarray:
    """Inverse of :func:`encode_vectors` for exactly ``count`` symbols (``planes=False``: version 1's plain
    int32); anything else is a :class:`FormatError`."""
    raw = decompress(blob, 4 * count + 1, "vector symbols")
    if len(raw) != 4 * count:
        raise FormatError("vector symbols have the wrong size")
    if not planes:
        return np.frombuffer(raw, "<i4").astype(np.int64)
    zigzag = np.frombuffer(raw, np.uint8).reshape(4, count)[::-1].T.copy().view("<u4").reshape(-1).astype(np.int64)
    return np.where(zigzag % 2 == 0, zigzag // 2, -(zigzag + 1) // 2)


__all__ = [
    "SymbolStream",
    "coded_bits",
    "compress",
    "decode",
    "decode_vectors",
    "decompress",
    "empirical_entropy_bits",
    "encode",
    "encode_vectors",
]
