"""The codec header: the map a new file gets, its validation on reading, and the facts derived from it."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nvcodec.config import Config, ModelConfig, QuantConfig
from nvcodec.container import header_map_from_bytes, header_map_to_bytes
from nvcodec.errors import ArgumentError, FormatError
from nvcodec.header import (
    FORMAT_NAME,
    MAX_FRAMES,
    MAX_GROUP_PARAMETERS,
    MAX_SIDE,
    Header,
    group_parameter_count,
    is_intra,
    new_header_map,
    parse_header_map,
)
from nvcodec.model import ACTIVATIONS
from nvcodec.model.group import count_parameters
from nvcodec.version import __version__
from tests.conftest import TINY_MODEL, make_group

CONFIG = Config.preset("fast", **TINY_MODEL)
QUANT = QuantConfig(bits_frame=6, intra_period=3)
HUGE_MODEL = {"hidden": 4096, "layers": 16, "patch": 4, "overlap": 0}
"""A model of more than MAX_GROUP_PARAMETERS numbers per group at 64x64."""


def valid_map(**changes) -> dict:
    return {**new_header_map(30, 48, 64, 25.0, CONFIG, QUANT), **changes}


@pytest.mark.parametrize("fps", [25.0, 12.5, 30000 / 1001, 29.97, 0.01, 1000])
def test_new_header_map_round_trips_through_bytes(fps):
    header = parse_header_map(
        header_map_from_bytes(header_map_to_bytes(new_header_map(30, 48, 64, fps, CONFIG, QUANT)))
    )
    assert isinstance(header, Header)
    assert (header.frames, header.height, header.width) == (30, 48, 64)
    assert header.fps == pytest.approx(fps, abs=1e-6)
    assert header.model == CONFIG.model and header.quant == QUANT
    assert header.encoder == f"nvcodec {__version__}"
    group = make_group(height=48, width=64)
    assert header.grid() == group.grid and header.tensors() == group.tensors


def test_new_header_map_holds_what_the_format_names():
    """ACTV.md section 4: the fields and their types, and the fit settings are not part of it."""
    header = new_header_map(30, 48, 64, 30000 / 1001, CONFIG, QUANT)
    assert sorted(header) == ["encoder", "format", "fps", "frames", "height", "model", "quant", "width"]
    assert header["format"] == FORMAT_NAME and header["fps"] == [30000, 1001]
    # Every key, except the later ones (latent grids) where they hold the value their absence stands for.
    later = {"grid_levels", "grid_cell", "bits_grid"}
    assert header["model"] == {k: v for k, v in dataclasses.asdict(CONFIG.model).items() if k not in later}
    assert header["quant"] == {k: v for k, v in dataclasses.asdict(QUANT).items() if k not in later}


def test_later_keys_are_written_when_they_matter_and_read_as_their_absent_value_when_missing():
    model = dataclasses.replace(CONFIG.model, grid_levels=2, grid_cell=8)
    header = new_header_map(30, 48, 64, 25, Config(model, CONFIG.fit), QUANT)
    assert header["model"]["grid_levels"] == 2 and header["model"]["grid_cell"] == 8
    assert parse_header_map(header).model == model
    del header["model"]["grid_cell"]
    assert parse_header_map(header).model.grid_cell == 4
    del header["model"]["hidden"]  # a key every file has is never filled in
    with pytest.raises(FormatError, match="hidden"):
        parse_header_map(header)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fps": 0.0}, "fps"),
        ({"fps": float("nan")}, "fps"),
        ({"fps": float("inf")}, "fps"),
        ({"fps": 1e-4}, "fps"),
        ({"fps": 3e9}, "fps"),
        ({"fps": "25"}, "fps"),
        ({"frames": 0}, "frames"),
        ({"frames": MAX_FRAMES + 1}, "frames"),
        ({"height": 0}, "sides"),
        ({"width": MAX_SIDE + 1}, "sides"),
        ({"config": Config.preset("fast", **HUGE_MODEL)}, "numbers per group"),
    ],
)
def test_new_header_map_refuses_what_a_reader_would_refuse(kwargs, message):
    arguments = {"frames": 30, "height": 64, "width": 64, "fps": 25.0, "config": CONFIG, "quant": QUANT, **kwargs}
    with pytest.raises(ArgumentError, match=message):
        new_header_map(**arguments)


def test_limits_are_inclusive():
    header = parse_header_map(new_header_map(MAX_FRAMES, 1, MAX_SIDE, 1000, CONFIG, QUANT))
    assert (header.frames, header.height, header.width) == (MAX_FRAMES, 1, MAX_SIDE)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "something-else"}, "not an nvcodec video"),
        ({"format": None}, "not an nvcodec video"),
        ({"frames": 0}, "'frames'"),
        ({"frames": MAX_FRAMES + 1}, "'frames'"),
        ({"frames": 3.0}, "'frames'"),
        ({"frames": True}, "'frames'"),
        ({"frames": "30"}, "'frames'"),
        ({"frames": None}, "'frames'"),
        ({"height": -1}, "'height'"),
        ({"width": MAX_SIDE + 1}, "'width'"),
        ({"fps": [0, 1]}, "'fps'"),
        ({"fps": [25, -1]}, "'fps'"),
        ({"fps": [25]}, "'fps'"),
        ({"fps": [25, 1, 1]}, "'fps'"),
        ({"fps": 25}, "'fps'"),
        ({"fps": [25.0, 1]}, "'fps'"),
        ({"fps": [True, 1]}, "'fps'"),
        ({"fps": [1 << 31, 1]}, "'fps'"),
        ({"model": None}, "'model' is missing or not a map"),
        ({"model": "gabor"}, "'model' is missing or not a map"),
        ({"quant": [8, 8]}, "'quant' is missing or not a map"),
        ({"model": {"activation": "gabor"}}, "'model' lacks hidden"),
        ({"quant": {}}, "'quant' lacks bits_frame"),
        ({"model": {**dataclasses.asdict(CONFIG.model), "activation": "relu"}}, "'model' is invalid: activation"),
        ({"model": {**dataclasses.asdict(CONFIG.model), "hidden": "12"}}, "'model' is invalid: hidden"),
        ({"quant": {**dataclasses.asdict(QUANT), "bits_frame": 99}}, "'quant' is invalid: bits_frame"),
        ({"quant": {**dataclasses.asdict(QUANT), "intra_period": 0}}, "'quant' is invalid: intra_period"),
        ({"model": {**dataclasses.asdict(CONFIG.model), **HUGE_MODEL}}, "more than .* numbers per group"),
    ],
)
def test_every_refusal_is_a_format_error_that_names_the_problem(changes, message):
    header = valid_map(**changes)
    for value in changes.values():
        if value is None:  # absent, not only null
            header = {k: v for k, v in header.items() if v is not None}
    with pytest.raises(FormatError, match=message):
        parse_header_map(header)


def test_unknown_fields_from_later_versions_are_ignored():
    model = {**dataclasses.asdict(CONFIG.model), "some_future_setting": 1}
    header = parse_header_map(valid_map(model=model, future_field=[1, 2]))
    assert header.model == CONFIG.model


def test_a_missing_or_odd_encoder_name_is_unknown():
    assert parse_header_map({k: v for k, v in valid_map().items() if k != "encoder"}).encoder == "unknown"
    assert parse_header_map(valid_map(encoder=7)).encoder == "unknown"


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@given(st.dictionaries(st.sampled_from(sorted(valid_map())), VALUES, max_size=8), st.data())
@settings(max_examples=200, deadline=None)
def test_any_header_map_is_accepted_or_refused_with_a_format_error(changes, data):
    """Hostile values in any field, alone or together: the reader never sees another exception."""
    header = valid_map(**changes)
    for section, cls in (("model", ModelConfig), ("quant", QuantConfig)):
        if data.draw(st.booleans()):  # one field of a config map changed instead of the whole map
            field = data.draw(st.sampled_from([f.name for f in dataclasses.fields(cls)]))
            value = data.draw(VALUES)
            header[section] = {**dataclasses.asdict({"model": CONFIG.model, "quant": QUANT}[section]), field: value}
    with contextlib.suppress(FormatError):
        parse_header_map(header)


def test_an_unhashable_activation_is_a_format_error():
    model = {**dataclasses.asdict(CONFIG.model), "activation": ["gabor"]}
    with pytest.raises(FormatError, match="activation"):
        parse_header_map(valid_map(model=model))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("layers", [1, 3])
def test_group_parameter_count_matches_the_model(activation, layers):
    """The header's allocation cap is computed from the config alone; it must agree with the model."""
    model = make_group(activation, end=3, layers=layers)
    assert group_parameter_count(model.grid, model.config) == count_parameters(model)
    assert group_parameter_count(model.grid, model.config) < MAX_GROUP_PARAMETERS


def test_is_intra_follows_the_period_and_the_residual_switch():
    assert [is_intra(i, QuantConfig(intra_period=3)) for i in range(7)] == [1, 0, 0, 1, 0, 0, 1]
    assert all(is_intra(i, QuantConfig(intra_period=1)) for i in range(5))
    assert all(is_intra(i, QuantConfig(residual=False, intra_period=3)) for i in range(5))
    assert [is_intra(i, QuantConfig()) for i in range(5)] == [True, False, False, False, True]  # default period 4
