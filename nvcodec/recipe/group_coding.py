"""The encoder's recipe for coding one fitted group: depth, steps, rounding, fine-tuning, or rate in the loss.

Everything here is the encoder's free choice under the format: the decoder
reads integers and steps and never learns how they were chosen. The recipe,
in order: rate control picks the bit depth (:mod:`~nvcodec.quant.ratecontrol`),
the output sensitivity of every channel picks the steps
(:mod:`~nvcodec.quant.steps`), optional fine-tuning rounds the frame INR in
stages (:mod:`~nvcodec.recipe.qat`), and error-compensated rounding picks the
symbols (:mod:`~nvcodec.quant.rounding`). :class:`CodingPolicy` switches the
steps and the rounding back to their plain forms for benchmarks.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from nvcodec.config import Config, QuantConfig
from nvcodec.errors import ArgumentError
from nvcodec.fit import FitData, GroupFit, fit_group, stream_seed
from nvcodec.model.tensors import Coding, TensorSpec
from nvcodec.payload import PackedGroup, pack_group
from nvcodec.quant.context_rate import fit_arm
from nvcodec.quant.ratecontrol import LAMBDA_SCALE_RANGE, RateControl
from nvcodec.quant.rdtrain import RateTerm
from nvcodec.quant.sensitivity import measure_sensitivity
from nvcodec.quant.steps import quantization_steps
from nvcodec.quant.uniform import MAX_SYMBOL_BITS, QuantPlan, grid_steps, quantize_state
from nvcodec.recipe.qat import finetune_for_quantization
from nvcodec.recipe.quality import RateTrade

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
    cost = measure_sensitivity(fit.group) if policy.needs_measurement else None
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
            hessians = measure_sensitivity(fit.group).hessians
            plan = dataclasses.replace(plan, hessians=hessians)
    state = with_fitted_context(state, specs, quant, plan)
    packed = pack_group(state, specs, quant, plan)
    if rate is not None and len(packed.payload) > rate.allowance(fit.group.end):
        # Fine-tuning moved the weights enough to need fewer bits still.
        quant = rate.choose(fit.group.end, quant, payload_bytes(state))
        packed = pack_group(state, specs, quant, plan_for(state, quant))
    return packed, quant


def with_fitted_context(
    state: Mapping[str, torch.Tensor], specs: Mapping[str, TensorSpec], quant: QuantConfig, plan: QuantPlan
) -> dict[str, torch.Tensor]:
    """``state`` with its grids' context model fitted to the symbols ``plan`` gives them.

    Coding without rate in the loss never trains the context model with the grids; a few hundred steps
    on the fixed symbols make it fit them. Returns ``state`` itself for a model without grids.
    """
    grids = [name for name, spec in specs.items() if spec.coding is Coding.ARM]
    if not grids:
        return dict(state)
    quantized = quantize_state({n: state[n] for n in grids}, specs, quant, plan)
    prefix = "context."
    start = {name.removeprefix(prefix): t for name, t in state.items() if name.startswith(prefix)}
    fitted = fit_arm([quantized[n].symbols.float() for n in grids], start)
    return {**state, **{prefix + name: t.to(state[prefix + name].device) for name, t in fitted.items()}}


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
    # Pixels drawn uniformly: the phase weighs distortion against rate, and importance weights would make its
    # distortion noisier.
    phase = Config(config.model, dataclasses.replace(config.fit, lr=config.fit.lr * RATE_PHASE_LR, error_sampling=0.0))
    fit.group.train()
    fit_group(
        fit.group, FitData(fit.frames, fit.taus, fit.mask), trade.iterations(fit, config), phase,
        generator=generator, rate=term,
    )  # fmt: skip
    fit.group.eval()
    return term


SEARCH_TRIES = (3, 2)
"""Extra rate-aware phases a group under a rate target may take to find its lambda: the first group, which
has no earlier group to learn from, and each later one (only when it lands outside :data:`RETRY_BAND`, and
a second time only when its two tries bracket its allowance)."""
SEARCH_BAND = (0.85, 1.0)
"""Bytes-to-allowance ratios at which the first group's search stops: close under its share."""
RETRY_BAND = (0.7, 1.0)
"""A later group whose ratio lands outside these bounds is trained again at a corrected lambda."""
SLOPE_RANGE = (-2.0, -0.25)
"""Bounds on the measured slope: more lambda never buys more bits, and a flat measurement must not send
lambda to its bounds."""


@dataclass
class _Try:
    """One rate-aware phase at a lambda factor and what it coded."""

    scale: float
    packed: PackedGroup
    term: RateTerm
    state: dict[str, torch.Tensor]
    steps: dict[str, torch.Tensor]


PREDICTION_OCTAVES = 4.0
"""How far (in octaves of the steps) :func:`_predicted_scale` looks for the steps that fit."""


