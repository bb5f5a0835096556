"""Reading and writing video through PyAV.

Frames travel through the library as float32 RGB arrays ``[T, H, W, 3]`` in
[0, 1]. Any container FFmpeg demuxes (mp4, mkv, webm, y4m, gif, ...) and folders
of PNG frames are accepted; mp4 (H.264), y4m and PNG sequences are written.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from nvcodec.errors import InputError, OutputError

DEFAULT_FPS = 25.0
_PNG_SUFFIXES = (".png",)


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


def _frame_indices_wanted(index: int, start: int, stop: int | None, step: int) -> bool:
    return index >= start and (stop is None or index < stop) and (index - start) % step == 0


def _check_range(start: int, stop: int | None, step: int) -> None:
    if start < 0:
        raise InputError(f"start frame must be >= 0, got {start}")
    if stop is not None and stop <= start:
        raise InputError(f"stop frame ({stop}) must be greater than start frame ({start})")
    if step < 1:
        raise InputError(f"frame step must be >= 1, got {step}")


def _to_float(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) * np.float32(1.0 / 255.0)


def _read_container(path: Path, start: int, stop: int | None, step: int, fps_override: float | None) -> Video:
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot open {path}: {exc}") from None
    with container:
        if not container.streams.video:
            raise InputError(f"{path} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        fps = fps_override or (float(rate) if rate else DEFAULT_FPS)
        frames: list[np.ndarray] = []
        try:
            for index, frame in enumerate(container.decode(stream)):
                if stop is not None and index >= stop:
                    break
                if _frame_indices_wanted(index, start, stop, step):
                    frames.append(frame.to_ndarray(format="rgb24"))
        except av.FFmpegError as exc:
            raise InputError(f"cannot decode {path}: {exc}") from None
    if not frames:
        raise InputError(f"{path} holds no frames in the requested range")
    return Video(_to_float(np.stack(frames)), fps / step)


def _read_png(path: Path) -> np.ndarray:
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            return frame.to_ndarray(format="rgb24")
    except (av.FFmpegError, OSError, StopIteration) as exc:
        raise InputError(f"cannot read image {path}: {exc}") from None


def _read_png_folder(path: Path, start: int, stop: int | None, step: int, fps: float) -> Video:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in _PNG_SUFFIXES)
    if not files:
        raise InputError(f"folder {path} holds no PNG frames")
    chosen = files[start:stop:step]
    if not chosen:
        raise InputError(f"folder {path} holds no frames in the requested range")
    frames = [_read_png(p) for p in chosen]
    first = frames[0].shape
    for p, f in zip(chosen, frames):
        if f.shape != first:
            raise InputError(f"{p} is {f.shape[1]}x{f.shape[0]}, unlike the first frame ({first[1]}x{first[0]})")
    return Video(_to_float(np.stack(frames)), fps / step)


def read_video(
    path: str | os.PathLike[str],
    *,
    start: int = 0,
    stop: int | None = None,
    step: int = 1,
    fps: float | None = None,
) -> Video:
    """Read frames ``start:stop:step`` of a video file or a folder of PNG frames.

    ``fps`` overrides the source's frame rate (a PNG folder has none; it defaults
    to 25). The returned rate is the source rate divided by ``step``.
    """
    path = Path(path)
    _check_range(start, stop, step)
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if path.is_dir():
        video = _read_png_folder(path, start, stop, step, fps or DEFAULT_FPS)
    else:
        video = _read_container(path, start, stop, step, fps)
    return video


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """Float frames in [0, 1] to uint8 with rounding (not truncation)."""
    return np.clip(np.rint(np.asarray(frames, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def _as_uint8_video(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] == 0:
        raise OutputError(f"expected frames of shape [T, H, W, 3] with T > 0, got {frames.shape}")
    return frames if frames.dtype == np.uint8 else to_uint8(frames)


def _atomic_target(path: Path) -> tuple[int, str]:
    """A temporary file next to ``path`` so a finished write can ``os.replace`` it."""
    if path.is_dir():
        raise OutputError(f"{path} is a directory")
    if not path.parent.exists():
        raise OutputError(f"folder {path.parent} does not exist")
    return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix, dir=path.parent)


def _encode_container(
    target: str, frames: np.ndarray, fps: float, fmt: str, codec: str, pix_fmt: str, options: dict[str, str]
) -> None:
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(target, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width = frames.shape[2]
        stream.height = frames.shape[1]
        stream.pix_fmt = pix_fmt
        stream.options = options
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def write_video(
    path: str | os.PathLike[str],
    frames: np.ndarray,
    fps: float,
    *,
    crf: int = 18,
    near_lossless: bool = False,
) -> None:
    """Write frames to ``.mp4``/``.mkv`` (H.264) or ``.y4m``, atomically.

    ``near_lossless`` codes H.264 at CRF 0 in 4:4:4, leaving only the RGB/YUV
    conversion. Frame sizes with odd sides are written in 4:4:4, which H.264's
    4:2:0 cannot hold.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a directory")
    frames = _as_uint8_video(frames)
    if not (fps > 0 and np.isfinite(fps)):
        raise OutputError(f"fps must be positive, got {fps}")
    suffix = path.suffix.lower()
    odd = frames.shape[1] % 2 or frames.shape[2] % 2
    if suffix in (".mp4", ".mkv"):
        fmt = "mp4" if suffix == ".mp4" else "matroska"
        pix_fmt = "yuv444p" if (near_lossless or odd) else "yuv420p"
        options = {"crf": "0" if near_lossless else str(int(crf)), "preset": "medium"}
        args = (fmt, "libx264", pix_fmt, options)
    elif suffix == ".y4m":
        args = ("yuv4mpegpipe", "rawvideo", "yuv444p", {})
    else:
        raise OutputError(f"cannot write {path}: use .mp4, .mkv or .y4m (or write_png_folder)")
    handle, temp = _atomic_target(path)
    os.close(handle)
    try:
        _encode_container(temp, frames, fps, *args)
        os.replace(temp, path)
    except av.FFmpegError as exc:
        raise OutputError(f"cannot write {path}: {exc}") from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def encode_png(rgb: np.ndarray) -> bytes:
    """One uint8 RGB frame as PNG bytes."""
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height, codec.pix_fmt = rgb.shape[1], rgb.shape[0], "rgb24"
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])


def write_png_folder(folder: str | os.PathLike[str], frames: np.ndarray) -> list[Path]:
    """Write frames as ``000000.png``, ``000001.png``... in ``folder`` (created if needed).

    Each file is written to a temporary name first, so no half-written PNG remains.
    """
    folder = Path(folder)
    frames = _as_uint8_video(frames)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    width = max(6, len(str(len(frames) - 1)))
    written = []
    for index, rgb in enumerate(frames):
        target = folder / f"{index:0{width}d}.png"
        handle, temp = _atomic_target(target)
        try:
            with os.fdopen(handle, "wb") as f:
                f.write(encode_png(rgb))
            os.replace(temp, target)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
        written.append(target)
    return written
