"""Uniform quantization of a group's parameters, and its training-time twin.

Every tensor is quantized with one step per output channel (the last axis of
frame-INR weights ``[P, in, out]`` per patch, the rows of ``nn.Linear``
weights, one step per patch for latents) or one step per tensor for small
vectors. Symbols are signed integers in ``[-(2^(b-1) - 1), 2^(b-1) - 1]``.

A group after the first may be coded as a *residual* of the previous group's
decoded parameters: warm start makes consecutive groups close, so residuals
need fewer distinct symbols. ``fake_quantize`` applies the same rounding with
a straight-through gradient, for quantization-aware fine-tuning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from nvcodec.config import QuantConfig

# Names of parameters that are stored bit-exact as float32 instead (tiny and
# not learned: the random Fourier frequencies).
RAW_TENSORS = ("bias_inr.frequencies",)
STEP_MIN, STEP_MAX = 2.0**-14, 65504.0
"""Range of a quantization step: normal float16 numbers."""


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


def _as_real(tensor: torch.Tensor) -> torch.Tensor:
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
            real = real + _as_real(reference.detach()).to(torch.float32)
        return torch.view_as_complex(real.contiguous()) if self.complex else real


def _symbol_limit(bits: int, residual: bool) -> int:
    """Largest symbol magnitude: a residual of two values within ``±peak`` spans twice the range."""
    levels = 2 ** (bits - 1) - 1
    return 2 * levels if residual else levels


def quantize_tensor(
    values: torch.Tensor, bits: int, reference: torch.Tensor | None = None, prune: float = 0.0
) -> QuantizedTensor:
    """Quantize ``values`` (or its residual from ``reference``) with per-channel steps.

    ``prune`` zeroes that fraction of the smallest-magnitude entries first.
    """
    real = _as_real(values.detach()).to(torch.float32)
    # The step follows the values, not the residual: a residual group keeps the
    # precision of an independent one, and small residuals become small symbols.
    steps = compute_steps(real, values.ndim, bits)
    target = real - _as_real(reference.detach()).to(torch.float32) if reference is not None else real
    if prune > 0 and target.numel() > 1:
        threshold = target.abs().flatten().kthvalue(max(1, int(prune * target.numel()))).values
        target = torch.where(target.abs() <= threshold, torch.zeros_like(target), target)
    limit = _symbol_limit(bits, reference is not None)
    symbols = torch.clamp(torch.round(target / steps), -limit, limit).to(torch.int64)
    return QuantizedTensor(tuple(values.shape), values.is_complex(), steps, symbols)


def quantize_state(
    state: Mapping[str, torch.Tensor],
    config: QuantConfig,
    reference: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, QuantizedTensor]:
    """Quantize every learnable tensor of a group's ``state_dict`` (raw tensors excluded)."""
    out = {}
    for name, values in state.items():
        if name in RAW_TENSORS:
            continue
        ref = reference[name] if reference is not None else None
        prune = config.prune if parameter_kind(name) == "frame" else 0.0
        out[name] = quantize_tensor(values, bits_for(name, config, values.ndim), ref, prune)
    return out


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad


def fake_quantize(values: torch.Tensor, bits: int, reference: torch.Tensor | None = None) -> torch.Tensor:
    """Round-trip through the quantizer with a straight-through gradient (for QAT)."""
    real = _as_real(values)
    base = _as_real(reference.detach()) if reference is not None else None
    residual = real - base if base is not None else real
    steps = compute_steps(real, values.ndim, bits)
    limit = _symbol_limit(bits, base is not None)
    quantized = torch.clamp(_RoundSTE.apply(residual / steps), -limit, limit) * steps
    out = quantized + base if base is not None else quantized
    return torch.view_as_complex(out.contiguous()) if values.is_complex() else out
