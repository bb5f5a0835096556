"""zstd frames for side data: small tables and vectors that no entropy model of their own would pay for."""

from __future__ import annotations

import zstandard

from nvcodec.errors import FormatError

ZSTD_LEVEL = 19
"""zstd level of every side table and vector: they are small, so the slowest level costs nothing."""


def zstd_compress(data: bytes) -> bytes:
    """One zstd frame of ``data`` at :data:`ZSTD_LEVEL`."""
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)


def zstd_decompress(blob: bytes, limit: int, what: str) -> bytes:
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


__all__ = ["ZSTD_LEVEL", "zstd_compress", "zstd_decompress"]
