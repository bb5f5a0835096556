"""How the tasks degrade clean frames: seeded Gaussian noise and masks of unknown pixels (random or a text overlay)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TEXT_LINES: tuple[str, ...] = ("ActINR 2025", "nvcodec test")


def add_noise(frames: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Frames plus seeded Gaussian noise of standard deviation ``sigma`` (on the [0, 1] scale), clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(frames.shape, dtype=np.float32) * np.float32(sigma)
    return np.clip(frames.astype(np.float32) + noise, 0.0, 1.0)


def random_known_mask(shape: tuple[int, int, int], missing: float, seed: int) -> np.ndarray:
    """bool ``[T, H, W]``, True = known; each pixel of each frame is missing with probability ``missing``."""
    if not 0.0 <= missing < 1.0:
        raise ValueError(f"missing must be in [0, 1), got {missing}")
    return np.random.default_rng(seed).random(shape) >= missing


def text_known_mask(height: int, width: int, lines: Sequence[str] = TEXT_LINES) -> np.ndarray:
    """bool ``[H, W]``, True = known: subtitle-like text lines near the bottom of the frame are unknown.

    Drawn with Pillow's built-in scalable font with a one-pixel stroke, sized so
    the widest line fills about 90 % of the width.
    """
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    size = max(6, height // 7)
    while True:
        font = ImageFont.load_default(size=size)
        boxes = [draw.textbbox((0, 0), line, font=font, stroke_width=1) for line in lines]
        widest = max(b[2] - b[0] for b in boxes)
        if widest <= 0.9 * width or size <= 6:
            break
        size -= 1
    line_height = max(b[3] - b[1] for b in boxes) + 2
    top = height - len(lines) * line_height - max(2, height // 24)
    for index, (line, box) in enumerate(zip(lines, boxes)):
        x = (width - (box[2] - box[0])) // 2 - box[0]
        y = top + index * line_height - box[1]
        draw.text((x, y), line, fill=255, font=font, stroke_width=1, stroke_fill=255)
    return np.asarray(image) < 128


def apply_mask(frames: np.ndarray, known: np.ndarray, fill: float) -> np.ndarray:
    """Unknown pixels (``known`` False, ``[T, H, W]`` or ``[H, W]``) set to ``fill``."""
    known = np.broadcast_to(np.asarray(known, dtype=bool), frames.shape[:3])
    return np.where(known[..., None], frames, np.float32(fill)).astype(np.float32)
