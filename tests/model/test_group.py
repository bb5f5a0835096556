"""GroupModel: rendering any time at any size, moving and holding a group, and its bounded caches."""

import pytest
import torch

from nvcodec.errors import ArgumentError
from nvcodec.model import ACTIVATIONS
from nvcodec.model.group import RENDER_CHUNK_POINTS, count_parameters
from tests.conftest import make_group


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_render_shapes_at_fractional_time_and_4x(activation):
    group = make_group(activation, end=5)
    with torch.no_grad():
        assert group.render(2.37).shape == (40, 56, 3)
        frames = group.render([0.0, 0.5, 4.99], size=(160, 224))
    assert frames.shape == (3, 160, 224, 3)
    assert frames.min() >= 0 and frames.max() <= 1


def test_render_is_continuous_in_time():
    group = make_group(end=5)
    with torch.no_grad():
        a, b = group.render(1.0), group.render(1.0 + 1e-4)
    assert (a - b).abs().max() < 1e-3


@pytest.mark.parametrize("activation", ["gabor", "wire"])
def test_moving_a_group_keeps_the_function_of_frame_time(activation):
    group = make_group(activation, start=0, end=5)
    moved = make_group(activation, start=0, end=5)
    moved.move_to(5, 8)  # a shorter span, later: time is both shifted and rescaled
    times = [5.0, 6.5, 8.0]
    with torch.no_grad():
        torch.testing.assert_close(moved.render(times), group.render(times), atol=1e-5, rtol=0)
    assert (moved.start, moved.end) == (5, 8)


@pytest.mark.parametrize("activation", ["gabor", "wire"])
def test_holding_the_boundary_renders_it_at_every_time(activation):
    group = make_group(activation, start=0, end=5)
    held = make_group(activation, start=0, end=5)
    held.hold_boundary(5, 8)
    with torch.no_grad():
        boundary = group.render(5.0)
        for t in (5.0, 6.5, 8.0):
            torch.testing.assert_close(held.render(t), boundary, atol=1e-5, rtol=0)
    assert (held.start, held.end) == (5, 8)
    time_weights = held.bias_inr.trunk.weight[:, : 2 * held.bias_inr.frequencies.shape[0]]
    assert bool((time_weights == 0).all())  # motion is learned afresh from here
    with pytest.raises(ArgumentError, match="last frame 8"):
        held.hold_boundary(9, 12)


def test_chunked_render_matches_single_pass(monkeypatch):
    group = make_group(end=5)
    with torch.no_grad():
        whole = group.render([0.5, 3.0], size=(30, 70))
        monkeypatch.setitem(RENDER_CHUNK_POINTS, "cpu", 1)
        chunked = group.render([0.5, 3.0], size=(30, 70))
    torch.testing.assert_close(whole, chunked)


def test_parameter_count_counts_complex_twice():
    real, complex_ = make_group("gabor", end=5), make_group("wire", end=5)
    assert count_parameters(complex_) > count_parameters(real)


def test_pixel_plan_cache_is_bounded():
    from nvcodec.model.group import CACHED_PLANS

    group = make_group(end=5)
    with torch.no_grad():
        for side in range(8, 8 + 2 * CACHED_PLANS):
            group.render(0.0, size=(side, side))
    assert len(group._plans) == CACHED_PLANS
