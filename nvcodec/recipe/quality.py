"""The quality knob: its lambda, and the one rule that turns a quality into the config of a video.

Everything that encodes at a quality (``encode()``, ``actv-encode`` serial and
on Ray, the benchmarks) takes its config from :func:`config_for_quality`, so
the rule exists once: the width, latent grids and group length of the quality
(:mod:`nvcodec.recipe.shape`) where the user gave none, then short trial fits
that drop the latent grids where they do not pay on these frames and widen the
model one step where that pays (:mod:`nvcodec.recipe.trials`), then the fit
length of the quality where the user gave no steps.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from nvcodec.config import Config
from nvcodec.errors import ArgumentError
from nvcodec.quant.rdtrain import lambda_for_quality
from nvcodec.recipe.shape import Given, fit_length_for_quality, shaped_for_quality, with_fit_length
from nvcodec.recipe.trials import WidthChoice, grids_for_content, width_for_content
from nvcodec.source import FrameSource

if TYPE_CHECKING:
    from nvcodec.fit import GroupFit

RATE_SHARE = 0.3
"""Steps of the rate-aware phase after each group's fit, as a share of the fit's steps. A rate-aware step
costs about two fit steps. Measured on the ladders of four bench clips and three held-out ones
(``benchmarks/results/README.md``, "The rate-aware phase's length"): 0.3 codes as well as 0.6 did
(BD-rate -2.5 to +0.5%) in 0.75-0.83x the encode time; 0.15 (carphone and bikes) matched it in BD-rate
but ended bikes' curve 0.58 dB lower."""
DEFAULT_QUALITY = 25.0
"""``actv-encode``'s quality when none is given: ``lambda = 10^-2.5``."""


@dataclass(frozen=True)
class RateTrade:
    """Rate in the loss: ``lambda`` (MSE per bit per pixel) and the length of the phase that trains with it."""

    lambda_: float
    share: float = RATE_SHARE

    def __post_init__(self) -> None:
        if not (isinstance(self.lambda_, (int, float)) and math.isfinite(self.lambda_) and self.lambda_ > 0):
            raise ArgumentError(f"lambda must be a positive number, got {self.lambda_!r}")
        if not 0 < self.share <= 1:
            raise ArgumentError(f"the rate-aware phase's share of the fit must be in (0, 1], got {self.share!r}")

    @classmethod
    def for_quality(cls, quality: float) -> RateTrade:
        """The trade of ``--quality Q`` (:func:`~nvcodec.quant.rdtrain.lambda_for_quality`)."""
        try:
            return cls(lambda_for_quality(quality))
        except ValueError as exc:
            raise ArgumentError(str(exc)) from None

    @property
    def quality(self) -> float:
        """The ``--quality`` of this lambda (fractional when the lambda was given directly)."""
        return -10 * math.log10(self.lambda_)

    def iterations(self, fit: GroupFit, config: Config) -> int:
        """Steps of the rate-aware phase: the share of the group's fit (of a warm group's, when not recorded)."""
        return max(1, round(self.share * (fit.iterations or config.fit.iters_warm)))


TYPICAL_RATES = ((12.0, 0.049), (18.0, 0.077), (24.0, 0.264), (30.0, 0.396), (36.0, 0.927))
"""``(quality, bpp)``: the median rate of each quality of the ladder over the four bench clips at 176×144,
``fast`` preset (``benchmarks/results/rd_rate``: one patch up to Q 33, the width trial scaled by the
patches, the grid trial at Q 36). Only where a rate target starts: the target's own control then moves
lambda to the content."""


def quality_for_bpp(max_bpp: float) -> float:
    """The quality whose typical rate is ``max_bpp`` (log-linear between :data:`TYPICAL_RATES`, clamped to
    their ends): where ``--max-bpp`` alone starts, before rate control fits lambda to the video."""
    if not (math.isfinite(max_bpp) and max_bpp > 0):
        raise ArgumentError(f"the bpp target must be a positive number, got {max_bpp!r}")
    rates = [math.log(bpp) for _, bpp in TYPICAL_RATES]
    qualities = [q for q, _ in TYPICAL_RATES]
    target = math.log(max_bpp)
    if target <= rates[0]:
        return qualities[0]
    for (q0, r0), (q1, r1) in zip(zip(qualities, rates), zip(qualities[1:], rates[1:])):
        if target <= r1:
            return round(q0 + (q1 - q0) * (target - r0) / (r1 - r0), 1)
    return qualities[-1]


def rate_trade(quality: float | None, lambda_: float | None) -> RateTrade | None:
    """The rate-in-the-loss setting of ``quality`` or ``lambda_`` (at most one); None for fixed-depth coding."""
    if quality is not None and lambda_ is not None:
        raise ArgumentError("give a quality or a lambda, not both")
    if lambda_ is not None:
        return RateTrade(lambda_)
    return RateTrade.for_quality(quality) if quality is not None else None


def config_for_quality(
    config: Config,
    trade: RateTrade,
    frames: np.ndarray | torch.Tensor | FrameSource | None = None,
    given: Given = Given(),  # noqa: B008  # frozen
) -> tuple[Config, WidthChoice]:
    """``config`` shaped for ``trade``'s quality: its width, grids and group length unless ``given``, then,
    with ``frames``, the grids and width of the trial fits at its lambda, and last the fit length of the
    quality unless the user gave steps. Returns the config and the trials' choice.

    Encoder, CLI (serial and Ray) and benchmarks all take their config from here, once per video: unlike
    :func:`~nvcodec.recipe.shape.shaped_for_quality`, applying it twice would lengthen the fit twice.
    """
    config = shaped_for_quality(config, trade.quality, given)
    width = config.model.hidden
    if given.width or given.masked or frames is None:
        choice = WidthChoice(width, width)
    else:  # the trials run at the preset's length, as calibrated
        grids = grids_for_content(frames, config) if not given.grids else None
        if grids is not None:
            config = grids.apply(config)
        choice = width_for_content(frames, config, trade.lambda_, grids.kept_mse if grids else None)
        config = choice.apply(config)
        if grids is not None:
            choice = dataclasses.replace(choice, grids=grids)
    if not given.steps:
        config = dataclasses.replace(config, fit=with_fit_length(config.fit, fit_length_for_quality(trade.quality)))
    return config, choice


__all__ = [
    "DEFAULT_QUALITY",
    "RATE_SHARE",
    "TYPICAL_RATES",
    "Given",
    "RateTrade",
    "config_for_quality",
    "quality_for_bpp",
    "rate_trade",
]
