"""Reading and writing video through PyAV.

Frames travel through the library as float32 RGB arrays ``[T, H, W, 3]`` in
[0, 1]. Any container FFmpeg demuxes (mp4, mkv, webm, y4m, gif, ...) and folders
of PNG frames are accepted; mp4 (H.264), y4m and PNG sequences are written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from nvcodec.atomic import create_temp_file, create_temp_folder, publish, remove_quietly
from nvcodec.errors import OutputError
from nvcodec.source import SourceSpec, read_stream
from nvcodec.timebase import fps_fraction


@dataclass(frozen=True)
class Video:
    """Decoded frames plus the frame rate they play at."""

    frames: np.ndarray
    """float32 ``[T, H, W, 3]`` in [0, 1]."""
    fps: float

    @property
    def shape(self) -> tuple[int, int, int]:
        t, h, w, _ = self.frames.shape
        return t, h, w


def read_video(
    path: str | os.PathLike[str] | BinaryIO,
    *,
    start: int = 0,
    stop: int | None = None,
    step: int = 1,
    fps: float | None = None,
    stream_format: str = "yuv4mpegpipe",
) -> Video:
    """Read frames ``start:stop:step`` of a video file, a folder of PNG frames, or a binary stream, whole.

    ``fps`` overrides the source's frame rate (a PNG folder has none; it defaults
    to 25). The returned rate is the source rate divided by ``step``. A stream
    (``sys.stdin.buffer``) is demuxed as ``stream_format``, y4m by default. To
    read a long video group by group instead, open a :mod:`nvcodec.source`.
    """
    if isinstance(path, (str, os.PathLike)):
        source = SourceSpec(os.fspath(path), start, stop, step, fps).open()
    else:
        source = read_stream(path, start, stop, step, fps, stream_format)
    try:
        return Video(source.read(0, source.num_frames - 1), source.fps)
    finally:
        source.close()


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """Float frames in [0, 1] to uint8 with rounding (not truncation)."""
    return np.clip(np.rint(np.asarray(frames, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def _as_uint8_video(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise OutputError(f"expected frames of shape [T, H, W, 3] with T > 0, got {frames.shape}")
    return frames if frames.dtype == np.uint8 else to_uint8(frames)


def _atomic_target(path: Path) -> tuple[int, Path]:
    """A temporary file next to ``path`` so a finished write can replace it."""
    if path.is_dir():
        raise OutputError(f"{path} is a directory")
    if not path.parent.exists():
        raise OutputError(f"folder {path.parent} does not exist")
    return create_temp_file(path, suffix=path.suffix)


def _check_fps(fps: float) -> Fraction:
    if not (fps > 0 and np.isfinite(fps)):
        raise OutputError(f"fps must be positive, got {fps}")
    return fps_fraction(fps)


def _container_settings(suffix: str, shape: tuple[int, int], crf: int, near_lossless: bool) -> tuple:
    """(format, codec, pixel format, options) for an output suffix."""
    odd = shape[0] % 2 or shape[1] % 2
    if suffix in (".mp4", ".mkv"):
        fmt = "mp4" if suffix == ".mp4" else "matroska"
        pix_fmt = "yuv444p" if (near_lossless or odd) else "yuv420p"
        options = {"crf": "0" if near_lossless else str(int(crf)), "preset": "medium"}
        return fmt, "libx264", pix_fmt, options
    if suffix == ".y4m":
        return "yuv4mpegpipe", "rawvideo", "yuv444p", {}
    raise OutputError(f"cannot write {suffix or 'a file without extension'}: use .mp4, .mkv, .y4m or a PNG folder")


class _AtomicOutput:
    """``with`` support for writers whose output appears on ``close()`` and vanishes on ``abort()``."""

    def close(self) -> object:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class VideoWriter(_AtomicOutput):
    """Streams frames into ``.mp4``/``.mkv`` (H.264) or ``.y4m``; the file appears only when closed.

    Frames go to a temporary file next to the target, renamed over it by a
    successful ``close()``; an exception inside the ``with`` block (Ctrl-C
    included) removes the temporary file, so no half-written video is left.
    ``target`` may also be a binary stream (``sys.stdout.buffer``), which is
    written as y4m as frames arrive. ``near_lossless`` codes H.264 at CRF 0 in
    4:4:4; frames with odd sides are written in 4:4:4, which 4:2:0 cannot hold.
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | BinaryIO,
        size: tuple[int, int],
        fps: float,
        *,
        crf: int = 18,
        near_lossless: bool = False,
    ):
        rate = _check_fps(fps)
        height, width = size
        if height < 1 or width < 1:
            raise OutputError(f"frame size must be positive, got {width}x{height}")
        self.size = (height, width)
        self._temp: Path | None = None
        if isinstance(target, (str, os.PathLike)):
            self.path: Path | None = Path(target)
            fmt, codec, pix_fmt, options = _container_settings(self.path.suffix.lower(), self.size, crf, near_lossless)
            handle, self._temp = _atomic_target(self.path)
            os.close(handle)
            sink: str | BinaryIO = str(self._temp)
        else:
            self.path = None
            fmt, codec, pix_fmt, options = _container_settings(".y4m", self.size, crf, near_lossless)
            sink = target
        try:
            self._container = av.open(sink, "w", format=fmt)
            self._stream = self._container.add_stream(codec, rate=rate)
            self._stream.width, self._stream.height = width, height
            self._stream.pix_fmt = pix_fmt
            self._stream.options = options
        except (av.FFmpegError, OSError) as exc:
            self._discard()
            raise OutputError(f"cannot write {self.path or 'the output stream'}: {exc}") from None
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one ``[H, W, 3]`` frame (uint8, or float in [0, 1])."""
        rgb = np.ascontiguousarray(frame if frame.dtype == np.uint8 else to_uint8(frame))
        if rgb.shape != (*self.size, 3):
            raise OutputError(f"frame is {rgb.shape}, the video is {self.size[1]}x{self.size[0]} RGB")
        try:
            self._container.mux(self._stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        except BrokenPipeError:
            raise  # the reader of a stream went away (``| head``): not a failure to write, the caller decides
        except (av.FFmpegError, OSError) as exc:
            raise OutputError(f"cannot write {self.path or 'the output stream'}: {exc}") from None
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and move the finished file into place."""
        try:
            self._container.mux(self._stream.encode(None))
            self._container.close()
        except BrokenPipeError:
            raise
        except (av.FFmpegError, OSError) as exc:
            self._discard()
            raise OutputError(f"cannot write {self.path or 'the output stream'}: {exc}") from None
        if self._temp is not None and self.path is not None:
            publish(self._temp, self.path)
            self._temp = None

    def abort(self) -> None:
        """Give up: close and remove the temporary file; the target is left as it was."""
        with contextlib.suppress(av.FFmpegError, OSError):
            self._container.close()
        self._discard()

    def _discard(self) -> None:
        if self._temp is not None:
            remove_quietly(self._temp)
        self._temp = None


