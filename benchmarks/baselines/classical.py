"""Classical codecs (x264, x265, SVT-AV1, VP9) as rate-distortion baselines, run through PyAV.

One call codes one clip at one CRF and returns a :class:`Coded` measured the
same way as every other system: the rate is the size of the whole file a
decoder needs, and the quality is computed on the file decoded back to RGB.

Choices that move the numbers, and why:

* **Bitstream files, not media containers.** H.264 and HEVC are written as raw
  Annex B elementary streams (``.h264``/``.hevc``), AV1 and VP9 as IVF (32
  bytes plus 12 per frame). An MP4 adds about 1.2 KB to the raw stream of a
  31-frame QCIF clip (Matroska about 0.8 KB), which at 0.05 bpp would be a
  quarter of the rate; these formats are complete, decodable files that
  FFmpeg plays, and they keep the comparison about coding efficiency.
* **No encoder-banner SEI.** x264 and x265 embed their full command line in
  an SEI message (about 0.7 KB and 2.3 KB). It has no effect on decoding, so
  it is removed (FFmpeg's ``filter_units`` bitstream filter for x264, x265's
  own ``info=0``), with the decoded frames bit-identical. The encoder's packet
  bytes before the filter are kept in ``extra["stream_bytes"]``.
* **4:2:0 colour** (``yuv420p``, 8 bit, BT.601 limited range, as the encoders
  expect), with the chroma down-sampled by swscale's area filter: the RGB →
  4:2:0 → RGB round trip alone then scores about 46 dB RGB PSNR on carphone
  (44 dB with swscale's default bilinear filter), the ceiling of every curve;
  on the saturated colours of ``motion`` that ceiling is 38 dB (Y-PSNR 45),
  so ``pix_fmt="yuv444p"`` is offered for x264, x265 and VP9 as a check.
  Odd frame sizes are padded to even by repeating the last row/column and
  cropped back after decoding; the padding is coded and counted.
* **One thread by default.** x264 and x265 output depends on the number of
  frame threads, so one thread makes each point reproducible on any machine;
  it also makes encode times comparable between systems.
* **Each encoder's own GOP structure** (one intra frame for a 31-frame clip
  with every encoder here); ``extra["keyframes"]`` records how many there were.
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from benchmarks.baselines.base import Coded
from benchmarks.baselines.registry import RatePoints, register
from benchmarks.common import to_uint8

# SVT-AV1 prints its configuration to stderr at INFO level unless told otherwise; errors still show.
os.environ.setdefault("SVT_LOG", "1")

PIX_FMT = "yuv420p"
PIX_FMTS = ("yuv420p", "yuv444p")
CHROMA_FILTER = "AREA"


class EncoderMissing(RuntimeError):
    """The FFmpeg inside PyAV was built without an encoder (or decoder) this system needs."""


@dataclass(frozen=True)
class ClassicalSystem:
    """A classical codec configuration: fixed encoder options plus the CRF sweep that spans the benchmark's rates."""

    name: str
    encoder: str
    """FFmpeg encoder name as PyAV knows it (``libx264``...)."""
    decoder: str
    """FFmpeg decoder used to read the file back (``h264``, ``hevc``, ``libdav1d``, ``vp9``)."""
    container: str
    """FFmpeg (de)muxer name: ``h264``/``hevc`` raw Annex B or ``ivf``."""
    suffix: str
    options: dict[str, str]
    """Encoder options other than the CRF and threading."""
    crfs: tuple[int, ...]
    """Default sweep, low CRF (high rate) first; spans about 0.05-1.3 bpp on carphone."""
    crf_range: tuple[int, int]
    description: str = ""
    strip_sei: bool = False
    """Remove SEI NAL units after encoding (x264's banner: x264 has no switch to leave it out)."""
    extra_params: dict[str, str] = field(default_factory=dict)
    """Entries for the encoder's ``*-params`` string (x265/SVT-AV1 ``key=value:...``)."""
    pix_fmts: tuple[str, ...] = PIX_FMTS
    """Sampling formats the encoder takes (SVT-AV1: 4:2:0 only)."""

    def available(self) -> bool:
        """Whether PyAV's FFmpeg has this system's encoder and decoder."""
        try:
            check_available(self)
        except EncoderMissing:
            return False
        return True

    def rate_points(self, frames: np.ndarray, fps: float, plan: Mapping[str, Any], budget: float | None) -> RatePoints:
        """The CRF sweep (``plan["classical_points"]`` of it, evenly picked, when set); ``budget`` is not used."""
        crfs = list(self.crfs)
        if plan["classical_points"]:
            picks = np.linspace(0, len(crfs) - 1, plan["classical_points"]).round().astype(int)
            crfs = [crfs[i] for i in sorted(set(picks))]
        return RatePoints([encode_classical(frames, self, crf, fps) for crf in crfs], codec_version(self))


