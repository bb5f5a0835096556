"""A whole video: consecutive groups that share their boundary frames."""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import cast

import torch
from torch import nn

from nvcodec.errors import ArgumentError
from nvcodec.model.group import GroupModel, count_parameters


def as_time(t: object) -> float:
    """A time in frame units as a float; anything that is not a real number is an :class:`ArgumentError`."""
    if isinstance(t, bool) or not isinstance(t, Real):
        raise ArgumentError(f"a time must be a number of frames, got {type(t).__name__} {t!r}")
    return float(t)


@dataclass(frozen=True)
class Timeline:
    """Which group decodes which time: the frame spans of a video's groups.

    Shared by :class:`VideoModel` and :class:`nvcodec.reader.VideoReader`, so
    the two agree on every boundary.
    """

    ends: tuple[int, ...]
    """Last frame of each group; group ``k`` starts where group ``k - 1`` ends (group 0 at frame 0)."""
    num_frames: int

    def group_of(self, t: object) -> int:
        """Index of the group that decodes time ``t``; a shared boundary belongs to the later group."""
        time = as_time(t)
        if not (math.isfinite(time) and 0 <= time <= self.num_frames - 1):
            raise ArgumentError(f"time {t!r} is outside the video's [0, {self.num_frames - 1}]")
        return min(bisect.bisect_right(self.ends, time), len(self.ends) - 1)

    def render(
        self,
        times: Sequence[object],
        render_group: Callable[[int, list[float]], torch.Tensor],
        per_pass: int | None = None,
    ) -> torch.Tensor:
        """Frames ``[F, h, w, 3]`` at ``times``, in the order given: the times of one group render together,
        ``render_group(k, times)`` at most ``per_pass`` at a time, groups in order of first use."""
        values = [as_time(t) for t in times]
        if not values:
            raise ArgumentError("no times given")
        owners = [self.group_of(t) for t in values]
        out: torch.Tensor | None = None
        for index in dict.fromkeys(owners):
            picked = [i for i, owner in enumerate(owners) if owner == index]
            step = per_pass or len(picked)
            for first in range(0, len(picked), step):
                part = picked[first : first + step]
                frames = render_group(index, [values[i] for i in part])
                if out is None:
                    out = frames.new_empty((len(values), *frames.shape[1:]))
                out[part] = frames
        assert out is not None
        return out


class VideoModel(nn.Module):
    def __init__(self, groups: Sequence[GroupModel], num_frames: int):
        super().__init__()
        self.groups = nn.ModuleList(groups)
        self.num_frames = num_frames
        self.timeline = Timeline(tuple(g.end for g in groups), num_frames)

    def group(self, index: int) -> GroupModel:
        return cast(GroupModel, self.groups[index])

    @property
    def height(self) -> int:
        return self.group(0).grid.height

    @property
    def width(self) -> int:
        return self.group(0).grid.width

    def num_parameters(self) -> int:
        return count_parameters(self)

    def group_of(self, t: float) -> int:
        """Index of the group that decodes time ``t``; a shared boundary belongs to the later group."""
        return self.timeline.group_of(t)

    def render(self, t: float | Sequence[float], size: tuple[int, int] | None = None) -> torch.Tensor:
        """Frame(s) at time(s) ``t`` (frame units) and output ``size = (h, w)``; see :meth:`GroupModel.render`."""
        if size is not None and (len(size) != 2 or min(size) < 1):
            raise ArgumentError(f"size must be (height, width) of at least 1 pixel, got {size!r}")
        if isinstance(t, (Sequence, torch.Tensor)):
            return self.timeline.render(list(t), lambda index, times: self.group(index).render(times, size))
        return self.group(self.group_of(t)).render(as_time(t), size)
