"""A video's facts under the names PyTorch users already read them by.

torchcodec's ``VideoStreamMetadata`` names a stream's facts ``num_frames``,
``average_fps``, ``duration_seconds``, ``width``, ``height``, ``bit_rate``,
``codec``, ``begin_stream_seconds`` and ``end_stream_seconds``; an ``.actv``
file's facts that mean the same carry the same names here, so code written for
torchcodec reads them unchanged. Built from the header and index alone
(no torch), it serves :class:`nvcodec.reader.VideoReader` and ``actv-info``
alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from nvcodec.header import Header

CODEC = "actv"


@dataclass(frozen=True)
class VideoMetadata:
    """What an ``.actv`` file holds, read from its header and index."""

    num_frames: int
    """Stored frames; frame ``i`` is at time ``i`` (frame units) and ``i / average_fps`` seconds."""
    average_fps: float
    fps_fraction: tuple[int, int]
    """The exact frame rate as ``(numerator, denominator)``."""
    duration_seconds: float
    """``num_frames / average_fps``: each stored frame lasts one frame period, as in a container."""
    begin_stream_seconds: float
    end_stream_seconds: float
    height: int
    width: int
    bit_rate: float
    """Bits per second over the whole file (header and index included)."""
    file_size: int
    """Bytes of the whole file."""
    bpp: float
    """Bits per stored pixel over the whole file."""
    num_groups: int
    codec: str
    encoder: str
    """The writer and its version, e.g. ``"nvcodec 0.1.0"``."""
    format_version: str

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["fps_fraction"] = list(self.fps_fraction)
        return out


def video_metadata(
    header: Header, group_spans: Sequence[tuple[int, int]], file_size: int, version: tuple[int, int]
) -> VideoMetadata:
    """The metadata of a file with ``header``, groups spanning ``group_spans`` and ``file_size`` bytes."""
    fps = header.fps
    duration = header.frames / fps
    return VideoMetadata(
        num_frames=header.frames,
        average_fps=fps,
        fps_fraction=header.fps_fraction,
        duration_seconds=duration,
        begin_stream_seconds=0.0,
        end_stream_seconds=duration,
        height=header.height,
        width=header.width,
        bit_rate=8 * file_size / duration,
        file_size=file_size,
        bpp=8 * file_size / (header.frames * header.height * header.width),
        num_groups=len(group_spans),
        codec=CODEC,
        encoder=header.encoder,
        format_version=f"{version[0]}.{version[1]}",
    )