def write_video(
    path: str | os.PathLike[str],
    frames: np.ndarray,
    fps: float,
    *,
    crf: int = 18,
    near_lossless: bool = False,
) -> None:
    """Write frames ``[T, H, W, 3]`` to ``.mp4``/``.mkv`` (H.264) or ``.y4m``, atomically (see :class:`VideoWriter`)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a directory")
    frames = _as_uint8_video(frames)
    with VideoWriter(path, frames.shape[1:3], fps, crf=crf, near_lossless=near_lossless) as writer:
        for rgb in frames:
            writer.write(rgb)


def encode_png(rgb: np.ndarray) -> bytes:
    """One uint8 RGB frame as PNG bytes."""
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height, codec.pix_fmt = rgb.shape[1], rgb.shape[0], "rgb24"
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])


class PngFolderWriter(_AtomicOutput):
    """Streams frames into a folder of ``000000.png``, ``000001.png``...; the folder appears only when closed.

    Frames are written into a hidden temporary folder next to the target, which
    a successful ``close()`` renames into place (replacing an existing folder
    of the same name); an error or Ctrl-C removes it instead.
    """

    def __init__(self, folder: str | os.PathLike[str], digits: int = 6):
        self.path = Path(folder)
        if self.path.exists() and not self.path.is_dir():
            raise OutputError(f"{self.path} exists and is not a folder")
        if not self.path.parent.exists():
            raise OutputError(f"folder {self.path.parent} does not exist")
        self._temp: Path | None = create_temp_folder(self.path)
        self.digits = digits
        self.frames_written = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one ``[H, W, 3]`` frame (uint8, or float in [0, 1])."""
        assert self._temp is not None, "writer is closed"
        rgb = frame if frame.dtype == np.uint8 else to_uint8(frame)
        if rgb.ndim != 3 or rgb.shape[-1] != 3:
            raise OutputError(f"expected an [H, W, 3] frame, got {rgb.shape}")
        target = self._temp / f"{self.frames_written:0{self.digits}d}.png"
        try:
            target.write_bytes(encode_png(rgb))
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc}") from None
        self.frames_written += 1

    def close(self) -> list[Path]:
        """Move the finished folder into place; returns its PNG files in order."""
        assert self._temp is not None, "writer is closed"
        old = None
        if self.path.exists():  # a folder cannot be renamed over another: move the old one aside first
            old = create_temp_folder(self.path)
            os.replace(self.path, old / "previous")
        publish(self._temp, self.path)
        self._temp = None
        if old is not None:
            shutil.rmtree(old)
        return sorted(self.path.glob("*.png"))

    def abort(self) -> None:
        if self._temp is not None:
            shutil.rmtree(self._temp, ignore_errors=True)
            self._temp = None


def write_png_folder(folder: str | os.PathLike[str], frames: np.ndarray) -> list[Path]:
    """Write frames as ``000000.png``, ``000001.png``... in ``folder``, which appears whole (see :class:`PngFolderWriter`)."""
    frames = _as_uint8_video(frames)
    writer = PngFolderWriter(folder, max(6, len(str(len(frames) - 1))))
    try:
        for rgb in frames:
            writer.write(rgb)
    except BaseException:
        writer.abort()
        raise
    return writer.close()
