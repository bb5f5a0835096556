import itertools

import pytest
import torch

from nvcodec.errors import ArgumentError
from nvcodec.model import ACTIVATIONS, FrameINR, VideoModel, group_bounds
from nvcodec.model.group import RENDER_CHUNK_POINTS, count_parameters
from tests.conftest import make_group


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_are_finite_and_bounded(name):
    u = torch.linspace(-50, 50, 1001)
    y = ACTIVATIONS[name].function(u, 5.0, 3.0)
    assert torch.isfinite(torch.view_as_real(y) if y.is_complex() else y).all()
    assert y.abs().max() <= 1.0 + 1e-6


def test_wire_real_part_is_gabor():
    u = torch.linspace(-2, 2, 101)
    torch.testing.assert_close(
        ACTIVATIONS["wire"].function(u, 5.0, 3.0).real, ACTIVATIONS["gabor"].function(u, 5.0, 3.0)
    )


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_render_shapes_at_fractional_time_and_4x(activation):
    group = make_group(activation, end=5)
    with torch.no_grad():
        assert group.render(2.37).shape == (40, 56, 3)
        frames = group.render([0.0, 0.5, 4.99], size=(160, 224))
    assert frames.shape == (3, 160, 224, 3)
    assert frames.min() >= 0 and frames.max() <= 1


def test_batched_patches_equal_one_patch_at_a_time():
    group = make_group(end=5)
    coords = torch.rand(group.grid.num_patches, 2, 7, 2) * 2 - 1
    tau = torch.tensor([0.1, 0.8])
    with torch.no_grad():
        biases = group.bias_inr(tau)
        batched = group.frame_inr(coords, biases)
        for p in range(group.grid.num_patches):
            single = FrameINR(1, group.config)
            for mine, theirs in zip(single.weights, group.frame_inr.weights):
                mine.copy_(theirs[p : p + 1])
            one = single(coords[p : p + 1], [b[p : p + 1] for b in biases])
            torch.testing.assert_close(one[0], batched[p])


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


def test_parameter_count_counts_complex_twice():
    real, complex_ = make_group("gabor", end=5), make_group("wire", end=5)
    assert count_parameters(complex_) > count_parameters(real)


@pytest.mark.parametrize("activation", ["gabor", "wire"])
@pytest.mark.parametrize("layers", [1, 3])
def test_header_parameter_count_matches_the_model(activation, layers):
    """The header's allocation cap is computed from the config alone; it must agree with the model."""
    from nvcodec.header import group_parameter_count

    model = make_group(activation, end=3, layers=layers)
    assert group_parameter_count(model.grid, model.config) == count_parameters(model)


def test_pixel_plan_cache_is_bounded():
    from nvcodec.model.group import CACHED_PLANS

    group = make_group(end=5)
    with torch.no_grad():
        for side in range(8, 8 + 2 * CACHED_PLANS):
            group.render(0.0, size=(side, side))
    assert len(group._plans) == CACHED_PLANS