def _x264(name: str, preset: str, bframes: bool, what: str) -> ClassicalSystem:
    options = {"preset": preset}
    if not bframes:
        options["x264-params"] = "bframes=0"
    return ClassicalSystem(
        name=name,
        encoder="libx264",
        decoder="h264",
        container="h264",
        suffix=".h264",
        options=options,
        crfs=X26X_CRFS,
        crf_range=(0, 51),
        description=f"H.264 (x264) {what}",
        strip_sei=True,
    )


def _x265(name: str, preset: str, bframes: bool, what: str) -> ClassicalSystem:
    params = {"log-level": "error", "info": "0"}
    if not bframes:
        params["bframes"] = "0"
    return ClassicalSystem(
        name=name,
        encoder="libx265",
        decoder="hevc",
        container="hevc",
        suffix=".hevc",
        options={"preset": preset},
        crfs=X26X_CRFS,
        crf_range=(0, 51),
        description=f"HEVC (x265) {what}",
        extra_params=params,
    )


# CRF sweeps, measured on carphone (31 frames): x264/x265 ~1.3 down to ~0.05 bpp (x265 without B-frames
# ~2 to 0.06), SVT-AV1 ~1.2 to 0.045, VP9 ~1.1 to 0.045. SVT-AV1's CRF scale is far from log-linear in rate
# (CRF 3 -> 1.7 bpp, 5 -> 1.0, 17 -> 0.29, 59 -> 0.04), hence its uneven steps.
X26X_CRFS = (7, 12, 17, 22, 27, 32)
SVTAV1_CRFS = (4, 12, 21, 32, 44, 56)
VP9_CRFS = (8, 18, 28, 38, 48, 56)

CLASSICAL_SYSTEMS: dict[str, ClassicalSystem] = {
    s.name: s
    for s in (
        _x264("x264-medium", "medium", True, "preset medium"),
        _x264("x264-medium-nob", "medium", False, "preset medium, no B-frames (low delay)"),
        _x264("x264-veryslow", "veryslow", True, "preset veryslow"),
        _x265("x265-medium", "medium", True, "preset medium"),
        _x265("x265-medium-nob", "medium", False, "preset medium, no B-frames (low delay)"),
        _x265("x265-veryslow", "veryslow", True, "preset veryslow"),
        ClassicalSystem(
            name="svtav1",
            encoder="libsvtav1",
            decoder="libdav1d",
            container="ivf",
            suffix=".ivf",
            # Preset 4: SVT-AV1's usual quality setting (preset 2 took 4x as long on carphone).
            options={"preset": "4"},
            crfs=SVTAV1_CRFS,
            crf_range=(1, 63),
            description="AV1 (SVT-AV1) preset 4",
            pix_fmts=("yuv420p",),
        ),
        ClassicalSystem(
            name="vp9",
            encoder="libvpx-vp9",
            decoder="vp9",
            container="ivf",
            suffix=".ivf",
            # Constant quality needs a zero target bit rate; otherwise libvpx treats crf as a cap on a bit rate.
            options={"b": "0", "deadline": "good", "cpu-used": "1"},
            crfs=VP9_CRFS,
            crf_range=(0, 63),
            description="VP9 (libvpx) constant quality (crf with b:v 0), deadline good, cpu-used 1",
        ),
    )
}
"""The classical baselines by name; the name is the ``system`` of their results."""

