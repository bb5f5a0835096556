"""Training with rate in the loss: learned steps, a quantization stand-in and ``D + lambda * bpp``.

After a group's fit, a last phase trains it as it will be coded. Every
quantized tensor gets a learnable step per channel (the granularity the chunk
stores, :attr:`~nvcodec.model.tensors.TensorSpec.step_shape`; one per bias
vector, whose symbols the chunk zstd-codes beside the ANS stream but the prior
prices with the rest); the network
runs on quantized stand-ins of its weights, and the loss adds ``lambda`` times
the estimated bits per pixel of the group's symbols (:class:`RateTerm`). The
rounding stand-in follows C3 (Kim et al., 2024) in three stages:

1. additive uniform noise, ``y + u`` with ``u ~ U(-1/2, 1/2)``: an unbiased,
   smooth model of rounding error while the steps move most;
2. soft rounding with noise, ``soft_round(y, T) + u``, with ``T`` annealed from
   :data:`SOFT_START` to :data:`SOFT_END`: the network starts to feel the grid;
3. hard rounding with straight-through gradients: the network trains on the
   values the decoder will see, and the final symbols are these roundings.

For a residual group, ``y`` is the difference from the previous decoded group
divided by the step, so the rate term prices what changed: weights that need
not move stay where the reference has them, at a symbol of 0.

The decoder is unaffected: it reads steps (grid exponents, as the chunk stores
them; training sees the same grid values through a straight-through rounding)
and symbols as always.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from nvcodec.config import QuantConfig
from nvcodec.entropy import model_for
from nvcodec.entropy.tensor_laplace import channel_ids
from nvcodec.model.group import GroupModel
from nvcodec.model.tensors import Coding, TensorSpec, symbol_order
from nvcodec.quant.context_rate import ARM_NAMES, flat_context_bits
from nvcodec.quant.ratemodel import SymbolPrior
from nvcodec.quant.uniform import (
    STEP_MAX,
    STEP_MIN,
    as_real,
    finer_bits,
    grid_steps,
    peak_steps,
    symbol_limit,
)

NOISE_END, SOFT_END = 0.7, 0.9
"""Shares of the phase that end the noise stage and the soft-rounding stage; hard rounding takes the rest.

Most of the phase is spent under noise, whose rate estimate is unbiased and smooth (that the steps and the
prior then settle better is a guess, not measured). At 0.4 and 0.85 the same
encodes took 2-9% more bits for the same or a lower PSNR at every point of the bench and held-out ladders:
-5.2 to -7.1% BD-rate on seven clips (``benchmarks/results/README.md``, "The rate-aware phase's stages")."""
SOFT_START, SOFT_END_T = 0.4, 0.05
"""Temperature of soft rounding at the start and end of its stage (smaller is closer to hard rounding)."""
STEP_LR_SCALE = 30.0
"""Learning rate of the log-steps and the prior, relative to the weights': steps must travel several octaves."""


def lambda_for_quality(quality: float) -> float:
    """``lambda`` (MSE per bit per pixel) of ``--quality Q``: ``10^(-Q/10)``.

    Ten quality points are a factor of ten in ``lambda``. At the optimum,
    ``lambda`` is the MSE a group gives up for one bit per pixel less, so
    ``Q`` sits in the range of the PSNR it yields (at ``Q = 30``, one bit per
    pixel is worth an MSE of ``1e-3``, the MSE of a 30 dB picture).
    """
    if not (isinstance(quality, (int, float)) and math.isfinite(quality)):
        raise ValueError(f"quality must be a finite number, got {quality!r}")
    return 10.0 ** (-float(quality) / 10.0)


def soft_round(y: torch.Tensor, temperature: float) -> torch.Tensor:
    """Agustsson and Theis' soft rounding: the identity as ``T`` grows, rounding as ``T -> 0``."""
    floor = torch.floor(y)
    r = y - floor - 0.5
    return floor + 0.5 + torch.tanh(r / temperature) / (2 * math.tanh(0.5 / temperature))


