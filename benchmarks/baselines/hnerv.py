"""HNeRV (Chen et al., CVPR 2023), written here from the paper's description.

Training: a small ConvNeXt-style encoder (one strided "patchify" conv, a
channel LayerNorm and one ConvNeXt block per stage: 7x7 depthwise conv,
LayerNorm, 1x1 expand x4, GELU, 1x1 back, residual; then a 1x1 conv to
``embed_dim``) maps each frame to a tiny embedding (``embed_dim x h x w``,
e.g. 16x3x4 for 176x144), and the decoder turns it back into the frame.
Encoder and decoder are trained end to end.

Stored (the bitstream): the decoder and every training frame's embedding,
both quantized and entropy-coded. The encoder is discarded.

Decoder: HNeRV blocks (k x k conv -> PixelShuffle(s) -> GELU), then a 3x3 conv
to RGB and a sigmoid. The paper's *evenly distributed parameters*: widths
shrink slowly with resolution (``C_i = max(C_1 / r^(i-1), C_min)``, r = 1.2)
while kernel sizes grow from ``kernel_min`` to ``kernel_max`` (the paper: 1 to
5; our presets use 1 to 3, as 5x5 kernels would dominate such small decoders),
so later, high-resolution blocks still hold a fair share of the parameters.

Non-power-of-two frames: as for NeRV, the embedding grid is the smallest one
whose upsampled size covers the frame; the encoder sees the frame padded
(edge replication) to that size and the decoder's output is cropped.

Fractional frame index (our choice, not the paper's): the embedding of frame
``t`` is the linear interpolation of the stored embeddings of the nearest
stored frames on either side (clamped outside their range). Frames that were
not trained on (slow motion: train on every 10th frame) have no embedding of
their own and are rendered the same way.

Masks (inpainting): unknown pixels are zeroed before the encoder sees the
frame and do not enter the loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.baselines.blocks import FrameModel, UpBlock, grid_size
from benchmarks.baselines.frame_system import FrameModelSystem
from benchmarks.baselines.registry import register
from benchmarks.baselines.training import FitOptions, fit_frames, prepare_fit


@dataclass
class HNeRVConfig:
    """Everything the decoder needs to rebuild the network (stored in the bitstream header)."""

    height: int
    width: int
    num_frames: int
    times: list[int]
    """Clip frame index of each stored embedding (sorted)."""
    embed_dim: int = 16
    strides: list[int] = field(default_factory=lambda: [4, 3, 2, 2])
    channels: int = 32
    """Output width of the first block, ``C_1``."""
    reduction: float = 1.2
    min_channels: int = 8
    kernel_min: int = 1
    kernel_max: int = 3
    head_kernel: int = 3
    activation: str = "gelu"

    def widths(self) -> list[int]:
        """Input width of every block and of the head: ``[embed_dim, C_1, C_2, ...]``."""
        return [self.embed_dim] + [
            max(self.min_channels, round(self.channels / self.reduction**i)) for i in range(len(self.strides))
        ]

    def kernels(self) -> list[int]:
        """Kernel sizes growing linearly (odd) from ``kernel_min`` to ``kernel_max``."""
        n = len(self.strides)
        raw = [self.kernel_min + (self.kernel_max - self.kernel_min) * i / max(n - 1, 1) for i in range(n)]
        return [max(1, 2 * round((k - 1) / 2) + 1) for k in raw]


PRESETS: dict[str, dict] = {
    # ~0.06 / 0.17 / 0.47 / 1.2 bpp at 8 bits on 31 frames of 176x144 (about one byte per number,
    # embeddings included; bpp scales with numbers / (frames * pixels))
    "xs": {"embed_dim": 2, "channels": 10, "min_channels": 4},  # 5.8k numbers (0.7k embedding values)
    "s": {"embed_dim": 4, "channels": 18, "min_channels": 6},  # 16.7k (1.5k)
    "m": {"embed_dim": 8, "channels": 30, "min_channels": 10},  # 46.6k (3.0k)
    "l": {"embed_dim": 16, "channels": 48, "min_channels": 14},  # 118k (6.0k)
}
ENCODER_DIMS = [16, 32, 64, 64]
LR = 1e-2
"""Peak learning rate: best of 5e-3 / 1e-2 in 30 s probes on carphone (preset m)."""


class HNeRV(FrameModel):
    """The stored part: decoder plus per-frame embeddings."""

    kind = "hnerv"
    config_class = HNeRVConfig

    def __init__(self, config: HNeRVConfig) -> None:
        super().__init__()
        self.config = config
        self.grid = grid_size(config.height, config.width, config.strides)
        widths, kernels = config.widths(), config.kernels()
        self.blocks = nn.Sequential(
            *[UpBlock(widths[i], widths[i + 1], s, kernels[i], config.activation) for i, s in enumerate(config.strides)]
        )
        self.head = nn.Conv2d(widths[-1], 3, config.head_kernel, padding=config.head_kernel // 2)
        self.register_buffer("embeddings", torch.zeros(len(config.times), config.embed_dim, *self.grid))
        self.register_buffer("times", torch.tensor(config.times, dtype=torch.float32), False)

    def decode_embeddings(self, embeddings: torch.Tensor) -> torch.Tensor:
        out = torch.sigmoid(self.head(self.blocks(embeddings)))
        return out[..., : self.config.height, : self.config.width]

    def embedding_at(self, t: torch.Tensor) -> torch.Tensor:
        """Linear interpolation between the stored embeddings around each ``t`` (clamped at the ends)."""
        times = self.times
        t = t.to(times.dtype).clamp(times[0], times[-1])
        upper = torch.searchsorted(times, t).clamp(1, max(len(times) - 1, 1))
        if len(times) == 1:
            return self.embeddings[[0] * t.shape[0]]
        lower = upper - 1
        weight = ((t - times[lower]) / (times[upper] - times[lower])).view(-1, 1, 1, 1)
        return torch.lerp(self.embeddings[lower], self.embeddings[upper], weight)

    def frames(self, t: torch.Tensor) -> torch.Tensor:
        return self.decode_embeddings(self.embedding_at(t))


class _ChannelNorm(nn.Module):
    """LayerNorm over the channels of ``[B, C, H, W]``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class _ConvNeXtBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.norm = _ChannelNorm(channels)
        self.expand = nn.Conv2d(channels, 4 * channels, 1)
        self.project = nn.Conv2d(4 * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.project(F.gelu(self.expand(self.norm(self.depthwise(x)))))


class Encoder(nn.Module):
    """Frame ``[B, 3, gh*S, gw*S]`` -> embedding ``[B, embed_dim, gh, gw]`` (training only)."""

    def __init__(self, strides: list[int], dims: list[int], embed_dim: int) -> None:
        super().__init__()
        if len(dims) != len(strides):
            raise ValueError(f"{len(dims)} encoder widths for {len(strides)} strides")
        stages: list[nn.Module] = []
        previous = 3
        for stride, width in zip(strides, dims):
            stages += [nn.Conv2d(previous, width, stride, stride=stride), _ChannelNorm(width), _ConvNeXtBlock(width)]
            previous = width
        self.stages = nn.Sequential(*stages)
        self.out = nn.Conv2d(previous, embed_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.stages(x))


def hnerv_config(
    height: int, width: int, num_frames: int, times: list[int], size: str = "s", **overrides
) -> HNeRVConfig:
    if size not in PRESETS:
        raise ValueError(f"unknown HNeRV size {size!r}: use one of {sorted(PRESETS)}")
    return replace(HNeRVConfig(height, width, num_frames, list(times), **PRESETS[size]), **overrides)


def fit_hnerv(
    frames: np.ndarray | torch.Tensor,
    *,
    size: str = "s",
    lr: float = LR,
    encoder_dims: list[int] | None = None,
    overrides: dict | None = None,
    **options: Any,
) -> HNeRV:
    """Train HNeRV's encoder and decoder on ``frames``; return the decoder with every frame's embedding.

    Arguments as :func:`benchmarks.baselines.nerv.fit_nerv`; ``encoder_dims``:
    the training encoder's widths (default ``ENCODER_DIMS``).
    """
    fitting = prepare_fit(frames, FitOptions(**options))
    data, device = fitting.data, fitting.device
    _, _, height, width = data.frames.shape
    model = HNeRV(hnerv_config(height, width, data.num_frames, data.times, size, **(overrides or {}))).to(device)
    dims = list(encoder_dims or ENCODER_DIMS)[: len(model.config.strides)]
    encoder = Encoder(list(reversed(model.config.strides)), dims, model.config.embed_dim).to(device)
    scale = math.prod(model.config.strides)
    pad = (0, model.grid[1] * scale - width, 0, model.grid[0] * scale - height)
    inputs = F.pad(data.frames, pad, mode="replicate").to(device)  # unknown pixels are already zero
    model.train()
    encoder.train()
    stats = fit_frames(
        [*model.parameters(), *encoder.parameters()],
        lambda indices: model.decode_embeddings(encoder(inputs[indices])),
        fitting,
        lr,
    )
    encoder.eval()
    with torch.no_grad():
        model.embeddings.copy_(torch.cat([encoder(inputs[i : i + 8]) for i in range(0, inputs.shape[0], 8)]))
    model.eval()
    model.train_stats = stats
    return model


SYSTEM = register(FrameModelSystem(HNeRV, fit_hnerv, PRESETS, hnerv_config))

__all__ = ["PRESETS", "SYSTEM", "Encoder", "HNeRV", "HNeRVConfig", "fit_hnerv", "hnerv_config"]
