"""The tensor table: the one declaration of what a group stores and how each tensor is treated."""

import subprocess
import sys

import pytest

from nvcodec.config import ModelConfig, QuantConfig
from nvcodec.model import ACTIVATIONS, GroupModel
from nvcodec.model.tensors import Coding, Kind, group_tensors, stored_numbers
from nvcodec.tiling import PatchGrid
from tests.conftest import TINY_MODEL, make_group


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("layers", [1, 3])
def test_the_model_holds_exactly_the_declared_tensors(activation, layers):
    group = make_group(activation, end=3, layers=layers)
    state = group.state_dict()
    specs = group_tensors(group.grid.num_patches, group.config)
    assert sorted(state) == sorted(specs)
    for name, tensor in state.items():
        assert tuple(tensor.shape) == specs[name].shape and tensor.is_complex() == specs[name].complex, name
    assert stored_numbers(specs) == sum(t.numel() * (2 if t.is_complex() else 1) for t in state.values())


def test_roles_of_the_published_layout():
    """ACTV.md section 12.2 and section 5: kinds, step axes and coding of every tensor."""
    specs = group_tensors(6, ModelConfig(activation="wire", **TINY_MODEL))
    frame = specs["frame_inr.weights.1"]
    assert (frame.kind, frame.coding, frame.step_axes, frame.complex) == (Kind.FRAME, Coding.ANS, (0, 2), True)
    assert frame.step_shape == (6, 1, 12, 1) and frame.pruned
    assert specs["frame_inr.weights.0"].complex is False  # the first layer sees real coordinates
    assert specs["bias_inr.frequencies"].coding is Coding.RAW and not specs["bias_inr.frequencies"].quantized
    assert specs["bias_inr.latents"].kind is Kind.LATENT and specs["bias_inr.latents"].step_shape == (6, 1)
    assert specs["bias_inr.heads.1.weight"].shape == (24, 8)  # complex biases as (real, imaginary) pairs
    assert specs["bias_inr.heads.2.bias"].shape == (3,)  # the RGB layer's bias is real
    vectors = [name for name, spec in specs.items() if spec.coding is Coding.ZSTD]
    assert vectors == [n for n in specs if n.endswith(".bias")]
    quant = QuantConfig(bits_frame=5, bits_latent=6, bits_bias=7, bits_vector=12)
    assert [specs[n].bits(quant) for n in ("frame_inr.weights.0", "bias_inr.latents", "bias_inr.trunk.weight")] == [
        5,
        6,
        7,
    ]
    assert specs["bias_inr.trunk.bias"].bits(quant) == 12


def test_a_model_that_drifts_from_its_table_fails_loudly(monkeypatch):
    """Renaming or reshaping a tensor must not silently change what the codec writes."""
    import nvcodec.model.group as group_module

    def renamed(num_patches, model, patch_shape=None):
        specs = group_tensors(num_patches, model, patch_shape)
        specs["bias_inr.codes"] = specs.pop("bias_inr.latents")
        return specs

    monkeypatch.setattr(group_module, "group_tensors", renamed)
    config = ModelConfig(**TINY_MODEL)
    with pytest.raises(AssertionError, match="declared table"):
        GroupModel(PatchGrid.build(40, 56, 24, 6), config, 0, 3)


def test_the_table_and_the_configuration_load_without_torch():
    """A header is validated from these alone; actv-info must not pay for importing torch."""
    code = (
        "import sys; from nvcodec.config import ModelConfig; from nvcodec.model.tensors import group_tensors; "
        "group_tensors(4, ModelConfig(activation='wire')); assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
