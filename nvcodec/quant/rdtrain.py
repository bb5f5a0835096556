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

import math
from collections.abc import Mapping

import torch

from nvcodec.config import QuantConfig
from nvcodec.entropy import model_for
from nvcodec.model.group import GroupModel
from nvcodec.model.tensors import Coding, TensorSpec, symbol_order
from nvcodec.quant.context_rate import context_bits
from nvcodec.quant.ratemodel import SymbolPrior
from nvcodec.quant.uniform import (
    STEP_MAX,
    STEP_MIN,
    as_real,
    channel_peaks,
    finer_bits,
    grid_steps,
    peak_steps,
    symbol_limit,
)

NOISE_END, SOFT_END = 0.4, 0.85
"""Shares of the phase that end the noise stage and the soft-rounding stage; hard rounding takes the rest."""
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
        """Numbers of the ANS stream: the first ones of :meth:`_flat`."""
        self.prior_size = sum(s.real_size for s in self.specs.values() if s.coding is not Coding.ARM)
        """Numbers the prior prices: all but the latent grids'."""
        self.context = {n.removeprefix("context."): p for n, p in self.params.items() if n.startswith("context.")}
        """The grids' context model, trained here with the steps (:mod:`nvcodec.quant.context_rate`)."""
        self.reference = {
            n: as_real(reference[n].detach()).to(device, torch.float32) for n in self.specs if reference is not None
        }
        self.pixels = new_frames(group) * group.grid.height * group.grid.width
        self.log_steps: dict[str, torch.nn.Parameter] = {}
        self.limits: dict[str, int] = {}
        """Largest symbol magnitude of each tensor (as the quantizer clamps)."""
        for name, spec in self.specs.items():
            bits = spec.bits(quant)
            # Vectors start at the bias matrices' depth, as the prior does: from 16 bits their steps
            # would have ten octaves to travel.
            start = min(bits, quant.bits_bias) if spec.coding is Coding.ZSTD else bits
            peak = peak_steps(as_real(self.params[name].detach()).float(), spec, start)
            self.log_steps[name] = torch.nn.Parameter(torch.log(peak).to(device))
            self.limits[name] = symbol_limit(bits + finer_bits(bits), reference is not None)
        self.limit = torch.cat(
            [torch.full((spec.real_size,), float(self.limits[n]), device=device) for n, spec in self.specs.items()]
        )
        """:attr:`limits` for every coded number, in the order of :meth:`_flat`."""
        self.sizes = [spec.real_size for spec in self.specs.values()]
        # The stream model's own training stand-in prices every coded number: the vectors' byte planes have
        # no rate of their own to learn, and their steps are still worth pricing.
        prior = model_for(Coding.ANS).rate_model()
        assert isinstance(prior, SymbolPrior)
        self.prior = prior.to(device)
        with torch.no_grad():
            coded = self._coded()
            self.prior.initialize(self._flat(coded, self._steps(coded))[: self.prior_size])

    def param_groups(self) -> list[dict]:
        """Adam parameter groups of the steps, the prior and the grids' context model (their learning rate
        relative to the weights')."""
        trained = [*self.log_steps.values(), *self.prior.parameters(), *self.context.values()]
        return [{"params": trained, "lr_scale": STEP_LR_SCALE}]

    def _grid_bits(self, y: torch.Tensor) -> torch.Tensor:
        """The context model's bits for the latent grids among ``y`` (every coded number, :meth:`_flat`'s order)."""
        grids = [
            part.view(spec.real_shape)
            for spec, part in zip(self.specs.values(), torch.split(y, self.sizes))
            if spec.coding is Coding.ARM
        ]
        return context_bits(grids, **self.context)

    def bits(self, y: torch.Tensor) -> torch.Tensor:
        """Estimated bits of every coded number, ``y`` in units of its step (:meth:`_flat`'s order)."""
        bits = self.prior.bits(y[: self.prior_size])
        return bits + self._grid_bits(y) if self.context else bits

    def _coded(self) -> dict[str, torch.Tensor]:
        """Every coded tensor's real view as the chunk codes it: its values, or its difference from the reference."""
        coded = {}
        for name in self.specs:
            real = as_real(self.params[name]).float()
            coded[name] = real - self.reference[name] if name in self.reference else real
        return coded

    def _floor(self, name: str, real: torch.Tensor) -> torch.Tensor:
        """The finest grid step at which every number of each channel of ``real`` stays within its symbol limit.

        A step below it would clip the channel's largest numbers, and clipping gives the step no gradient to
        grow back: the distortion term cannot see it, and the rate term keeps pulling the step finer. At high
        qualities the steps of the first layer's weights ran into the limit this way, so a higher quality
        gave a lower PSNR.
        """
        peak = channel_peaks(real, self.specs[name])
        return grid_steps((peak / self.limits[name]).clamp(STEP_MIN, STEP_MAX), up=True)

    def step(self, name: str, real: torch.Tensor) -> torch.Tensor:
        """The step of ``name`` as training uses it: grid values no finer than :meth:`_floor` allows for ``real``,
        with the gradient of the float32 ones."""
        step = torch.exp(self.log_steps[name]).clamp(STEP_MIN, STEP_MAX)
        return straight_through(step, torch.maximum(grid_steps(step.detach()), self._floor(name, real)))

    def _steps(self, coded: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Every tensor's step as training uses it (:meth:`step`), computed once for a training step."""
        return {name: self.step(name, coded[name]) for name in self.specs}

    def _flat(self, coded: dict[str, torch.Tensor], steps: dict[str, torch.Tensor]) -> torch.Tensor:
        """Every coded number in units of its step, in one vector.

        One vector, so that the stand-in and the prior run as a few large operations instead of
        a few per tensor: on CPU, per-operator overhead is much of a small model's step.
        """
        return torch.cat([(coded[name] / steps[name]).flatten() for name in self.specs])

    def _symbols(self) -> torch.Tensor:
        """The symbols the encoder will write: each coded number rounded to the nearest level, within its limit."""
        coded = self._coded()
        y = self._flat(coded, self._steps(coded))
        return torch.minimum(torch.maximum(torch.round(y), -self.limit), self.limit)

    def stand_ins(self, progress: float) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The quantized stand-ins of the coded tensors (by parameter name) and the rate penalty, for the stage
        at ``progress``: what :func:`nvcodec.fit.step_loss` runs the group on, compiled or not."""
        coded = self._coded()
        steps = self._steps(coded)
        y = self._flat(coded, steps)
        if progress < SOFT_END:
            noise = torch.rand(y.shape, generator=self.generator, device=y.device) - 0.5
            if progress >= NOISE_END:
                stage = (progress - NOISE_END) / (SOFT_END - NOISE_END)
                y = soft_round(y, SOFT_START * (SOFT_END_T / SOFT_START) ** stage)
            y_hat = torch.minimum(torch.maximum(y, -self.limit), self.limit) + noise
        else:
            y_hat = straight_through(y, torch.minimum(torch.maximum(torch.round(y), -self.limit), self.limit))
        penalty = self.lambda_ * self.bits(y_hat) / self.pixels
        state: dict[str, torch.Tensor] = {}
        for (name, spec), part in zip(self.specs.items(), torch.split(y_hat, self.sizes)):
            real = part.view(spec.real_shape) * steps[name]
            if name in self.reference:
                real = real + self.reference[name]
            state[name] = torch.view_as_complex(real.contiguous()) if spec.complex else real
        return state, penalty

    @torch.no_grad()
    def steps(self) -> dict[str, torch.Tensor]:
        """The learned grid steps of the coded tensors, on the CPU (the plan the chunk is coded with)."""
        coded = self._coded()
        return {name: self.step(name, coded[name]).cpu() for name in self.specs}

    @torch.no_grad()
    def estimated_bits(self) -> float:
        """Bits the prior gives the ANS stream's symbols the encoder will write (hard rounding of the current
        weights): what the chunk's ANS words are to be compared with."""
        return float(self.prior.bits(self._symbols()[: self.ans_size]))

    @torch.no_grad()
    def estimated_grid_bits(self) -> float:
        """Bits the context model's training twin gives the grid symbols the encoder will write."""
        if not self.context:
            return 0.0
        return float(self._grid_bits(self._symbols()))


__all__ = ["RateTerm", "lambda_for_quality", "new_frames", "soft_round", "straight_through"]
