"""HiNeRV (Kwan et al., NeurIPS 2023), written here from the paper's description.

A frame is a function of its index alone, as in NeRV, but the network is fed
by *hierarchical encoding*: learned feature grids at every resolution.

- **Base encoding.** Multi-resolution grids ``[T_l, C_l, h, w]`` at the
  smallest feature-map size (``h x w``); level ``l`` has half the temporal
  nodes and twice the channels of level ``l - 1`` (the paper's 2 levels). Frame
  ``t`` reads each level by linear interpolation in time, the levels are
  concatenated and a 3x3 conv (the stem) maps them to ``channels``.
- **Stages.** Each stage normalises its input (LayerNorm over channels, no
  affine), upsamples it bilinearly by ``s``, and adds the *upsampling
  encoding*: per level, a grid ``[T_l, s*s*C_l]`` read by linear interpolation
  in time gives one feature vector per position inside an ``s x s`` cell; a
  linear layer maps the levels' concatenation to the stage's width, and the
  ``s x s`` pattern is tiled over the upsampled map (the paper's temporal
  local grids: 3 levels, temporal nodes halving and channels doubling per
  level, channels halving per stage). Then ``depth`` ConvNeXt-style blocks:
  3x3 depthwise conv, LayerNorm (no affine), linear ``C -> e*C'``, GELU, linear
  ``-> C'``, residual when ``C == C'``; no biases in the blocks. Widths: the
  first stage keeps ``channels``, each later one divides it by ``reduction``
  (2, as the paper), down to ``min_channels``.
- **Head.** A linear layer to RGB and a sigmoid.

Training is frame-wise (the paper trains on patches of 1080p frames; a
176x144 frame is smaller than one batch of its patches), with Adam at the
paper's rate for one frame per step (2e-3 after its batch-size scaling).
The reconstruction loss is MSE, as for NeRV and HNeRV here (the paper's is
``0.7 L1 + 0.3 (1 - MS-SSIM)``; every system in the benchmarks is scored by PSNR;
``loss="l1ssim"`` selects the bench's L1 + SSIM mix).

Compression (``compress=True``, what the rate-distortion benchmark runs): the
paper's three stages in its epoch proportions (300 : 60 : 30):

1. training;
2. pruning: the 15 % of stored numbers with the smallest ``|w| / sqrt(n)``
   (``n``: the unpruned weights of the layer, so larger layers lose more)
   among the decoder's conv and linear weights (grids, encodings' linear
   layers and biases are not pruned), then fine-tuning with them held at zero;
3. quantization-aware training at 6 bits with Quant-Noise (each step, 90 %
   of the weights replaced by their quantized values, without gradient; the
   paper's ``--quant-noise 0.9``) at a tenth of the learning rate.

The bitstream (:mod:`benchmarks.baselines.bitstream`) quantizes every weight
and grid at 6 bits (the paper's bitstream level), with the steps the QAT stage
trained against (:mod:`benchmarks.baselines.stages`); pruned weights are
zero symbols, and all symbols are entropy-coded by nvcodec's count-table ANS
(the paper: per-tensor arithmetic coding with counts). Left out: gradient
clipping (max norm 1), which the bench's training loop has no place for.

Sizing for 176x144: the paper's 1080p models upsample an 18x32 map by 5, 3,
2, 2. We keep four stages with the paper's expansions (4, 4, 4, 1) and width
reduction (2) and upsample by 2, 2, 2, 2, so the smallest map is 9x11 and
covers 144x176 exactly. Depths: the repository's HiNeRV-B configurations'
(2, 1, 1, 1) rather than the paper's (3, 3, 3, 1): at equal stored numbers
(preset m) and a 20 s fit on carphone (about 1,000 steps, the budgets here)
they trained to 29.0 dB against 26.9 dB. The temporal grids keep the paper's
proportions to the number of frames: base grid nodes a quarter of the frames
(UVG: 150 of 600), upsampling grids one node per frame. The presets set
``channels`` and the grid channels (the paper's S to L double the grid
channels as the width grows by 1.4) for stored-number counts of 1.3 to 1.8
times HNeRV's presets: a 6-bit, 15 % pruned number took 0.71-0.75 bytes on
carphone against HNeRV's 1.0, so the four points land near HNeRV's rates
(see ``PRESETS``).

Frame index ``t``: grids are read at ``u = (t - t_0) / (t_last - t_0)`` over
the trained frames, with node ``k`` of ``T_l`` at ``u = k / (T_l - 1)``
(clamped outside). With every frame trained, the finest upsampling grid has a
node per frame; with every 10th (slow motion) it has one per trained frame and
the frames between are linear interpolations of the grids, as HNeRV
interpolates embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.baselines.blocks import FrameModel, grid_size
from benchmarks.baselines.frame_system import FrameModelSystem
from benchmarks.baselines.registry import register
from benchmarks.baselines.stages import bitstream_values, joined, stage_fitting
from benchmarks.baselines.training import FitOptions, fit_frames, prepare_fit


@dataclass
class HiNeRVConfig:
    """Everything the decoder needs to rebuild the network (stored in the bitstream header)."""

    height: int
    width: int
    num_frames: int
    times: list[int]
    """Clip frame indices of the trained frames (sorted): the grids' time axis spans them."""
    strides: list[int] = field(default_factory=lambda: [2, 2, 2, 2])
    channels: int = 32
    """Width of the stem and the first stage."""
    reduction: float = 2.0
    min_channels: int = 6
    depths: list[int] = field(default_factory=lambda: [2, 1, 1, 1])
    """Blocks per stage: the repository's HiNeRV-B depths (the paper's models: 3, 3, 3, 1; see the module docstring)."""
    expansions: list[float] = field(default_factory=lambda: [4.0, 4.0, 4.0, 1.0])
    kernel: int = 3
    stem_kernel: int = 3
    base_channels: int = 2
    """Channels of the base grid's finest temporal level (each coarser level doubles them)."""
    base_levels: int = 2
    base_nodes: int = 8
    """Temporal nodes of the base grid's finest level: a quarter of the trained frames."""
    enc_channels: int = 4
    """Channels of the first stage's finest upsampling grid (halved per stage, doubled per level)."""
    enc_levels: int = 3
    enc_nodes: int = 31
    """Temporal nodes of each upsampling grid's finest level: one per trained frame."""

    def widths(self) -> list[int]:
        """Stem width, then the output width of every stage."""
        return [self.channels] + [
            max(self.min_channels, round(self.channels / self.reduction**i)) for i in range(len(self.strides))
        ]

    def level_shape(self, nodes: int, channels: int, level: int) -> tuple[int, int]:
        """(temporal nodes, channels) of grid level ``level``: nodes halve, channels double."""
        return max(1, nodes // 2**level), channels * 2**level

    def enc_channels_at(self, stage: int) -> int:
        return max(1, int(self.enc_channels * 0.5**stage))


def sample_time(grid: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Rows of ``grid`` (``[T, ...]``, node ``k`` at ``k / (T - 1)``) linearly interpolated at ``u`` in [0, 1]."""
    nodes = grid.shape[0]
    if nodes == 1:
        return grid.expand(u.shape[0], *grid.shape[1:])
    position = u.clamp(0, 1) * (nodes - 1)
    lower = position.floor().long().clamp(0, nodes - 2)
    weight = (position - lower).view(-1, *[1] * (grid.ndim - 1)).to(grid.dtype)
    return torch.lerp(grid[lower], grid[lower + 1], weight)


def _grid(*shape: int) -> nn.Parameter:
    return nn.Parameter(torch.empty(*shape).uniform_(-1e-3, 1e-3))


class ConvNeXtBlock(nn.Module):
    """Depthwise k x k conv, LayerNorm (no affine), linear ``C -> hidden``, GELU, linear ``-> C'``; residual if ``C == C'``."""

    def __init__(self, c_in: int, c_out: int, hidden: int, kernel: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, kernel, padding=kernel // 2, groups=c_in, bias=False)
        self.fc1 = nn.Linear(c_in, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, c_out, bias=False)
        self.residual = c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, H, W, C]`` -> ``[N, H, W, C']``."""
        y = self.depthwise(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        y = self.fc2(F.gelu(self.fc1(F.layer_norm(y, y.shape[-1:], eps=1e-6))))
        return x + y if self.residual else y


class UpsamplingEncoding(nn.Module):
    """Temporal local grids: an ``s x s`` pattern of ``channels``-wide features for frame ``u``."""

    def __init__(self, config: HiNeRVConfig, stage: int, channels: int) -> None:
        super().__init__()
        self.stride = config.strides[stage]
        cells = self.stride**2
        shapes = [
            config.level_shape(config.enc_nodes, config.enc_channels_at(stage), level)
            for level in range(config.enc_levels)
        ]
        self.grids = nn.ParameterList([_grid(nodes, cells * width) for nodes, width in shapes])
        self.widths = [width for _, width in shapes]
        self.linear = nn.Linear(sum(self.widths), channels)
        nn.init.zeros_(self.linear.bias)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """``[N]`` -> ``[N, s, s, channels]``."""
        cells = self.stride**2
        levels = [sample_time(g, u).view(-1, cells, w) for g, w in zip(self.grids, self.widths)]
        return self.linear(torch.cat(levels, dim=-1)).view(-1, self.stride, self.stride, self.linear.out_features)


class HiNeRV(FrameModel):
    """Base grids, a stem, four upsampling stages with their encodings, and a linear head."""

    kind = "hinerv"
    config_class = HiNeRVConfig

    def __init__(self, config: HiNeRVConfig) -> None:
        super().__init__()
        self.config = config
        self.grid = grid_size(config.height, config.width, config.strides)
        gh, gw = self.grid
        base = [
            config.level_shape(config.base_nodes, config.base_channels, level) for level in range(config.base_levels)
        ]
        self.base = nn.ParameterList([_grid(nodes, width, gh, gw) for nodes, width in base])
        widths = config.widths()
        self.stem = nn.Conv2d(sum(width for _, width in base), widths[0], config.stem_kernel, padding="same")
        nn.init.zeros_(self.stem.bias)
        self.encodings = nn.ModuleList(
            [UpsamplingEncoding(config, stage, widths[stage]) for stage in range(len(config.strides))]
        )
        self.stages = nn.ModuleList()
        for stage, depth in enumerate(config.depths):
            c_in, c_out = widths[stage], widths[stage + 1]
            hidden = max(1, round(c_out * config.expansions[stage]))
            self.stages.append(
                nn.ModuleList(
                    [ConvNeXtBlock(c_in if j == 0 else c_out, c_out, hidden, config.kernel) for j in range(depth)]
                )
            )
        self.head = nn.Linear(widths[-1], 3)
        nn.init.zeros_(self.head.bias)
        first, last = config.times[0], config.times[-1]
        self.register_buffer("time_origin", torch.tensor(float(first)), False)
        self.register_buffer("time_span", torch.tensor(float(max(last - first, 1))), False)

    def position(self, t: torch.Tensor) -> torch.Tensor:
        """Frame indices -> ``u`` in [0, 1] over the trained frames."""
        return ((t.to(torch.float32) - self.time_origin) / self.time_span).clamp(0, 1)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """:meth:`frames` (what ``torch.func.functional_call`` runs in the QAT stage)."""
        return self.frames(t)

    def frames(self, t: torch.Tensor) -> torch.Tensor:
        u = self.position(t)
        x = self.stem(torch.cat([sample_time(g, u) for g in self.base], dim=1)).permute(0, 2, 3, 1)
        for stride, encoding, blocks in zip(self.config.strides, self.encodings, self.stages):
            x = F.layer_norm(x, x.shape[-1:], eps=1e-6).permute(0, 3, 1, 2)
            x = F.interpolate(x, scale_factor=stride, mode="bilinear", align_corners=False).permute(0, 2, 3, 1)
            _, height, width, _ = x.shape
            x = x + encoding(u).repeat(1, height // stride, width // stride, 1)
            for block in blocks:
                x = block(x)
        out = torch.sigmoid(self.head(x)).permute(0, 3, 1, 2)
        return out[..., : self.config.height, : self.config.width]


PRESETS: dict[str, dict] = {
    # Stored numbers on 31 frames of 176x144, grids included (their share: 18 % in the paper's S-L models);
    # bpp at 6 bits ~ numbers / 135k (0.71-0.75 bytes per number measured on carphone)
    "xs": {"channels": 17, "min_channels": 6, "base_channels": 1, "enc_channels": 1},  # 10.4k numbers (33 % grids)
    "s": {"channels": 28, "min_channels": 8, "base_channels": 2, "enc_channels": 2},  # 24.0k (24 %)
    "m": {"channels": 46, "min_channels": 10, "base_channels": 4, "enc_channels": 4},  # 60.2k (19 %)
    "l": {"channels": 74, "min_channels": 14, "base_channels": 8, "enc_channels": 8},  # 152k (16 %)
}
LR = 2e-3
"""Peak learning rate: the paper's for a batch of one frame."""
BITS = 6
"""Bit depth of the weights and grids in the bitstream (the paper's evaluated level)."""
PRUNE_RATIO = 0.15
PRUNE_WEIGHT = 0.5
"""Pruning score ``|w| / n^PRUNE_WEIGHT``, ``n`` the layer's unpruned weights (the paper's ``--prune-weight``)."""
QUANT_NOISE = 0.9
QUANT_LR_SCALE = 0.1
STAGES = (300, 60, 30)
"""Epochs of training, pruning fine-tuning and QAT in the paper: the shares of a compressed fit's budget."""


def hinerv_config(
    height: int, width: int, num_frames: int, times: list[int], size: str = "s", **overrides
) -> HiNeRVConfig:
    if size not in PRESETS:
        raise ValueError(f"unknown HiNeRV size {size!r}: use one of {sorted(PRESETS)}")
    count = len(times)
    sized = {"base_nodes": max(1, round(count / 4)), "enc_nodes": count}
    return replace(HiNeRVConfig(height, width, num_frames, list(times), **sized, **PRESETS[size]), **overrides)


def prunable(model: HiNeRV) -> dict[str, torch.Tensor]:
    """The decoder's conv and linear weights (not the grids, the encodings' linear layers or biases)."""
    return {
        name: p
        for name, p in model.named_parameters()
        if name.endswith("weight") and not name.startswith(("base", "encodings"))
    }


@torch.no_grad()
def pruning_masks(model: HiNeRV, ratio: float = PRUNE_RATIO, weight: float = PRUNE_WEIGHT) -> dict[str, torch.Tensor]:
    """Keep-masks zeroing ``ratio`` of the stored numbers, lowest ``|w| / n^weight`` first, among :func:`prunable`."""
    targets = prunable(model)
    scores = torch.cat([(p.abs() / p.numel() ** weight).flatten() for p in targets.values()])
    amount = min(int(ratio * model.numbers()), scores.numel())
    if amount == 0:
        return {name: torch.ones_like(p, dtype=torch.bool) for name, p in targets.items()}
    threshold = torch.kthvalue(scores.cpu(), amount).values.to(scores.device)
    return {name: (p.abs() / p.numel() ** weight) > threshold for name, p in targets.items()}


@torch.no_grad()
def apply_masks(model: HiNeRV, masks: dict[str, torch.Tensor]) -> None:
    parameters = dict(model.named_parameters())
    for name, mask in masks.items():
        parameters[name].mul_(mask)


def quant_noise(model: HiNeRV, bits: int, noise: float) -> dict[str, torch.Tensor]:
    """Every weight of two or more dimensions with ``noise`` of its entries replaced by their bitstream values."""
    out = {}
    for name, p in model.named_parameters():
        if p.ndim >= 2:
            replaced = torch.rand(p.shape, device=p.device) < noise
            out[name] = torch.where(replaced, bitstream_values(p, bits), p)
    return out


def fit_hinerv(
    frames: np.ndarray | torch.Tensor,
    *,
    size: str = "s",
    lr: float = LR,
    overrides: dict | None = None,
    compress: bool = False,
    bits: int = BITS,
    **options: Any,
) -> HiNeRV:
    """Train HiNeRV on ``frames``; with ``compress``, prune and quantization-aware train in the paper's stages.

    Arguments as :func:`benchmarks.baselines.nerv.fit_nerv`; ``bits``: the QAT
    stage's depth (the bitstream's, :data:`BITS`). The returned model carries
    ``train_stats`` (all stages together) and, after ``compress``, zero
    weights where it was pruned.
    """
    fitting = prepare_fit(frames, FitOptions(**options))
    data, device = fitting.data, fitting.device
    _, _, height, width = data.frames.shape
    model = HiNeRV(hinerv_config(height, width, data.num_frames, data.times, size, **(overrides or {}))).to(device)
    clip_times = torch.tensor(data.times, dtype=torch.float32, device=device)
    parameters = list(model.parameters())
    model.train()
    if not compress:
        model.train_stats = fit_frames(parameters, lambda indices: model.frames(clip_times[indices]), fitting, lr)
        model.eval()
        return model
    total = sum(STAGES)
    stats = [
        fit_frames(parameters, lambda i: model.frames(clip_times[i]), stage_fitting(fitting, STAGES[0] / total), lr)
    ]
    masks = pruning_masks(model)

    def pruned(indices: torch.Tensor) -> torch.Tensor:
        apply_masks(model, masks)  # before every step: the pruned weights stay zero
        return model.frames(clip_times[indices])

    stats.append(fit_frames(parameters, pruned, stage_fitting(fitting, STAGES[1] / total), lr))

    def quantized(indices: torch.Tensor) -> torch.Tensor:
        apply_masks(model, masks)
        noisy = quant_noise(model, bits, QUANT_NOISE)
        return torch.func.functional_call(model, noisy, (clip_times[indices],), strict=False)

    stats.append(fit_frames(parameters, quantized, stage_fitting(fitting, STAGES[2] / total), lr * QUANT_LR_SCALE))
    apply_masks(model, masks)
    model.eval()
    model.train_stats = joined(stats)
    model.pruned_numbers = int(sum(int((~m).sum()) for m in masks.values()))
    return model


SYSTEM = register(
    FrameModelSystem(HiNeRV, fit_hinerv, PRESETS, hinerv_config, bits=BITS, coding_fit={"compress": True})
)

__all__ = ["BITS", "PRESETS", "SYSTEM", "HiNeRV", "HiNeRVConfig", "fit_hinerv", "hinerv_config", "pruning_masks"]
