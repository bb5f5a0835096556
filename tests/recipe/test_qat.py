"""Staged quantization-aware fine-tuning: rounded layers stay on their grid, and it pays off."""

import copy

import pytest
import torch

from nvcodec.config import QuantConfig
from nvcodec.model.tensors import Coding, Kind, TensorSpec
from nvcodec.payload import pack_group
from nvcodec.quant.sensitivity import measure_sensitivity
from nvcodec.quant.steps import quantization_steps
from nvcodec.quant.uniform import QuantPlan
from nvcodec.recipe.qat import finetune_for_quantization, frame_stages
from tests.conftest import FITTED_CONFIG as CONFIG
from tests.conftest import render_unclamped


def test_stages_split_frame_layers_in_order():
    frame = TensorSpec((1, 2, 2), False, Kind.FRAME, Coding.ANS, (0, 2), in_axis=1)
    other = TensorSpec((1, 2), False, Kind.LATENT, Coding.ANS, (0,))
    names = [f"frame_inr.weights.{i}" for i in range(4)]
    specs = {**dict.fromkeys(names, frame), "bias_inr.latents": other, "bias_inr.trunk.weight": other}
    assert frame_stages(specs, 2) == [names[0:2], names[2:4]]
    assert frame_stages(specs, 3) == [names[0:1], names[1:3], names[3:4]]
    assert frame_stages({names[0]: frame, "bias_inr.latents": other}, 2) == [names[:1]]


@pytest.mark.slow
@pytest.mark.parametrize("compensated", [False, True])
def test_finetuning_lowers_the_coded_error_and_keeps_rounded_layers_on_grid(fitted, compensated):
    quant = QuantConfig(bits_frame=4, bits_latent=4, bits_bias=4, qat_iters=120, qat_lr=1e-3)
    truth = fitted.frames.reshape(fitted.frames.shape[0], -1, 3)
    cost = measure_sensitivity(fitted.group)
    hessians = cost.hessians if compensated else None
    specs = fitted.group.tensors
    steps = quantization_steps(fitted.group.state_dict(), specs, quant, cost.sensitivity)
    plain = pack_group(fitted.group.state_dict(), specs, quant, QuantPlan(None, steps, hessians))

    tuned = copy.deepcopy(fitted)
    finetune_for_quantization(tuned, CONFIG, quant, QuantPlan(None, steps, hessians), torch.Generator().manual_seed(0))
    after = measure_sensitivity(tuned.group).hessians if compensated else None
    packed = pack_group(tuned.group.state_dict(), specs, quant, QuantPlan(None, steps, after))
    for name, value in tuned.group.state_dict().items():
        if name.startswith("frame_inr."):  # already on the grid: coding them again changes nothing
            assert torch.equal(packed.decoded[name], value), name

    def error(decoded):
        group = copy.deepcopy(fitted.group)
        group.load_state_dict(decoded)
        return float((render_unclamped(group) - truth).square().mean())

    # The error that quantization adds to the fit's own, against the frames.
    unquantized = error(fitted.group.state_dict())
    added_tuned, added_plain = error(packed.decoded) - unquantized, error(plain.decoded) - unquantized
    assert added_tuned < 0.8 * added_plain  # measured 0.70 rounding to nearest, 0.59 compensated