def _predicted_scale(last: _Try, goal: float, tensors: Mapping[str, TensorSpec], quant: QuantConfig,
                     reference: Mapping[str, torch.Tensor] | None) -> float:  # fmt: skip
    """The lambda factor at which a try's weights would take about ``goal`` bytes, without training again.

    Every learned step is scaled by one factor ``m`` found by bisection on the packed size (a few packs,
    no training); at the optimum of ``D + lambda R`` each step's square follows lambda, so lambda moves
    by ``m^2``. The weights will move too when trained at that lambda, so this is where the next try
    starts, not the answer.
    """
    low, high = -PREDICTION_OCTAVES, PREDICTION_OCTAVES
    for _ in range(8):
        middle = 0.5 * (low + high)
        steps = {n: grid_steps(s * 2.0**middle) for n, s in last.steps.items()}
        size = len(pack_group(last.state, tensors, quant, QuantPlan(reference, steps)).payload)
        low, high = (middle, high) if size > goal else (low, middle)
    return last.scale * 4.0 ** (0.5 * (low + high))


def _next_scale(tries: list[_Try], goal: float, predicted: float) -> float:
    """The lambda factor of the next try: ``predicted`` after one try, then a secant step in log-log
    through the last two tries (their slope bounded by :data:`SLOPE_RANGE`)."""
    last, before = tries[-1], tries[-2] if len(tries) > 1 else None
    if before is None or before.scale == last.scale:
        scale = predicted
    else:
        rise = math.log(len(last.packed.payload) / len(before.packed.payload))
        slope = min(max(rise / math.log(last.scale / before.scale), SLOPE_RANGE[0]), SLOPE_RANGE[1])
        scale = last.scale * math.exp(math.log(goal / len(last.packed.payload)) / slope)
    return min(max(scale, LAMBDA_SCALE_RANGE[0]), LAMBDA_SCALE_RANGE[1])


def _brackets(tries: list[_Try], allowance: float) -> bool:
    """Whether one try fits ``allowance`` and another overruns it: a secant step between them closes in."""
    sizes = [len(t.packed.payload) for t in tries]
    return min(sizes) <= allowance < max(sizes)


def _best(tries: list[_Try], allowance: float) -> _Try:
    """The try with the most bytes within ``allowance``, or, if none fits, the smallest."""
    fitting = [t for t in tries if len(t.packed.payload) <= allowance]
    if fitting:
        return max(fitting, key=lambda t: len(t.packed.payload))
    return min(tries, key=lambda t: len(t.packed.payload))


def code_with_rate(
    fit: GroupFit,
    config: Config,
    quant: QuantConfig,
    reference: Mapping[str, torch.Tensor] | None,
    trade: RateTrade,
    rate: RateControl | None = None,
) -> PackedGroup:
    """Train with rate in the loss, then code the trained symbols on the learned steps.

    Under a rate target, lambda follows the budget as x264's rate control moves its quantizer: each
    group starts from the factor the groups before it leave (:meth:`RateControl.lambda_after`), and a
    group that lands far from its allowance trains again from its fitted state, at the lambda its coded
    weights predict (:func:`_predicted_scale`), then at a secant step (:data:`SEARCH_TRIES`; the first
    group, with nothing to learn from, until it lands in :data:`SEARCH_BAND`). The try with the most bytes within the allowance is kept. Only where
    even that overruns is every learned step made coarser by :data:`COARSER_STEP` until it fits (or
    symbols run out): coarser steps cost more distortion than the lambda that gives the same rate.
    """
    scale = rate.lambda_scale if rate is not None else 1.0
    searching = rate is not None and rate.searching
    extra, band = (SEARCH_TRIES[0], SEARCH_BAND) if searching else (SEARCH_TRIES[1], RETRY_BAND)
    fitted = copy.deepcopy(fit.group.state_dict()) if rate is not None else None
    tries: list[_Try] = []
    for attempt in range(extra + 1):
        if attempt:
            assert fitted is not None
            fit.group.load_state_dict(fitted)
        term = train_with_rate(fit, config, quant, reference, dataclasses.replace(trade, lambda_=trade.lambda_ * scale))
        # A copy: the next try trains the same parameters the state dict would otherwise share.
        state = {name: t.detach().clone() for name, t in fit.group.state_dict().items()}
        learned = term.steps()  # every quantized tensor's steps
        packed = pack_group(state, fit.group.tensors, quant, QuantPlan(reference, learned))
        tries.append(_Try(scale, packed, term, state, learned))
        if rate is None:
            break
        allowance = max(rate.allowance(fit.group.end), 1.0)
        ratio = len(packed.payload) / allowance
        if band[0] <= ratio <= band[1]:
            break
        if not searching and attempt >= 1 and not _brackets(tries, allowance):
            break  # a later group's second retry only closes in on an allowance its tries bracket
        goal = 0.5 * (SEARCH_BAND[0] + SEARCH_BAND[1]) * allowance
        predicted = _predicted_scale(tries[-1], goal, fit.group.tensors, quant, reference) if attempt == 0 else 1.0
        scale = _next_scale(tries, goal, predicted)
    chosen = _best(tries, rate.allowance(fit.group.end)) if rate is not None else tries[-1]
    packed = chosen.packed
    if rate is not None:
        allowance = rate.allowance(fit.group.end)
        coarse = 1.0
        while len(packed.payload) > allowance and coarse < 2**MAX_SYMBOL_BITS:
            coarse *= COARSER_STEP
            coarser = {n: grid_steps(s * coarse) for n, s in chosen.steps.items()}
            packed = pack_group(chosen.state, fit.group.tensors, quant, QuantPlan(reference, coarser))
    return dataclasses.replace(packed, estimated_bits=chosen.term.estimated_bits(), lambda_scale=chosen.scale)
