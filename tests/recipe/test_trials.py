"""The trial fits that drop latent grids where they do not pay and widen the model where the next width does."""

import dataclasses

import numpy as np
import pytest

from nvcodec.config import Config
from nvcodec.recipe import trials
from nvcodec.recipe.quality import RateTrade, config_for_quality
from nvcodec.recipe.shape import WIDEST, Given, width_for_quality, with_patch
from nvcodec.recipe.trials import (
    GRIDS_PAY,
    WIDTH_PAYS,
    WIDTHS,
    GridChoice,
    WidthChoice,
    grids_for_content,
    least_fall,
    next_width,
    patches_per_pixel,
    trial_mse,
    width_for_content,
    with_grid_levels,
)
from nvcodec.source import ArraySource
from tests.conftest import TINY, moving_square_clip


def config(hidden: int) -> Config:
    """The tiny model at ``hidden``; its trial fits take 50 steps."""
    return Config.preset("fast", **{**TINY, "hidden": hidden}, iters=500, group_size=4, device="cpu")


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return moving_square_clip(frames=9, height=40, width=56)


def test_the_ladder_is_the_widths_the_quality_rule_picks():
    assert list(WIDTHS) == sorted(set(WIDTHS))
    assert {width_for_quality(q) for q in range(0, 50)} == set(WIDTHS)


@pytest.mark.parametrize(("width", "wider"), [(36, 48), (48, 64), (64, 96), (WIDEST, None), (24, None), (40, None)])
def test_the_next_width_is_the_ladder_s_next(width, wider):
    assert next_width(width) == wider


@pytest.mark.parametrize("width", [WIDEST, 12])
def test_the_widest_and_widths_off_the_ladder_are_kept_without_a_trial(clip, width):
    assert width_for_content(clip, config(width), 1e-12) == WidthChoice(width, width)


def test_the_least_fall_grows_with_the_weights_a_step_adds():
    assert least_fall(48, 64) == WIDTH_PAYS
    assert least_fall(36, 48) == pytest.approx(WIDTH_PAYS * (48**2 - 36**2) / (64**2 - 48**2))
    assert least_fall(24, 36) < least_fall(36, 48) < least_fall(48, 64)


def test_the_least_fall_follows_the_networks_per_pixel_a_step_widens():
    """WIDTH_PAYS holds for four patches of 96 over 176×144; one patch of the frame pays a quarter of that."""
    frame = np.zeros((1, 144, 176, 3), np.float32)
    four, one = (dataclasses.replace(Config(), model=with_patch(Config().model, side)) for side in (96, 176))
    assert patches_per_pixel(frame, four) == 4 / (176 * 144)
    assert patches_per_pixel(frame, one) == 1 / (176 * 144)
    assert least_fall(48, 64, patches_per_pixel(frame, four)) == pytest.approx(WIDTH_PAYS)
    assert least_fall(48, 64, patches_per_pixel(frame, one)) == pytest.approx(WIDTH_PAYS / 4)


def test_the_next_width_is_taken_where_its_trial_error_falls_by_more_than_the_least_fall(clip):
    fall = trial_mse(clip, config(36)) - trial_mse(clip, config(48))
    assert fall > 0  # the wider model fits better
    least = least_fall(36, 48, patches_per_pixel(clip, config(36)))
    pays_at = fall / (2 * least)
    pays = width_for_content(clip, config(36), pays_at)
    does_not = width_for_content(clip, config(36), 2 * fall / least)
    assert (pays.width, pays.tried, pays.widened) == (48, 36, True)
    assert (does_not.width, does_not.widened) == (36, False)
    assert pays.least_fall == does_not.least_fall == pytest.approx(least)
    assert pays.trial_mse == does_not.trial_mse == trial_mse(clip, config(36))  # seeded: same frames, same verdict
    assert pays.apply(config(36)).model.hidden == 48
    assert f"lambda lower (widens beyond {least:.2f}), so width 48" in pays.describe(pays_at)


