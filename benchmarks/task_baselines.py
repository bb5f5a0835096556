"""Classical comparators for the ActINR tasks of :mod:`benchmarks.tasks`.

Every function takes and returns float frames ``[T, H, W, 3]`` in [0, 1] (the
clip convention of :mod:`benchmarks.clips`), so the task runner scores them
exactly like the neural systems.

Temporal upsampling (slow motion, the temporal half of super-resolution):

``repeat_previous``
    frame ``t`` is the last known frame at or before ``t`` (sample and hold).
``linear_blend``
    ``(1 - r) * known[k] + r * known[k + 1]`` with ``r`` the position of ``t``
    between its two known neighbours: exact on a clip that is linear in time.
``minterpolate``
    FFmpeg's motion-compensated frame interpolation filter, through a PyAV
    filter graph (``mci`` mode, overlapped-block motion compensation,
    bidirectional motion estimation, variable-size block refinement, scene-cut
    detection off so a synthetic clip is never treated as a cut). Known frames
    are pushed one per second and the filter is asked for ``factor`` frames
    per second, so output ``pts = k`` (time base ``1/factor``) is time
    ``k / factor`` in known-frame units. The filter only emits the frames
    before its newest input, so the last known frame is pushed twice more and
    the output is cut at the last known time. It works in YUV, so frames go
    RGB -> 4:4:4 YUV (no chroma subsampling) -> RGB through swscale; that
    round trip alone moves a known frame by at most one 8-bit level.

Spatial upsampling: ``bicubic_upscale``, scikit-image's ``resize`` with
``order=3`` and no anti-aliasing (pixel-centre aligned, like nvcodec's
rendering at another size).

Denoising: ``nlm_denoise``, scikit-image's non-local means per frame.

Inpainting: ``biharmonic_inpaint``, scikit-image's biharmonic inpainting per
frame (known pixels are returned unchanged).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from benchmarks.common import to_uint8

MINTERPOLATE_OPTIONS = "mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1:scd=none"
"""Options of FFmpeg's ``minterpolate`` besides the output rate (see the module notes)."""

NLM_PATCH_SIZE = 5
NLM_PATCH_DISTANCE = 6
NLM_H_FACTOR = 0.8
"""``h = 0.8 * sigma``: scikit-image's recommendation for ``fast_mode`` with a known sigma."""


def _check_clip(frames: np.ndarray, name: str = "frames") -> np.ndarray:
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        raise ValueError(f"{name} must be [T, H, W, 3] with T >= 1, got {frames.shape}")
    return frames


def _neighbours(known_times: Sequence[int], t: float) -> tuple[int, int, float]:
    """Indices of the known frames around ``t`` and the position of ``t`` between them (0..1)."""
    times = np.asarray(known_times, dtype=np.float64)
    if t < times[0] or t > times[-1]:
        raise ValueError(f"time {t} is outside the known frames' span [{times[0]}, {times[-1]}]")
    upper = int(np.searchsorted(times, t, side="left"))
    if upper < len(times) and times[upper] == t:
        return upper, upper, 0.0
    lower = upper - 1
    return lower, upper, float((t - times[lower]) / (times[upper] - times[lower]))


def _check_times(known: np.ndarray, known_times: Sequence[int]) -> None:
    if len(known_times) != len(known):
        raise ValueError(f"{len(known_times)} times for {len(known)} known frames")
    if any(b <= a for a, b in itertools.pairwise(known_times)):
        raise ValueError("known times must increase strictly")


def repeat_previous(known: np.ndarray, known_times: Sequence[int], times: Sequence[float]) -> np.ndarray:
    """Frame at each of ``times``: the latest known frame at or before it."""
    known = _check_clip(known, "known")
    _check_times(known, known_times)
    return np.stack([known[_neighbours(known_times, t)[0]] for t in times])


def linear_blend(known: np.ndarray, known_times: Sequence[int], times: Sequence[float]) -> np.ndarray:
    """Frame at each of ``times``: the linear blend of the two known frames around it."""
    known = _check_clip(known, "known")
    _check_times(known, known_times)
    out = []
    for t in times:
        lower, upper, r = _neighbours(known_times, t)
        out.append((1.0 - r) * known[lower] + r * known[upper])
    return np.stack(out).astype(np.float32)