for _system in CLASSICAL_SYSTEMS.values():
    register(_system)


def get_system(system: str | ClassicalSystem) -> ClassicalSystem:
    """Look a system up by name (``KeyError`` listing the names) or pass a custom one through."""
    if isinstance(system, ClassicalSystem):
        return system
    try:
        return CLASSICAL_SYSTEMS[system]
    except KeyError:
        raise KeyError(f"unknown classical system {system!r}; known: {', '.join(CLASSICAL_SYSTEMS)}") from None


def default_crfs(system: str | ClassicalSystem) -> tuple[int, ...]:
    """The CRF sweep a benchmark run uses for this system (high rate first)."""
    return get_system(system).crfs


def check_available(system: str | ClassicalSystem) -> None:
    """Raise :class:`EncoderMissing` with a clear message if PyAV's FFmpeg lacks this system's encoder or decoder."""
    spec = get_system(system)
    for codec, mode, role in ((spec.encoder, "w", "encoder"), (spec.decoder, "r", "decoder")):
        try:
            av.codec.Codec(codec, mode)
        except Exception:  # PyAV raises UnknownCodecError (a ValueError) or FFmpegError depending on version
            raise EncoderMissing(
                f"{spec.name} needs the FFmpeg {role} {codec!r}, which this PyAV build (FFmpeg "
                f"{av.ffmpeg_version_info}) lacks; install a PyAV wheel built with it (the PyPI wheels include "
                "libx264, libx265, libsvtav1, libvpx and libdav1d)"
            ) from None


def available_systems() -> list[str]:
    """Names of the classical systems this PyAV build can both encode and decode."""
    return [name for name, system in CLASSICAL_SYSTEMS.items() if system.available()]


def _loaded_library(fragment: str) -> str | None:
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if fragment in os.path.basename(path):
                    return path
    except OSError:
        pass
    return None


def _library_version(encoder: str) -> str:
    """The encoding library's own version string, asked of the copy FFmpeg loaded (Linux; 'unknown' elsewhere)."""
    try:
        if encoder == "libx265" and (path := _loaded_library("libx265")):
            return "x265 " + ctypes.c_char_p.in_dll(ctypes.CDLL(path), "x265_version_str").value.decode()
        if encoder == "libsvtav1" and (path := _loaded_library("libSvtAv1Enc")):
            fn = ctypes.CDLL(path).svt_av1_get_version
            fn.restype = ctypes.c_char_p
            return "SVT-AV1 " + fn().decode()
        if encoder == "libvpx-vp9" and (path := _loaded_library("libvpx")):
            fn = ctypes.CDLL(path).vpx_codec_version_str
            fn.restype = ctypes.c_char_p
            return "libvpx " + fn().decode()
        if encoder == "libx264":
            return _x264_banner_version()
    except (OSError, AttributeError, ValueError):
        pass
    return f"{encoder} (version unknown)"


