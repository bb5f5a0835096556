"""Quantization, entropy coding and the group payload."""

import contextlib

import msgpack
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec import entropy
from nvcodec.codec import pack_group, unpack_group
from nvcodec.config import QuantConfig
from nvcodec.errors import ActvError, ConfigError, FormatError
from nvcodec.model.tensors import Coding, Kind, TensorSpec
from nvcodec.quant.uniform import QuantPlan, quantize_tensor
from tests.conftest import make_group


def make_state(activation="gabor", seed=0):
    return make_group(activation, seed=seed).state_dict()


SPECS = make_group().tensors


def frame_spec(values: torch.Tensor) -> TensorSpec:
    """A per-patch weight matrix ``[P, in, out]`` like the frame INR's."""
    return TensorSpec(tuple(values.shape), values.is_complex(), Kind.FRAME, Coding.ANS, (0, 2), in_axis=1)


@pytest.mark.parametrize("bits", [4, 6, 8, 10])
def test_quantization_error_is_at_most_half_a_step_per_channel(bits):
    values = torch.randn(3, 5, 7) * torch.linspace(0.01, 3, 7)
    q = quantize_tensor(values, frame_spec(values), bits)
    assert q.steps.shape == (3, 1, 7)
    err = (q.dequantize() - values).abs()
    assert bool((err <= q.steps / 2 + 1e-6).all())
    assert int(q.symbols.abs().max()) == 2 ** (bits - 1) - 1  # the peak of each channel is representable


def test_residual_keeps_the_step_and_shrinks_symbols():
    reference = torch.randn(4, 6, 8)
    values = reference + 0.01 * torch.randn(4, 6, 8)
    intra = quantize_tensor(values, frame_spec(values), 8)
    residual = quantize_tensor(values, frame_spec(values), 8, reference=reference)
    torch.testing.assert_close(residual.steps, intra.steps)
    assert residual.symbols.abs().max() < intra.symbols.abs().max() / 4
    assert float((residual.dequantize(reference) - values).abs().max()) <= float(intra.steps.max()) / 2 + 1e-6


def test_complex_tensors_quantize_both_parts():
    values = torch.randn(2, 3, 4, dtype=torch.complex64)
    q = quantize_tensor(values, frame_spec(values), 8)
    out = q.dequantize()
    assert out.is_complex() and out.shape == values.shape
    assert float((out - values).abs().max()) < 0.05


def test_pruning_zeroes_the_smallest_values():
    values = torch.randn(2, 10, 10)
    q = quantize_tensor(values, frame_spec(values), 8, prune=0.5)
    assert (q.symbols == 0).float().mean() >= 0.5


def test_entropy_coder_is_near_the_bound_and_exact():
    rng = np.random.default_rng(0)
    symbols = np.clip(np.round(rng.laplace(0, 6, 50_000)), -127, 127).astype(np.int64)
    stream = entropy.encode(symbols)
    np.testing.assert_array_equal(entropy.decode(stream), symbols)
    assert entropy.coded_bits(stream) <= 1.01 * entropy.empirical_entropy_bits(symbols) + 64


@given(st.lists(st.integers(-300, 300), max_size=200))
@settings(max_examples=60, deadline=None)
def test_entropy_round_trip_any_symbols(values):
    symbols = np.array(values, dtype=np.int64)
    np.testing.assert_array_equal(entropy.decode(entropy.encode(symbols)), symbols)


@pytest.mark.parametrize("activation", ["gabor", "wire"])
def test_pack_unpack_round_trip_is_bit_exact(activation):
    group = make_group(activation)
    state = group.state_dict()
    packed = pack_group(state, group.tensors, QuantConfig())
    decoded = unpack_group(packed.payload, group.tensors, None)
    assert decoded.keys() == state.keys()
    for name in state:
        assert torch.equal(decoded[name], packed.decoded[name]), name
    torch.testing.assert_close(decoded["bias_inr.frequencies"], state["bias_inr.frequencies"], rtol=0, atol=0)
    assert packed.coded_bits <= 1.02 * packed.entropy_bits + 64


def test_residual_group_needs_and_uses_its_reference():
    first = make_state(seed=0)
    second = {n: t + 0.001 * torch.randn_like(t) if t.is_floating_point() else t for n, t in first.items()}
    intra = pack_group(first, SPECS, QuantConfig())
    residual = pack_group(second, SPECS, QuantConfig(), QuantPlan(reference=intra.decoded))
    assert len(residual.payload) < len(pack_group(second, SPECS, QuantConfig()).payload)
    decoded = unpack_group(residual.payload, SPECS, intra.decoded)
    assert all(torch.equal(decoded[n], residual.decoded[n]) for n in first)
    with pytest.raises(FormatError, match="predecessor"):
        unpack_group(residual.payload, SPECS, None)


def test_payload_that_does_not_match_the_model_is_rejected():
    state = make_state()
    payload = pack_group(state, SPECS, QuantConfig()).payload
    with pytest.raises(FormatError):
        unpack_group(payload, make_group("wire").tensors, None)
    data = msgpack.unpackb(payload)
    data["symbols"]["n"] += 1
    with pytest.raises(FormatError):
        unpack_group(msgpack.packb(data), SPECS, None)
    data = msgpack.unpackb(payload)
    data["version"] = 99
    with pytest.raises(FormatError, match="version"):
        unpack_group(msgpack.packb(data), SPECS, None)


@given(st.binary(max_size=300))
@settings(max_examples=150, deadline=None)
def test_arbitrary_payload_bytes_raise_only_library_errors(blob):
    with contextlib.suppress(ActvError):
        unpack_group(blob, SPECS, None)


@given(st.data())
@settings(max_examples=100, deadline=None)
def test_mutated_payloads_raise_only_library_errors(data):
    payload = bytearray(pack_group(make_state(), SPECS, QuantConfig(bits_frame=4, bits_latent=4, bits_bias=4)).payload)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(payload) - 1))
        payload[position] = data.draw(st.integers(0, 255))
    with contextlib.suppress(ActvError):
        unpack_group(bytes(payload), SPECS, None)


@pytest.mark.parametrize(
    "overrides", [{"bits_frame": 1}, {"bits_bias": 17}, {"prune": 1.0}, {"qat_iters": -1}, {"intra_period": 0}]
)
def test_bad_quant_config(overrides):
    with pytest.raises(ConfigError):
        QuantConfig(**overrides)
