"""Groups of a video: their bounds, and VideoModel routing each time to its group."""

import itertools

import pytest
import torch

from nvcodec.errors import ArgumentError
from nvcodec.model import VideoModel, group_bounds
from tests.conftest import make_group


def test_group_bounds_share_boundaries():
    assert group_bounds(31, 10) == [0, 10, 20, 30]
    assert group_bounds(1, 10) == [0, 0]
    bounds = group_bounds(35, 10)
    assert bounds[0] == 0 and bounds[-1] == 34 and len(bounds) == 5
    assert max(b - a for a, b in itertools.pairwise(bounds)) <= 10


def test_video_model_routes_times_and_rejects_outside():
    groups = [make_group(start=0, end=5), make_group(start=5, end=9, seed=1)]
    video = VideoModel(groups, num_frames=10)
    assert video.group_of(0) == 0 and video.group_of(4.99) == 0
    assert video.group_of(5) == 1 and video.group_of(9) == 1
    with torch.no_grad():
        torch.testing.assert_close(video.render(6.5), groups[1].render(6.5))
        assert video.render([0, 7.25, 9], size=(20, 28)).shape == (3, 20, 28, 3)
    for bad in (-0.1, 9.01, float("nan")):
        with pytest.raises(ArgumentError):
            video.render(bad)
    with pytest.raises(ArgumentError):
        video.render(1.0, size=(0, 10))