def _x264_banner_version() -> str:
    """x264 exports no version call; its banner SEI says ``x264 - core 165 r3xxx hash``."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "probe.h264"
        with av.open(str(path), "w", format="h264") as out:
            stream = out.add_stream("libx264", rate=25)
            stream.width, stream.height, stream.pix_fmt = 64, 64, PIX_FMT
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24").reformat(format=PIX_FMT)
            for packet in [*stream.encode(frame), *stream.encode()]:
                out.mux(packet)
        match = re.search(rb"x264 - core (\d+)(?: (r\d+ [0-9a-f]+))?", path.read_bytes())
    if not match:
        return "x264 (version unknown)"
    return "x264 core " + " ".join(g.decode() for g in match.groups() if g)


def codec_version(system: str | ClassicalSystem) -> str:
    """Version string for a result file: encoder library, FFmpeg and PyAV (e.g. ``x265 4.2; FFmpeg 8.1.2; PyAV 18.1.0``)."""
    spec = get_system(system)
    check_available(spec)
    return _versions(spec.encoder)


@functools.cache
def _versions(encoder: str) -> str:
    return f"{_library_version(encoder)}; FFmpeg {av.ffmpeg_version_info}; PyAV {av.__version__}"


def _rgb_uint8(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected an RGB clip [T, H, W, 3], got shape {frames.shape}")
    if frames.dtype != np.uint8 and not np.issubdtype(frames.dtype, np.floating):
        raise TypeError(f"expected uint8 or float frames in [0, 1], got {frames.dtype}")
    return to_uint8(frames)


def _pad_even(rgb: np.ndarray) -> np.ndarray:
    _, h, w, _ = rgb.shape
    pad = ((0, 0), (0, h % 2), (0, w % 2), (0, 0))
    return np.pad(rgb, pad, mode="edge") if any(p[1] for p in pad) else rgb


def _params(entries: dict[str, str]) -> str:
    return ":".join(f"{k}={v}" for k, v in entries.items())


def _encoder_options(spec: ClassicalSystem, crf: int, threads: int) -> dict[str, str]:
    options = {**spec.options, "crf": str(crf)}
    params = dict(spec.extra_params)
    if spec.encoder == "libx265":
        # x265 ignores FFmpeg's thread count; frame threads change its output, so pin them too.
        params.update({"pools": str(threads), "frame-threads": str(threads)})
    elif spec.encoder == "libsvtav1":
        params["lp"] = str(threads)
    elif spec.encoder == "libvpx-vp9":
        options.setdefault("row-mt", "1" if threads > 1 else "0")
    if params:
        key = {"libx265": "x265-params", "libsvtav1": "svtav1-params", "libx264": "x264-params"}[spec.encoder]
        merged = [options[key]] if key in options else []
        options[key] = ":".join([*merged, _params(params)])
    return options


def _encode(
    spec: ClassicalSystem, rgb: np.ndarray, crf: int, fps: float, threads: int, pix_fmt: str, path: Path
) -> tuple[int, int]:
    """Encode to ``path``; returns (sum of packet bytes as the encoder produced them, packets written)."""
    options = _encoder_options(spec, crf, threads)
    _, h, w, _ = rgb.shape
    stream_bytes = 0
    written = 0
    with av.open(str(path), "w", format=spec.container) as out:
        stream = out.add_stream(spec.encoder, rate=Fraction(fps).limit_denominator(100_000))
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.codec_context.thread_count = threads
        stream.options = options
        bsf = (
            av.bitstream.BitStreamFilterContext("filter_units=remove_types=6", spec.decoder) if spec.strip_sei else None
        )

        def mux(packets: list[av.Packet]) -> None:
            nonlocal stream_bytes, written
            for packet in packets:
                stream_bytes += packet.size
                for p in bsf.filter(packet) if bsf else [packet]:
                    p.stream = stream
                    out.mux(p)
                    written += 1

        for index, image in enumerate(rgb):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(
                format=pix_fmt, interpolation=CHROMA_FILTER
            )
            frame.pts = index
            mux(stream.encode(frame))
        mux(stream.encode(None))
        if bsf:
            for p in bsf.filter(None):
                p.stream = stream
                out.mux(p)
                written += 1
    return stream_bytes, written


def _decode(spec: ClassicalSystem, path: Path, threads: int) -> tuple[np.ndarray, int]:
    frames = []
    keyframes = 0
    with av.open(str(path), format=spec.container) as container:
        stream = container.streams.video[0]
        codec = av.codec.CodecContext.create(spec.decoder, "r")
        codec.extradata = stream.codec_context.extradata
        codec.thread_count = threads
        for packet in container.demux(stream):  # ends with an empty packet, which flushes the decoder
            for frame in codec.decode(packet):
                keyframes += bool(frame.key_frame)
                frames.append(frame.to_ndarray(format="rgb24"))
    if not frames:
        raise RuntimeError(f"{spec.name}: decoding {path.name} gave no frames")
    return np.stack(frames), keyframes


def encode_classical(
    frames: np.ndarray,
    system: str | ClassicalSystem,
    crf: int,
    fps: float = 25.0,
    threads: int = 1,
    keep_dir: Path | None = None,
    decode_repeats: int = 3,
    pix_fmt: str = PIX_FMT,
) -> Coded:
    """Code an RGB clip (float in [0, 1] or uint8, ``[T, H, W, 3]``) with a classical codec at one CRF.

    Encodes to a bitstream file, decodes that file back to uint8 RGB and
    returns a :class:`Coded` whose ``file_bytes`` is the whole file.
    ``keep_dir``: also keep the file there (named ``<system>-crf<crf><suffix>``).
    ``encode_seconds`` covers RGB to YUV conversion, encoding and writing;
    ``decode_fps`` covers reading, decoding and YUV to RGB conversion, best of
    ``decode_repeats`` runs (a short clip decodes in milliseconds, where one
    run mostly measures scheduler noise on a shared machine).
    ``pix_fmt="yuv444p"`` codes full-resolution chroma (not SVT-AV1): 4:2:0
    caps RGB PSNR on strongly coloured clips (about 38 dB on ``motion``).
    """
    spec = get_system(system)
    check_available(spec)
    lo, hi = spec.crf_range
    if not lo <= crf <= hi:
        raise ValueError(f"{spec.name}: CRF must be in [{lo}, {hi}], got {crf}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if pix_fmt not in spec.pix_fmts:
        raise ValueError(f"{spec.name}: pix_fmt must be one of {', '.join(spec.pix_fmts)}, got {pix_fmt!r}")
    rgb = _rgb_uint8(frames)
    t, h, w, _ = rgb.shape
    padded = _pad_even(rgb) if pix_fmt == "yuv420p" else rgb
    with tempfile.TemporaryDirectory(prefix="nvcodec-classical-") as tmp:
        path = Path(tmp) / f"{spec.name}-crf{crf}{spec.suffix}"
        start = time.perf_counter()
        stream_bytes, packets = _encode(spec, padded, crf, fps, threads, pix_fmt, path)
        encode_seconds = time.perf_counter() - start
        file_bytes = path.stat().st_size
        decode_seconds = math.inf
        for _ in range(max(1, decode_repeats)):
            start = time.perf_counter()
            decoded, keyframes = _decode(spec, path, threads)
            decode_seconds = min(decode_seconds, time.perf_counter() - start)
        if keep_dir is not None:
            keep_dir.mkdir(parents=True, exist_ok=True)
            kept = keep_dir / path.name
            kept.write_bytes(path.read_bytes())
    if decoded.shape[0] != t:
        raise RuntimeError(f"{spec.name}: {t} frames encoded but {decoded.shape[0]} decoded")
    decoded = np.ascontiguousarray(decoded[:, :h, :w])
    settings = {
        "codec": spec.encoder,
        "crf": crf,
        "options": _encoder_options(spec, crf, threads),
        "pix_fmt": pix_fmt,
        "chroma_filter": CHROMA_FILTER,
        "container": spec.container,
        "threads": threads,
        "fps": fps,
    }
    if padded.shape != rgb.shape:
        settings["padded_to"] = [padded.shape[1], padded.shape[2]]
    extra = {
        "stream_bytes": stream_bytes,
        "packets": packets,
        "keyframes": keyframes,
        "decode_seconds": decode_seconds,
        "version": codec_version(spec),
    }
    if keep_dir is not None:
        extra["file"] = str(kept)
    return Coded(
        system=spec.name,
        settings=settings,
        file_bytes=file_bytes,
        decoded=decoded,
        encode_seconds=encode_seconds,
        decode_fps=t / decode_seconds if decode_seconds > 0 else float("inf"),
        extra=extra,
    )
