"""Where an encode's frames come from, read group by group so memory does not grow with the video.

A :class:`FrameSource` knows its frame count, size and rate, and hands out
any inclusive range of frames as float32 RGB in [0, 1]. Files and PNG folders
are read on demand: a file keeps its decoder open and reads forward, so
consecutive groups (which share a boundary frame) cost one decode of the
video; going back reopens it. A :class:`SourceSpec` names a file or folder and a
frame range as plain data, so another process (a Ray worker) opens the same
frames itself instead of receiving them.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from nvcodec.errors import InputError

DEFAULT_FPS = 25.0
"""The frame rate of a source that has none (a PNG folder)."""
PNG_SUFFIXES = (".png",)
HASH_BLOCK = 1 << 20


def check_range(start: int, stop: int | None, step: int) -> None:
    if start < 0:
        raise InputError(f"start frame must be >= 0, got {start}")
    if stop is not None and stop <= start:
        raise InputError(f"stop frame ({stop}) must be greater than start frame ({start})")
    if step < 1:
        raise InputError(f"frame step must be >= 1, got {step}")


def to_float(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB to float32 in [0, 1]."""
    return rgb.astype(np.float32) * np.float32(1.0 / 255.0)


def read_png(path: Path) -> np.ndarray:
    """One image as uint8 RGB ``[H, W, 3]``."""
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            return frame.to_ndarray(format="rgb24")
    except (av.FFmpegError, OSError, StopIteration) as exc:
        raise InputError(f"cannot read image {path}: {exc}") from None


class FrameSource(ABC):
    """Frames ``0..num_frames - 1`` of a video, read by inclusive ranges."""

    num_frames: int
    height: int
    width: int
    fps: float

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.num_frames, self.height, self.width

    @abstractmethod
    def read(self, first: int, last: int) -> np.ndarray:
        """float32 ``[last - first + 1, H, W, 3]`` in [0, 1]."""

    @abstractmethod
    def fingerprint(self) -> str:
        """A hash of every frame's content and the range read: equal fingerprints, equal frames."""

    def close(self) -> None:  # noqa: B027 - most sources hold nothing open
        """Release what the source holds open."""

    def _check(self, first: int, last: int) -> None:
        if not 0 <= first <= last < self.num_frames:
            raise InputError(f"frames {first}..{last} are outside the source's 0..{self.num_frames - 1}")


class ArraySource(FrameSource):
    """Frames already in memory, ``[T, H, W, 3]`` uint8 or float in [0, 1]."""

    def __init__(self, frames: np.ndarray, fps: float = DEFAULT_FPS):
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
            raise InputError(f"frames must have shape [T, H, W, 3] with T > 0, got {frames.shape}")
        self.frames = frames
        self.num_frames, self.height, self.width = (int(n) for n in frames.shape[:3])
        self.fps = fps

    def read(self, first: int, last: int) -> np.ndarray:
        self._check(first, last)
        chunk = self.frames[first : last + 1]
        return to_float(chunk) if chunk.dtype == np.uint8 else chunk.astype(np.float32, copy=False)

    def fingerprint(self) -> str:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(f"{self.frames.dtype.str}{self.frames.shape}".encode())
        digest.update(np.ascontiguousarray(self.frames).data)
        return digest.hexdigest()


def _file_digest(path: Path, extra: str) -> str:
    digest = hashlib.blake2b(extra.encode(), digest_size=16)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in PNG_SUFFIXES) if path.is_dir() else [path]
    for file in files:
        digest.update(file.name.encode())
        with open(file, "rb") as handle:
            while block := handle.read(HASH_BLOCK):
                digest.update(block)
    return digest.hexdigest()


SEEK_AHEAD = 64
"""Frames within this distance ahead are reached by decoding on; farther ones by seeking to a keyframe."""


class _LostTrack(Exception):
    """After a seek, the frames' timestamps did not lead to the frame wanted."""


