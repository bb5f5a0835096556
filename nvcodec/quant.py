"""Uniform quantization of a group's parameters: steps, symbols and residuals.

Every tensor is quantized with one step per output channel (the last axis of
frame-INR weights ``[P, in, out]`` per patch, the rows of ``nn.Linear``
weights, one step per patch for latents) or one step per tensor for small
vectors. Symbols are signed integers in ``[-(2^(b-1) - 1), 2^(b-1) - 1]``.

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
from nvcodec.rounding import compensated_round

# Names of parameters that are stored bit-exact as float32 instead (tiny and
# not learned: the random Fourier frequencies).
RAW_TENSORS = ("bias_inr.frequencies",)
STEP_MIN, STEP_MAX = 2.0**-14, 65504.0
"""Range of a quantization step: normal float16 numbers."""
FINER_BITS = 3
"""How much finer than its peak-magnitude step a sensitivity-chosen step may be (in bits)."""
COARSER_BITS = 4
"""How much coarser than its peak-magnitude step a sensitivity-chosen step may be (in bits)."""
RATE_SEARCH_STEPS = 24


def parameter_kind(name: str) -> str:
    """``frame`` (frame-INR weights), ``latent`` (per-patch latents) or ``bias`` (bias-INR network)."""
    if name.startswith("frame_inr."):
        return "frame"
    if name == "bias_inr.latents":
        return "latent"
    return "bias"


def channel_axes(ndim: int) -> tuple[int, ...]:
    """Axes that keep their own step: output channels of weights, patches of latents."""
    if ndim == 3:  # frame INR [P, in, out]: per patch and output channel
        return (0, 2)
    if ndim == 2:  # nn.Linear [out, in] and latents [P, dz]: per row
        return (0,)
    return ()


def bits_for(name: str, config: QuantConfig, ndim: int = 2) -> int:
    """Bit depth of a tensor: 1-D tensors (biases) have their own, the rest go by kind."""
    if ndim <= 1:
        return config.bits_vector
    kind = parameter_kind(name)
    return {"frame": config.bits_frame, "latent": config.bits_latent, "bias": config.bits_bias}[kind]


def as_real(tensor: torch.Tensor) -> torch.Tensor:
    """Complex tensors quantize their real and imaginary parts as a trailing axis of 2."""
    return torch.view_as_real(tensor) if tensor.is_complex() else tensor


def compute_steps(real: torch.Tensor, ndim: int, bits: int) -> torch.Tensor:
    """float32 steps broadcastable to ``real`` from its per-channel peak magnitude.

    ``real`` is the real view of a tensor that had ``ndim`` dimensions (a
    complex tensor's real and imaginary parts share a step).
    """
    real = real.detach()
    axes = channel_axes(ndim)
    reduce = [d for d in range(real.ndim) if d not in axes]
    peak = real.abs().amax(dim=reduce, keepdim=True) if reduce else real.abs()
    levels = 2 ** (bits - 1) - 1
    steps = (peak / levels).to(torch.float32)
    # An all-zero channel still needs a valid step; any positive value decodes to 0.
    steps = torch.where(steps > 0, steps, torch.ones_like(steps))
    # Steps are stored as float16: round them here so encoder and decoder use the same value.
    return steps.clamp(STEP_MIN, STEP_MAX).to(torch.float16).to(torch.float32)


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
    """Extra bits a sensitivity-chosen step may add at depth ``bits`` (alphabets stay within 2^17)."""
    return max(0, min(FINER_BITS, 16 - bits))


def _symbol_limit(bits: int, residual: bool) -> int:
    """Largest symbol magnitude: a residual of two values within ``±peak`` spans twice the range."""
    levels = 2 ** (bits - 1) - 1
    return 2 * levels if residual else levels


def quantize_tensor(
    values: torch.Tensor,
    bits: int,
    reference: torch.Tensor | None = None,
    prune: float = 0.0,
    steps: torch.Tensor | None = None,
    hessian: torch.Tensor | None = None,
) -> QuantizedTensor:
    """Quantize ``values`` (or its residual from ``reference``) with per-channel steps.

    ``steps`` (float16-exact, broadcastable to the real view) replace the
    peak-magnitude steps; symbols may then reach :data:`FINER_BITS` more bits.
    ``prune`` zeroes that fraction of the smallest-magnitude entries first.
    ``hessian`` (from :func:`nvcodec.sensitivity.measure`; real weight
    matrices only) rounds with error compensation instead of to nearest.
    """
    real = as_real(values.detach()).to(torch.float32)
    # The step follows the values, not the residual: a residual group keeps the
    # precision of an independent one, and small residuals become small symbols.
    if steps is None:
        steps = compute_steps(real, values.ndim, bits)
        limit = _symbol_limit(bits, reference is not None)
    else:
        steps = steps.to(torch.float32)
        limit = _symbol_limit(bits + finer_bits(bits), reference is not None)
    target = real - as_real(reference.detach()).to(torch.float32) if reference is not None else real
    keep = None
    if prune > 0 and target.numel() > 1:
        threshold = target.abs().flatten().kthvalue(max(1, int(prune * target.numel()))).values
        keep = target.abs() > threshold
    if hessian is not None:
        if values.is_complex() or values.ndim not in (2, 3):
            raise ArgumentError("error-compensated rounding needs a real weight matrix")
        # Rounding walks the input axis (1 in both layouts): frame-INR weights
        # are [P, in, out] and nn.Linear's [out, in], which is turned to [in, out].
        flip = (lambda t: t.transpose(-1, -2)) if values.ndim == 2 else (lambda t: t)
        grid = steps.expand_as(target)[:, :1]
        kept = flip(keep) if keep is not None else None
        symbols = flip(compensated_round(flip(target), flip(grid), limit, hessian, kept)).contiguous()
    else:
        symbols = torch.clamp(torch.round(target / steps), -limit, limit).to(torch.int64)
        if keep is not None:
            symbols = torch.where(keep, symbols, torch.zeros_like(symbols))
    return QuantizedTensor(tuple(values.shape), values.is_complex(), steps, symbols)


def quantize_state(
    state: Mapping[str, torch.Tensor],
    config: QuantConfig,
    reference: Mapping[str, torch.Tensor] | None = None,
    steps: Mapping[str, torch.Tensor] | None = None,
    hessians: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, QuantizedTensor]:
    """Quantize every learnable tensor of a group's ``state_dict`` (raw tensors excluded).

    ``steps`` (from :func:`quantization_steps`) replace the peak-magnitude steps;
    tensors named in ``hessians`` get error-compensated rounding.
    """
    out = {}
    for name, values in state.items():
        if name in RAW_TENSORS:
            continue
        ref = reference[name] if reference is not None else None
        prune = config.prune if parameter_kind(name) == "frame" else 0.0
        step = steps[name] if steps is not None else None
        hessian = hessians.get(name) if hessians is not None else None
        out[name] = quantize_tensor(values, bits_for(name, config, values.ndim), ref, prune, step, hessian)
    return out


def _entropy_bits(symbols: torch.Tensor) -> float:
    _, counts = torch.unique(symbols, return_counts=True)
    counts = counts.to(torch.float64)
    return float(-(counts * torch.log2(counts / counts.sum())).sum())


def quantization_steps(
    state: Mapping[str, torch.Tensor],
    config: QuantConfig,
    sensitivity: Mapping[str, torch.Tensor],
    reference: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Steps that spend a group's bits where the decoded frames need them.

    A channel's rounding error of variance ``step^2 / 12`` adds about
    ``sensitivity * step^2 / 12`` to the output MSE per value, and its
    entropy-coded symbols cost about ``-log2(step)`` bits, so the least MSE for
    a given rate has ``step = k / sqrt(sensitivity)`` in every channel. ``k``
    is found by bisection so that the empirical entropy of the entropy-coded
    symbols (residuals from ``reference`` where given) equals that of the
    peak-magnitude steps at the configured depths: the depths set the rate,
    the sensitivity decides where it is spent. Each step stays within
    ``finer_bits`` more bits and ``COARSER_BITS`` fewer than the peak step of
    its channel (bounded symbols). 1-D tensors keep the peak steps of
    ``bits_vector``.
    """
    peak: dict[str, torch.Tensor] = {}
    relative: dict[str, torch.Tensor] = {}
    targets: dict[str, torch.Tensor] = {}
    for name, values in state.items():
        if name in RAW_TENSORS:
            continue
        real = as_real(values.detach().cpu()).to(torch.float32)
        peak[name] = compute_steps(real, values.ndim, bits_for(name, config, values.ndim))
        if values.ndim < 2:
            continue
        sens = sensitivity[name].detach().cpu().to(torch.float32)
        relative[name] = sens.clamp(min=float(sens.max()) * 1e-12 + 1e-30).rsqrt()
        base = as_real(reference[name].detach().cpu()).to(torch.float32) if reference is not None else None
        targets[name] = real - base if base is not None else real
    if not relative:
        return peak

    def steps_at(log_scale: float) -> dict[str, torch.Tensor]:
        out = dict(peak)
        for name, rel in relative.items():
            step = peak[name]
            finer = 2 ** finer_bits(bits_for(name, config, 2))
            chosen = (math.exp(log_scale) * rel).clamp(step / finer, step * 2**COARSER_BITS)
            out[name] = chosen.clamp(STEP_MIN, STEP_MAX).to(torch.float16).to(torch.float32)
        return out

    def rate(steps: Mapping[str, torch.Tensor]) -> float:
        return _entropy_bits(torch.cat([torch.round(t / steps[n]).flatten() for n, t in targets.items()]))

    goal = rate(peak)
    # Start from the scale that keeps the mean log-step of the peak steps, then bisect.
    log_peak = sum(float(torch.log(peak[n]).expand_as(t).sum()) for n, t in targets.items())
    log_rel = sum(float(torch.log(relative[n]).expand_as(t).sum()) for n, t in targets.items())
    centre = (log_peak - log_rel) / sum(t.numel() for t in targets.values())
    span = math.log(2.0) * (FINER_BITS + COARSER_BITS)
    low, high = centre - span, centre + span  # rate falls as the scale grows
    for _ in range(RATE_SEARCH_STEPS):
        middle = (low + high) / 2
        if rate(steps_at(middle)) > goal:
            low = middle
        else:
            high = middle
    return steps_at(high)
