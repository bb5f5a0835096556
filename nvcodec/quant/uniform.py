"""Uniform quantization of a group's parameters: steps, symbols and residuals.

Every tensor is quantized with one step per channel, along the axes its
:class:`~nvcodec.model.tensors.TensorSpec` names (output channels of weight
matrices, patches of latents; one step per tensor for small vectors).
Symbols are signed integers in ``[-(2^(b-1) - 1), 2^(b-1) - 1]``.

A group after the first may be coded as a *residual* of the previous group's
decoded parameters: warm start makes consecutive groups close, so residuals
need fewer distinct symbols.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from nvcodec.config import QuantConfig
from nvcodec.errors import ArgumentError
from nvcodec.model.tensors import TensorSpec
from nvcodec.quant.rounding import compensated_round

STEPS_PER_OCTAVE = 8
"""Steps lie on a logarithmic grid of 8 values per octave: ``2^(e/8)``, stored as the integer ``e``.

Rounding a learned step moves it by at most half a grid interval (4.4%), which
changes ``D + lambda R`` only to second order around the optimum the training
found (and training sees the grid values); an exponent costs about 6 bits
through zstd where a float16 step took 16, and at low rates float16 steps were
a fifth of a file (``benchmarks/payload_size.py``)."""
STEP_MANTISSAS = (1.0, 1.0908203125, 1.189453125, 1.296875, 1.4140625, 1.5419921875, 1.681640625, 1.833984375)
"""``2^(j/8)`` for ``j = 0..7`` rounded to float16, exact in float32: the grid step of exponent ``e`` is
``STEP_MANTISSAS[e mod 8] * 2^(e div 8)``, computed exactly on every machine (no ``pow``)."""
EXPONENT_MIN, EXPONENT_MAX = -112, 127
"""Exponents a chunk may store (int8): steps from ``2^-14`` to ``1.834 * 2^15``, all float16 normal numbers."""
STEP_GRID = torch.tensor(
    [
        math.ldexp(STEP_MANTISSAS[e % STEPS_PER_OCTAVE], e // STEPS_PER_OCTAVE)
        for e in range(EXPONENT_MIN, EXPONENT_MAX + 1)
    ],
    dtype=torch.float32,
)
"""Every grid step, by ``e - EXPONENT_MIN``."""
STEP_MIN, STEP_MAX = float(STEP_GRID[0]), float(STEP_GRID[-1])
"""Range of a quantization step: the grid's ends."""
FINER_BITS = 3
"""How much finer than its peak-magnitude step a chosen step may be (in bits)."""
MAX_SYMBOL_BITS = 16
"""Symbols stay within ``2^(MAX_SYMBOL_BITS + 1)`` values however fine the steps (the ANS alphabet cap)."""


@dataclass(frozen=True)
class QuantPlan:
    """How a group's tensors become symbols, beyond the bit depths of :class:`QuantConfig`.

    Every field is the encoder's choice; the decoder reads steps and symbols
    from the chunk, and needs the reference of a residual group only.
    """

    reference: Mapping[str, torch.Tensor] | None = None
    """The previous group's decoded parameters: quantize the difference from them (a residual group)."""
    steps: Mapping[str, torch.Tensor] | None = None
    """Grid steps per tensor (:func:`grid_steps`; :mod:`nvcodec.quant.steps`); peak-magnitude steps where absent."""
    hessians: Mapping[str, torch.Tensor] | None = None
    """Per weight matrix (:func:`nvcodec.quant.sensitivity.measure_sensitivity`): round with error compensation."""


def as_real(tensor: torch.Tensor) -> torch.Tensor:
    """Complex tensors quantize their real and imaginary parts as a trailing axis of 2."""
    return torch.view_as_real(tensor) if tensor.is_complex() else tensor


def channel_peaks(real: torch.Tensor, spec: TensorSpec) -> torch.Tensor:
    """Each channel's largest magnitude in ``real`` (the tensor's real view), shaped like its steps."""
    reduce = spec.shared_axes
    magnitude = real.detach().abs()
    return magnitude.amax(dim=reduce, keepdim=True) if reduce else magnitude


def peak_steps(real: torch.Tensor, spec: TensorSpec, bits: int) -> torch.Tensor:
    """float32 steps broadcastable to ``real`` (the tensor's real view) from each channel's peak magnitude.

    A complex tensor's real and imaginary parts share a step.
    """
    levels = 2 ** (bits - 1) - 1
    steps = (channel_peaks(real, spec) / levels).to(torch.float32)
    # An all-zero channel still needs a valid step; any positive value decodes to 0.
    steps = torch.where(steps > 0, steps, torch.ones_like(steps))
    return grid_steps(steps, up=True)  # up: the channel's peak stays within the alphabet


def step_exponents(steps: torch.Tensor, up: bool = False) -> torch.Tensor:
    """int64 grid exponents of ``steps``: the nearest grid step in log scale, or (``up``) the least not below."""
    steps = steps.detach().to(torch.float32)
    exponents = torch.round(STEPS_PER_OCTAVE * torch.log2(steps.double())).to(torch.int64)
    exponents = exponents.clamp(EXPONENT_MIN, EXPONENT_MAX)
    if up:
        below = exponent_steps(exponents).to(steps.device) < steps
        exponents = torch.where(below, exponents + 1, exponents).clamp(EXPONENT_MIN, EXPONENT_MAX)
    return exponents


