"""GroupDecoder: every group decodes to the same parameters, whatever was asked before and whatever is cached."""

from __future__ import annotations

import random

import pytest
import torch

from nvcodec.config import QuantConfig
from nvcodec.decoder import GroupDecoder, decode_group
from nvcodec.errors import FormatError
from nvcodec.header import is_intra
from nvcodec.payload import pack_group
from nvcodec.quant.uniform import QuantPlan
from tests.conftest import make_group

QUANT = QuantConfig(bits_frame=6, bits_latent=6, bits_bias=6, intra_period=3)
GROUPS = 8
"""Groups 0, 3 and 6 are intra; the others residuals of the group before."""


@pytest.fixture(scope="module")
def chain():
    """The tensor table, each group's payload, and what the encoder says each decodes to."""
    group = make_group()
    specs = group.tensors
    generator = torch.Generator().manual_seed(1)
    state = group.state_dict()
    payloads, decoded = [], []
    reference = None
    for index in range(GROUPS):
        # Each group drifts from the one before, as warm-started groups do.
        state = {
            n: t + 0.02 * torch.randn(t.shape, generator=generator, dtype=t.dtype) if t.is_floating_point() else t
            for n, t in state.items()
        }
        plan = QuantPlan(reference=None if is_intra(index, QUANT) else reference)
        packed = pack_group(state, specs, QUANT, plan)
        payloads.append(packed.payload)
        decoded.append(packed.decoded)
        reference = packed.decoded
    return specs, payloads, decoded


def same_state(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[n], b[n]) for n in a)


ORDERS = {
    "forward": list(range(GROUPS)),
    "backward": list(range(GROUPS))[::-1],
    "shuffled": random.Random(0).sample(range(GROUPS), GROUPS),
    "repeated": [5, 5, 2, 7, 1, 5, 0, 7, 4, 4, 6, 3],
}


@pytest.mark.parametrize("cached", [1, 2, 4, 100])
@pytest.mark.parametrize("order", sorted(ORDERS))
def test_decoding_is_the_same_whatever_the_cache_and_the_order(chain, cached, order):
    specs, payloads, expected = chain
    decoder = GroupDecoder(specs, QUANT, payloads.__getitem__, cached)
    for index in ORDERS[order]:
        assert same_state(decoder.state(index), expected[index]), index
        assert len(decoder._states) <= cached


def test_a_request_reads_only_the_chain_back_to_an_intra_or_cached_group(chain):
    specs, payloads, _ = chain
    reads: list[int] = []

    def read(index: int) -> bytes:
        reads.append(index)
        return payloads[index]

    decoder = GroupDecoder(specs, QUANT, read, cached=4)
    decoder.state(5)
    assert reads == [3, 4, 5]
    decoder.state(4)
    assert reads == [3, 4, 5], "a cached group is not read again"
    decoder.state(1)
    assert reads == [3, 4, 5, 0, 1]
    decoder.state(2)
    assert reads == [3, 4, 5, 0, 1, 2], "group 2 continues from the cached group 1"
    decoder.clear()
    decoder.state(2)
    assert reads[6:] == [0, 1, 2]


def test_a_cache_size_below_one_keeps_one(chain):
    specs, payloads, expected = chain
    decoder = GroupDecoder(specs, QUANT, payloads.__getitem__, cached=0)
    assert decoder.cached == 1
    assert same_state(decoder.state(7), expected[7])


def test_decode_group_follows_the_headers_coding_rule(chain):
    specs, payloads, expected = chain
    assert same_state(decode_group(payloads[3], 3, specs, QUANT, None), expected[3])
    assert same_state(decode_group(payloads[4], 4, specs, QUANT, expected[3]), expected[4])
    every_group_intra = QuantConfig(intra_period=1)
    with pytest.raises(FormatError, match="intra"):
        decode_group(payloads[4], 4, specs, every_group_intra, expected[3])
    with pytest.raises(FormatError, match="predecessor"):
        decode_group(payloads[4], 4, specs, QUANT, None)
    with pytest.raises(FormatError, match="intra"):
        GroupDecoder(specs, every_group_intra, payloads.__getitem__).state(4)


def test_a_long_residual_chain_decodes_without_recursion(chain):
    """More residual groups in a row than Python's recursion limit, from a cold cache."""
    specs, payloads, expected = chain
    unchanged = pack_group(expected[0], specs, QUANT, QuantPlan(reference=expected[0])).payload
    long_chain = QuantConfig(bits_frame=6, bits_latent=6, bits_bias=6, intra_period=100_000)
    decoder = GroupDecoder(specs, long_chain, lambda i: payloads[0] if i == 0 else unchanged, cached=1)
    assert same_state(decoder.state(1200), expected[0])
