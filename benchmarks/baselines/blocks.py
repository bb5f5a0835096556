"""What NeRV and HNeRV are built from: activations, the upsampling block and the frame-model base class.

:class:`FrameModel` is a decoder that renders frame ``t`` (any real number) of
a clip. Every subclass with a ``kind`` is recorded under it as it is defined,
so a bitstream's header (which names the kind) finds the class to rebuild:
:meth:`FrameModel.of_kind`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn


def grid_size(height: int, width: int, strides: Sequence[int]) -> tuple[int, int]:
    """Size of the smallest feature map whose upsampling covers ``height x width``.

    Non-power-of-two frames: the network produces ``grid * prod(strides)``
    pixels per side, at least the frame, and the frame is its top-left crop
    (176x144 with strides 4,3,2,2 -> grid 3x4 -> 144x192 -> crop).
    """
    scale = math.prod(strides)
    return math.ceil(height / scale), math.ceil(width / scale)


def count_parameters(module: nn.Module) -> int:
    """Every number in the module's ``state_dict`` (what the bitstream stores)."""
    return sum(t.numel() for t in module.state_dict().values())


def activation(name: str) -> nn.Module:
    """GELU (the NeRV paper's best) or sine (also studied there)."""
    if name == "gelu":
        return nn.GELU()
    if name == "sin":
        return Sine()
    raise ValueError(f"unknown activation {name!r}: use gelu or sin")


class Sine(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


class UpBlock(nn.Sequential):
    """conv (k x k, ``c_in -> c_out * s^2``) -> PixelShuffle(s) -> activation: a NeRV / HNeRV block."""

    def __init__(self, c_in: int, c_out: int, stride: int, kernel: int, act: str) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out * stride * stride, kernel, padding=kernel // 2),
            nn.PixelShuffle(stride),
            activation(act),
        )


class FrameModel(nn.Module):
    """A decoder that renders frame ``t`` (any real number) of a clip; subclasses define ``frames``.

    A subclass sets ``kind`` (the name its bitstreams carry) and
    ``config_class`` (the dataclass of its architecture, built from a
    bitstream's header); defining it records it under ``kind``.
    """

    kind: str = ""
    config_class: ClassVar[type]
    config: object
    _kinds: ClassVar[dict[str, type[FrameModel]]] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            FrameModel._kinds[cls.kind] = cls

    @staticmethod
    def of_kind(kind: str) -> type[FrameModel]:
        """The class recorded under ``kind`` (its module must have been imported)."""
        try:
            return FrameModel._kinds[kind]
        except KeyError:
            known = ", ".join(sorted(FrameModel._kinds)) or "none imported"
            raise ValueError(f"unknown model kind {kind!r} in bitstream (known: {known})") from None

    def frames(self, t: torch.Tensor) -> torch.Tensor:
        """``[N]`` float frame indices -> ``[N, 3, H, W]`` in [0, 1] (differentiable)."""
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        return next(iter(self.state_dict().values())).device

    @torch.no_grad()
    def render(self, t: float) -> torch.Tensor:
        """Frame ``t`` (fractional indices interpolate) as ``[H, W, 3]`` float in [0, 1]."""
        return self.render_frames([t])[0]

    @torch.no_grad()
    def render_frames(self, times: Sequence[float], batch: int = 4) -> torch.Tensor:
        """``[N, H, W, 3]`` float in [0, 1] on the model's device."""
        was_training = self.training
        self.eval()
        out = []
        for start in range(0, len(times), batch):
            t = torch.tensor([float(x) for x in times[start : start + batch]], device=self.device)
            out.append(self.frames(t).permute(0, 2, 3, 1))
        self.train(was_training)
        return torch.cat(out)

    def numbers(self) -> int:
        return count_parameters(self)
