"""Sensitivity-weighted quantization steps: the estimate, the rate rule, and the round trip."""

import math

import pytest
import torch

from nvcodec.codec import pack_group, unpack_group
from nvcodec.config import QuantConfig
from nvcodec.quant.sensitivity import output_sensitivity
from nvcodec.quant.steps import quantization_steps
from nvcodec.quant.uniform import FINER_BITS, QuantPlan, as_real, peak_steps
from tests.conftest import make_group, render_unclamped


@pytest.mark.parametrize("name", ["frame_inr.weights.0", "bias_inr.heads.0.weight"])
def test_sensitivity_predicts_the_output_error_of_small_perturbations(name):
    group = make_group()
    sensitivity = output_sensitivity(group, probes=64)
    param = dict(group.named_parameters())[name]
    assert sensitivity[name].shape == peak_steps(param.detach(), group.tensors[name], 8).shape
    base = render_unclamped(group)
    generator = torch.Generator().manual_seed(1)
    eps = 1e-3
    measured = []
    for _ in range(8):
        noise = (torch.randint(0, 2, param.shape, generator=generator) * 2 - 1).float() * eps
        with torch.no_grad():
            param.add_(noise)
            measured.append(float((render_unclamped(group) - base).square().mean()))
            param.sub_(noise)
    predicted = float(sensitivity[name].expand(param.shape).sum()) * eps**2
    # Cross terms of random-sign noise average out: the mean of a few draws is within a factor of 2.
    assert 0.5 * predicted < sum(measured) / len(measured) < 2 * predicted


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
