"""The encoder's coding policy: its named choices, when they need the sensitivity measurement, and the shape rules."""

import numpy as np
import pytest

from nvcodec.config import FitConfig, ModelConfig
from nvcodec.errors import ArgumentError
from nvcodec.recipe.group_coding import ENCODER_POLICY, ROUNDINGS, STEP_RULES, CodingPolicy
from nvcodec.recipe.quality import RateTrade
from nvcodec.recipe.shape import (
    GROUP_STEPS,
    PATCH_STEPS,
    SHORTEST_GROUP,
    SMALL_PATCH,
    WIDEST,
    WIDTH_STEPS,
    Given,
    fit_for_quality,
    group_size_for_quality,
    patch_for_quality,
    width_for_quality,
    with_group_length,
    with_patch,
)
from nvcodec.tiling import PatchGrid


def test_the_encoder_uses_sensitivity_steps_and_compensated_rounding():
    assert CodingPolicy("sensitivity", "compensated") == ENCODER_POLICY
    assert ENCODER_POLICY.needs_measurement


@pytest.mark.parametrize("step_rule", STEP_RULES)
@pytest.mark.parametrize("rounding", ROUNDINGS)
def test_only_the_plain_policy_skips_the_measurement(step_rule, rounding):
    policy = CodingPolicy(step_rule, rounding)
    assert policy.needs_measurement == ((step_rule, rounding) != ("peak", "nearest"))


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"step_rule": "magic"}, "step rule"), ({"rounding": "up"}, "rounding")]
)
def test_unknown_choices_are_refused(kwargs, message):
    with pytest.raises(ArgumentError, match=message):
        CodingPolicy(**kwargs)


def test_a_higher_quality_never_asks_for_fewer_weights_per_pixel():
    """At 176×144, the bench clips' size: where the patches shrink, their networks together hold more."""
    qualities = np.linspace(0, 60, 121)
    weights = []
    for quality in qualities:
        model = with_patch(ModelConfig(), patch_for_quality(quality))
        grid = PatchGrid.build(144, 176, model.patch, model.overlap)
        weights.append(grid.num_patches * width_for_quality(quality) ** 2)
    assert weights == sorted(weights)
    assert width_for_quality(qualities[0]) == WIDTH_STEPS[0][1] and width_for_quality(qualities[-1]) == WIDEST
    assert patch_for_quality(qualities[0]) == PATCH_STEPS[0][1] and patch_for_quality(qualities[-1]) == SMALL_PATCH


def test_a_trade_knows_its_quality():
    assert RateTrade.for_quality(23.5).quality == pytest.approx(23.5)
    assert RateTrade(1e-3).quality == pytest.approx(30.0)


def test_a_higher_quality_never_asks_for_longer_groups():
    sizes = [group_size_for_quality(q) for q in np.linspace(0, 60, 121)]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] == GROUP_STEPS[0][1] and sizes[-1] == SHORTEST_GROUP


@pytest.mark.parametrize("frames", [5, 10, 15, 30])
def test_a_new_group_length_keeps_the_fit_steps_per_frame(frames):
    fit = FitConfig(group_size=10, iters=3000, iters_warm=1000)
    longer = with_group_length(fit, frames)
    assert longer.group_size == frames
    assert longer.iters_warm == 1000 * frames // 10
    # a 30-frame video: the cold start's extra 2000 steps plus 100 steps a frame, whatever the length
    groups = 30 // frames
    assert longer.iters + (groups - 1) * longer.iters_warm == 2000 + 100 * 30


def test_steps_a_user_gave_are_kept():
    fit = FitConfig(group_size=10, iters=300, iters_warm=100)
    kept = fit_for_quality(12.0, fit, keep_steps=True)
    assert (kept.group_size, kept.iters, kept.iters_warm) == (group_size_for_quality(12.0), 300, 100)


