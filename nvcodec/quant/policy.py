"""The encoder's recipe for coding one fitted group: depth, steps, rounding and fine-tuning.

Everything here is the encoder's free choice under the format: the decoder
reads integers and steps and never learns how they were chosen. The recipe,
in order: rate control picks the bit depth (:mod:`~nvcodec.quant.ratecontrol`),
the output sensitivity of every channel picks the steps
(:mod:`~nvcodec.quant.steps`), optional fine-tuning rounds the frame INR in
stages (:mod:`~nvcodec.quant.qat`), and error-compensated rounding picks the
symbols (:mod:`~nvcodec.quant.rounding`). :class:`CodingPolicy` switches the
steps and the rounding back to their plain forms for benchmarks.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from nvcodec.config import Config, FitConfig, QuantConfig
from nvcodec.errors import ArgumentError
from nvcodec.fit import GroupFit, fit_group, stream_seed
from nvcodec.payload import PackedGroup, pack_group
from nvcodec.quant.qat import finetune_for_quantization
from nvcodec.quant.ratecontrol import RateControl
from nvcodec.quant.rdtrain import RateTerm, lambda_for_quality
from nvcodec.quant.sensitivity import measure
from nvcodec.quant.steps import quantization_steps
from nvcodec.quant.uniform import MAX_SYMBOL_BITS, QuantPlan, grid_steps

STEP_RULES = ("sensitivity", "peak")
"""``sensitivity`` spends the bits where the decoded frames need them (:mod:`nvcodec.quant.steps`);
``peak`` is each channel's peak magnitude over the depth's levels."""

ROUNDINGS = ("compensated", "nearest")
"""``compensated`` rounds so that errors cancel in each layer's output (:mod:`nvcodec.quant.rounding`);
``nearest`` rounds every value on its own."""


@dataclass(frozen=True)
class CodingPolicy:
    """How steps and symbols are chosen; the defaults are the encoder's, the others are for comparison."""

    step_rule: str = "sensitivity"
    rounding: str = "compensated"

    def __post_init__(self) -> None:
        if self.step_rule not in STEP_RULES:
            raise ArgumentError(f"unknown step rule {self.step_rule!r}; use {' or '.join(STEP_RULES)}")
        if self.rounding not in ROUNDINGS:
            raise ArgumentError(f"unknown rounding {self.rounding!r}; use {' or '.join(ROUNDINGS)}")

    @property
    def needs_measurement(self) -> bool:
        return (self.step_rule, self.rounding) != ("peak", "nearest")


ENCODER_POLICY = CodingPolicy()
"""What :func:`nvcodec.encode` uses."""


