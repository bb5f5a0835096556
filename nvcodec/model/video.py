"""A whole video: consecutive groups that share their boundary frames."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from nvcodec.errors import ArgumentError
from nvcodec.model.group import GroupModel, count_parameters


def group_bounds(num_frames: int, group_size: int) -> list[int]:
    """Boundary frames ``b_0 = 0 < b_1 < ... < b_G = T - 1`` of groups of about ``group_size`` frames.

    Group ``k`` covers frames ``b_k..b_{k+1}`` inclusive, so neighbours share a
    frame and every time in ``[0, T - 1]`` falls inside a group. Sizes are spread
    evenly rather than leaving a short last group.
    """
    if num_frames < 1:
        raise ArgumentError(f"a video needs at least one frame, got {num_frames}")
    count = max(1, math.ceil((num_frames - 1) / group_size))
    return [round(x) for x in np.linspace(0, num_frames - 1, count + 1)]


class VideoModel(nn.Module):
    def __init__(self, groups: Sequence[GroupModel], num_frames: int):
        super().__init__()
        self.groups = nn.ModuleList(groups)
        self.num_frames = num_frames

    @property
    def height(self) -> int:
        return self.groups[0].grid.height

    @property
    def width(self) -> int:
        return self.groups[0].grid.width

    def num_parameters(self) -> int:
        return count_parameters(self)

    def group_of(self, t: float) -> int:
        """Index of the group that decodes time ``t``; a shared boundary belongs to the later group."""
        if not (isinstance(t, (int, float)) and math.isfinite(t)) or not 0 <= t <= self.num_frames - 1:
            raise ArgumentError(f"time {t!r} is outside the video's [0, {self.num_frames - 1}]")
        for index, group in enumerate(self.groups):
            if t < group.end:
                return index
        return len(self.groups) - 1

    def render(self, t: float | Sequence[float], size: tuple[int, int] | None = None) -> torch.Tensor:
        """Frame(s) at time(s) ``t`` (frame units) and output ``size = (h, w)``; see :meth:`GroupModel.render`."""
        if size is not None and (len(size) != 2 or min(size) < 1):
            raise ArgumentError(f"size must be (height, width) of at least 1 pixel, got {size!r}")
        if isinstance(t, (int, float)):
            return self.groups[self.group_of(float(t))].render(float(t), size)
        times = [float(x) for x in t]
        if not times:
            raise ArgumentError("no times given")
        owners = [self.group_of(x) for x in times]
        out: list[torch.Tensor | None] = [None] * len(times)
        for index in sorted(set(owners)):
            picked = [i for i, owner in enumerate(owners) if owner == index]
            frames = self.groups[index].render([times[i] for i in picked], size)
            for i, frame in zip(picked, frames):
                out[i] = frame
        return torch.stack(out)  # type: ignore[arg-type]