def minterpolate(known: np.ndarray, factor: int, options: str = MINTERPOLATE_OPTIONS) -> np.ndarray:
    """Motion-compensated ``factor``x frame-rate upsampling of equally spaced frames.

    Returns ``(len(known) - 1) * factor + 1`` frames: output ``j`` sits at time
    ``j / factor`` in units of the known frames' spacing, so output
    ``k * factor`` is known frame ``k`` (up to the YUV round trip).
    """
    import av

    known = _check_clip(known, "known")
    if not (isinstance(factor, int) and factor >= 1):
        raise ValueError(f"factor must be a positive integer, got {factor!r}")
    count, height, width, _ = known.shape
    wanted = (count - 1) * factor + 1
    if factor == 1 or count == 1:
        return known.copy()
    graph = av.filter.Graph()
    source = graph.add_buffer(width=width, height=height, format="yuv444p", time_base=Fraction(1, 1))
    interpolate = graph.add("minterpolate", f"fps={factor}:{options}")
    sink = graph.add("buffersink")
    source.link_to(interpolate)
    interpolate.link_to(sink)
    graph.configure()

    outputs: dict[int, np.ndarray] = {}

    def drain() -> None:
        while True:
            try:
                frame = graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return
            # pts in 1/factor seconds; rescale in case the sink reports another time base.
            time = Fraction(frame.pts) * Fraction(frame.time_base) * factor
            if time.denominator != 1:
                raise RuntimeError(f"minterpolate produced a frame off the output grid (time {time})")
            outputs[int(time)] = frame.to_ndarray(format="rgb24")

    pixels = to_uint8(known)
    # Two extra copies of the last frame: the filter emits only frames before its newest input.
    for index, rgb in enumerate([*pixels, pixels[-1], pixels[-1]]):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuv444p")
        frame.pts = index
        frame.time_base = Fraction(1, 1)
        graph.push(frame)
        drain()
    graph.push(None)
    drain()
    missing = [j for j in range(wanted) if j not in outputs]
    if missing:
        raise RuntimeError(f"minterpolate did not produce output frames {missing[:5]}...")
    return np.stack([outputs[j] for j in range(wanted)]).astype(np.float32) / 255.0


def bicubic_upscale(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bicubic resize of every frame to ``size = (height, width)``, clipped to [0, 1]."""
    from skimage.transform import resize

    frames = _check_clip(frames)
    out = [
        resize(frame, (*size, 3), order=3, mode="edge", anti_aliasing=False, preserve_range=True) for frame in frames
    ]
    return np.clip(np.stack(out), 0.0, 1.0).astype(np.float32)


def box_downscale(frames: np.ndarray, factor: int) -> np.ndarray:
    """Average over ``factor x factor`` blocks (area downscaling); the frame is cropped to a multiple of ``factor``."""
    frames = _check_clip(frames)
    t, h, w, c = frames.shape
    h2, w2 = h // factor, w // factor
    if h2 < 1 or w2 < 1:
        raise ValueError(f"a {w}x{h} frame is too small to shrink {factor}x")
    cropped = frames[:, : h2 * factor, : w2 * factor]
    return cropped.reshape(t, h2, factor, w2, factor, c).mean(axis=(2, 4)).astype(np.float32)


def nlm_denoise(frames: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """Non-local means per frame (``fast_mode``); ``sigma`` known, or estimated per frame when ``None``."""
    from skimage.restoration import denoise_nl_means, estimate_sigma

    frames = _check_clip(frames)
    out = []
    for frame in frames:
        s = sigma if sigma is not None else float(np.mean(estimate_sigma(frame, channel_axis=-1)))
        out.append(
            denoise_nl_means(
                frame,
                h=NLM_H_FACTOR * s,
                sigma=s,
                patch_size=NLM_PATCH_SIZE,
                patch_distance=NLM_PATCH_DISTANCE,
                fast_mode=True,
                channel_axis=-1,
                preserve_range=True,
            )
        )
    return np.clip(np.stack(out), 0.0, 1.0).astype(np.float32)


def biharmonic_inpaint(frames: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Biharmonic inpainting per frame; ``known`` is bool ``[T, H, W]`` (or ``[H, W]``), True = known pixel."""
    from skimage.restoration import inpaint_biharmonic

    frames = _check_clip(frames)
    known = np.asarray(known, dtype=bool)
    if known.ndim == 2:
        known = np.broadcast_to(known, frames.shape[:3])
    if known.shape != frames.shape[:3]:
        raise ValueError(f"mask must be [T, H, W] = {frames.shape[:3]}, got {known.shape}")
    out = []
    for frame, seen in zip(frames, known):
        if seen.all():
            out.append(frame)
            continue
        out.append(inpaint_biharmonic(frame, ~seen, channel_axis=-1))
    return np.clip(np.stack(out), 0.0, 1.0).astype(np.float32)
