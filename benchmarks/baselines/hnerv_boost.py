"""HNeRV-Boost (Zhang et al., CVPR 2024, "Boosting Neural Representations for Videos with a Conditional Decoder"),
written here from the paper's description.

HNeRV (:mod:`benchmarks.baselines.hnerv`: a ConvNeXt encoder makes each frame a
tiny embedding, a decoder upsamples it back; the decoder and the embeddings are
stored) with the paper's conditional decoder:

- **Temporal condition.** The frame index, normalised to [0, 1] over the clip,
  goes through a sinusoidal positional encoding (``pe_levels`` frequencies
  ``b^0 pi .. b^(l-1) pi``, ``b`` = 1.25) and a two-layer MLP with sine
  activations (``2l -> 2c -> c``, ``c`` = ``cond_dim``): one vector per frame.
- **Temporal-aware affine transform.** After the stem and after every
  upsampling block, a residual block whose two 3x3 convs (GELU between them)
  are each preceded by an SFT layer: the condition gives a per-channel scale
  and shift through two small MLPs (``c -> c -> C``, ReLU), applied as
  ``x * (1 + scale) + shift``.
- **Sinusoidal NeRV-like blocks.** Stem: 1x1 conv from the embedding to
  ``channels``, then sine; upsampling blocks: k x k conv -> PixelShuffle(s) ->
  sine, kernels ``min(1 + 2i, 3)`` at stage ``i``, widths divided by 1.2 per
  stage down to ``min_channels``; the paper's extra stride-1 blocks in the
  later stages (``blocks``). Head: 3x3 conv and ``tanh / 2 + 1/2``.
- **Reconstruction loss.** The paper adds to its spatial loss an L1 distance
  between the 2-D Fourier transforms of output and target (the
  high-frequency-preserving term). We add it, on the orthonormal transform
  (so its weight does not depend on the frame size), to MSE, the spatial loss
  every baseline here uses (the paper's is ``0.7 L1 + 0.3 (1 - MS-SSIM)``;
  the benchmarks score PSNR).

Compression (``compress=True``, what the rate-distortion benchmark runs) is the
paper's *consistent entropy minimization*, as a second stage after training in
its epoch proportions (300 regression : 100 compression), at a fifth of the
learning rate. Every weight tensor of two or more dimensions, and the
embeddings, gets a learned quantization step (initialised, as in the paper,
to the tensor's range over 255 levels, and kept on nvcodec's step grid so the
bitstream can store it exactly); every forward pass uses the values a decoder
will rebuild (rounding with straight-through gradients, which reach the
steps), and the loss gains ``lambda * bpp``, where each tensor's rate is its
values' cost, in steps, under a Gaussian fitted to that tensor (its own mean
and deviation, network-free as in the paper) with uniform noise standing in
for rounding. As in the paper, the rate term rests once the estimate is under
4 bits per stored number. The bitstream (:mod:`benchmarks.baselines.bitstream`)
stores the learned steps and codes the symbols with nvcodec's count-table ANS
(measured counts: the rate term shapes the weights, the coder takes what it
shaped; the paper codes each tensor with its Gaussian). On carphone (preset m,
30 s) the stage took the file from 8.7 to 4.8 bits per stored number for
0.2 dB. Biases stay at the bitstream's 16 bits (the paper: 8).

Left out: the Adan optimizer (the bench's Adam loop), and the embeddings'
offset (symbols are signed about zero here; the paper's offset only moves the
grid by a fraction of a step). A learned step is trained as
``exp(STEP_GAIN * theta)``: the paper's raw step, moved by Adam at this
learning rate, random-walked across orders of magnitude in our short stage.

Sizing for 176x144: HNeRV's (strides 4, 3, 2, 2 from a 3x4 embedding, 16x3x4
at most), with the paper's later-stage extra blocks as ``blocks = 1, 1, 2, 2``
(the paper: 1, 1, 2, 2, 2 over five stages) and ``cond_dim`` 6 to 16 (the
paper: 32 at 0.75-15M parameters; the condition MLP and SFT layers would
otherwise be most of an extra-small model). Each block carries a residual
block of two 3x3 convs and two SFT layers, so at a given stored-number count
the widths are about 60 % of HNeRV's; the presets have 1.3 to 2 times HNeRV's
counts, since CEM codes a number in 0.6-0.8 of HNeRV's byte, so the four
points land near HNeRV's rates (see ``PRESETS``).

Fractional frame index: the embedding is interpolated linearly between the
stored embeddings around ``t`` (HNeRV's rule here; the paper's interpolation
averages the neighbours' embeddings for the middle frame), and the temporal
condition is computed at ``t`` itself.

Masks (inpainting): unknown pixels are zeroed before the encoder sees the
frame and enter neither loss term.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.baselines.blocks import FrameModel, grid_size
from benchmarks.baselines.frame_system import FrameModelSystem
from benchmarks.baselines.hnerv import ENCODER_DIMS, Encoder, HNeRV
from benchmarks.baselines.loss import reconstruction_loss
from benchmarks.baselines.registry import register
from benchmarks.baselines.stages import joined, stage_fitting
from benchmarks.baselines.training import FitOptions, Fitting, TrainStats, prepare_fit, train
from nvcodec.quant.uniform import STEP_MAX, STEP_MIN, finer_bits, grid_steps, symbol_limit


@dataclass
class HNeRVBoostConfig:
    """Everything the decoder needs to rebuild the network (stored in the bitstream header)."""

    height: int
    width: int
    num_frames: int
    times: list[int]
    """Clip frame index of each stored embedding (sorted)."""
    embed_dim: int = 16
    strides: list[int] = field(default_factory=lambda: [4, 3, 2, 2])
    blocks: list[int] = field(default_factory=lambda: [1, 1, 2, 2])
    """Blocks per stage: the first upsamples, the others keep the size."""
    channels: int = 32
    """Width of the stem (the paper's ``fc_dim``)."""
    reduction: float = 1.2
    min_channels: int = 8
    kernel_max: int = 3
    cond_dim: int = 16
    pe_levels: int = 16
    pe_base: float = 1.25

    def widths(self) -> list[int]:
        """Stem width, then the output width of every stage."""
        widths = [self.channels]
        for _ in self.strides:
            widths.append(max(self.min_channels, round(widths[-1] / self.reduction)))
        return widths

    def kernels(self) -> list[int]:
        return [min(1 + 2 * i, self.kernel_max) for i in range(len(self.strides))]


class SFT(nn.Module):
    """Per-channel affine transform from the condition: ``x * (1 + scale(c)) + shift(c)``."""

    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.scale = nn.Sequential(nn.Linear(cond_dim, cond_dim), nn.ReLU(), nn.Linear(cond_dim, channels))
        self.shift = nn.Sequential(nn.Linear(cond_dim, cond_dim), nn.ReLU(), nn.Linear(cond_dim, channels))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return x * (1 + self.scale(cond)[:, :, None, None]) + self.shift(cond)[:, :, None, None]


class ConditionalResBlock(nn.Module):
    """SFT -> 3x3 conv -> GELU -> SFT -> 3x3 conv, plus the input."""

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.sft0 = SFT(cond_dim, channels)
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.sft1 = SFT(cond_dim, channels)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        y = F.gelu(self.conv0(self.sft0(x, cond)))
        return x + self.conv1(self.sft1(y, cond))


class BoostBlock(nn.Module):
    """k x k conv -> PixelShuffle(s) -> sine, then the conditional residual block."""

    def __init__(self, c_in: int, c_out: int, stride: int, kernel: int, cond_dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out * stride * stride, kernel, padding=kernel // 2)
        self.stride = stride
        self.condition = ConditionalResBlock(c_out, cond_dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.condition(torch.sin(F.pixel_shuffle(self.conv(x), self.stride)), cond)


class HNeRVBoost(FrameModel):
    """The stored part: the conditional decoder plus per-frame embeddings."""

    kind = "hnerv-boost"
    config_class = HNeRVBoostConfig
    embedding_at = HNeRV.embedding_at
    """Linear interpolation between the stored embeddings around each ``t`` (HNeRV's)."""

    def __init__(self, config: HNeRVBoostConfig) -> None:
        super().__init__()
        self.config = config
        self.grid = grid_size(config.height, config.width, config.strides)
        widths, kernels = config.widths(), config.kernels()
        c = config.cond_dim
        self.condition = nn.Sequential(nn.Linear(2 * config.pe_levels, 2 * c), nn.Linear(2 * c, c))
        self.stem = nn.Conv2d(config.embed_dim, widths[0], 1)
        self.stem_condition = ConditionalResBlock(widths[0], c)
        self.blocks = nn.ModuleList()
        for i, (stride, count) in enumerate(zip(config.strides, config.blocks)):
            for j in range(count):
                c_in = widths[i] if j == 0 else widths[i + 1]
                self.blocks.append(BoostBlock(c_in, widths[i + 1], stride if j == 0 else 1, kernels[i], c))
        self.head = nn.Conv2d(widths[-1], 3, 3, padding=1)
        self.register_buffer("embeddings", torch.zeros(len(config.times), config.embed_dim, *self.grid))
        self.register_buffer("times", torch.tensor(config.times, dtype=torch.float32), False)
        frequencies = math.pi * config.pe_base ** torch.arange(config.pe_levels, dtype=torch.float32)
        self.register_buffer("frequencies", frequencies, False)

    def cond(self, t: torch.Tensor) -> torch.Tensor:
        """The temporal condition of frame indices ``[N]``: ``[N, cond_dim]``."""
        x = (t.to(torch.float32) / max(self.config.num_frames - 1, 1))[:, None] * self.frequencies
        first, second = self.condition
        return torch.sin(second(torch.sin(first(torch.cat([torch.sin(x), torch.cos(x)], dim=1)))))

    def decode_embeddings(self, embeddings: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        cond = self.cond(t)
        x = self.stem_condition(torch.sin(self.stem(embeddings)), cond)
        for block in self.blocks:
            x = block(x, cond)
        out = torch.tanh(self.head(x)) * 0.5 + 0.5
        return out[..., : self.config.height, : self.config.width]

    def forward(self, embeddings: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """:meth:`decode_embeddings` (what ``torch.func.functional_call`` runs in the compression stage)."""
        return self.decode_embeddings(embeddings, t)

    def frames(self, t: torch.Tensor) -> torch.Tensor:
        return self.decode_embeddings(self.embedding_at(t), t)


PRESETS: dict[str, dict] = {
    # Stored numbers on 31 frames of 176x144 (embeddings included). Every block carries a residual block of two
    # 3x3 convs and two SFT layers, so the widths are well under HNeRV's at a given count.
    "xs": {"embed_dim": 2, "channels": 7, "min_channels": 4, "cond_dim": 6},  # 11.5k numbers (0.7k embedding values)
    "s": {"embed_dim": 4, "channels": 12, "min_channels": 5, "cond_dim": 8},  # 28.1k (1.5k)
    "m": {"embed_dim": 8, "channels": 18, "min_channels": 8, "cond_dim": 12},  # 59.6k (3.0k)
    "l": {"embed_dim": 16, "channels": 30, "min_channels": 12, "cond_dim": 16},  # 165k (6.0k)
}
LR = 3e-3
"""Peak learning rate of the regression stage: the paper's (bunny); HNeRV's 1e-2 diverged with the sine blocks."""
COMPRESS_LR_SCALE = 0.2
"""The compression stage's rate relative to the regression's (the paper: 5e-4 after 1e-3 to 3e-3)."""
BITS = 8
"""Bit depth of the weights and embeddings (the paper's ``quant_model_bit`` / ``quant_embed_bit``)."""
FREQUENCY_WEIGHT = 0.1
"""Weight of the Fourier L1 term against MSE: it dominates the loss, as in the paper at 1080p."""
LAMBDA_RATE = 0.05
"""Rate weight per bit per pixel (the paper's). Here the target below binds: in 30 s probes on carphone (preset m)
0.01 and 0.05 both took the bitstream from 8.7 to 4.8-4.9 bits per number for 0.15-0.2 dB."""
TARGET_BITS = 4.0
"""Bits per stored number below which the rate term rests (the paper's ``--target_bit``)."""
STEP_GAIN = 100.0
"""A learned step is ``exp(STEP_GAIN * theta)`` (see :func:`_entropy_stage`)."""
STAGES = (300, 100)
"""Epochs of regression and of compression fine-tuning in the paper: the shares of a compressed fit's budget."""


def hnerv_boost_config(
    height: int, width: int, num_frames: int, times: list[int], size: str = "s", **overrides
) -> HNeRVBoostConfig:
    if size not in PRESETS:
        raise ValueError(f"unknown HNeRV-Boost size {size!r}: use one of {sorted(PRESETS)}")
    return replace(HNeRVBoostConfig(height, width, num_frames, list(times), **PRESETS[size]), **overrides)


def frequency_loss(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute difference of the orthonormal 2-D Fourier transforms (real and imaginary parts)."""
    error = prediction - target
    if mask is not None:
        error = error * mask.to(error.dtype)
    return torch.view_as_real(torch.fft.fft2(error, norm="ortho")).abs().mean()


def gaussian_bits(code: torch.Tensor, noisy: bool) -> torch.Tensor:
    """Bits of ``code`` (values in steps) under a Gaussian with its own mean and deviation (the paper's rate)."""
    mean, std = code.mean(), code.std().clamp(min=1e-5)
    if noisy:
        code = code + torch.empty_like(code).uniform_(-0.5, 0.5)
    normal = torch.distributions.Normal(mean, std)
    mass = normal.cdf(code + 0.5) - normal.cdf(code - 0.5)
    return (-torch.log2(mass + 1e-9)).clamp(min=0).sum()


def on_grid(step: torch.Tensor) -> torch.Tensor:
    """A learned step moved onto the bitstream's step grid (straight-through: the gradient reaches the step)."""
    step = step.clamp(STEP_MIN, STEP_MAX)
    return step + (grid_steps(step) - step).detach()


def learned_quantize(values: torch.Tensor, step: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(values the bitstream rebuilds with grid step ``on_grid(step)``, straight-through; values in steps).

    Symbols are clamped where the bitstream clamps a chosen step's symbols
    (``bits`` plus ``finer_bits``); the paper's quantizer does not clamp.
    """
    grid = on_grid(step)
    code = values / grid
    limit = symbol_limit(bits + finer_bits(bits), False)
    symbols = torch.clamp(code + (torch.round(code) - code).detach(), -limit, limit)
    return symbols * grid, code


def initial_step(values: torch.Tensor, bits: int) -> torch.Tensor:
    """The paper's initial step: the tensor's range over ``2^bits - 1`` levels."""
    values = values.detach()
    return ((values.max() - values.min()) / (2**bits - 1)).clamp(STEP_MIN, STEP_MAX).reshape(())


def _input_frames(model: HNeRVBoost, frames: torch.Tensor) -> torch.Tensor:
    """Training frames padded (edge replication) to the size the decoder renders."""
    scale = math.prod(model.config.strides)
    _, _, height, width = frames.shape
    pad = (0, model.grid[1] * scale - width, 0, model.grid[0] * scale - height)
    return F.pad(frames, pad, mode="replicate")


def _fit_stage(
    parameters: list[nn.Parameter],
    render: Any,
    fitting: Fitting,
    lr: float,
    extra: Any = None,
) -> TrainStats:
    """Train ``render(indices)`` against the frames with MSE + Fourier L1 (+ ``extra(indices)``)."""
    options = fitting.options

    def step(indices: torch.Tensor) -> torch.Tensor:
        indices = indices.to(fitting.device)
        masks = fitting.masks[indices] if fitting.masks is not None else None
        prediction, target = render(indices), fitting.targets[indices]
        loss = reconstruction_loss(prediction, target, masks, options.loss)
        loss = loss + FREQUENCY_WEIGHT * frequency_loss(prediction, target, masks)
        return loss + extra(indices) if extra is not None else loss

    return train(
        parameters,
        step,
        len(fitting.data.times),
        iters=options.iters,
        seconds=options.seconds,
        lr=lr,
        batch=options.batch,
        seed=options.seed,
        callback=options.callback,
    )


def fit_hnerv_boost(
    frames: np.ndarray | torch.Tensor,
    *,
    size: str = "s",
    lr: float = LR,
    encoder_dims: list[int] | None = None,
    overrides: dict | None = None,
    compress: bool = False,
    bits: int = BITS,
    **options: Any,
) -> HNeRVBoost:
    """Train HNeRV-Boost's encoder and conditional decoder; return the decoder with every frame's embedding.

    Arguments as :func:`benchmarks.baselines.hnerv.fit_hnerv`; ``compress``:
    add the paper's consistent-entropy-minimization stage at ``bits``.
    """
    fitting = prepare_fit(frames, FitOptions(**options))
    data, device = fitting.data, fitting.device
    _, _, height, width = data.frames.shape
    config = hnerv_boost_config(height, width, data.num_frames, data.times, size, **(overrides or {}))
    model = HNeRVBoost(config).to(device)
    dims = list(encoder_dims or ENCODER_DIMS)[: len(config.strides)]
    encoder = Encoder(list(reversed(config.strides)), dims, config.embed_dim).to(device)
    inputs = _input_frames(model, data.frames).to(device)  # unknown pixels are already zero
    clip_times = torch.tensor(data.times, dtype=torch.float32, device=device)
    parameters = [*model.parameters(), *encoder.parameters()]
    model.train()
    encoder.train()
    total = sum(STAGES)
    regression = stage_fitting(fitting, STAGES[0] / total) if compress else fitting

    def render(indices: torch.Tensor) -> torch.Tensor:
        return model.decode_embeddings(encoder(inputs[indices]), clip_times[indices])

    stats = [_fit_stage(parameters, render, regression, lr)]
    if compress:
        stats.append(
            _entropy_stage(model, encoder, inputs, clip_times, stage_fitting(fitting, STAGES[1] / total), lr, bits)
        )
    encoder.eval()
    with torch.no_grad():
        model.embeddings.copy_(torch.cat([encoder(inputs[i : i + 8]) for i in range(0, inputs.shape[0], 8)]))
    model.eval()
    model.train_stats = joined(stats)
    return model


def _entropy_stage(
    model: HNeRVBoost,
    encoder: Encoder,
    inputs: torch.Tensor,
    clip_times: torch.Tensor,
    fitting: Fitting,
    lr: float,
    bits: int,
) -> TrainStats:
    """Consistent entropy minimization: learned-step quantization in every forward pass, ``lambda * bpp`` above the target.

    Sets ``model.coding_steps`` (the grid steps the bitstream then uses).
    """
    weights = {name: p for name, p in model.named_parameters() if p.ndim >= 2}
    with torch.no_grad():
        embeddings = torch.cat([encoder(inputs[i : i + 8]) for i in range(0, inputs.shape[0], 8)])
    # Each step as exp(STEP_GAIN * theta): Adam moves theta by about the rate per step, so a step changes by a
    # few per cent per iteration whatever its size (a raw step, as the paper's, random-walks at this rate).
    logs = {name: nn.Parameter(initial_step(p, bits).log() / STEP_GAIN) for name, p in weights.items()}
    logs["embeddings"] = nn.Parameter(initial_step(embeddings, bits).log() / STEP_GAIN)

    def step(name: str) -> torch.Tensor:
        return torch.exp(STEP_GAIN * logs[name])

    numbers = model.numbers()
    pixels = fitting.data.num_frames * model.config.height * model.config.width
    stored = len(fitting.data.times)
    rate: dict[str, torch.Tensor] = {}

    def render(indices: torch.Tensor) -> torch.Tensor:
        quantized, total = {}, []
        for name, p in weights.items():
            quantized[name], code = learned_quantize(p, step(name), bits)
            total.append(gaussian_bits(code, noisy=True))
        embedded, code = learned_quantize(encoder(inputs[indices]), step("embeddings"), bits)
        rate["bits"] = sum(total) + gaussian_bits(code, noisy=True) * stored / len(indices)
        return torch.func.functional_call(model, quantized, (embedded, clip_times[indices]), strict=False)

    def rate_term(indices: torch.Tensor) -> torch.Tensor:
        estimate = rate["bits"]
        if float(estimate.detach()) / numbers <= TARGET_BITS:
            return estimate * 0.0
        return LAMBDA_RATE * estimate / pixels

    parameters = [*model.parameters(), *encoder.parameters(), *logs.values()]
    stats = _fit_stage(parameters, render, fitting, lr * COMPRESS_LR_SCALE, rate_term)
    with torch.no_grad():
        model.coding_steps = {name: grid_steps(step(name).clamp(STEP_MIN, STEP_MAX)) for name in logs}
    return stats


SYSTEM = register(
    FrameModelSystem(HNeRVBoost, fit_hnerv_boost, PRESETS, hnerv_boost_config, bits=BITS, coding_fit={"compress": True})
)

__all__ = [
    "PRESETS",
    "SYSTEM",
    "HNeRVBoost",
    "HNeRVBoostConfig",
    "fit_hnerv_boost",
    "frequency_loss",
    "gaussian_bits",
    "hnerv_boost_config",
]
