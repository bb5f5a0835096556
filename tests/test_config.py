"""Configuration: the presets, overrides, and one ConfigError naming the field for every invalid value."""

from __future__ import annotations

import dataclasses

import pytest

from nvcodec.config import MAX_BITS, MIN_BITS, PRESETS, Config, FitConfig, ModelConfig, QuantConfig
from nvcodec.errors import ActvError, ConfigError
from tests.conftest import TINY


def test_presets_trade_time_only():
    """Like x264's --preset: the model (the size knob) is the same in every preset, only the fit differs."""
    assert list(PRESETS) == ["fast", "medium", "slow"]
    assert all(preset.model == ModelConfig() for preset in PRESETS.values())
    iterations = [(PRESETS[name].fit.iters, PRESETS[name].fit.iters_warm) for name in PRESETS]
    assert iterations == sorted(iterations) and len(set(iterations)) == 3, "slower presets fit longer"
    same = {dataclasses.replace(p.fit, iters=1, iters_warm=1) for p in PRESETS.values()}
    assert len(same) == 1, "and differ in nothing else"
    assert all(preset.fit.compile for preset in PRESETS.values())
    assert Config.preset("medium") == PRESETS["medium"] == Config(fit=FitConfig(compile=True))


def test_overrides_reach_the_model_and_the_fit():
    config = Config.preset("fast", hidden=20, activation="wire", iters=5, device="cpu")
    assert (config.model.hidden, config.model.activation) == (20, "wire")
    assert (config.fit.iters, config.fit.device) == (5, "cpu")
    assert config.fit.iters_warm == PRESETS["fast"].fit.iters_warm  # the rest comes from the preset
    assert config.model.layers == ModelConfig().layers
    assert PRESETS["fast"].model.hidden == ModelConfig().hidden, "the preset itself is unchanged"


def test_to_dict_rebuilds_the_same_config():
    config = Config.preset("slow", **TINY)
    data = config.to_dict()
    assert Config(ModelConfig(**data["model"]), FitConfig(**data["fit"])) == config


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        QuantConfig().bits_frame = 4  # type: ignore[misc]


def test_config_error_is_a_library_error_and_a_value_error():
    assert issubclass(ConfigError, ActvError) and issubclass(ConfigError, ValueError)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset"):
        Config.preset("ultra")


@pytest.mark.parametrize(
    "overrides",
    [
        {"activation": "relu"},
        {"hidden": 0},
        {"hidden": 2.5},
        {"overlap": 20, "patch": 32},
        {"omega0": -1.0},
        {"s0": float("nan")},
        {"lr": 0.0},
        {"iters": 0},
        {"batch_pixels": -5},
        {"device": "tpu"},
        {"precision": "fp8"},
        {"compile": "yes"},
        {"no_such_field": 1},
    ],
)
def test_bad_configuration_raises_config_error(overrides):
    with pytest.raises(ConfigError) as info:
        Config.preset(
            "fast", **{**TINY, "iters": 150, "iters_warm": 100, "group_size": 3, "device": "cpu", **overrides}
        )
    assert str(info.value)
    assert next(iter(overrides)) in str(info.value)  # the field that is wrong is named


INVALID = {
    ModelConfig: {
        "activation": ["relu", "", None, 3],
        "hidden": [0, -1, 2.5, "12", True, 4097],
        "layers": [0, 17, 1.0, None],
        "omega0": [0.0, -1.0, float("nan"), float("inf"), "5", True],
        "s0": [0, float("nan")],
        "patch": [0, 3, 8.0],
        "overlap": [-1, 49, 2.5, None],
        "rff_freqs": [0, 1.5],
        "rff_sigma": [0.0, float("-inf")],
        "latent_dim": [0, "4"],
        "hyper_hidden": [0, -3, 1.5],
        "grid_levels": [-1, 9, 1.5, True, None],
        "grid_cell": [0, 257, 2.0, "4"],
    },
    FitConfig: {
        "group_size": [0, 1.5, None],
        "iters": [0, -1, True],
        "iters_warm": [0, 2.0],
        "lr": [0.0, 1.0, -0.1, float("nan")],
        "lr_final_factor": [0.0, 1.5, float("inf")],
        "lr_schedule": ["linear", "", None, 1],
        "lr_warmup": [-0.1, 1.0, float("nan"), "0.1"],
        "time_smoothness": [-1.0, float("nan"), "1"],
        "batch_pixels": [0, -5, 1e6],
        "seed": [-1, 1.5, None, False],
        "device": ["tpu", "cuda:x", "cuda:", "", None, 0],
        "precision": ["fp8", "FP32", None],
        "compile": ["yes", 1, None],
        "scene_cuts": ["yes", 1, None],
    },
    QuantConfig: {
        "bits_frame": [MIN_BITS - 1, MAX_BITS + 1, 8.0, True, None],
        "bits_latent": [MIN_BITS - 1, MAX_BITS + 1],
        "bits_bias": [0, 17],
        "bits_vector": [1, 40],
        "bits_grid": [1, 17, 8.0],
        "prune": [1.0, -0.1, float("nan"), "0"],
        "qat_iters": [-1, 1.5],
        "qat_lr": [0.0, 1.0, float("nan")],
        "residual": [1, "yes", None],
        "intra_period": [0, -4, 2.5],
    },
}
INVALID_CASES = [
    pytest.param(cls, name, value, id=f"{cls.__name__}.{name}={value!r}")
    for cls, fields in INVALID.items()
    for name, values in fields.items()
    for value in values
]


def test_every_field_has_invalid_cases():
    for cls, fields in INVALID.items():
        assert sorted(fields) == sorted(f.name for f in dataclasses.fields(cls)), cls.__name__


@pytest.mark.parametrize(("cls", "name", "value"), INVALID_CASES)
def test_every_invalid_field_raises_config_error_naming_it(cls, name, value):
    with pytest.raises(ConfigError) as info:
        cls(**{name: value})
    assert name in str(info.value), str(info.value)


def test_a_too_wide_bias_inr_is_named():
    with pytest.raises(ConfigError, match="hyper_hidden"):
        ModelConfig(hyper_hidden=5000)


def test_an_unhashable_activation_is_a_config_error():
    with pytest.raises(ConfigError, match="activation"):
        ModelConfig(activation=["gabor"])


@pytest.mark.parametrize("bits", [MIN_BITS, MAX_BITS])
def test_the_bit_depth_limits_are_accepted(bits):
    quant = QuantConfig(bits_frame=bits, bits_latent=bits, bits_bias=bits, bits_vector=bits)
    assert quant.bits_frame == bits


@pytest.mark.parametrize(
    "overrides", [{"bits_frame": 1}, {"bits_bias": 17}, {"prune": 1.0}, {"qat_iters": -1}, {"intra_period": 0}]
)
def test_bad_quant_config(overrides):
    with pytest.raises(ConfigError):
        QuantConfig(**overrides)


@pytest.mark.parametrize(("field", "value"), [("model", FitConfig()), ("fit", ModelConfig()), ("model", None)])
def test_config_parts_must_have_their_types(field, value):
    with pytest.raises(ConfigError, match=f"{field} must be"):
        Config(**{field: value})
