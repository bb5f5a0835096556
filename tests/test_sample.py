"""The built-in sample clip: a camera pan with a moving object, the same every time."""

import itertools

import numpy as np

from nvcodec.sample import sample_clip


def test_sample_clip_moves():
    clip = sample_clip(frames=6)
    assert clip.shape == (6, 144, 176, 3) and clip.dtype == np.float32
    assert clip.min() >= 0 and clip.max() <= 1
    np.testing.assert_array_equal(clip, sample_clip(frames=6), "generated the same way every time")
    assert all(np.abs(a - b).mean() > 0.01 for a, b in itertools.pairwise(clip)), "every frame moves"
