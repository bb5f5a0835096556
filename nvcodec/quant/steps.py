"""Quantization steps that spend a group's bits where the decoded frames need them.

A channel's rounding error of variance ``step^2 / 12`` adds about
``sensitivity * step^2 / 12`` to the output MSE per value, and its
entropy-coded symbols cost about ``-log2(step)`` bits, so the least MSE for a
given rate has ``step = k / sqrt(sensitivity)`` in every channel
(sensitivities from :func:`nvcodec.quant.sensitivity.measure_sensitivity`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from nvcodec.config import QuantConfig
from nvcodec.entropy.count_table import empirical_entropy_bits
from nvcodec.model.tensors import Kind, TensorSpec
from nvcodec.quant.uniform import FINER_BITS, as_real, finer_bits, grid_steps, peak_steps

COARSER_BITS = 4
"""How much coarser than its peak-magnitude step a sensitivity-chosen step may be (in bits)."""
RATE_SEARCH_STEPS = 24
"""Bisection steps on the log of ``k``: 2^-24 of the search span, far below one grid step."""
SENSITIVITY_FLOOR = 1e-12
"""Channels less sensitive than this fraction of the most sensitive one are treated as at this level."""


def quantization_steps(
    state: Mapping[str, torch.Tensor],
    specs: Mapping[str, TensorSpec],
    config: QuantConfig,
    sensitivity: Mapping[str, torch.Tensor],
    reference: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Steps of every quantized tensor of ``state``, at the rate of the configured bit depths.

    ``k`` is found by bisection so that the empirical entropy of the
    entropy-coded symbols (residuals from ``reference`` where given) equals
    that of the peak-magnitude steps at the configured depths: the depths set
    the rate, the sensitivity decides where it is spent. Each step stays within
    ``finer_bits`` more bits and :data:`COARSER_BITS` fewer than the peak step
    of its channel (bounded symbols). Vectors keep the peak steps of ``bits_vector``.
    """
    peak: dict[str, torch.Tensor] = {}
    relative: dict[str, torch.Tensor] = {}
    targets: dict[str, torch.Tensor] = {}
    for name, values in state.items():
        spec = specs[name]
        if not spec.quantized:
            continue
        real = as_real(values.detach().cpu()).to(torch.float32)
        peak[name] = peak_steps(real, spec, spec.bits(config))
        if spec.kind is Kind.VECTOR or spec.fixed_step is not None:
            continue
        sens = sensitivity[name].detach().cpu().to(torch.float32)
        relative[name] = sens.clamp(min=float(sens.max()) * SENSITIVITY_FLOOR + 1e-30).rsqrt()
        base = as_real(reference[name].detach().cpu()).to(torch.float32) if reference is not None else None
        targets[name] = real - base if base is not None else real
    if not relative:
        return peak

    def steps_at(log_scale: float) -> dict[str, torch.Tensor]:
        out = dict(peak)
        for name, rel in relative.items():
            step = peak[name]
            finer = 2 ** finer_bits(specs[name].bits(config))
            chosen = (math.exp(log_scale) * rel).clamp(step / finer, step * 2**COARSER_BITS)
            out[name] = grid_steps(chosen)
        return out

    def rate(steps: Mapping[str, torch.Tensor]) -> float:
        symbols = torch.cat([torch.round(t / steps[n]).flatten() for n, t in targets.items()])
        return empirical_entropy_bits(symbols.numpy())

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
