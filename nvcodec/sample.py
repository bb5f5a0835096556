"""A built-in test clip generated in code: a camera move over a photograph, plus a moving object.

``actv-encode --sample`` needs no input file: the clip is rendered from
scikit-image's bundled ``astronaut`` photograph with a smooth camera pan and
slow zoom, while a textured disc (cut from the ``coffee`` photograph) crosses
the frame on a curved path and turns. Real texture, global motion and a
local, occluding motion together exercise what a video codec has to handle.
"""

from __future__ import annotations

import math

import numpy as np
from skimage import data
from skimage.filters import gaussian
from skimage.transform import AffineTransform, warp

from nvcodec.errors import ArgumentError


def sample_clip(frames: int = 30, height: int = 144, width: int = 176, speed: float = 1.0) -> np.ndarray:
    """Render the sample clip as float32 RGB ``[frames, height, width, 3]`` in [0, 1].

    ``speed`` scales every motion (1.0: the camera moves about 1.5 pixels and
    the object about 3 pixels per frame at the default size).
    """
    if frames < 1 or height < 8 or width < 8:
        raise ArgumentError(f"the sample clip needs at least 1 frame of 8x8, got {frames} frames of {width}x{height}")
    if not math.isfinite(speed) or speed < 0:
        raise ArgumentError(f"sample speed must be a finite number >= 0, got {speed}")
    background = data.astronaut().astype(np.float32) / 255  # 512 x 512
    texture = data.coffee().astype(np.float32) / 255  # 400 x 600
    # The camera sees a 300-pixel-wide window of the photograph whatever the output size;
    # blur first where that window is shrunk, so the clip does not alias.
    scale = 300 / max(height, width)
    if scale > 1:
        background = gaussian(background, sigma=(scale - 1) / 2, channel_axis=-1)
        texture = gaussian(texture, sigma=(scale - 1) / 2, channel_axis=-1)
    out = np.empty((frames, height, width, 3), np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    radius = 0.22 * min(height, width)
    travel = width + 2 * radius
    for index in range(frames):
        s = index * speed
        zoom = scale * (1.0 - 0.004 * s)
        # warp() takes the inverse map: output pixel (x, y) shows photograph pixel zoom * (x, y) + offset.
        offset = (40 + 1.5 * s * scale, 60 + (0.6 * s + 6 * math.sin(s / 6)) * scale)
        frame = warp(
            background,
            AffineTransform(scale=zoom, translation=offset),
            output_shape=(height, width),
            order=1,
            mode="reflect",
        )
        # The object: a disc of coffee texture crossing left to right on an arc, turning as it goes.
        cx = -radius + (3.0 * s) % travel
        cy = height * (0.55 + 0.2 * math.sin(s / 8))
        to_texture = (
            AffineTransform(translation=(-cx, -cy))
            + AffineTransform(scale=scale, rotation=0.05 * s)
            + AffineTransform(translation=(300, 200))
        )
        patch = warp(texture, to_texture, output_shape=(height, width), order=1, mode="reflect")
        inside = np.clip(radius - np.hypot(xx - cx, yy - cy) + 0.5, 0, 1)[..., None]  # anti-aliased edge
        out[index] = frame * (1 - inside) + patch * inside
    return np.clip(out, 0, 1)
