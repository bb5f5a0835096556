"""The encoder's coding policy: its named choices, and when they need the sensitivity measurement."""

import pytest

from nvcodec.errors import ArgumentError
from nvcodec.quant.policy import ENCODER_POLICY, ROUNDINGS, STEP_RULES, CodingPolicy


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
