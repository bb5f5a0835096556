"""The entropy models behind the seam: each exact for any symbols, the ANS stream near the bound."""

import numpy as np
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.entropy import CODED_ORDER, EntropyModel, Layout, model_for
from nvcodec.entropy.count_table import decode_stream, empirical_entropy_bits, encode_stream
from nvcodec.entropy.grid_context import ARM_TENSORS
from nvcodec.entropy.tensor_laplace import channel_ids, choose_model, coding_order, unpack_models
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


# The main stream's per-tensor models (payload version 4)


def _tensor_layout() -> tuple[np.ndarray, Layout]:
    """Three tensors whose symbols differ in spread: a wide one, one whose four channels (rows) differ tenfold,
    and a narrow one; what one pooled count table prices badly."""
    rng = np.random.default_rng(3)
    wide = np.round(rng.laplace(0, 40, (16, 12)))
    rows = np.round(rng.laplace(0, 1, (4, 300)) * np.array([[0.3], [3.0], [30.0], [3.0]]))
    narrow = np.round(rng.laplace(0, 0.5, (2, 20, 8)))
    symbols = np.concatenate([part.reshape(-1) for part in (wide, rows, narrow)]).astype(np.int64)
    layout = Layout(shapes=((16, 12), (4, 300), (2, 20, 8)), channels=((16, 1), (4, 1), (2, 1, 8)))
    return symbols, layout


def test_tensors_with_their_own_laplace_tables_round_trip_in_fewer_bytes():
    symbols, layout = _tensor_layout()
    model = model_for(Coding.ANS)
    stored = model.encode(symbols, layout)
    assert stored[4] != b"" and stored[5] != b"", "some tensor should take its own tables"
    np.testing.assert_array_equal(model.decode(stored, symbols.size, layout), symbols)
    models = unpack_models(stored[4], [16, 4, 16])
    assert not models[1].pooled and len(set(models[1].levels)) > 1, "rows of different spreads, different levels"
    pooled = encode_stream(symbols)
    assert sum(len(field) for field in stored[2:]) < 0.95 * (len(pooled.table) + len(pooled.data))
    assert model.coded_bits(stored) == 8 * (len(stored[3]) + len(stored[5]))


def test_what_its_own_tables_would_not_pay_for_stays_pooled():
    model = model_for(Coding.ANS)
    # A layout that names no tensors, and symbols beyond the tables' alphabet: the count table as before.
    values = np.arange(-5000, 5000, 7, dtype=np.int64)
    for layout in (Layout(), Layout(shapes=((values.size,),))):
        stored = model.encode(values, layout)
        assert stored[4:] == [b"", b""]
        np.testing.assert_array_equal(model.decode(stored, values.size, layout), values)
        np.testing.assert_array_equal(model.decode(stored[:4], values.size, layout), values)  # as version 2 stores
    assert choose_model(np.zeros(0, np.int64), (0,), (1,), 0.0).pooled


def test_a_tensor_is_coded_by_level_then_channel_then_row_major():
    ids = channel_ids((2, 3, 4), (2, 1, 4))
    assert ids.tolist() == np.broadcast_to(np.arange(8).reshape(2, 1, 4), (2, 3, 4)).reshape(-1).tolist()
    levels = [5, 2, 5, 2, 9, 9, 2, 5]
    order, runs = coding_order(ids, levels)
    assert runs == [(2, 9), (5, 9), (9, 6)], "one run per level in use"
    keys = [(levels[ids[p]], ids[p], p) for p in order]
    assert keys == sorted(keys), "by level, then channel, then flat position"


def test_damaged_tensor_models_and_laplace_streams_raise_format_errors():
    symbols, layout = _tensor_layout()
    model = model_for(Coding.ANS)
    stored = model.encode(symbols, layout)
    raw = zstandard.ZstdDecompressor().decompress(stored[4])
    words = stored[5]

    def with_models(data: bytes) -> list[object]:
        return [*stored[:4], zstandard.ZstdCompressor().compress(data), words]

    level_at = 2 + 16 + 2  # the second tensor's first level byte, after the first tensor's A and 16 levels
    assert raw[:2] != b"\0\0", "the fixture's first tensor has its own tables"
    damaged = {
        "truncated words": [*stored[:5], words[:-4]],
        "one word too many": [*stored[:5], words + b"\1\0\0\0"],
        "flipped word": [*stored[:5], bytes([words[0] ^ 0x40]) + words[1:]],
        "words not whole": [*stored[:5], words[:-1]],
        "models not bytes": [*stored[:4], "models", words],
        "models not zstd": [*stored[:4], b"not a frame", words],
        "models short": with_models(raw[:-1]),
        "models long": with_models(raw + b"\0"),
        "level out of range": with_models(raw[:level_at] + bytes([64]) + raw[level_at + 1 :]),
        "alphabet too wide": with_models((4097).to_bytes(2, "little") + raw[2:]),
        "words without models": [*stored[:4], b"", words],
        "wrong field count": stored[:5],
    }
    for name, fields in damaged.items():
        with pytest.raises(FormatError):
            model.decode(fields, symbols.size, layout)
            pytest.fail(f"{name} decoded")
    with pytest.raises(FormatError, match="layout"):
        model.decode(stored, symbols.size, Layout())


def test_a_laplace_table_is_the_grids_table_at_mean_zero():
    from nvcodec.entropy.context import _free_weights, laplace_counts

    for half, level in ((1, 0), (7, 33), (300, 63)):
        counts = laplace_counts(half, level)
        assert counts.sum() == 1 << 24 and counts.min() >= 1 and counts.size == 2 * half + 1
        np.testing.assert_array_equal(counts, counts[::-1])  # zero mean: symmetric
        np.testing.assert_array_equal(counts - 1, _free_weights(half, np.zeros(1, np.int64), np.array([level]))[0])
