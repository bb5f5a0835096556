"""The encoder's coding policy: its named choices, when they need the sensitivity measurement, and the width rule."""

import numpy as np
import pytest

from nvcodec.errors import ArgumentError
from nvcodec.quant.policy import (
    ENCODER_POLICY,
    ROUNDINGS,
    STEP_RULES,
    WIDEST,
    WIDTH_STEPS,
    CodingPolicy,
    RateTrade,
    width_for_quality,
)


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


def test_a_higher_quality_never_asks_for_a_narrower_model():
    qualities = np.linspace(0, 60, 121)
    widths = [width_for_quality(q) for q in qualities]
    assert widths == sorted(widths)
    assert widths[0] == WIDTH_STEPS[0][1] and widths[-1] == WIDEST


def test_a_trade_knows_its_quality():
    assert RateTrade.for_quality(23.5).quality == pytest.approx(23.5)
    assert RateTrade(1e-3).quality == pytest.approx(30.0)
