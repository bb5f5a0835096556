"""The entropy models behind the seam: each exact for any symbols, the ANS stream near the bound."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.entropy import CODED_ORDER, EntropyModel, Layout, model_for
from nvcodec.entropy.count_table import decode_stream, empirical_entropy_bits, encode_stream
from nvcodec.entropy.grid_context import ARM_TENSORS
from nvcodec.errors import FormatError
from nvcodec.model.tensors import ARM_SHAPES, Coding


def layout_for(coding: Coding, count: int) -> Layout:
    """What the payload tells each model: the grids' model gets one row of ``count`` cells and a context
    model of zeros (it predicts one fixed Laplace)."""
    if coding is not Coding.ARM:
        return Layout()
    arm = {name: np.zeros(shape) for name, shape in zip(ARM_TENSORS, ARM_SHAPES.values())}
    return Layout(((1, 1, count),) if count else ((0, 1, 1),), arm)


def test_entropy_coder_is_near_the_bound_and_exact():
    rng = np.random.default_rng(0)
    symbols = np.clip(np.round(rng.laplace(0, 6, 50_000)), -127, 127).astype(np.int64)
    stream = encode_stream(symbols)
    np.testing.assert_array_equal(decode_stream(stream), symbols)
    assert 8 * len(stream.data) <= 1.01 * empirical_entropy_bits(symbols) + 64


@given(st.lists(st.integers(-300, 300), max_size=200))
@settings(max_examples=60, deadline=None)
def test_entropy_round_trip_any_symbols(values):
    symbols = np.array(values, dtype=np.int64)
    np.testing.assert_array_equal(decode_stream(encode_stream(symbols)), symbols)


@pytest.mark.parametrize("coding", CODED_ORDER)
@given(values=st.lists(st.integers(-(1 << 12), 1 << 12), max_size=100))
@settings(max_examples=30, deadline=None)
def test_every_registered_model_round_trips_through_its_fields(coding, values):
    model = model_for(coding)
    symbols = np.array(values, dtype=np.int64)
    layout = layout_for(coding, symbols.size)
    stored = model.encode(symbols, layout)
    assert len(stored) == len(model.fields)
    np.testing.assert_array_equal(model.decode(stored, symbols.size, layout), symbols)


@pytest.mark.parametrize("coding", CODED_ORDER)
def test_a_model_refuses_a_count_its_fields_do_not_hold(coding):
    model = model_for(coding)
    stored = model.encode(np.arange(10), layout_for(coding, 10))
    with pytest.raises(FormatError):
        model.decode(stored, 11, layout_for(coding, 10))


def test_the_stream_model_has_a_rate_for_training_that_tracks_its_bits():
    """The seam keeps a model's training rate beside its coder: fitted by maximum likelihood, the stand-in's
    bits sit within a few percent of what the coder spends."""
    import torch

    rng = np.random.default_rng(1)
    symbols = np.round(rng.laplace(0, 3, 20_000)).astype(np.int64)
    model = model_for(Coding.ANS)
    prior = model.rate_model()
    assert prior is not None
    y = torch.from_numpy(symbols).float()
    prior.initialize(y)
    optimizer = torch.optim.Adam(prior.parameters(), lr=0.05)
    for _ in range(150):
        optimizer.zero_grad()
        loss = prior.bits(y)
        loss.backward()
        optimizer.step()
    coded = model.coded_bits(model.encode(symbols, Layout()))
    assert abs(float(prior.bits(y).detach()) - coded) / coded < 0.03
    assert model_for(Coding.ZSTD).rate_model() is None


def test_a_new_model_is_one_subclass():
    """What adding a model takes: a subclass with its fields, encode and decode (here, plain int32 through zstd)."""
    from nvcodec.entropy.zstd import zstd_compress, zstd_decompress

    class Int32Zstd(EntropyModel):
        coding = Coding.ZSTD
        fields = ("values",)

        def encode(self, symbols, layout):
            return [zstd_compress(np.asarray(symbols, "<i4").tobytes())]

        def decode(self, stored, count, layout):
            raw = zstd_decompress(stored[0], 4 * count, "values")
            if len(raw) != 4 * count:
                raise FormatError("values have the wrong size")
            return np.frombuffer(raw, "<i4").astype(np.int64)

    model = Int32Zstd()
    symbols = np.array([3, -2, 0, 70000])
    np.testing.assert_array_equal(model.decode(model.encode(symbols, Layout()), 4, Layout()), symbols)
    assert model.rate_model() is None and model.coded_bits(model.encode(symbols, Layout())) == 0
