"""Quantization-aware fine-tuning: a short fit through the quantizer's rounding.

After a group is fitted in float32, a few hundred steps through fake
quantization (straight-through gradients) move the weights to where rounding
costs least, so low bit depths keep their PSNR.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import torch
from torch.func import functional_call

from nvcodec.config import Config, QuantConfig
from nvcodec.fit import GroupFit, fit_group
from nvcodec.quant import bits_for, fake_quantize


def finetune_for_quantization(
    fit: GroupFit,
    config: Config,
    quant: QuantConfig,
    reference: Mapping[str, torch.Tensor] | None,
    generator: torch.Generator,
    steps: Mapping[str, torch.Tensor] | None = None,
) -> None:
    """A short fit through fake quantization (straight-through rounding), in place.

    ``steps`` fix the quantization grid (the steps the group will be coded
    with); without them each tensor's steps follow its peak magnitude.
    """
    group = fit.group
    group.train()
    device = fit.frames.device
    ref = {n: t.to(device) for n, t in reference.items()} if reference is not None else None
    params = dict(group.named_parameters())
    grid = {n: s.to(device) for n, s in steps.items()} if steps is not None else None

    def forward(coords: torch.Tensor, taus: torch.Tensor) -> torch.Tensor:
        fake = {n: _fake(n, p, quant, ref, grid) for n, p in params.items()}
        return functional_call(group, fake, (coords, taus))

    qat = Config(config.model, dataclasses.replace(config.fit, lr=quant.qat_lr, lr_final_factor=0.1))
    fit_group(group, fit.frames, fit.taus, quant.qat_iters, qat, mask=fit.mask, generator=generator, forward=forward)
    group.eval()


def _fake(
    name: str,
    value: torch.Tensor,
    quant: QuantConfig,
    reference: Mapping[str, torch.Tensor] | None,
    steps: Mapping[str, torch.Tensor] | None,
) -> torch.Tensor:
    bits = bits_for(name, quant, value.ndim)
    step = steps[name] if steps is not None else None
    return fake_quantize(value, bits, reference[name] if reference is not None else None, step)
