"""Pixels drawn by their error (``FitConfig.error_sampling``): inside each patch, weighted to stay unbiased."""

import dataclasses

import numpy as np
import pytest
import torch

from nvcodec.config import Config, ConfigError
from nvcodec.fit import ERROR_FLOOR, UNSEEN_ERROR, _PixelSampler, fit_video
from nvcodec.tiling import PatchGrid
from tests.test_fit import tiny_config

HEIGHT, WIDTH, FRAMES = 40, 56, 3


def sampler(power: float, per_cell: int = 64, seed: int = 0) -> tuple[_PixelSampler, PatchGrid]:
    grid = PatchGrid.build(HEIGHT, WIDTH, patch=24, overlap=6)
    return _PixelSampler(grid.sampling_table(), FRAMES, per_cell, torch.Generator().manual_seed(seed), power), grid


def seen_errors(s: _PixelSampler, errors: torch.Tensor) -> None:
    """Tell ``s`` the error ``[F, H, W]`` of every pixel, as if each patch had drawn each of its pixels (a uniform
    sampler hears none)."""
    if not s.observes:
        return
    t = s.table
    pixels = (t.rows.unsqueeze(2) * WIDTH + t.cols.unsqueeze(1)).flatten(1)  # [P, S], padding reads pixel 0
    s.odds.copy_(errors.view(FRAMES, 1, -1)[:, 0][:, pixels].clamp(min=ERROR_FLOOR) ** s.error_power)
    s.draws = 0  # the next draw rebuilds the distribution


def test_draws_stay_in_each_patch_support():
    s, grid = sampler(0.5)
    seen_errors(s, torch.rand(FRAMES, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(1)))
    table = grid.sampling_table()
    for _ in range(5):
        rows, cols, coords, weights = s.draw()
        for p in range(grid.num_patches):
            assert set(rows[p].flatten().tolist()) <= set(table.rows[p, : table.row_count[p]].tolist())
            assert set(cols[p].flatten().tolist()) <= set(table.cols[p, : table.col_count[p]].tolist())
        assert torch.isfinite(weights).all() and (weights >= 0).all()
        assert (coords.abs() <= 1.5).all()


def test_larger_errors_are_drawn_more_often():
    s, _ = sampler(1.0, per_cell=256)
    errors = torch.full((FRAMES, HEIGHT, WIDTH), 0.01)
    errors[:, :, 1::2] = 1.0  # every odd column is a hundred times worse, in every patch
    seen_errors(s, errors)
    _, cols, _, _ = s.draw()
    assert (cols % 2 == 1).float().mean() > 0.95


def test_unseen_pixels_come_first():
    s, _ = sampler(0.5)
    unseen = UNSEEN_ERROR**0.5
    assert torch.allclose(s.odds, torch.tensor(unseen))
    s.draw()
    s.observe(torch.zeros(s.shape))
    assert s.drawn is not None
    frames, patches, support = s.odds.shape
    place = (torch.arange(frames).view(-1, 1, 1) * patches + torch.arange(patches).view(1, -1, 1)) * support + s.drawn
    assert int((s.odds < unseen).sum()) == len(place.unique())  # every place drawn, and only those, was seen
    errors = torch.full((FRAMES, HEIGHT, WIDTH), UNSEEN_ERROR)
    errors[:, : HEIGHT // 2] = 1e-4  # the top half was seen and fits well
    seen_errors(s, errors)
    rows, _, _, _ = s.draw()
    assert (rows >= HEIGHT // 2).float().mean() > 0.85


def test_observe_needs_a_draw():
    s, _ = sampler(0.5)
    with pytest.raises(RuntimeError, match="draw"):
        s.observe(torch.zeros(s.shape))


def test_the_weighted_loss_estimates_the_uniform_one():
    """Importance weights make the weighted mean of any per-pixel value the one uniform draws estimate."""
    value = torch.rand(FRAMES, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(2))
    errors = value**4  # the value follows the error: drawn by error without weights, its mean would be ~0.75

    def estimate(power: float) -> float:
        s, _ = sampler(power, per_cell=512, seed=4)
        seen_errors(s, errors)
        total = weight = 0.0
        for _ in range(40):
            rows, cols, _, weights = s.draw()
            total += float((weights * value[s.frame_index, rows, cols]).sum())
            weight += float(weights.sum())
        return total / weight

    uniform, by_error = estimate(0.0), estimate(0.5)
    assert by_error == pytest.approx(uniform, abs=0.01)


def test_error_sampling_is_checked():
    with pytest.raises(ConfigError, match="error_sampling"):
        Config.preset("fast", error_sampling=-0.1)
    with pytest.raises(ConfigError, match="error_sampling"):
        Config.preset("fast", error_sampling=1.5)
    with pytest.raises(ConfigError, match="error_sampling"):
        Config.preset("fast", error_sampling=float("nan"))


@pytest.mark.slow
def test_fits_by_error_are_reproducible_and_differ_from_uniform(tiny_clip):
    config = tiny_config(iters=20, iters_warm=10, error_sampling=0.5)
    a = fit_video(tiny_clip, config).model.state_dict()
    b = fit_video(tiny_clip, config).model.state_dict()
    uniform = dataclasses.replace(config, fit=dataclasses.replace(config.fit, error_sampling=0.0))
    c = fit_video(tiny_clip, uniform).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert all(np.isfinite(v.detach().abs().max().item()) for v in a.values())


@pytest.mark.slow
def test_the_compiled_loss_gives_the_eager_per_pixel_errors(tiny_clip):
    """What error-guided sampling hears from a compiled step is what the eager step computes."""
    from nvcodec.fit import VideoFitter, compiled_step_loss, step_loss

    config = tiny_config(iters=5, iters_warm=5)
    fitter = VideoFitter(tiny_clip, config)
    group = fitter.cold_start(0)
    frames = torch.as_tensor(tiny_clip[: config.fit.group_size + 1])
    taus = group.local_time(torch.arange(len(frames), dtype=torch.float32))
    s = _PixelSampler(group.grid.sampling_table(), len(frames), 32, torch.Generator().manual_seed(0), 0.3)
    rows, cols, coords, weights = s.draw()
    target = frames[s.frame_index, rows, cols]
    inputs = (group, coords, taus, target, weights, None, None, 0.0, group.frame_step, None, None, True)
    eager_value, eager_errors = step_loss(*inputs)
    compiled_value, compiled_errors = compiled_step_loss()(*inputs)
    assert eager_errors.shape == rows.shape
    assert torch.allclose(compiled_errors, eager_errors, rtol=1e-4, atol=1e-6)
    assert torch.allclose(compiled_value, eager_value, rtol=1e-4)
