"""The differentiable twin of the latent grids' context model, for their rate in the training loss.

The coder (:mod:`nvcodec.entropy.context`) prices each grid symbol under a
Laplace that an integer MLP predicts from six causal neighbours, quantized to
a quarter-unit mean and one of 64 scales. None of that has a gradient, so
training runs the same MLP in float on the same contexts: its weights pass
through straight-through rounding to the coder's ``2^-ARM_SHIFT`` grid (the
forward pass sees what will be stored), and each value pays ``-log2`` of the
Laplace mass of its unit bin, with the continuous mean and scale clamped to
the ranges the coder knows. What is left between the two is the coder's
quantization of mean and scale and its ``2^-24`` probability floor: a few
tenths of a percent to a few percent of the bits (``tests/test_context_model.py``).

Everything is torch on the grids' device, so it runs on CUDA as it does on CPU.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch

from nvcodec.entropy.context import (
    ARM_HIDDEN,
    ARM_SHIFT,
    ARM_WEIGHT_MAX,
    CONTEXT,
    CONTEXT_CLIP,
    LOG2_SCALE_MIN,
    LOG2_SCALE_STEP,
    MU_MAX,
    PRECISION,
    SCALE_LEVELS,
)

ARM_NAMES = ("w1", "b1", "w2", "b2")
"""The weights' names, in :class:`~nvcodec.entropy.context.IntegerARM`'s argument order."""
LOG2_SCALE_MAX = LOG2_SCALE_MIN + SCALE_LEVELS * LOG2_SCALE_STEP
"""Upper edge of the coder's highest scale level."""
PROBABILITY_FLOOR = 2.0**-PRECISION
"""Added to every bin's mass: the least probability the coder's tables give a symbol (smooth, so outliers still
pull the scale up)."""
INIT_SCALE = 0.05
"""Spread of :func:`init_arm`'s random weights: the untrained model predicts nearly one distribution everywhere."""
INIT_LOG2_SCALE = 2.0
"""log2 of the Laplace scale :func:`init_arm` predicts (4 symbols) before fitting."""
FIT_LR = 0.02
"""Adam's learning rate in :func:`fit_arm` (weights of order 0.1-1)."""

_STEP = 2.0**-ARM_SHIFT
_LN2 = math.log(2.0)


def _on_grid(weight: torch.Tensor) -> torch.Tensor:
    """``weight`` rounded to the coder's step in the forward pass, with the gradient of ``weight`` itself."""
    rounded = torch.round(weight / _STEP) * _STEP
    return weight + (rounded - weight).detach()


def _neighbour_index(shapes: tuple[tuple[int, ...], ...]) -> torch.Tensor:
    """``[cells, len(CONTEXT)]`` int64: where each cell's causal neighbours lie among the grids' values.

    The grids (``[..., H, W]`` shapes, each holding independent ``[H, W]`` grids) are read as one flat vector,
    each flattened in turn, with one zero appended: a neighbour outside its grid points at that zero.
    """
    parts, offset = [], 0
    for shape in shapes:
        rows, cols = shape[-2:]
        count = math.prod(shape[:-2])
        row = torch.arange(rows).view(1, rows, 1, 1)
        col = torch.arange(cols).view(1, 1, cols, 1)
        dy = torch.tensor([dy for dy, _ in CONTEXT]).view(1, 1, 1, -1)
        dx = torch.tensor([dx for _, dx in CONTEXT]).view(1, 1, 1, -1)
        start = (offset + torch.arange(count) * rows * cols).view(-1, 1, 1, 1)
        r, c = row + dy, col + dx
        inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
        parts.append(torch.where(inside, start + r * cols + c, -1).reshape(-1, len(CONTEXT)))
        offset += count * rows * cols
    index = torch.cat(parts) if parts else torch.zeros(0, len(CONTEXT), dtype=torch.int64)
    return torch.where(index < 0, offset, index)


@functools.lru_cache(maxsize=64)
def neighbour_index(shapes: tuple[tuple[int, ...], ...], device: torch.device) -> torch.Tensor:
    """:func:`_neighbour_index` on ``device``, kept: a training step prices the same grid shapes every time."""
    return _neighbour_index(shapes).to(device)


def flat_contexts(values: torch.Tensor, shapes: tuple[tuple[int, ...], ...]) -> torch.Tensor:
    """``[cells]`` values of grids of ``shapes``, flattened in turn -> ``[cells, len(CONTEXT)]`` clamped causal
    neighbours (0 outside a grid), in one gather for all grids."""
    padded = torch.cat([values, values.new_zeros(1)])
    return padded[neighbour_index(shapes, values.device)].clamp(-CONTEXT_CLIP, CONTEXT_CLIP)


def grid_contexts(grid: torch.Tensor) -> torch.Tensor:
    """``[..., H, W]`` values -> ``[..., H, W, len(CONTEXT)]`` clamped causal neighbours (0 outside the grid)."""
    return flat_contexts(grid.reshape(-1), (tuple(grid.shape),)).view(*grid.shape, len(CONTEXT))