def test_texture_is_harder_than_a_smooth_picture():
    rng = np.random.default_rng(0)
    noise = rng.random((9, 40, 56, 3), dtype=np.float32)
    smooth = np.broadcast_to(np.linspace(0.2, 0.8, 56, dtype=np.float32)[None, None, :, None], noise.shape).copy()
    assert trial_mse(noise, config(24)) > 10 * trial_mse(smooth, config(24))


class CountingSource(ArraySource):
    def __init__(self, frames: np.ndarray):
        super().__init__(frames)
        self.reads: list[tuple[int, int]] = []

    def read(self, first: int, last: int) -> np.ndarray:
        self.reads.append((first, last))
        return super().read(first, last)


def test_the_trial_reads_only_the_first_group_of_a_source(clip):
    source = CountingSource(clip)
    assert trial_mse(source, config(24)) == trial_mse(clip, config(24))
    assert source.reads == [(0, 4)]  # group_size 4: frames 0..4


def test_the_patches_per_pixel_of_a_source_come_from_its_shape_without_a_read(clip):
    source = CountingSource(clip)
    assert patches_per_pixel(source, config(24)) == patches_per_pixel(clip, config(24))
    assert source.reads == []


def test_without_grids_there_is_no_grid_trial(clip, monkeypatch):
    monkeypatch.setattr(trials, "trial_mse", lambda *args: pytest.fail("a trial fit ran"))
    assert grids_for_content(clip, config(24)) == GridChoice(0, 0)


def test_the_grid_trial_fits_with_and_without_the_grids(clip):
    gridded = with_grid_levels(config(24), 2)
    choice = grids_for_content(clip, gridded)
    assert choice.tried == 2
    assert choice.with_mse == trial_mse(clip, gridded)  # seeded: the same fit as the width trial's
    assert choice.without_mse == trial_mse(clip, config(24))
    assert choice.levels == (2 if choice.without_mse >= GRIDS_PAY * choice.with_mse else 0)
    assert choice.apply(gridded).model.grid_levels == choice.levels


@pytest.mark.parametrize(("without", "levels"), [(1.2, 4), (GRIDS_PAY, 4), (1.05, 0), (0.9, 0)])
def test_grids_are_kept_where_the_error_without_them_is_at_least_grids_pay_times_higher(
    clip, monkeypatch, without, levels
):
    errors = {4: 1.0, 0: without}
    monkeypatch.setattr(trials, "trial_mse", lambda frames, config: errors[config.model.grid_levels])
    choice = grids_for_content(clip, with_grid_levels(config(24), 4))
    assert (choice.levels, choice.tried) == (levels, 4)
    assert choice.kept_mse == errors[levels]
    assert ("no latent grids" in choice.describe()) == (levels == 0)


def test_the_width_trial_starts_from_the_grid_trial_s_verdict_and_fit(clip, monkeypatch):
    """The grids are decided first; the width trial then fits only the wider model, at the grids kept."""

    fitted = []

    def fake_mse(frames, config):
        fitted.append((config.model.hidden, config.model.grid_levels))
        return {4: 1.0, 0: 0.9}[config.model.grid_levels] / config.model.hidden

    monkeypatch.setattr(trials, "trial_mse", fake_mse)
    base = Config.preset("fast", **TINY, iters=500, group_size=4, device="cpu")
    made, choice = config_for_quality(base, RateTrade.for_quality(12.0), clip)
    assert base.model.grid_levels == 0 and made.model.grid_levels == 0  # a pan-like verdict: no grids
    assert fitted == [(36, 4), (36, 0), (48, 0)]
    assert choice.grids == GridChoice(0, 4, 1.0 / 36, 0.9 / 36, choice.grids.seconds)
    assert choice.trial_mse == 0.9 / 36 and choice.tested
    assert choice.trial_seconds == choice.seconds + choice.grids.seconds
    assert "no latent grids" in choice.describe(RateTrade.for_quality(12.0).lambda_)
    fitted.clear()
    _, choice = config_for_quality(base, RateTrade.for_quality(12.0), clip, Given(grids=True))
    assert fitted == [(36, 0), (48, 0)] and choice.grids is None  # given grids (here none): no grid trial
