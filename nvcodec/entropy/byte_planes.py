"""Zigzag byte planes through zstd: the model of wide, rare symbols (the bias vectors).

Each symbol ``v`` becomes ``u = 2v`` (``v >= 0``) or ``-2v - 1`` (zigzag), a
uint32 whose four bytes are stored as four planes, most significant first:
bias symbols are small next to their 32-bit range, so the upper planes are
nearly constant and zstd packs them to almost nothing (about 30% smaller than
the plain int32 of version-1 chunks, :func:`decode_plain_int32`). A count
table for them would cost more than the symbols.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nvcodec.entropy.model import EntropyModel, Layout
from nvcodec.entropy.zstd import zstd_compress, zstd_decompress
from nvcodec.errors import FormatError
from nvcodec.model.tensors import Coding


def encode_planes(symbols: np.ndarray) -> bytes:
    """One zstd frame of the zigzag byte planes of ``symbols``."""
    values = np.asarray(symbols).astype(np.int64).reshape(-1)
    zigzag = np.where(values >= 0, 2 * values, -2 * values - 1).astype("<u4")
    return zstd_compress(np.ascontiguousarray(zigzag.view(np.uint8).reshape(-1, 4)[:, ::-1].T).tobytes())


def decode_planes(blob: bytes, count: int) -> np.ndarray:
    """Inverse of :func:`encode_planes` for exactly ``count`` symbols; anything else is a :class:`FormatError`."""
    raw = _exact(blob, count)
    zigzag = np.frombuffer(raw, np.uint8).reshape(4, count)[::-1].T.copy().view("<u4").reshape(-1).astype(np.int64)
    return np.where(zigzag % 2 == 0, zigzag // 2, -(zigzag + 1) // 2)


def decode_plain_int32(blob: bytes, count: int) -> np.ndarray:
    """Version 1's vectors: one zstd frame of exactly ``count`` little-endian int32."""
    return np.frombuffer(_exact(blob, count), "<i4").astype(np.int64)


def _exact(blob: bytes, count: int) -> bytes:
    raw = zstd_decompress(blob, 4 * count + 1, "vector symbols")
    if len(raw) != 4 * count:
        raise FormatError("vector symbols have the wrong size")
    return raw


class ZstdBytePlanes(EntropyModel):
    """zstd over byte planes; no rate of its own to learn (training prices these with the stream's stand-in)."""

    coding = Coding.ZSTD
    fields = ("vectors",)

    def encode(self, symbols: np.ndarray, layout: Layout) -> list[object]:
        return [encode_planes(symbols)]

    def decode(self, stored: Sequence[object], count: int, layout: Layout) -> np.ndarray:
        if len(stored) != 1 or not isinstance(stored[0], bytes):
            raise FormatError("vector symbols must be one bin field")
        return decode_planes(stored[0], count)


__all__ = ["ZstdBytePlanes", "decode_plain_int32", "decode_planes", "encode_planes"]
