"""cli.input_config: each input's config, the same for serial and Ray encodes."""

from __future__ import annotations

import dataclasses

import pytest

from nvcodec.cli import encode as encode_cli
from nvcodec.cli.input_config import MIN_SHRUNK_WIDTH, config_for_video, sized_for_video
from nvcodec.config import Config, QuantConfig
from nvcodec.source import ArraySource
from tests.conftest import moving_square_clip


def request(*argv: str):
    return encode_cli.request_from_args(encode_cli.build_parser().parse_args(list(argv)))


def test_a_model_that_outweighs_a_tiny_input_is_narrowed_unless_its_width_was_given():
    config = Config.preset("fast")
    shape = (2, 16, 16)  # far fewer pixels than the model has parameters
    narrowed, warning = sized_for_video(config, QuantConfig(), shape, fixed=False)
    assert narrowed.model.hidden < config.model.hidden and narrowed.model.hidden >= MIN_SHRUNK_WIDTH
    assert "using --hidden" in warning
    kept, warning = sized_for_video(config, QuantConfig(), shape, fixed=True)
    assert kept == config and "a smaller --hidden" in warning
    big = sized_for_video(config, QuantConfig(), (300, 1080, 1920), fixed=False)
    assert big == (config, "")


def test_fixed_depths_and_a_given_width_run_no_trial_fit(monkeypatch):
    """No trial fit where the width is not the quality's to choose: the config is only sized."""
    import nvcodec.recipe.quality as quality

    def no_trial(*args):
        raise AssertionError("a trial fit ran")

    monkeypatch.setattr(quality, "width_for_content", no_trial)
    source = ArraySource(moving_square_clip(frames=30, height=96, width=96), 25.0)
    for argv in (["--bits", "6"], ["--hidden", "20"]):
        made = request("in.mp4", "-o", "x.actv", "--preset", "fast", *argv)
        assert config_for_video(made, "in.mp4", source, masked=False) == made.config


def test_the_trial_fit_picks_the_width_of_the_quality_or_the_next(monkeypatch):
    import nvcodec.recipe.quality as quality
    from nvcodec.recipe.shape import fit_length_for_quality, with_fit_length
    from nvcodec.recipe.trials import WidthChoice

    seen = []

    def widen(frames, config, lambda_, known_mse=None):
        seen.append((config.model.hidden, lambda_))
        return WidthChoice(config.model.hidden + 12, config.model.hidden, 1.0, 0.5)

    monkeypatch.setattr(quality, "width_for_content", widen)
    source = ArraySource(moving_square_clip(frames=30, height=96, width=96), 25.0)
    made = request("in.mp4", "-o", "x.actv", "--preset", "fast", "--quality", "36", "-q")
    config = config_for_video(made, "in.mp4", source, masked=False)
    assert seen == [(64, pytest.approx(10**-3.6))] and config.model.hidden == 76
    # A mask skips the trial (the request's width stays); the quality's fit length applies either way.
    longer = with_fit_length(made.config.fit, fit_length_for_quality(36.0))
    assert config.fit == longer
    assert config_for_video(made, "in.mp4", source, masked=True) == dataclasses.replace(made.config, fit=longer)