def _bits(values: torch.Tensor, context: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
    """Total bits of ``values`` ``[...]`` given their contexts ``[..., 6]`` under float weights on the coder's grid."""
    w1, b1, w2, b2 = (_on_grid(weight.to(values.dtype)) for weight in weights)
    out = torch.relu(context @ w1 + b1) @ w2 + b2
    mu = out[..., 0].clamp(-MU_MAX, MU_MAX)
    log2_scale = out[..., 1].clamp(LOG2_SCALE_MIN, LOG2_SCALE_MAX)
    inverse_scale = torch.exp2(-log2_scale)
    # The mass of [y - 1/2, y + 1/2] under Laplace(mu, b) depends on d = |y - mu| only. Each branch gets its
    # argument clamped to its own side so that the other branch's values stay finite (no NaN gradients).
    distance = (values - mu).abs()
    # d >= 1/2: both edges on one side, 1/2 e^{-(d - 1/2)/b} (1 - e^{-1/b}), in logs.
    far = (0.5 - distance.clamp(min=0.5)) * inverse_scale + torch.log(-torch.expm1(-inverse_scale)) - _LN2
    # d < 1/2: the bin holds the mean, 1 - 1/2 (e^{-(1/2 - d)/b} + e^{-(1/2 + d)/b}).
    near_d = distance.clamp(max=0.5)
    near = -0.5 * (torch.expm1((near_d - 0.5) * inverse_scale) + torch.expm1(-(near_d + 0.5) * inverse_scale))
    mass = torch.where(distance >= 0.5, torch.exp(far), near)
    return -torch.log2(mass + PROBABILITY_FLOOR).sum()


def context_bits(
    grids: Sequence[torch.Tensor], w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor, b2: torch.Tensor
) -> torch.Tensor:
    """Estimated bits of the grids under the context model (a scalar, differentiable in grids and weights).

    Each ``[..., H, W]`` float tensor of ``grids`` holds independent ``[H, W]`` grids of values in symbol units
    (noisy, soft-rounded or rounded); the weights are the float shapes of
    :class:`~nvcodec.entropy.context.IntegerARM`, in symbol units.
    """
    grids = [grid for grid in grids if grid.numel()]
    if not grids:
        return w1.new_zeros(())
    dtype = torch.promote_types(grids[0].dtype, torch.float32)  # integer or half grids: float32 at least
    values = torch.cat([grid.reshape(-1).to(dtype) for grid in grids])
    return flat_context_bits(values, tuple(tuple(grid.shape) for grid in grids), (w1, b1, w2, b2))


def flat_context_bits(
    values: torch.Tensor, shapes: tuple[tuple[int, ...], ...], weights: Sequence[torch.Tensor]
) -> torch.Tensor:
    """:func:`context_bits` of grids of ``shapes`` given as one flat vector, each flattened in turn.

    All grids, whatever their sizes, are priced in one pass of the model: a training step that drew its
    stand-ins as one vector (:class:`~nvcodec.quant.rdtrain.CodedStandIns`) runs a fixed, small number of
    operations for them rather than a few dozen per grid level.
    """
    return _bits(values, flat_contexts(values, shapes), weights)


def init_arm(generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Float initial weights: small random ``w1`` and ``w2``, and ``b2`` for a zero mean and a scale of
    ``2^INIT_LOG2_SCALE``."""
    return {
        "w1": (torch.rand(len(CONTEXT), ARM_HIDDEN, generator=generator) * 2 - 1) * INIT_SCALE,
        "b1": torch.zeros(ARM_HIDDEN),
        "w2": (torch.rand(ARM_HIDDEN, 2, generator=generator) * 2 - 1) * INIT_SCALE,
        "b2": torch.tensor([0.0, INIT_LOG2_SCALE]),
    }


def fit_arm(
    grids: Sequence[torch.Tensor], weights: dict[str, torch.Tensor], steps: int = 300
) -> dict[str, torch.Tensor]:
    """Weights fitted to fixed integer ``grids`` by ``steps`` Adam steps on :func:`context_bits`, from ``weights``.

    For an encoder that did not train the context model with the grids. Returns new float weights on the
    coder's ``2^-ARM_SHIFT`` grid (``IntegerARM.from_float`` takes them exactly), on the grids' device.
    """
    grids = [grid.detach().float() for grid in grids if grid.numel()]
    if not grids:
        return {name: _rounded(weights[name].detach().float()) for name in ARM_NAMES}
    device = grids[0].device
    cells = sum(grid.numel() for grid in grids)
    params = [weights[name].detach().float().to(device).clone().requires_grad_(True) for name in ARM_NAMES]
    values = torch.cat([grid.reshape(-1) for grid in grids])
    contexts = flat_contexts(values, tuple(tuple(grid.shape) for grid in grids))  # fixed grids: fixed contexts
    optimizer = torch.optim.Adam(params, lr=FIT_LR)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(steps, 1))
    with torch.enable_grad():
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            loss = _bits(values, contexts, params) / cells
            loss.backward()
            optimizer.step()
            schedule.step()
    return {name: _rounded(param.detach()) for name, param in zip(ARM_NAMES, params)}


def _rounded(weight: torch.Tensor) -> torch.Tensor:
    limit = ARM_WEIGHT_MAX * _STEP
    return (torch.round(weight / _STEP) * _STEP).clamp(-limit, limit)


__all__ = ["ARM_NAMES", "context_bits", "fit_arm", "flat_context_bits", "flat_contexts", "grid_contexts", "init_arm"]
