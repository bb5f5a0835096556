"""Tiny clips generated in code, so tests need no data files."""

from __future__ import annotations

import numpy as np
import pytest

TINY = dict(
    hidden=12,
    layers=2,
    patch=24,
    overlap=6,
    rff_freqs=4,
    latent_dim=4,
    hyper_hidden=8,
    batch_pixels=2048,
    compile=False,
)
"""Config overrides for a model small enough that an encode takes a second: tests of plumbing, not quality."""


def moving_square_clip(frames: int = 6, height: int = 48, width: int = 48, seed: int = 0) -> np.ndarray:
    """A smooth textured background with a bright square sliding across it, float32 [T, H, W, 3]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    phases = rng.uniform(0, 2 * np.pi, size=3)
    background = np.stack(
        [0.5 + 0.25 * np.sin(x / 5.0 + phases[c]) * np.cos(y / 7.0 - phases[c]) for c in range(3)], axis=-1
    )
    clip = np.repeat(background[None], frames, axis=0)
    side = max(4, height // 4)
    for t in range(frames):
        top, left = height // 3, 4 + t * 3
        clip[t, top : top + side, left : left + side] = (0.9, 0.2, 0.1)
    return clip.astype(np.float32)


@pytest.fixture
def tiny_clip() -> np.ndarray:
    return moving_square_clip()