def code_group(
    fit: GroupFit,
    config: Config,
    quant: QuantConfig,
    reference: Mapping[str, torch.Tensor] | None,
    rate: RateControl | None = None,
    policy: CodingPolicy = ENCODER_POLICY,
    trade: RateTrade | None = None,
) -> tuple[PackedGroup, QuantConfig]:
    """Fine-tune and code one group within what rate control allows.

    ``reference`` is the previous group's decoded parameters for a residual
    group, None for an intra one. With ``trade``, the group is trained with
    rate in the loss and coded with its learned steps (:func:`code_with_rate`);
    without, it is fine-tuned if ``quant.qat_iters`` and coded at the depth
    rate control allows. Returns the packed group and the depths used.
    Fine-tuning changes ``fit.group`` in place.
    """
    if trade is not None:
        return code_with_rate(fit, config, quant, reference, trade, rate), quant
    specs = fit.group.tensors
    cost = measure(fit.group) if policy.needs_measurement else None
    sensitivity = cost.sensitivity if cost is not None and policy.step_rule == "sensitivity" else None
    hessians = cost.hessians if cost is not None and policy.rounding == "compensated" else None

    def plan_for(state: Mapping[str, torch.Tensor], q: QuantConfig) -> QuantPlan:
        steps = quantization_steps(state, specs, q, sensitivity, reference) if sensitivity is not None else None
        return QuantPlan(reference, steps, hessians)

    def payload_bytes(state: Mapping[str, torch.Tensor]) -> Callable[[QuantConfig], int]:
        return lambda q: len(pack_group(state, specs, q, plan_for(state, q)).payload)

    state = fit.group.state_dict()
    if rate is not None:
        quant = rate.choose(fit.group.end, quant, payload_bytes(state))
    plan = plan_for(state, quant)  # fixed before fine-tuning, so it sees the grid it will be coded on
    if quant.qat_iters:
        generator = torch.Generator(device=fit.frames.device)
        generator.manual_seed(stream_seed(config.fit.seed, "qat", fit.index))
        finetune_for_quantization(fit, config, quant, plan, generator)
        state = fit.group.state_dict()
        if hessians is not None:  # the layers' inputs moved with the weights
            hessians = measure(fit.group).hessians
            plan = dataclasses.replace(plan, hessians=hessians)
    packed = pack_group(state, specs, quant, plan)
    if rate is not None and len(packed.payload) > rate.allowance(fit.group.end):
        # Fine-tuning moved the weights enough to need fewer bits still.
        quant = rate.choose(fit.group.end, quant, payload_bytes(state))
        packed = pack_group(state, specs, quant, plan_for(state, quant))
    return packed, quant


RATE_SHARE = 0.6
"""Steps of the rate-aware phase after each group's fit, as a share of the fit's steps. The phase replaces
the fixed-depth coder's sensitivity measurement and compensated rounding, which take about as long."""
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


WIDTH_STEPS: tuple[tuple[float, int], ...] = ((21.0, 24), (27.0, 36), (33.0, 48))
"""``(quality, width)``: below each quality, the frame-INR width of least cost; above the last, ``WIDEST``.

At one lambda the model's width is a rate-distortion choice like the steps: a
wider model costs more bits and fits better. Measured by
``python -m benchmarks.width_quality``: per quality, the width whose whole
encode has the least J = MSE + lambda * bpp; of 24/36/48 on carphone and bikes
(``benchmarks/results/width_quality.json``), and of 48/64 at Q 36, at the group
length of :func:`fit_for_quality`, on four clips (``width_quality_groups.json``).
Where the next width up pays on the video at hand, short trial fits find it
and the encoder takes it (:mod:`nvcodec.quant.content`).
"""
WIDEST = 64


def _step_for(quality: float, steps: tuple[tuple[float, int], ...], last: int) -> int:
    """The value of the first ``(below, value)`` step that ``quality`` lies below; ``last`` above them all."""
    return next((value for below, value in steps if quality < below), last)


def width_for_quality(quality: float) -> int:
    """The frame-INR width (``ModelConfig.hidden``) that ``actv-encode --quality`` uses when none is given."""
    return _step_for(quality, WIDTH_STEPS, WIDEST)


GROUP_STEPS: tuple[tuple[float, int], ...] = ((24.0, 30),)
"""``(quality, frames)``: below each quality, the group length of least cost; above the last, ``SHORTEST_GROUP``.

Every group pays once for its frame INR and bias INR. At a low quality few,
long groups spread that cost over more frames; at a high one shorter groups
give each frame more of a model. Measured by ``python -m benchmarks.group_quality``
(``benchmarks/results/group_quality.json``): at equal fit steps per frame, the
group length of 10, 15 or 30 frames whose whole encode has the least
J = MSE + lambda * bpp, on carphone and bikes.
"""
SHORTEST_GROUP = 15


def group_size_for_quality(quality: float) -> int:
    """Frames per group (``FitConfig.group_size``) that ``actv-encode --quality`` uses when none is given."""
    return _step_for(quality, GROUP_STEPS, SHORTEST_GROUP)