@pytest.mark.parametrize("quality", [12.0, 25.0, 36.0])
def test_a_config_shaped_for_a_quality_has_its_width_and_group_length_and_keeps_the_rest(quality):
    from nvcodec.config import Config
    from nvcodec.recipe.shape import shaped_for_quality

    base = Config.preset("fast", latent_dim=5, lr=0.005)
    shaped = shaped_for_quality(base, quality)
    assert (shaped.model.hidden, shaped.model.patch) == (width_for_quality(quality), patch_for_quality(quality))
    assert shaped.fit == fit_for_quality(quality, base.fit)
    assert (shaped.model.latent_dim, shaped.fit.lr) == (5, 0.005)
    assert shaped_for_quality(shaped, quality) == shaped


def test_a_given_patch_is_kept():
    from nvcodec.config import Config
    from nvcodec.recipe.shape import shaped_for_quality

    shaped = shaped_for_quality(Config.preset("fast", patch=32, overlap=8), 12.0, Given(patch=True))
    assert (shaped.model.patch, shaped.model.overlap) == (32, 8)


def test_a_rate_target_starts_at_the_quality_of_its_typical_rate():
    from nvcodec.errors import ArgumentError
    from nvcodec.recipe.quality import TYPICAL_RATES, quality_for_bpp

    for quality, bpp in TYPICAL_RATES:
        assert quality_for_bpp(bpp) == pytest.approx(quality)
    targets = [0.01, 0.07, 0.1, 0.2, 0.35, 0.6, 5.0]
    qualities = [quality_for_bpp(b) for b in targets]
    assert qualities == sorted(qualities) and qualities[0] == 12 and qualities[-1] == 36
    with pytest.raises(ArgumentError):
        quality_for_bpp(0.0)


def test_only_the_top_qualities_fit_longer_and_never_shorter():
    from nvcodec.recipe.shape import FIT_LENGTH_STEPS, LONGEST_FIT, fit_length_for_quality

    factors = [fit_length_for_quality(q) for q in np.arange(0.0, 60.0, 0.5)]
    assert factors == sorted(factors) and min(factors) == 1.0 and max(factors) == LONGEST_FIT
    assert fit_length_for_quality(25.0) == 1.0, "the default quality keeps the preset's encode time"
    assert fit_length_for_quality(FIT_LENGTH_STEPS[-1][0]) == LONGEST_FIT


def test_a_config_for_a_top_quality_fits_longer_but_its_trials_and_a_users_steps_keep_their_length(monkeypatch):
    import nvcodec.recipe.quality as quality_module
    from nvcodec.config import Config
    from nvcodec.recipe.shape import Given, fit_length_for_quality, shaped_for_quality
    from nvcodec.recipe.trials import GridChoice, WidthChoice

    base = Config.preset("fast")
    trial_steps = []

    def trial(frames, config, lambda_, known_mse=None):
        trial_steps.append((config.fit.iters, config.fit.iters_warm))
        return WidthChoice(config.model.hidden, config.model.hidden)

    monkeypatch.setattr(quality_module, "width_for_content", trial)
    monkeypatch.setattr(
        quality_module, "grids_for_content", lambda frames, config: GridChoice(config.model.grid_levels, 0)
    )
    frames = np.zeros((3, 16, 16, 3), np.float32)
    for quality in (25.0, 36.0):
        shaped = shaped_for_quality(base, quality).fit
        factor = fit_length_for_quality(quality)
        config, _ = quality_module.config_for_quality(base, RateTrade.for_quality(quality), frames)
        assert trial_steps.pop() == (shaped.iters, shaped.iters_warm)
        assert (config.fit.iters, config.fit.iters_warm) == (
            round(shaped.iters * factor),
            round(shaped.iters_warm * factor),
        )
        kept, _ = quality_module.config_for_quality(base, RateTrade.for_quality(quality), frames, Given(steps=True))
        assert kept.fit == shaped_for_quality(base, quality, Given(steps=True)).fit
    assert fit_length_for_quality(36.0) > 1.0