class FileSource(FrameSource):
    """Frames ``start:stop:step`` of any file FFmpeg demuxes, decoded on demand.

    The count comes from the container (or one pass over its packets, which
    decodes nothing); a file that then holds fewer frames is an
    :class:`InputError` when the missing ones are read. A frame far ahead of
    (or behind) the decoder is reached by seeking to the keyframe before it,
    where the stream's timestamps tell each frame's index (a constant frame
    rate); otherwise by decoding from the start. So a worker that encodes
    the last segment of a long video does not decode all the video before it.
    """

    def __init__(self, path: str | os.PathLike[str], start: int = 0, stop: int | None = None, step: int = 1,
                 fps: float | None = None):  # fmt: skip
        check_range(start, stop, step)
        self.path = Path(path)
        self.start, self.stop, self.step = start, stop, step
        self._container: av.container.InputContainer | None = None
        self._frames: Iterator[tuple[int, np.ndarray]] | None = None
        self._next = 0  # file index of the next frame the open decoder yields
        self._last: tuple[int, np.ndarray] | None = None  # the frame read last: a group's end is the next one's start
        container = self._open()
        try:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            self.fps = (fps or (float(rate) if rate else DEFAULT_FPS)) / step
            total = int(stream.frames) or sum(1 for packet in container.demux(stream) if packet.size)
            self.height, self.width = stream.codec_context.height, stream.codec_context.width
        except av.FFmpegError as exc:
            raise InputError(f"cannot read {self.path}: {exc}") from None
        finally:
            container.close()
        end = total if stop is None else min(stop, total)
        self.num_frames = len(range(start, end, step))
        if self.num_frames == 0 or not (self.height and self.width):
            raise InputError(f"{self.path} holds no frames in the requested range")

    def _open(self) -> av.container.InputContainer:
        if not self.path.exists():
            raise InputError(f"{self.path} does not exist")
        try:
            container = av.open(str(self.path), mode="r")
        except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot open {self.path}: {exc}") from None
        if not container.streams.video:
            container.close()
            raise InputError(f"{self.path} has no video stream")
        return container

    def _decoded(self, container: av.container.InputContainer, first: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(file index, frame)`` from the decoder's position; indices from timestamps after a seek."""
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        index = first
        try:
            for frame in container.decode(stream):
                if first > 0:  # after a seek: where are we?
                    found = self._index_of(frame, stream)
                    if found is None:
                        raise _LostTrack
                    index = found
                yield index, frame.to_ndarray(format="rgb24")
                index += 1
        except av.FFmpegError as exc:
            raise InputError(f"cannot decode {self.path}: {exc}") from None

    @staticmethod
    def _index_of(frame: av.VideoFrame, stream: av.video.stream.VideoStream) -> int | None:
        rate = stream.average_rate
        if frame.pts is None or not rate or stream.time_base is None:
            return None
        seconds = (frame.pts - (stream.start_time or 0)) * stream.time_base
        return round(float(seconds * rate))

    def _start_decoder(self, index: int) -> None:
        """Open the file with its decoder before ``index``: at a keyframe found by seeking, or at the start."""
        self.close()
        self._container = self._open()
        stream = self._container.streams.video[0]
        first = 0
        if index > SEEK_AHEAD and stream.average_rate and stream.time_base:
            target = (stream.start_time or 0) + int(index / stream.average_rate / stream.time_base)
            try:
                self._container.seek(target, stream=stream, backward=True, any_frame=False)
                first = 1  # the decoder yields indices from timestamps
            except av.FFmpegError:
                self._container.close()
                self._container = self._open()
        self._frames, self._next = self._decoded(self._container, first), 0

    def _frame(self, index: int) -> np.ndarray:
        """File frame ``index``: decoding on, seeking to a keyframe when it is far, or from the start."""
        if self._last is not None and self._last[0] == index:
            return self._last[1]
        if self._frames is None or index < self._next or index > self._next + SEEK_AHEAD:
            self._start_decoder(index)
        for attempt in range(2):
            assert self._frames is not None
            try:
                for found, rgb in self._frames:
                    self._next = found + 1
                    if found == index:
                        self._last = (index, rgb)
                        return rgb
                    if found > index:  # the seek landed after it, or timestamps do not count frames
                        raise _LostTrack
                break
            except _LostTrack:
                if attempt:
                    break
                self.close()  # decode from the start instead: slower, always right
                self._container = self._open()
                self._frames, self._next = self._decoded(self._container, 0), 0
        raise InputError(f"{self.path} ended before frame {index}")

    def read(self, first: int, last: int) -> np.ndarray:
        self._check(first, last)
        frames = [self._frame(self.start + i * self.step) for i in range(first, last + 1)]
        if frames[0].shape != (self.height, self.width, 3):
            raise InputError(f"{self.path} changes size to {frames[0].shape[1]}x{frames[0].shape[0]}")
        return to_float(np.stack(frames))

    def fingerprint(self) -> str:
        return _file_digest(self.path, f"{self.start}:{self.stop}:{self.step}:{self.fps}")

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container, self._frames, self._last = None, None, None


class PngFolderSource(FrameSource):
    """Frames ``start:stop:step`` of a folder of PNG files in name order."""

    def __init__(self, path: str | os.PathLike[str], start: int = 0, stop: int | None = None, step: int = 1,
                 fps: float | None = None):  # fmt: skip
        check_range(start, stop, step)
        self.path = Path(path)
        self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in PNG_SUFFIXES)[start:stop:step]
        if not self.files:
            raise InputError(f"folder {self.path} holds no PNG frames in the requested range")
        self.num_frames = len(self.files)
        self.height, self.width = read_png(self.files[0]).shape[:2]
        self.fps = (fps or DEFAULT_FPS) / step
        self.range = f"{start}:{stop}:{step}"

    def read(self, first: int, last: int) -> np.ndarray:
        self._check(first, last)
        frames = [read_png(p) for p in self.files[first : last + 1]]
        for path, rgb in zip(self.files[first : last + 1], frames):
            if rgb.shape != (self.height, self.width, 3):
                raise InputError(f"{path} is {rgb.shape[1]}x{rgb.shape[0]}, unlike the first frame")
        return to_float(np.stack(frames))

    def fingerprint(self) -> str:
        return _file_digest(self.path, f"{self.range}:{self.fps}")


