"""The group payload: quantized tensors packed into a chunk and read back, bit-exact, or refused."""

import contextlib

import msgpack
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.config import QuantConfig
from nvcodec.entropy.byte_planes import decode_planes
from nvcodec.entropy.zstd import zstd_compress, zstd_decompress
from nvcodec.errors import ActvError, FormatError
from nvcodec.model.tensors import Coding
from nvcodec.payload import pack_exponents, pack_group, unpack_exponents, unpack_group
from nvcodec.quant.uniform import QuantPlan, grid_steps
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
    fields = msgpack.unpackb(payload)  # version 2: version, intra, exponents, n, low, table, data, vectors, raw

    def forged(index: int, value: object) -> bytes:
        changed = list(fields)
        changed[index] = value
        return msgpack.packb(changed)

    for index, value, message in [
        (3, fields[3] + 1, "symbols"),
        (0, 99, "version"),
        (0, 1, "version"),  # a version-1 chunk is a map, never an array
        (1, 1, "intra"),
        (2, zstd_compress(b"\x00" * 3), "exponents"),
        (
            2,
            zstd_compress(np.full(len(zstd_decompress(fields[2], 1 << 20, "")), -128, np.int8).tobytes()),
            "exponents",
        ),
        (8, fields[8] + b"\x00", "raw"),
        (7, "text", "vectors"),
    ]:
        with pytest.raises(FormatError, match=message):
            unpack_group(forged(index, value), SPECS, None)
    with pytest.raises(FormatError, match="fields"):
        unpack_group(msgpack.packb(fields[:8]), SPECS, None)


def test_version_1_chunks_still_decode():
    """Files written before payload version 2 (float16 steps by name, int32 vectors) read as before."""
    state = make_state()
    packed = pack_group(state, SPECS, QuantConfig())
    fields = msgpack.unpackb(packed.payload)
    steps = unpack_exponents(fields[2], SPECS)
    symbols = decode_planes(fields[7], sum(SPECS[n].real_size for n in SPECS if SPECS[n].coding is Coding.ZSTD))
    version_1 = {
        "version": 1,
        "intra": True,
        "raw": {
            n: state[n].to(torch.float32).numpy().astype("<f4").tobytes()
            for n in SPECS
            if SPECS[n].coding is Coding.RAW
        },
        "steps": {n: s.astype("<f2").tobytes() for n, s in steps.items()},
        "symbols": {"n": fields[3], "low": fields[4], "table": fields[5], "data": fields[6]},
        "vectors": zstd_compress(symbols.astype("<i4").tobytes()),
    }
    decoded = unpack_group(msgpack.packb(version_1, use_bin_type=True), SPECS, None)
    assert all(torch.equal(decoded[n], packed.decoded[n]) for n in SPECS)


def test_steps_are_stored_as_grid_exponents_bit_exactly():
    """Any step on the grid survives a chunk exactly; a step off it is refused rather than silently moved."""
    state = make_state()
    steps = {n: grid_steps(torch.rand(SPECS[n].step_shape) * 10.0 ** torch.randint(-4, 3, ())) for n in SPECS
             if SPECS[n].quantized}  # fmt: skip
    packed = pack_group(state, SPECS, QuantConfig(), QuantPlan(steps=steps))
    fields = msgpack.unpackb(packed.payload)
    assert all(np.array_equal(unpack_exponents(fields[2], SPECS)[n], steps[n].numpy()) for n in steps)
    off_grid = {n: s * 1.01 for n, s in steps.items()}
    with pytest.raises(ValueError, match="grid"):
        pack_exponents({n: s.numpy() for n, s in off_grid.items()}, SPECS)


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
