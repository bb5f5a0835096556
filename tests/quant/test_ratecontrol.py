"""Rate control: each group's share of a file's bit budget, and the depths tried to meet it."""

import pytest

from nvcodec.config import MIN_BITS, QuantConfig
from nvcodec.errors import ArgumentError
from nvcodec.quant.ratecontrol import RateControl, lower_depths


def test_rate_control_shares_the_budget_by_frames():
    rate = RateControl(max_bpp=1.0, frames=11, height=10, width=10, header_bytes=100, groups=2)
    share = rate.budget_bytes * 6 / 11
    assert rate.allowance(5) == pytest.approx(share)
    rate.spend(int(share) - 10)
    assert rate.allowance(10) == pytest.approx(rate.budget_bytes - int(share) + 10)
    depths = list(lower_depths(QuantConfig(bits_frame=8, bits_latent=6, bits_bias=8)))
    assert [q.bits_frame for q in depths] == list(range(8, MIN_BITS - 1, -1))
    assert depths[-1].bits_latent == MIN_BITS and depths[1].bits_latent == 5
    with pytest.raises(ArgumentError):
        RateControl(max_bpp=0.0, frames=1, height=1, width=1, header_bytes=1, groups=1)


def test_lower_depths_step_every_kind_down_together():
    quant = QuantConfig(bits_frame=4, bits_latent=6, bits_bias=3, bits_vector=12, intra_period=2)
    depths = list(lower_depths(quant))
    assert depths[0] == quant
    assert [(q.bits_frame, q.bits_latent, q.bits_bias) for q in depths] == [
        (4, 6, 3),
        (3, 5, 2),
        (2, 4, 2),
        (2, 3, 2),
        (2, 2, 2),
    ]
    assert all(q.bits_vector == 12 and q.intra_period == 2 for q in depths), "only the per-kind depths change"


def test_choose_takes_the_finest_depth_that_fits_and_else_the_coarsest():
    rate = RateControl(max_bpp=1.0, frames=10, height=100, width=100, header_bytes=200, groups=2)
    quant = QuantConfig(bits_frame=8, bits_latent=8, bits_bias=8)
    allowance = rate.allowance(4)
    tried = []

    def size_at(q):
        tried.append(q.bits_frame)
        return int(allowance) + 1 if q.bits_frame > 5 else int(allowance)

    assert rate.choose(4, quant, size_at).bits_frame == 5
    assert tried == [8, 7, 6, 5], "no deeper depth is tried once one fits"
    assert rate.choose(4, quant, lambda q: 10**9).bits_frame == MIN_BITS
    assert rate.choose(4, quant, lambda q: 0) == quant


def test_the_budget_leaves_room_for_the_container():
    rate = RateControl(max_bpp=0.5, frames=4, height=16, width=16, header_bytes=300, groups=3)
    assert rate.budget_bytes < 0.5 * 4 * 16 * 16 / 8 - 300
    assert rate.allowance(3) == pytest.approx(rate.budget_bytes)


@pytest.mark.parametrize("bpp", [0.0, -1.0, float("nan"), float("inf")])
def test_a_bpp_target_must_be_a_positive_number(bpp):
    with pytest.raises(ArgumentError, match="bpp target"):
        RateControl(max_bpp=bpp, frames=1, height=1, width=1, header_bytes=1, groups=1)


def test_lambda_follows_the_budget_group_by_group():
    """A group over its allowance raises the next group's lambda, one under it lowers it, within bounds."""
    from nvcodec.quant.ratecontrol import LAMBDA_SCALE_RANGE

    rate = RateControl(max_bpp=1.0, frames=20, height=100, width=100, header_bytes=200, groups=2)
    assert rate.searching and rate.lambda_scale == 1.0
    share = rate.allowance(9)
    rate.spend(int(1.5 * share), end=9, lambda_scale=1.0)
    assert not rate.searching and rate.lambda_scale > 1.5  # 1.5x over: lambda about 1.5^2 higher
    raised = rate.lambda_scale
    rate.spend(int(0.3 * rate.allowance(19)), end=19, lambda_scale=raised)
    assert rate.lambda_scale < raised
    assert rate.lambda_after(1.0, 10**12, 19) <= LAMBDA_SCALE_RANGE[1]
    assert rate.lambda_after(1e-3, 1, 19) >= LAMBDA_SCALE_RANGE[0]


def test_groups_coded_at_fixed_depths_leave_lambda_alone():
    rate = RateControl(max_bpp=1.0, frames=20, height=100, width=100, header_bytes=200, groups=2)
    rate.spend(10**6)
    assert rate.lambda_scale == 1.0 and rate.spent_bytes == 10**6 and not rate.searching