def shaped_for_quality(config: Config, quality: float) -> Config:
    """``config`` at the width and group length of ``quality``, as ``actv-encode --quality`` picks them
    when neither is given (before the trial fits of :mod:`nvcodec.quant.content`)."""
    model = dataclasses.replace(config.model, hidden=width_for_quality(quality))
    return Config(model, fit_for_quality(quality, config.fit))


def fit_for_quality(quality: float, fit: FitConfig, keep_steps: bool = False) -> FitConfig:
    """``fit`` with the group length of ``quality`` (:func:`with_group_length`)."""
    return with_group_length(fit, group_size_for_quality(quality), keep_steps)


def with_group_length(fit: FitConfig, frames: int, keep_steps: bool = False) -> FitConfig:
    """``fit`` with groups of ``frames``, at the same fit steps per frame unless ``keep_steps``.

    ``fit``'s warm-group steps are taken as meant for its own group length and
    scale with the new one; the first group keeps its extra steps for starting
    cold. So a video costs about the same fit steps whatever its group length,
    and the length trades rate against distortion, not against encode time.
    ``keep_steps`` leaves the steps alone, for steps a user gave.
    """
    if keep_steps:
        return dataclasses.replace(fit, group_size=frames)
    warm = max(1, round(fit.iters_warm * frames / fit.group_size))
    return dataclasses.replace(fit, group_size=frames, iters_warm=warm, iters=max(1, fit.iters + warm - fit.iters_warm))


RATE_PHASE_LR = 0.1
"""Peak learning rate of the rate-aware phase, relative to the fit's: it refines a fitted group."""
COARSER_STEP = 2**0.25
"""Factor by which rate control coarsens all learned steps at a time when a group overruns its share."""


def train_with_rate(
    fit: GroupFit, config: Config, quant: QuantConfig, reference: Mapping[str, torch.Tensor] | None, trade: RateTrade
) -> RateTerm:
    """Train ``fit.group`` in place with ``D + lambda * bpp``; returns the rate term with its learned steps."""
    generator = torch.Generator(device=fit.frames.device)
    generator.manual_seed(stream_seed(config.fit.seed, "rate", fit.index))
    device = fit.group.device
    term = RateTerm(
        fit.group,
        quant,
        {n: t.to(device) for n, t in reference.items()} if reference is not None else None,
        trade.lambda_,
        generator,
    )
    phase = Config(config.model, dataclasses.replace(config.fit, lr=config.fit.lr * RATE_PHASE_LR))
    fit.group.train()
    fit_group(
        fit.group,
        fit.frames,
        fit.taus,
        trade.iterations(fit, config),
        phase,
        mask=fit.mask,
        generator=generator,
        rate=term,
    )
    fit.group.eval()
    return term


def code_with_rate(
    fit: GroupFit,
    config: Config,
    quant: QuantConfig,
    reference: Mapping[str, torch.Tensor] | None,
    trade: RateTrade,
    rate: RateControl | None = None,
) -> PackedGroup:
    """Train with rate in the loss, then code the trained symbols on the learned steps.

    Where rate control finds the group over its share, every learned step is
    made coarser by :data:`COARSER_STEP` until it fits (or symbols run out).
    """
    term = train_with_rate(fit, config, quant, reference, trade)
    state = fit.group.state_dict()
    specs = fit.group.tensors
    learned = term.steps()  # every quantized tensor's
    packed = pack_group(state, specs, quant, QuantPlan(reference, learned))
    if rate is not None:
        allowance = rate.allowance(fit.group.end)
        scale = 1.0
        while len(packed.payload) > allowance and scale < 2**MAX_SYMBOL_BITS:
            scale *= COARSER_STEP
            coarser = {n: grid_steps(s * scale) for n, s in learned.items()}
            packed = pack_group(state, specs, quant, QuantPlan(reference, coarser))
    return dataclasses.replace(packed, estimated_bits=term.estimated_bits())