def straight_through(value: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``target`` in the forward pass, the gradient of ``value`` in the backward pass."""
    return value + (target - value).detach()


def new_frames(group: GroupModel) -> int:
    """Frames a group adds to a file: its span, plus frame 0 for the first group (neighbours share a frame)."""
    return group.end - group.start + (1 if group.start == 0 else 0)


def _step_index(step_shapes: Sequence[tuple[int, ...]], real_shapes: Sequence[tuple[int, ...]]) -> torch.Tensor:
    """For every number of tensors of ``real_shapes``, flattened in turn, the position of its step among all
    tensors' steps (``step_shapes``), flattened in turn: each tensor's channel ids
    (:func:`nvcodec.entropy.tensor_laplace.channel_ids`, as the coder orders them) after the steps before it."""
    offsets = itertools.accumulate((math.prod(shape) for shape in step_shapes), initial=0)
    ids = [channel_ids(real, step) + offset for real, step, offset in zip(real_shapes, step_shapes, offsets)]
    return torch.from_numpy(np.concatenate(ids)) if ids else torch.zeros(0, dtype=torch.int64)


class CodedStandIns(nn.Module):
    """A group's coded tensors as the rate-aware phase trains them: learned steps, the stand-ins and their bits.

    Everything runs on flat vectors: the steps of all tensors are one parameter, the coded numbers one
    vector, and which step scales which number is an index (:attr:`step_index`), so each channel's step
    reaches its numbers by one gather and each channel's peak comes from one scatter. A training step thus
    draws its stand-ins in a fixed, small number of operations, whatever the number of tensors: eager on
    CPU, per-operator overhead is most of their cost ("The rate-aware phase's stand-ins as flat operations"
    in ``benchmarks/results/README.md``). The network's forward and backward on the stand-ins go through
    the fit's compiled loss (:func:`nvcodec.fit.step_loss`); the stand-ins stay eager, because compiling
    them too costs more cold compile time per group shape than it saves in a typical encode.
    """

    limit: torch.Tensor
    step_limit: torch.Tensor
    step_index: torch.Tensor
    reference: torch.Tensor | None

    def __init__(
        self,
        specs: Mapping[str, TensorSpec],
        limits: Mapping[str, int],
        log_steps: Mapping[str, torch.Tensor],
        reference: torch.Tensor | None,
        prior: SymbolPrior,
    ):
        super().__init__()
        self.names = tuple(specs)
        self.real_shapes = tuple(spec.real_shape for spec in specs.values())
        self.step_shapes = tuple(spec.step_shape for spec in specs.values())
        self.complex = tuple(spec.complex for spec in specs.values())
        self.sizes = [spec.real_size for spec in specs.values()]
        self.step_sizes = [math.prod(shape) for shape in self.step_shapes]
        self.prior_size = sum(s.real_size for s in specs.values() if s.coding is not Coding.ARM)
        """Numbers the prior prices: all but the latent grids' (which come last, in symbol order)."""
        grids = [i for i, spec in enumerate(specs.values()) if spec.coding is Coding.ARM]
        if grids != list(range(len(specs) - len(grids), len(specs))):
            raise ValueError("the latent grids must come last among the coded tensors (symbol order)")
        self.grid_shapes = tuple(self.real_shapes[i] for i in grids)
        self.log_steps = nn.Parameter(torch.cat([log_steps[n].flatten() for n in specs]))
        """Every tensor's log-steps, in :attr:`names`' order, each in its ``step_shape`` flattened."""
        self.prior = prior
        device = self.log_steps.device
        self.log_spreads = nn.Parameter(torch.zeros(self.log_steps.numel(), device=device))
        """Per channel (:attr:`log_steps`' layout), the log of the factor by which the prior's scales widen
        for its numbers. The chunk may give each channel its own table (:mod:`nvcodec.entropy.tensor_laplace`),
        where a channel of small numbers has cheap zeros and dear others; a pooled prior would price them
        all alike and never push such a channel toward zero (``benchmarks/results/README.md``, "A spread
        per channel in the training prior": 1.5–3.2% fewer bytes at the same PSNR)."""

        def per(sizes: Sequence[int]) -> torch.Tensor:
            return torch.cat([torch.full((size,), float(limits[n]), device=device) for n, size in zip(specs, sizes)])

        self.register_buffer("limit", per(self.sizes))
        """Largest symbol magnitude of every coded number, in the order of :meth:`coded`."""
        self.register_buffer("step_limit", per(self.step_sizes))
        """The same limit for every step."""
        self.register_buffer("step_index", _step_index(self.step_shapes, self.real_shapes).to(device))
        """For every coded number (:meth:`coded`'s order), its step's position in :attr:`log_steps`."""
        self.register_buffer("reference", reference)
        """A residual group's reference, every coded number in :meth:`coded`'s order (None: an intra group)."""

    def coded(self, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        """Every coded number as the chunk codes it, in one vector: the tensors' real views, flattened in
        turn, or their differences from the reference."""
        flat = torch.cat([as_real(w).float().flatten() for w in weights])
        return flat if self.reference is None else flat - self.reference

    def channel_peaks(self, coded: torch.Tensor) -> torch.Tensor:
        """Each channel's largest magnitude among ``coded`` (:attr:`log_steps`' layout): what
        :func:`~nvcodec.quant.uniform.channel_peaks` gives tensor by tensor, in one scatter."""
        peaks = torch.zeros_like(self.step_limit)
        return peaks.scatter_reduce_(0, self.step_index, coded.detach().abs(), "amax")

    def steps(self, coded: torch.Tensor) -> torch.Tensor:
        """Every step as training uses it (:attr:`log_steps`' layout): grid values no finer than the floor of
        its channel, with the gradient of the float32 ones.

        The floor is the finest grid step at which every number of a channel stays within its symbol
        limit. A step below it would clip the channel's largest numbers, and clipping gives the step no
        gradient to grow back: the distortion term cannot see it, and the rate term keeps pulling the step
        finer. At high qualities the steps of the first layer's weights ran into the limit this way, so a
        higher quality gave a lower PSNR.
        """
        step = torch.exp(self.log_steps).clamp(STEP_MIN, STEP_MAX)
        with torch.no_grad():
            floor = grid_steps((self.channel_peaks(coded) / self.step_limit).clamp(STEP_MIN, STEP_MAX), up=True)
            target = torch.maximum(grid_steps(step), floor)
        return straight_through(step, target)

    def by_tensor(self, steps: torch.Tensor) -> list[torch.Tensor]:
        """:meth:`steps` as one tensor per coded tensor, each in its ``step_shape``."""
        return [part.view(shape) for part, shape in zip(torch.split(steps, self.step_sizes), self.step_shapes)]

    def per_number(self, coded: torch.Tensor) -> torch.Tensor:
        """:meth:`steps`, each where it scales a number: the step of every coded number (:meth:`coded`'s order)."""
        return self.steps(coded)[self.step_index]

    def symbols(self, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        """The symbols the encoder will write: each coded number rounded to the nearest level, within its limit."""
        coded = self.coded(weights)
        return self.clamp(torch.round(coded / self.per_number(coded)))

    def clamp(self, y: torch.Tensor) -> torch.Tensor:
        return torch.minimum(torch.maximum(y, -self.limit), self.limit)

    def bits(self, y: torch.Tensor, context: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Estimated bits of every coded number, ``y`` in units of its step (:meth:`coded`'s order): the
        prior's, and the context model's for the latent grids."""
        bits = self.prior_bits(y)
        return bits + self.grid_bits(y, context) if self.grid_shapes else bits

    def prior_bits(self, y: torch.Tensor) -> torch.Tensor:
        """The prior's bits of ``y``'s first numbers (as many as ``y`` holds, up to :attr:`prior_size`), each
        at its channel's spread."""
        y = y[: self.prior_size]
        return self.prior.bits(y, torch.exp(self.log_spreads)[self.step_index[: y.numel()]])

    @torch.no_grad()
    def initialize_spreads(self, y: torch.Tensor) -> None:
        """Start the prior at the spread of ``y`` (numbers in units of their steps) and each channel's
        spread at its mean magnitude relative to that."""
        y = y[: self.prior_size].abs()
        self.prior.initialize(y)
        index = self.step_index[: y.numel()]
        sums = torch.zeros_like(self.log_spreads).index_add_(0, index, y)
        counts = torch.zeros_like(self.log_spreads).index_add_(0, index, torch.ones_like(y))
        channel = (sums / counts.clamp(min=1)).clamp(min=0.5)
        self.log_spreads.copy_(torch.log(channel / y.mean().clamp(min=0.5)))

    def grid_bits(self, y: torch.Tensor, context: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The context model's bits for the latent grids among ``y`` (:meth:`coded`'s order): its tail."""
        weights = [context[name] for name in ARM_NAMES]
        return flat_context_bits(y[self.prior_size :].to(weights[0].dtype), self.grid_shapes, weights)

    def forward(
        self, weights: Sequence[torch.Tensor], context: Mapping[str, torch.Tensor], noise: torch.Tensor | None,
        temperature: float | None,
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:  # fmt: skip
        """The stand-ins of the coded tensors (by parameter name) and their estimated bits.

        ``weights`` are the group's coded tensors in :attr:`names`' order, ``context`` the grids' context
        model. With ``noise`` (uniform, one number per coded number), the stand-in is the clamped value
        plus the noise, soft-rounded first at ``temperature`` when one is given; without, it is the
        rounded value with straight-through gradients.
        """
        coded = self.coded(weights)
        per_number = self.per_number(coded)
        y = coded / per_number
        if noise is not None:
            y_hat = self.clamp(soft_round(y, temperature) if temperature is not None else y) + noise
        else:
            y_hat = straight_through(y, self.clamp(torch.round(y)))
        values = y_hat * per_number
        if self.reference is not None:
            values = values + self.reference
        state: dict[str, torch.Tensor] = {}
        for name, part, shape, is_complex in zip(
            self.names, torch.split(values, self.sizes), self.real_shapes, self.complex
        ):
            real = part.view(shape)
            # A complex view needs an even storage offset, which a slice of the flat vector may not have.
            state[name] = torch.view_as_complex(real.clone()) if is_complex else real
        return state, self.bits(y_hat, context)


class RateTerm:
    """The learned steps, the symbol prior and the ``lambda * bpp`` term of one group.

    ``reference`` is the previous group's decoded state for a residual group
    (None for an intra one). Each step :meth:`stand_ins` draws the
    quantized stand-ins of the coded tensors for the stage at ``progress``
    (what the group's forward pass runs on) and the rate penalty.
    """

    def __init__(
        self,
        group: GroupModel,
        quant: QuantConfig,
        reference: Mapping[str, torch.Tensor] | None,
        lambda_: float,
        generator: torch.Generator,
    ):
        if not (math.isfinite(lambda_) and lambda_ > 0):
            raise ValueError(f"lambda must be a positive number, got {lambda_!r}")
        self.group = group
        self.lambda_ = lambda_
        self.generator = generator
        self.params = dict(group.named_parameters())
        device = group.device
        # Every quantized tensor, in the chunk's symbol order: the ANS stream's first, then the bias vectors,
        # whose 16-bit peak steps cost more than any matrix row once the rest is coded at a low rate.
        # The latent grids come last (symbol order): the context model prices them, the prior the rest.
        # The context model's own weights have a fixed step and are trained as they will be rounded.
        self.specs: dict[str, TensorSpec] = {
            n: group.tensors[n]
            for n in symbol_order(group.tensors)
            if n in self.params and group.tensors[n].fixed_step is None
        }
        self.ans_size = sum(s.real_size for s in self.specs.values() if s.coding is Coding.ANS)
        """Numbers of the ANS stream: the first ones of the flat vector."""
        self.context = {n.removeprefix("context."): p for n, p in self.params.items() if n.startswith("context.")}
        """The grids' context model, trained here with the steps (:mod:`nvcodec.quant.context_rate`)."""
        flat_reference = (
            torch.cat([as_real(reference[n].detach()).to(device, torch.float32).flatten() for n in self.specs])
            if reference is not None
            else None
        )
        self.pixels = new_frames(group) * group.grid.height * group.grid.width
        self.limits: dict[str, int] = {}
        """Largest symbol magnitude of each tensor (as the quantizer clamps)."""
        log_steps = {}
        for name, spec in self.specs.items():
            bits = spec.bits(quant)
            # Vectors start at the bias matrices' depth, as the prior does: from 16 bits their steps
            # would have ten octaves to travel.
            start = min(bits, quant.bits_bias) if spec.coding is Coding.ZSTD else bits
            peak = peak_steps(as_real(self.params[name].detach()).float(), spec, start)
            log_steps[name] = torch.log(peak).to(device)
            self.limits[name] = symbol_limit(bits + finer_bits(bits), reference is not None)
        # The stream model's own training stand-in prices every coded number: the vectors' byte planes have
        # no rate of their own to learn, and their steps are still worth pricing.
        prior = model_for(Coding.ANS).rate_model()
        assert isinstance(prior, SymbolPrior)
        self.stand_in_model = CodedStandIns(self.specs, self.limits, log_steps, flat_reference, prior.to(device))
        with torch.no_grad():
            model = self.stand_in_model
            coded = model.coded(self._weights())
            model.initialize_spreads(coded / model.per_number(coded))

    @property
    def log_steps(self) -> dict[str, torch.Tensor]:
        """The learned log-steps by tensor name (views of the one flat parameter)."""
        return dict(zip(self.specs, self.stand_in_model.by_tensor(self.stand_in_model.log_steps)))

    @property
    def limit(self) -> torch.Tensor:
        """:attr:`limits` for every coded number, in the order of the flat vector."""
        return self.stand_in_model.limit

    def _weights(self) -> list[torch.Tensor]:
        return [self.params[n] for n in self.specs]

    def param_groups(self) -> list[dict]:
        """Adam parameter groups of the steps, the prior and the grids' context model (their learning rate
        relative to the weights')."""
        trained = [*self.stand_in_model.parameters(), *self.context.values()]
        return [{"params": trained, "lr_scale": STEP_LR_SCALE}]

    def stand_ins(self, progress: float) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The quantized stand-ins of the coded tensors (by parameter name) and the rate penalty, for the stage
        at ``progress``: what :func:`nvcodec.fit.step_loss` runs the group on, compiled or not."""
        noise, temperature = None, None
        if progress < SOFT_END:
            noise = torch.rand(self.limit.shape, generator=self.generator, device=self.limit.device) - 0.5
            if progress >= NOISE_END:
                stage = (progress - NOISE_END) / (SOFT_END - NOISE_END)
                temperature = SOFT_START * (SOFT_END_T / SOFT_START) ** stage
        state, bits = self.stand_in_model(self._weights(), self.context, noise, temperature)
        return state, self.lambda_ * bits / self.pixels

    @torch.no_grad()
    def _symbols(self) -> torch.Tensor:
        return self.stand_in_model.symbols(self._weights())

    @torch.no_grad()
    def steps(self) -> dict[str, torch.Tensor]:
        """The learned grid steps of the coded tensors, on the CPU (the plan the chunk is coded with)."""
        model = self.stand_in_model
        steps = model.by_tensor(model.steps(model.coded(self._weights())))
        return {name: step.cpu() for name, step in zip(self.specs, steps)}

    @torch.no_grad()
    def estimated_bits(self) -> float:
        """Bits the prior gives the ANS stream's symbols the encoder will write (hard rounding of the current
        weights): what the chunk's ANS words are to be compared with."""
        return float(self.stand_in_model.prior_bits(self._symbols()[: self.ans_size]))

    @torch.no_grad()
    def estimated_grid_bits(self) -> float:
        """Bits the context model's training twin gives the grid symbols the encoder will write."""
        if not self.context:
            return 0.0
        return float(self.stand_in_model.grid_bits(self._symbols(), self.context))


__all__ = [
    "CodedStandIns",
    "RateTerm",
    "lambda_for_quality",
    "new_frames",
    "soft_round",
    "straight_through",
]
