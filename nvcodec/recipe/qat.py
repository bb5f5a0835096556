"""Quantization-aware fine-tuning: round the frame INR in stages and refit what is still free.

After a group is fitted in float32, its frame-INR weight layers are rounded a
few at a time, first layers first, onto the grid they will be coded with.
After each stage the parameters still in float32 (the later layers, the bias
INR and the latents) are refitted to the frames for a few hundred steps with
the rounded layers held fixed, so they absorb the rounding error instead of
passing it on. The bias INR and the latents are rounded last, by the encoder.

It replaced fine-tuning through fake quantization (straight-through
gradients), which recovered little (``benchmarks/results/README.md``).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping

import torch
from torch.func import functional_call

from nvcodec.config import Config, QuantConfig
from nvcodec.fit import FitData, GroupFit, fit_group
from nvcodec.model.tensors import Kind, TensorSpec
from nvcodec.quant.sensitivity import measure_sensitivity
from nvcodec.quant.uniform import QuantPlan, quantize_state

STAGES = 2
"""Frame-INR weight layers are rounded in this many stages of consecutive layers."""
REFIT_LR_DECAY = 0.1
"""Each stage's refit decays its learning rate tenfold (exponentially, with no warm-up)."""
REFIT_BATCH_PIXELS = 32768
"""Pixels per fine-tuning step, the batch its measured gains were found with (``benchmarks/results/README.md``);
the fit's own smaller batch was tuned for a fit from scratch, not for this."""


def frame_stages(specs: Mapping[str, TensorSpec], stages: int = STAGES) -> list[list[str]]:
    """Frame-INR weight names in layer order, split into ``stages`` runs of consecutive layers."""
    frame = [name for name, spec in specs.items() if spec.kind is Kind.FRAME]
    count = min(stages, len(frame))
    bounds = [round(i * len(frame) / count) for i in range(count + 1)]
    return [frame[a:b] for a, b in itertools.pairwise(bounds)]


def finetune_for_quantization(
    fit: GroupFit, config: Config, quant: QuantConfig, plan: QuantPlan, generator: torch.Generator
) -> None:
    """Round the frame INR stage by stage, refitting the rest after each stage; in place.

    Afterwards the frame-INR weights hold exactly the values the decoder will
    see, so coding them again with the same ``plan`` reproduces them.
    ``plan.steps`` fix the grid (without them each tensor's steps follow its
    peak magnitude); ``plan.hessians`` select error-compensated rounding
    (:mod:`nvcodec.quant.rounding`), as the encoder does by default, and later
    stages measure the refitted group again; without them values round to
    nearest. ``quant.qat_iters`` refit steps are shared among the stages.
    """
    group = fit.group
    params = dict(group.named_parameters())
    stages = frame_stages(group.tensors)
    refit = Config(
        config.model,
        dataclasses.replace(
            config.fit,
            lr=quant.qat_lr,
            lr_final_factor=REFIT_LR_DECAY,
            lr_schedule="exponential",
            lr_warmup=0.0,
            batch_pixels=REFIT_BATCH_PIXELS,
        ),
    )
    fixed: dict[str, torch.Tensor] = {}
    for index, names in enumerate(stages):
        if plan.hessians is not None and index > 0:
            plan = dataclasses.replace(plan, hessians=measure_sensitivity(group).hessians)
        quantized = quantize_state({n: params[n].detach() for n in names}, group.tensors, quant, plan)
        with torch.no_grad():
            for name, q in quantized.items():
                reference = plan.reference[name] if plan.reference is not None else None
                value = q.dequantize(reference).to(params[name].device)
                params[name].copy_(value)
                fixed[name] = value
        iterations = quant.qat_iters // len(stages) + (index < quant.qat_iters % len(stages))
        if iterations == 0:
            continue
        frozen = dict(fixed)

        def forward(coords: torch.Tensor, taus: torch.Tensor, frozen: dict = frozen) -> torch.Tensor:
            # Rounded layers enter as constants: they get no gradient, so Adam leaves them be.
            return functional_call(group, frozen, (coords, taus))

        group.train()
        fit_group(
            group, FitData(fit.frames, fit.taus, fit.mask), iterations, refit, generator=generator, forward=forward
        )
    group.eval()