def exponent_steps(exponents: torch.Tensor) -> torch.Tensor:
    """float32 steps of grid exponents within ``[EXPONENT_MIN, EXPONENT_MAX]`` (exact: a table lookup)."""
    return STEP_GRID.to(exponents.device)[exponents - EXPONENT_MIN]


def grid_steps(steps: torch.Tensor, up: bool = False) -> torch.Tensor:
    """Steps moved onto the grid a chunk stores (:data:`STEPS_PER_OCTAVE`), so encoder and decoder scale alike."""
    return exponent_steps(step_exponents(steps, up))


@dataclass
class QuantizedTensor:
    """Integer symbols and the float32 steps that scale them back."""

    shape: tuple[int, ...]
    complex: bool
    steps: torch.Tensor  # float32, broadcastable to the real view
    symbols: torch.Tensor  # int64, the real view's shape

    def dequantize(self, reference: torch.Tensor | None = None) -> torch.Tensor:
        real = self.symbols.to(torch.float32) * self.steps
        if reference is not None:
            real = real + as_real(reference.detach()).to(torch.float32)
        return torch.view_as_complex(real.contiguous()) if self.complex else real


def finer_bits(bits: int) -> int:
    """Extra bits a chosen step may add at depth ``bits`` (alphabets stay within ``2^(MAX_SYMBOL_BITS + 1)``)."""
    return max(0, min(FINER_BITS, MAX_SYMBOL_BITS - bits))


def symbol_limit(bits: int, residual: bool) -> int:
    """Largest symbol magnitude: a residual of two values within ``±peak`` spans twice the range."""
    levels = 2 ** (bits - 1) - 1
    return 2 * levels if residual else levels


def _input_axis_second_last(values: torch.Tensor, spec: TensorSpec) -> bool:
    """Whether the matrix is laid out ``[..., in, out]`` (else ``[out, in]``), as rounding walks inputs."""
    if spec.in_axis is None or values.is_complex() or values.ndim < 2:
        raise ArgumentError("error-compensated rounding needs a real weight matrix")
    if spec.in_axis == values.ndim - 2:
        return True
    if spec.in_axis == values.ndim - 1:
        return False
    raise ArgumentError(f"a weight matrix's inputs must be one of its last two axes, not axis {spec.in_axis}")


def quantize_tensor(
    values: torch.Tensor,
    spec: TensorSpec,
    bits: int,
    reference: torch.Tensor | None = None,
    prune: float = 0.0,
    steps: torch.Tensor | None = None,
    hessian: torch.Tensor | None = None,
) -> QuantizedTensor:
    """Quantize ``values`` (or its residual from ``reference``) with a step per channel of ``spec``.

    ``steps`` (on the step grid, broadcastable to the real view) replace the
    peak-magnitude steps; symbols may then reach :data:`FINER_BITS` more bits.
    ``prune`` zeroes that fraction of the smallest-magnitude entries first.
    ``hessian`` (from :func:`nvcodec.quant.sensitivity.measure_sensitivity`; real weight
    matrices only) rounds with error compensation instead of to nearest.
    """
    real = as_real(values.detach()).to(torch.float32)
    # The step follows the values, not the residual: a residual group keeps the
    # precision of an independent one, and small residuals become small symbols.
    if spec.fixed_step is not None:  # no choice to make: the format fixes this tensor's step
        steps = torch.full(spec.step_shape, spec.fixed_step, dtype=torch.float32)
        limit = symbol_limit(bits, reference is not None)
    elif steps is None:
        steps = peak_steps(real, spec, bits)
        limit = symbol_limit(bits, reference is not None)
    else:
        steps = steps.to(torch.float32)
        limit = symbol_limit(bits + finer_bits(bits), reference is not None)
    target = real - as_real(reference.detach()).to(torch.float32) if reference is not None else real
    keep = None
    if prune > 0 and target.numel() > 1:
        threshold = target.abs().flatten().kthvalue(max(1, int(prune * target.numel()))).values
        keep = target.abs() > threshold
    if hessian is not None:
        # Rounding walks the input axis of a [..., in, out] matrix; [out, in] is turned round for it.
        in_out = _input_axis_second_last(values, spec)
        flip = (lambda t: t) if in_out else (lambda t: t.transpose(-1, -2))
        grid = flip(steps.expand_as(target))[..., :1, :]
        kept = flip(keep) if keep is not None else None
        symbols = flip(compensated_round(flip(target), grid, limit, hessian, kept)).contiguous()
    else:
        symbols = torch.clamp(torch.round(target / steps), -limit, limit).to(torch.int64)
        if keep is not None:
            symbols = torch.where(keep, symbols, torch.zeros_like(symbols))
    return QuantizedTensor(tuple(values.shape), values.is_complex(), steps, symbols)


def quantize_state(
    state: Mapping[str, torch.Tensor],
    specs: Mapping[str, TensorSpec],
    config: QuantConfig,
    plan: QuantPlan | None = None,
) -> dict[str, QuantizedTensor]:
    """Quantize every tensor of ``state`` that ``specs`` marks as quantized (raw ones are left out)."""
    plan = plan or QuantPlan()
    out = {}
    for name, values in state.items():
        spec = specs[name]
        if not spec.quantized:
            continue
        out[name] = quantize_tensor(
            values,
            spec,
            spec.bits(config),
            plan.reference[name] if plan.reference is not None else None,
            config.prune if spec.pruned else 0.0,
            plan.steps.get(name) if plan.steps is not None else None,
            plan.hessians.get(name) if plan.hessians is not None else None,
        )
    return out
