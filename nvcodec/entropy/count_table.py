"""ANS under a stored table of symbol counts: the pooled part of a chunk's main symbol stream.

A stream carries its own probability model as *integer* counts of every
symbol value from ``low`` to ``low + len(counts) - 1``. The decoder rebuilds
the model from those integers with float64 division, which is exact IEEE
arithmetic, so decoding is bit-exact on every machine. The count table is
small and goes through zstd. Training prices the same symbols with a learned
mixture of logistics (:class:`nvcodec.quant.ratemodel.SymbolPrior`), whose
bits sit just above the empirical entropy that the table reaches.
:class:`~nvcodec.entropy.tensor_laplace.TensorLaplaceANS` codes here the tensors that
its per-channel Laplace tables would not code for fewer bits (every tensor, before
payload version 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import constriction
import numpy as np

from nvcodec.entropy.zstd import zstd_compress, zstd_decompress
from nvcodec.errors import FormatError

MAX_SYMBOLS = 1 << 28
"""Cap on the symbols one stream may declare (bounds decode allocation)."""
MAX_ALPHABET = 1 << 17


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
    """Shannon bound of the symbols under their own histogram, in bits: what the count table lets ANS reach."""
    symbols = np.asarray(symbols)
    if symbols.size == 0:
        return 0.0
    _, counts = np.unique(symbols, return_counts=True)
    p = counts / symbols.size
    return float(-(counts * np.log2(p)).sum())


def _categorical(counts: np.ndarray) -> constriction.stream.model.Categorical:
    probabilities = counts.astype(np.float64) / float(counts.sum())
    return constriction.stream.model.Categorical(probabilities, perfect=False)


def encode_stream(symbols: np.ndarray) -> SymbolStream:
    """ANS-code a 1-D integer array under its own count table."""
    symbols = np.asarray(symbols, dtype=np.int64).reshape(-1)
    if symbols.size == 0:
        return SymbolStream(0, 0, b"", b"")
    low, high = int(symbols.min()), int(symbols.max())
    if high - low + 1 > MAX_ALPHABET:
        raise ValueError(f"alphabet of {high - low + 1} symbols exceeds {MAX_ALPHABET}")
    counts = np.bincount(symbols - low, minlength=high - low + 1).astype(np.uint32)
    table = zstd_compress(counts.astype("<u4").tobytes())
    if counts.size == 1:  # a single value: the table says it all
        return SymbolStream(int(symbols.size), low, table, b"")
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse((symbols - low).astype(np.int32), _categorical(counts))
    return SymbolStream(int(symbols.size), low, table, coder.get_compressed().astype("<u4").tobytes())


def decode_stream(stream: SymbolStream) -> np.ndarray:
    """Inverse of :func:`encode_stream`; any inconsistency raises :class:`FormatError`."""
    if stream.size == 0:
        return np.zeros(0, dtype=np.int64)
    raw = zstd_decompress(stream.table, 4 * MAX_ALPHABET, "symbol table")
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
        values = decoder.decode(_categorical(counts), stream.size)
    except Exception as exc:  # constriction reports damaged data with various exception types
        raise FormatError(f"entropy-coded data is damaged: {exc}") from None
    values = np.asarray(values, dtype=np.int64)
    if values.size != stream.size or values.min() < 0 or values.max() >= counts.size:
        raise FormatError("entropy-coded data is damaged")
    return values + stream.low


__all__ = [
    "MAX_ALPHABET",
    "MAX_SYMBOLS",
    "SymbolStream",
    "decode_stream",
    "empirical_entropy_bits",
    "encode_stream",
]