@dataclass(frozen=True)
class SourceSpec:
    """A file or PNG folder and a frame range, as plain data: any process can open the same frames."""

    path: str
    start: int = 0
    stop: int | None = None
    step: int = 1
    fps: float | None = None

    def open(self) -> FrameSource:
        path = Path(self.path)
        if path.is_dir():
            return PngFolderSource(path, self.start, self.stop, self.step, self.fps)
        return FileSource(path, self.start, self.stop, self.step, self.fps)


def read_stream(
    stream: BinaryIO, start: int = 0, stop: int | None = None, step: int = 1, fps: float | None = None,
    stream_format: str = "yuv4mpegpipe",
) -> ArraySource:  # fmt: skip
    """Frames ``start:stop:step`` of a stream that cannot seek (stdin), read whole into memory."""
    check_range(start, stop, step)
    name = str(getattr(stream, "name", "the input stream"))
    try:
        container = av.open(stream, mode="r", format=stream_format)
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot open {name}: {exc}") from None
    with container:
        if not container.streams.video:
            raise InputError(f"{name} has no video stream")
        video = container.streams.video[0]
        video.thread_type = "AUTO"
        rate = video.average_rate or video.guessed_rate
        frames: list[np.ndarray] = []
        try:
            for index, frame in enumerate(container.decode(video)):
                if stop is not None and index >= stop:
                    break
                if index >= start and (index - start) % step == 0:
                    frames.append(frame.to_ndarray(format="rgb24"))
        except av.FFmpegError as exc:
            raise InputError(f"cannot decode {name}: {exc}") from None
    if not frames:
        raise InputError(f"{name} holds no frames in the requested range")
    return ArraySource(np.stack(frames), (fps or (float(rate) if rate else DEFAULT_FPS)) / step)
