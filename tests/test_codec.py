"""The group payload: quantized tensors packed into a chunk and read back, bit-exact, or refused."""

import contextlib

import msgpack
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.codec import pack_group, unpack_group
from nvcodec.config import QuantConfig
from nvcodec.errors import ActvError, FormatError
from nvcodec.quant.uniform import QuantPlan
from tests.conftest import make_group


def make_state(activation="gabor", seed=0):
    return make_group(activation, seed=seed).state_dict()


SPECS = make_group().tensors


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
