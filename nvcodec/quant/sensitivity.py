"""What rounding a group's parameters costs in the decoded frames.

Two measurements of a fitted group, taken together by :func:`measure_sensitivity` on the
frames the decoder will render (every frame of the group, at native size up to
:data:`SAMPLE_PIXELS` per frame, on a coarser grid of the same continuous frame
beyond, which keeps memory bounded at 1080p), neither needing the source frames:

- the output sensitivity of each channel, which decides the quantization steps
  (``nvcodec.quant.steps.quantization_steps``);
- per output channel of each weight matrix, the sensitivity-weighted second
  moment of its input, which lets rounding choose symbols whose errors cancel
  in the decoded frames (``nvcodec.quant.rounding.compensated_round``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nvcodec.model.group import GroupModel
from nvcodec.model.tensors import Kind
from nvcodec.quant.uniform import as_real
from nvcodec.tiling import PixelPlan

SENSITIVITY_PROBES = 8
SAMPLE_PIXELS = 1 << 14
"""Pixels per frame the measurements use; larger frames are sampled on a coarser grid."""


def _samples(group: GroupModel) -> tuple[PixelPlan, torch.Tensor]:
    """The pixel plan and the group-local times of every frame the measurements render."""
    device = group.device
    grid = group.grid
    shrink = min(1.0, math.sqrt(SAMPLE_PIXELS / (grid.height * grid.width)))
    height, width = max(1, round(grid.height * shrink)), max(1, round(grid.width * shrink))
    times = torch.arange(group.start, group.end + 1, dtype=torch.float32, device=device)
    return grid.pixel_plan(height, width).to(device), group.local_time(times)


@dataclass(frozen=True)
class RoundingCost:
    """What rounding each parameter costs in the decoded frames (see :func:`measure_sensitivity`)."""

    sensitivity: dict[str, torch.Tensor]
    """Per quantized tensor, shaped like its steps: output MSE per unit of squared error in a channel."""
    hessians: dict[str, torch.Tensor]
    """Per real weight matrix: ``[..., out, in, in]``, such that an error ``dw`` in output channel
    ``o``'s weights adds about ``dw^T H_o dw`` to the output MSE (frame INR: one per patch; bias
    INR: one for all patches). Its diagonal estimates the same sensitivity per weight."""


def measure_sensitivity(group: GroupModel, probes: int = SENSITIVITY_PROBES, seed: int = 0) -> RoundingCost:
    """Both measurements of a group, from one set of random probes of its output.

    With ``J`` the Jacobian of the blended RGB output of the group's frames,
    Gaussian probes ``v`` give ``E[(J^T v)^2] = diag(J^T J)``:

    - for a parameter, its output sensitivity, averaged over each channel that
      shares a step and over output samples. Independent rounding errors of
      variance ``e^2`` in a channel raise the output MSE by ``sensitivity * e^2``
      per element;
    - for a layer's output ``y_o`` at each sample, its own sensitivity ``s_o``.
      A weight error ``dw`` changes ``y_o`` by ``dw^T x`` there, so it costs
      about ``dw^T H_o dw`` with ``H_o = sum s_o x x^T`` over the samples.
      Complex (WIRE) layers get no Hessian and are rounded to nearest.
    """
    generator = torch.Generator().manual_seed(seed)
    device = group.device
    params = {n: p for n, p in group.named_parameters() if group.tensors[n].quantized}
    plan, taus = _samples(group)
    frames, pixels = taus.shape[0], plan.height * plan.width
    layers: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def observer(prefix: str):
        def observe(name: str, inputs: torch.Tensor, outputs: torch.Tensor) -> None:
            if not (inputs.is_complex() or outputs.is_complex()):
                layers[prefix + name] = (inputs.detach(), outputs)

        return observe

    with torch.enable_grad():
        biases = group.bias_inr(taus, observe=observer("bias_inr."))
        rgb = group.frame_inr(group.inputs(plan.coords[:, None]), biases, observe=observer("frame_inr."))
        weighted = (rgb * plan.weights[:, None, :, None]).transpose(0, 1).reshape(frames, -1, 3)
        out = torch.zeros(frames, pixels, 3, device=device).index_add(1, plan.index.reshape(-1), weighted)
        targets = [*params.values(), *(y for _, y in layers.values())]
        totals = [torch.zeros_like(as_real(t.detach()), dtype=torch.float32) for t in targets]
        for _ in range(probes):
            probe = torch.randn(out.shape, generator=generator).to(device)
            grads = torch.autograd.grad(out, targets, probe, retain_graph=True, allow_unused=True)
            for total, grad in zip(totals, grads):
                if grad is not None:
                    total += as_real(grad.detach()).float().square()
    sensitivity = {}
    for name, total in zip(params, totals):
        reduce = group.tensors[name].shared_axes
        mean = total.mean(dim=reduce, keepdim=True) if reduce else total
        sensitivity[name] = (mean / (probes * out.numel())).cpu()
    hessians = {}
    scale = 1.0 / (probes * out.numel())  # so that dw^T H dw is the added output MSE, as for sensitivity
    for (name, (inputs, _)), total in zip(layers.items(), totals[len(params) :]):
        total = total * scale
        if group.tensors[name].kind is Kind.FRAME:  # [P, F|1, N, in] and [P, F, N, out]: one per patch
            x = inputs.expand(*total.shape[:3], inputs.shape[-1]).flatten(1, 2)
            hessians[name] = _weighted_moments(x, total.flatten(1, 2)).cpu()
        else:  # [P, F, in] and [P, F, out]: one for all patches and frames
            x = inputs.reshape(1, -1, inputs.shape[-1])
            hessians[name] = _weighted_moments(x, total.reshape(1, -1, total.shape[-1]))[0].cpu()
    return RoundingCost(sensitivity, hessians)


MOMENT_CHUNK = 1 << 24
"""Elements of the outer products formed at once by :func:`_weighted_moments` (64 MB)."""


def _weighted_moments(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``[B, M, in]`` samples and ``[B, M, out]`` weights -> ``[B, out, in, in]``: ``sum_m w_mo x_m x_m^T``.

    One matrix product per chunk of samples, over the flattened outer products.
    """
    batch, samples, width = x.shape
    result = torch.zeros(batch, weights.shape[-1], width * width, dtype=torch.float32, device=x.device)
    chunk = max(1, MOMENT_CHUNK // (batch * width * width))
    for first in range(0, samples, chunk):
        part = x[:, first : first + chunk].float()
        outer = (part.unsqueeze(-1) * part.unsqueeze(-2)).flatten(2)
        result += weights[:, first : first + chunk].transpose(1, 2) @ outer
    return result.view(batch, -1, width, width)


def output_sensitivity(group: GroupModel, probes: int = SENSITIVITY_PROBES, seed: int = 0) -> dict[str, torch.Tensor]:
    """The output sensitivity of each parameter channel: :attr:`RoundingCost.sensitivity` of :func:`measure_sensitivity`."""
    return measure_sensitivity(group, probes, seed).sensitivity
