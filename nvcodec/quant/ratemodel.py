"""A differentiable estimate of what a group's ANS stream costs, for rate in the training loss.

A chunk codes the symbols of all its ANS tensors in one stream, under one
table of symbol counts or, tensor by tensor where it is cheaper, under Laplace
tables with a scale per channel (:mod:`nvcodec.entropy.tensor_laplace`): the
stream spends about the empirical entropy of its symbols. Neither has a gradient, so
training uses a smooth stand-in, :class:`SymbolPrior`: one distribution over
the pooled symbols, a mixture of zero-centred discretized logistics with
learned scales and weights. Minimising its bits is fitting it by maximum
likelihood, so at the end of training it sits just above the empirical
entropy the coder reaches (``benchmarks/rate_estimate.py`` measures the gap).

The mixture is zero-centred because weights and residuals are symmetric about
zero; it has several scales because the pooled symbols mix tensors (and, for
a residual group, near-zero residuals with the few that moved). Each symbol
may also carry a *spread*, a factor on every scale: the rate-aware phase gives
each channel one (:class:`nvcodec.quant.rdtrain.CodedStandIns`), as the chunk
may give each channel its own Laplace table.
"""

from __future__ import annotations

import math

import torch
from torch import nn

COMPONENTS = 3
"""Logistic components of the mixture: a narrow, a middle and a wide one."""
SPREAD = 4.0
"""Initial ratio between neighbouring components' scales."""
PROBABILITY_FLOOR = 1e-9
"""Least probability of a symbol (about 30 bits): keeps the log finite for outliers."""


LOG2E = 1.0 / math.log(2.0)


class SymbolPrior(nn.Module):
    """A distribution over integer symbols: a mixture of logistics centred at 0, discretized to bins of width 1."""

    def __init__(self, components: int = COMPONENTS):
        super().__init__()
        self.log_scales = nn.Parameter(torch.zeros(components))
        self.logits = nn.Parameter(torch.zeros(components))

    @torch.no_grad()
    def initialize(self, symbols: torch.Tensor) -> None:
        """Centre the scales on the spread of ``symbols`` (continuous values allowed), around it by :data:`SPREAD`."""
        spread = float(symbols.detach().abs().float().mean().clamp(min=0.5))
        count = self.log_scales.numel()
        offsets = (torch.arange(count, dtype=torch.float32) - (count - 1) / 2) * math.log(SPREAD)
        # A logistic of scale s has mean absolute value 2 ln(2) s.
        self.log_scales.copy_(offsets + math.log(spread / (2 * math.log(2))))
        self.logits.zero_()

    def probability(self, symbols: torch.Tensor, spread: torch.Tensor | None = None) -> torch.Tensor:
        """Probability of the bin ``[y - 1/2, y + 1/2]`` for each (possibly noisy or soft-rounded) ``y``.

        ``spread`` (shaped like ``symbols``) widens every component's scale by that factor for its symbol:
        one mixture shape, scaled to each symbol's channel.
        """
        inverse_scale = torch.exp(-self.log_scales)
        upper, lower = symbols + 0.5, symbols - 0.5
        if spread is not None:
            upper, lower = upper / spread, lower / spread
        mass = torch.sigmoid(upper.unsqueeze(-1) * inverse_scale) - torch.sigmoid(lower.unsqueeze(-1) * inverse_scale)
        return (mass * torch.softmax(self.logits, dim=0)).sum(-1).clamp(min=PROBABILITY_FLOOR)

    def bits(self, symbols: torch.Tensor, spread: torch.Tensor | None = None) -> torch.Tensor:
        """Total bits of ``symbols`` under this distribution (a scalar with gradients); ``spread`` as
        :meth:`probability` takes it."""
        # Symmetric: y and -y have one mass. Far out on the positive side both sigmoids are near 1 and
        # their difference loses its digits; on the negative side they are small and exact.
        return -torch.log2(self.probability(-symbols.abs(), spread)).sum()


class LaplacePrior(nn.Module):
    """A zero-mean Laplace over integer symbols, discretized to bins of width 1: the coder's own model.

    A version-4 chunk codes each channel of a tensor under a zero-mean integer Laplace table
    (:mod:`nvcodec.entropy.tensor_laplace`). With a scale per symbol (one learned scale times the
    symbol's ``spread``, which the rate-aware phase learns per channel) this prior is that model made
    smooth, so training prices the symbols as the chunk will. Its bits are also cheaper to compute than
    a mixture's: past half a step from zero a Laplace's bits are linear in ``|y|``, one multiply-add, and
    near zero two exponentials, against two sigmoids per component of a mixture.
    """

    def __init__(self) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(()))

    @torch.no_grad()
    def initialize(self, symbols: torch.Tensor) -> None:
        """Set the scale to the mean magnitude of ``symbols`` (a Laplace's ``E|y|``), floored at 1/2."""
        self.log_scale.fill_(math.log(float(symbols.detach().abs().float().mean().clamp(min=0.5))))

    def bits_each(self, symbols: torch.Tensor, spread: torch.Tensor | None = None) -> torch.Tensor:
        """Bits of each (possibly noisy or soft-rounded) ``y``: ``-log2`` of the Laplace's mass on
        ``[y - 1/2, y + 1/2]``, at scale ``exp(log_scale) * spread``; at most ``-log2`` of the floor.

        With ``a = |y|`` and ``r = 1/b``: for ``a >= 1/2`` the mass is ``(1 - e^-r) / 2 * e^(-(a - 1/2) r)``,
        so the bits are ``(a - 1/2) r log2(e)`` plus a constant of the scale; below, the bin straddles
        zero and the mass is ``1 - (e^(-(1/2 - a) r) + e^(-(1/2 + a) r)) / 2``.
        """
        a = symbols.abs()
        rate = torch.exp(-self.log_scale)
        if spread is not None:
            rate = rate / spread
        # log(1 - e^-r) without cancellation at small r: log(-expm1(-r)).
        tail = (a - 0.5) * rate * LOG2E + (1.0 - torch.log2(-torch.expm1(-rate)))
        # The same mass as -(expm1(-(1/2 - a) r) + expm1(-(1/2 + a) r)) / 2, exact where the scale is wide;
        # a clamped to the bin's edge, so the branch where() drops stays finite and its gradient 0, not NaN.
        inner = a.clamp(max=0.5)
        centre = -torch.log2(-0.5 * (torch.expm1((inner - 0.5) * rate) + torch.expm1(-(inner + 0.5) * rate)))
        return torch.where(a < 0.5, centre, tail).clamp(max=-math.log2(PROBABILITY_FLOOR))

    def probability(self, symbols: torch.Tensor, spread: torch.Tensor | None = None) -> torch.Tensor:
        """Probability of the bin ``[y - 1/2, y + 1/2]`` for each ``y`` (floored), as :class:`SymbolPrior`'s."""
        return torch.exp2(-self.bits_each(symbols, spread))

    def bits(self, symbols: torch.Tensor, spread: torch.Tensor | None = None) -> torch.Tensor:
        """Total bits of ``symbols`` (a scalar with gradients); ``spread`` as :meth:`bits_each` takes it."""
        return self.bits_each(symbols, spread).sum()


RatePrior = SymbolPrior | LaplacePrior
"""A training prior: what an entropy model's :meth:`~nvcodec.entropy.model.EntropyModel.rate_model` gives."""

__all__ = ["LaplacePrior", "RatePrior", "SymbolPrior"]
