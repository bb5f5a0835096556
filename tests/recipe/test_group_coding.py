"""The encoder's recipe for one group under a rate target: where lambda goes next, and which try is kept."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from nvcodec.config import QuantConfig
from nvcodec.payload import pack_group
from nvcodec.quant.uniform import QuantPlan, as_real, peak_steps
from nvcodec.recipe.group_coding import _best, _brackets, _next_scale, _predicted_scale, _Try
from tests.conftest import make_group

pytestmark = pytest.mark.usefixtures("one_thread")


def _try(scale: float, size: int) -> _Try:
    packed = SimpleNamespace(payload=b"x" * size)
    return _Try(scale, packed, None, {}, {})  # type: ignore[arg-type]  # only the size is read


def test_the_kept_try_is_the_largest_within_the_allowance_or_else_the_smallest():
    tries = [_try(1.0, 1200), _try(2.0, 900), _try(1.5, 990)]
    assert _best(tries, 1000).scale == 1.5
    assert _best(tries, 800).scale == 2.0


def test_a_second_retry_needs_tries_on_both_sides_of_the_allowance():
    assert _brackets([_try(1.0, 700), _try(0.5, 1100)], 1000)
    assert not _brackets([_try(1.0, 700), _try(0.5, 800)], 1000)


def test_after_two_tries_lambda_moves_by_the_measured_slope():
    # bytes fell from 2000 to 1000 as lambda doubled: slope -1, so the goal of 800 asks 2 * 1.25.
    scale = _next_scale([_try(1.0, 2000), _try(2.0, 1000)], 800.0, predicted=99.0)
    assert scale == pytest.approx(2.5)
    assert _next_scale([_try(1.0, 2000)], 800.0, predicted=3.0) == 3.0


def test_a_flat_measurement_does_not_send_lambda_to_its_bounds():
    scale = _next_scale([_try(1.0, 1000), _try(2.0, 999)], 500.0, predicted=1.0)
    assert scale < 2.0**8


def test_the_predicted_lambda_rises_for_a_smaller_goal_and_falls_for_a_larger_one():
    group = make_group()
    state, specs, quant = group.state_dict(), group.tensors, QuantConfig()
    steps = {
        n: peak_steps(as_real(state[n]).float(), spec, spec.bits(quant))
        for n, spec in specs.items()
        if spec.quantized and spec.fixed_step is None
    }
    size = len(pack_group(state, specs, quant, QuantPlan(None, steps)).payload)
    last = _Try(1.0, SimpleNamespace(payload=b"x" * size), None, state, steps)  # type: ignore[arg-type]
    with torch.no_grad():
        assert _predicted_scale(last, 0.6 * size, specs, quant, None) > 1.0
        assert _predicted_scale(last, 1.5 * size, specs, quant, None) < 1.0
