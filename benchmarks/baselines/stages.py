"""What HiNeRV and HNeRV-Boost share for their compression stages: the bitstream's quantizer, and a budget in stages.

Both papers train a float model first and then fine-tune it for coding
(HiNeRV: pruning, then quantization-aware training; HNeRV-Boost: quantization
with a rate term). Here those stages share the fit's budget (iterations or
seconds) in fixed fractions, each stage with its own warm-up and decay
(:func:`benchmarks.baselines.training.train`).

The quantizer a stage trains against is the one the bitstream applies
(:mod:`benchmarks.baselines.bitstream`): every tensor with two or more
dimensions viewed as ``[rows, -1]``, one step per row from the row's peak
magnitude on nvcodec's step grid, symbols rounded to nearest within
``±(2^(bits-1) - 1)``. :func:`bitstream_values` gives exactly the values a
decoder of those bytes rebuilds, so what a stage trained is what is scored.
1-D tensors (biases) are stored at 16 bits and are left as they are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from benchmarks.baselines.bitstream import tensor_table
from benchmarks.baselines.training import FitOptions, Fitting, TrainStats
from nvcodec.quant.uniform import peak_steps


def bitstream_steps(tensor: torch.Tensor, bits: int) -> torch.Tensor:
    """Steps ``[rows, 1]`` the bitstream uses for a tensor of two or more dimensions (no gradient)."""
    rows = tensor.detach().reshape(tensor.shape[0], -1).to(torch.float32)
    spec = tensor_table({"tensor": tuple(tensor.shape)})["tensor"]
    return peak_steps(rows, spec, bits)


def bitstream_values(tensor: torch.Tensor, bits: int) -> torch.Tensor:
    """The values a decoder of the bitstream at ``bits`` rebuilds for ``tensor`` (no gradient)."""
    if tensor.ndim < 2:
        return tensor.detach()
    steps = bitstream_steps(tensor, bits)
    levels = 2 ** (bits - 1) - 1
    rows = tensor.detach().reshape(tensor.shape[0], -1).to(torch.float32)
    symbols = torch.clamp(torch.round(rows / steps), -levels, levels)
    return (symbols * steps).reshape(tensor.shape).to(tensor.dtype)


def straight_through(tensor: torch.Tensor, bits: int) -> torch.Tensor:
    """:func:`bitstream_values` forward, identity backward (the straight-through estimator)."""
    return tensor + (bitstream_values(tensor, bits) - tensor).detach()


def stage_options(options: FitOptions, fraction: float) -> FitOptions:
    """``options`` with ``fraction`` of its budget (at least one iteration)."""
    return dataclasses.replace(
        options,
        iters=None if options.iters is None else max(1, round(options.iters * fraction)),
        seconds=None if options.seconds is None else options.seconds * fraction,
    )


def stage_fitting(fitting: Fitting, fraction: float) -> Fitting:
    """``fitting`` with ``fraction`` of its budget (:func:`stage_options`)."""
    return dataclasses.replace(fitting, options=stage_options(fitting.options, fraction))


def joined(stats: Sequence[TrainStats]) -> TrainStats:
    """One record of consecutive stages: iterations and seconds summed, losses in order."""
    losses = [loss for stage in stats for loss in stage.losses]
    return TrainStats(sum(s.iterations for s in stats), sum(s.seconds for s in stats), losses[-1], losses)
