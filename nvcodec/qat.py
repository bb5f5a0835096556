"""Quantization-aware fine-tuning: round the frame INR in stages and refit what is still free.

After a group is fitted in float32, its frame-INR weight layers are rounded a
few at a time, first layers first, onto the grid they will be coded with.
After each stage the parameters still in float32 (the later layers, the bias
INR and the latents) are refitted to the frames for a few hundred steps with
the rounded layers held fixed, so they absorb the rounding error instead of
passing it on. The bias INR and the latents are rounded last, by the encoder.

It replaced fine-tuning through fake quantization (straight-through
gradients), which recovered little: on carphone at 6 bits, 300 such steps
still lost 1.39 dB (``benchmarks/codec_size.py`` at commit c3ddbfc; 0.89 dB
at a tenth of the learning rate in a side experiment). Numbers for this
method are in ``benchmarks/results/codec_size.json``.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping

import torch
from torch.func import functional_call

from nvcodec.config import Config, QuantConfig
from nvcodec.fit import GroupFit, fit_group
from nvcodec.quant import parameter_kind, quantize_state
from nvcodec.sensitivity import measure

STAGES = 2
"""Frame-INR weight layers are rounded in this many stages of consecutive layers."""


def frame_stages(names: list[str], stages: int = STAGES) -> list[list[str]]:
    """Frame-INR weight names in order, split into ``stages`` runs of consecutive layers."""
    frame = [n for n in names if parameter_kind(n) == "frame"]
    count = min(stages, len(frame))
    bounds = [round(i * len(frame) / count) for i in range(count + 1)]
    return [frame[a:b] for a, b in itertools.pairwise(bounds)]


def finetune_for_quantization(
    fit: GroupFit,
    config: Config,
    quant: QuantConfig,
    reference: Mapping[str, torch.Tensor] | None,
    generator: torch.Generator,
    steps: Mapping[str, torch.Tensor] | None = None,
    hessians: Mapping[str, torch.Tensor] | None = None,
) -> None:
    """Round the frame INR stage by stage, refitting the rest after each stage; in place.

    Afterwards the frame-INR weights hold exactly the values the decoder will
    see, so coding them again with the same ``steps`` reproduces them.
    ``steps`` fix the grid (without them each tensor's steps follow its peak
    magnitude). ``hessians`` (``nvcodec.sensitivity.measure(fit.group).hessians``)
    select error-compensated rounding (:mod:`nvcodec.rounding`), as the encoder
    does by default; later stages measure the refitted group again. Without
    them values round to nearest. ``quant.qat_iters`` refit steps are shared
    among the stages.
    """
    group = fit.group
    params = dict(group.named_parameters())
    stages = frame_stages(list(params))
    refit = Config(config.model, dataclasses.replace(config.fit, lr=quant.qat_lr, lr_final_factor=0.1))
    fixed: dict[str, torch.Tensor] = {}
    for index, names in enumerate(stages):
        state = {n: params[n].detach() for n in names}
        if hessians is not None and index > 0:
            hessians = measure(group).hessians
        ref = {n: reference[n] for n in names} if reference is not None else None
        chosen = {n: steps[n] for n in names} if steps is not None else None
        quantized = quantize_state(state, quant, ref, chosen, hessians)
        with torch.no_grad():
            for name, q in quantized.items():
                value = q.dequantize(ref[name] if ref is not None else None).to(params[name].device)
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
        fit_group(group, fit.frames, fit.taus, iterations, refit, mask=fit.mask, generator=generator, forward=forward)
    group.eval()
