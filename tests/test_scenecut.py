"""Scene cuts: detection, cut-aware group boundaries, and a fit that keeps each shot in its own groups."""

from __future__ import annotations

import numpy as np
import pytest

from nvcodec import Config
from nvcodec.errors import ArgumentError
from nvcodec.fit import VideoFitter
from nvcodec.options import EncodeOptions
from nvcodec.sample import sample_clip
from nvcodec.scenecut import bounds_with_cuts, frame_changes, scene_cuts
from nvcodec.timebase import group_bounds
from tests.conftest import TINY, moving_square_clip


def two_shots(first: int = 9, second: int = 8) -> np.ndarray:
    """A sliding square, then a different picture (the sample clip): one cut, at frame ``first``."""
    shot_a = moving_square_clip(first, 48, 48)
    shot_b = sample_clip(second, 48, 48)
    return np.concatenate([shot_a, shot_b])


def test_a_cut_between_two_shots_is_found():
    assert scene_cuts(frame_changes([two_shots()])) == [9]


def test_motion_within_a_shot_is_not_a_cut():
    # A fast pan changes every frame a lot, but evenly: no frame stands out.
    pan = sample_clip(12, 48, 48, speed=4.0)
    assert scene_cuts(frame_changes([pan])) == []
    assert scene_cuts(frame_changes([moving_square_clip(12)])) == []


def test_changes_do_not_depend_on_how_the_frames_are_batched():
    clip = two_shots()
    whole = frame_changes([clip])
    batched = frame_changes([clip[i : i + 4] for i in range(0, len(clip), 4)])
    np.testing.assert_allclose(batched, whole, rtol=1e-6)
    assert len(whole) == len(clip) - 1


def test_a_cut_on_the_last_frame_is_left_to_the_group_before():
    clip = np.concatenate([moving_square_clip(8), np.ones((1, 48, 48, 3), np.float32)])
    assert scene_cuts(frame_changes([clip])) == []


def test_bounds_put_a_boundary_on_every_cut_and_split_shots_evenly():
    assert bounds_with_cuts(31, 10, []) == group_bounds(31, 10)
    assert bounds_with_cuts(31, 10, [15]) == [0, 8, 15, 23, 30]
    assert bounds_with_cuts(31, 10, [1, 2]) == [0, 1, 2, 11, 21, 30]


@pytest.mark.parametrize("cuts", [[0], [30], [40], [15, 15], [20, 10]])
def test_impossible_cuts_are_refused(cuts):
    with pytest.raises(ArgumentError, match="cuts must be"):
        bounds_with_cuts(31, 10, cuts)


def test_the_fitter_starts_a_group_at_a_cut_and_keeps_the_new_shot_out_of_the_group_before():
    clip = two_shots()
    config = Config.preset("fast", **TINY, group_size=9, iters=2, iters_warm=2)
    fitter = VideoFitter(clip, config)
    assert fitter.cuts == [9]
    assert fitter.bounds == [0, 9, 16]
    before = fitter.fit(0, None)
    assert before.frames.shape[0] == 9  # frames 0..8; frame 9 starts the next shot
    after = fitter.fit(1, before.group)
    assert after.frames.shape[0] == 8
    np.testing.assert_array_equal(after.frames[0].cpu().numpy(), clip[9])


def test_cuts_can_be_switched_off_or_given():
    clip = two_shots()
    config = Config.preset("fast", **TINY, group_size=9)
    assert VideoFitter(clip, config).bounds == [0, 9, 16]
    assert VideoFitter(clip, Config.preset("fast", **TINY, group_size=9, scene_cuts=False)).bounds == [0, 8, 16]
    assert VideoFitter(clip, config, cuts=[4]).bounds == [0, 4, 10, 16]
    # Frames given at some times only, or with a mask, are not compared.
    assert VideoFitter(clip, config, mask=np.ones(clip.shape[:3], bool)).cuts == []


@pytest.mark.slow
def test_an_encode_across_a_cut_decodes_each_shot_from_its_own_groups(tmp_path):
    from nvcodec import VideoReader, encode
    from nvcodec.container import ContainerReader

    clip = two_shots()
    config = Config.preset("fast", **TINY, group_size=9, iters=60, iters_warm=30)
    stats = encode(clip, tmp_path / "cut.actv", config, fps=10, options=EncodeOptions(quality=25))
    assert stats.cuts == [9] and stats.groups == 2
    with ContainerReader(tmp_path / "cut.actv") as container:
        assert [(e.start, e.end) for e in container.entries] == [(0, 9), (9, 16)]
    with VideoReader(tmp_path / "cut.actv") as reader:
        assert len(reader) == len(clip)
        first_of_new_shot = reader.frame(9).astype(np.float32) / 255
    # Frame 9 decodes from the new shot's group: it is far closer to the new shot than to the old one.
    assert np.abs(first_of_new_shot - clip[9]).mean() < np.abs(first_of_new_shot - clip[8]).mean()
