"""NeRV (Chen et al., NeurIPS 2021), written here from the paper's description.

A frame is a function of its (normalised) index only: ``t`` in [0, 1] goes
through the positional encoding ``gamma(t) = (sin(b^0 pi t), cos(b^0 pi t),
..., sin(b^(l-1) pi t), cos(b^(l-1) pi t))``, an MLP (two linear layers with
GELU) maps it to a small ``C0 x h x w`` feature map, and NeRV blocks (3x3
conv -> PixelShuffle(s) -> GELU) upsample it, each one dividing the width by
``reduction`` (2, as in the paper), down to ``min_channels``. A last conv maps
to RGB and a sigmoid to [0, 1]. ``t`` is continuous, so fractional indices
(slow motion) need nothing special.

Sizing for small clips: ``h x w`` is the smallest grid that covers the frame
after upsampling by ``prod(strides)``; the network renders the covering size
and the frame is its top-left crop, so any ``H, W`` works (carphone 176x144
with strides 4,3,2,2: grid 3x4 -> 144x192 -> crop to 144x176).

The presets are sized for 31 frames of 176x144. At 8 bits, ANS coding gets
trained weights to about one byte per number (0.95-1.01 measured on
carphone), so they land near 0.1 / 0.22 / 0.55 / 1.3 bpp there. ``bpp`` scales
with ``parameters / (frames * pixels)``, so a longer clip wants a larger preset.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from benchmarks.baselines.blocks import FrameModel, UpBlock, activation, grid_size
from benchmarks.baselines.frame_system import FrameModelSystem
from benchmarks.baselines.registry import register
from benchmarks.baselines.training import FitOptions, fit_frames, normalised_time, prepare_fit


@dataclass
class NeRVConfig:
    """Everything the decoder needs to rebuild the network (stored in the bitstream header)."""

    height: int
    width: int
    num_frames: int
    pe_levels: int = 32
    """``l``: frequencies ``b^0 .. b^(l-1)`` (the paper: 80 for hundreds of frames)."""
    pe_base: float = 1.25
    mlp_hidden: int = 64
    channels: int = 32
    """Width of the MLP's feature map, ``C0``."""
    strides: list[int] = field(default_factory=lambda: [4, 3, 2, 2])
    reduction: float = 2.0
    min_channels: int = 8
    kernel: int = 3
    head_kernel: int = 1
    activation: str = "gelu"

    def widths(self) -> list[int]:
        """Feature widths from the MLP's map to the last block's output."""
        widths = [self.channels]
        for _ in self.strides:
            widths.append(max(self.min_channels, round(widths[-1] / self.reduction)))
        return widths


PRESETS: dict[str, dict] = {
    # bpp at 8 bits on 31 frames of 176x144 ~ numbers / 98k (see the module docstring)
    "xs": {"pe_levels": 16, "mlp_hidden": 16, "channels": 8, "min_channels": 4},  # 9.4k numbers
    "s": {"pe_levels": 16, "mlp_hidden": 32, "channels": 12, "min_channels": 6},  # 21.9k
    "m": {"pe_levels": 24, "mlp_hidden": 48, "channels": 20, "min_channels": 8},  # 54.3k
    "l": {"pe_levels": 32, "mlp_hidden": 64, "channels": 32, "min_channels": 12},  # 129k
}
LR = 5e-3
"""Peak learning rate: best of 2e-3 / 5e-3 in 30 s probes on carphone (preset m)."""


class NeRV(FrameModel):
    kind = "nerv"
    config_class = NeRVConfig

    def __init__(self, config: NeRVConfig) -> None:
        super().__init__()
        self.config = config
        self.grid = grid_size(config.height, config.width, config.strides)
        widths = config.widths()
        gh, gw = self.grid
        self.register_buffer(
            "frequencies", math.pi * config.pe_base ** torch.arange(config.pe_levels, dtype=torch.float32), False
        )
        self.mlp = nn.Sequential(
            nn.Linear(2 * config.pe_levels, config.mlp_hidden),
            activation(config.activation),
            nn.Linear(config.mlp_hidden, widths[0] * gh * gw),
            activation(config.activation),
        )
        self.blocks = nn.Sequential(
            *[
                UpBlock(widths[i], widths[i + 1], s, config.kernel, config.activation)
                for i, s in enumerate(config.strides)
            ]
        )
        self.head = nn.Conv2d(widths[-1], 3, config.head_kernel, padding=config.head_kernel // 2)

    def encode_time(self, t: torch.Tensor) -> torch.Tensor:
        """Positional encoding of frame indices ``[N]`` -> ``[N, 2l]``."""
        x = (t.to(torch.float32) / max(self.config.num_frames - 1, 1))[:, None] * self.frequencies
        return torch.cat([torch.sin(x), torch.cos(x)], dim=1)

    def frames(self, t: torch.Tensor) -> torch.Tensor:
        features = self.mlp(self.encode_time(t)).view(t.shape[0], -1, *self.grid)
        out = torch.sigmoid(self.head(self.blocks(features)))
        return out[..., : self.config.height, : self.config.width]


def nerv_config(height: int, width: int, num_frames: int, size: str = "s", **overrides) -> NeRVConfig:
    if size not in PRESETS:
        raise ValueError(f"unknown NeRV size {size!r}: use one of {sorted(PRESETS)}")
    return replace(NeRVConfig(height, width, num_frames, **PRESETS[size]), **overrides)


def fit_nerv(
    frames: np.ndarray | torch.Tensor, *, size: str = "s", lr: float = LR, overrides: dict | None = None, **options: Any
) -> NeRV:
    """Train NeRV on ``frames`` (``[T, H, W, 3]``, uint8 or float in [0, 1]).

    ``size``: a preset; ``overrides``: fields of :class:`NeRVConfig`;
    ``options``: :class:`benchmarks.baselines.training.FitOptions` (the budget
    ``iters`` and/or ``seconds``, ``times``, ``mask``, ``num_frames``,
    ``seed``, ``device``, ``callback``, ``loss``, ``batch``). The returned
    model carries ``train_stats`` (iterations, seconds, losses).
    """
    fitting = prepare_fit(frames, FitOptions(**options))
    data, device = fitting.data, fitting.device
    _, _, height, width = data.frames.shape
    model = NeRV(nerv_config(height, width, data.num_frames, size, **(overrides or {}))).to(device)
    clip_times = torch.tensor(data.times, dtype=torch.float32, device=device)
    model.train()
    model.train_stats = fit_frames(
        list(model.parameters()), lambda indices: model.frames(clip_times[indices]), fitting, lr
    )
    model.eval()
    return model


def config_dict(model: NeRV) -> dict:
    return asdict(model.config)


SYSTEM = register(
    FrameModelSystem(
        NeRV,
        fit_nerv,
        PRESETS,
        lambda height, width, num_frames, times, size: nerv_config(height, width, num_frames, size),
    )
)

__all__ = ["PRESETS", "SYSTEM", "NeRV", "NeRVConfig", "fit_nerv", "nerv_config", "normalised_time"]
