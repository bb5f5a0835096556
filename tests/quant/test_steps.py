"""Sensitivity-weighted quantization steps: the rate rule and the round trip."""

import math

import pytest
import torch

from nvcodec.config import QuantConfig
from nvcodec.payload import pack_group, unpack_group
from nvcodec.quant.sensitivity import output_sensitivity
from nvcodec.quant.steps import quantization_steps
from nvcodec.quant.uniform import FINER_BITS, QuantPlan, as_real, peak_steps
from tests.conftest import make_group


def test_steps_keep_the_rate_of_peak_steps_and_follow_sensitivity():
    group = make_group()
    state = group.state_dict()
    sensitivity = output_sensitivity(group, probes=8)
    quant = QuantConfig(bits_frame=6, bits_latent=6, bits_bias=6)
    specs = group.tensors
    steps = quantization_steps(state, specs, quant, sensitivity)
    for name, values in state.items():
        if not specs[name].quantized:
            continue
        peak = peak_steps(as_real(values), specs[name], specs[name].bits(quant))
        assert steps[name].shape == peak.shape
        assert torch.equal(steps[name], steps[name].half().float())  # stored exactly as float16
        if values.ndim < 2:  # vectors keep the peak steps of bits_vector
            assert torch.equal(steps[name], peak)
        else:
            assert bool((steps[name] >= peak / 2**FINER_BITS * (1 - 1e-3)).all())
    # Same entropy of the ANS-coded symbols as the peak steps: the depth sets the rate.
    chosen, plain = pack_group(state, specs, quant, QuantPlan(steps=steps)), pack_group(state, specs, quant)
    assert math.isclose(chosen.entropy_bits, plain.entropy_bits, rel_tol=0.01)
    # The more sensitive of two channels of one tensor gets the finer step.
    name = "frame_inr.weights.1"
    s, step = sensitivity[name].flatten(), steps[name].flatten()
    assert step[int(s.argmax())] <= step[int(s.argmin())]


@pytest.mark.parametrize("activation", ["gabor", "wire"])
def test_chosen_steps_round_trip_bit_exact(activation):
    group = make_group(activation)
    state = group.state_dict()
    quant = QuantConfig()
    specs = group.tensors
    steps = quantization_steps(state, specs, quant, output_sensitivity(group, probes=2))
    packed = pack_group(state, specs, quant, QuantPlan(steps=steps))
    decoded = unpack_group(packed.payload, specs, None)
    for name in state:
        assert torch.equal(decoded[name], packed.decoded[name]), name
    residual = pack_group(state, specs, quant, QuantPlan(packed.decoded, steps))
    again = unpack_group(residual.payload, specs, packed.decoded)
    assert all(torch.equal(again[n], residual.decoded[n]) for n in state)


@pytest.mark.parametrize("bits", [14, 16])
def test_deep_steps_keep_the_alphabet_within_the_entropy_coder(bits):
    group = make_group()
    state = group.state_dict()
    quant = QuantConfig(bits_frame=bits, bits_latent=bits, bits_bias=bits)
    specs = group.tensors
    steps = quantization_steps(state, specs, quant, output_sensitivity(group, probes=2))
    intra = pack_group(state, specs, quant, QuantPlan(steps=steps))
    residual = pack_group({n: t * 1.5 for n, t in state.items()}, specs, quant, QuantPlan(intra.decoded, steps))
    assert unpack_group(residual.payload, specs, intra.decoded).keys() == state.keys()
