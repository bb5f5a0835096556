"""The trial fits that widen the model where the next width pays on the content at hand."""

import numpy as np
import pytest

from nvcodec.config import Config
from nvcodec.recipe.shape import WIDEST, width_for_quality
from nvcodec.recipe.trials import WIDTH_PAYS, WIDTHS, WidthChoice, least_fall, next_width, trial_mse, width_for_content
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


@pytest.mark.parametrize(("width", "wider"), [(24, 36), (36, 48), (48, 64), (64, 96), (WIDEST, None), (40, None)])
def test_the_next_width_is_the_ladder_s_next(width, wider):
    assert next_width(width) == wider


@pytest.mark.parametrize("width", [WIDEST, 12])
def test_the_widest_and_widths_off_the_ladder_are_kept_without_a_trial(clip, width):
    assert width_for_content(clip, config(width), 1e-12) == WidthChoice(width, width)


def test_the_least_fall_grows_with_the_weights_a_step_adds():
    assert least_fall(48, 64) == WIDTH_PAYS
    assert least_fall(36, 48) == pytest.approx(WIDTH_PAYS * (48**2 - 36**2) / (64**2 - 48**2))
    assert least_fall(24, 36) < least_fall(36, 48) < least_fall(48, 64)


def test_the_next_width_is_taken_where_its_trial_error_falls_by_more_than_the_least_fall(clip):
    fall = trial_mse(clip, config(24)) - trial_mse(clip, config(36))
    assert fall > 0  # the wider model fits better
    pays_at = fall / (2 * least_fall(24, 36))
    pays = width_for_content(clip, config(24), pays_at)
    does_not = width_for_content(clip, config(24), 2 * fall / least_fall(24, 36))
    assert (pays.width, pays.tried, pays.widened) == (36, 24, True)
    assert (does_not.width, does_not.widened) == (24, False)
    assert pays.trial_mse == does_not.trial_mse == trial_mse(clip, config(24))  # seeded: same frames, same verdict
    assert pays.apply(config(24)).model.hidden == 36
    assert "lambda lower, so width 36" in pays.describe(pays_at)


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
