"""``VideoReader``: decode any frame of an ``.actv`` file, at any time and size, on demand.

Opening reads the header and the index only. A frame decodes its own group
(and, for a residual group, the groups back to the last independent one),
and a small cache keeps recently decoded groups.
"""

from __future__ import annotations

import itertools
import math
import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from nvcodec.codec import unpack_group
from nvcodec.container import ContainerReader
from nvcodec.device import resolve_device
from nvcodec.errors import ArgumentError, FormatError
from nvcodec.header import is_intra, parse_header
from nvcodec.model.group import GroupModel

MAX_OUTPUT_PIXELS = 1 << 28
CACHED_GROUPS = 4


class VideoReader:
    """Random access to the frames of an ``.actv`` file.

    ``frame(t)`` returns ``[H, W, 3]`` uint8 numpy (or float ``torch`` tensors
    in [0, 1] with ``tensors=True``); ``t`` is in frame units and may be
    fractional; ``size=(h, w)`` renders at any resolution.
    """

    def __init__(self, path: str | os.PathLike[str], *, device: str = "cpu", tensors: bool = False):
        self.path = Path(path)
        self.device = resolve_device(device)
        self.tensors = tensors
        self._container = ContainerReader(self.path)
        try:
            self._read_header()
        except BaseException:
            self._container.close()
            raise
        self._cache: OrderedDict[int, GroupModel] = OrderedDict()
        self._states: OrderedDict[int, dict[str, torch.Tensor]] = OrderedDict()

    def _read_header(self) -> None:
        header = parse_header(self._container.header)
        self.num_frames, self.height, self.width = header.frames, header.height, header.width
        self.fps = header.fps
        self.model_config = header.model
        self.quant_config = header.quant
        self.encoder = header.encoder
        entries = self._container.entries
        if not entries:
            raise FormatError(f"{self.path} holds no groups")
        if entries[0].start != 0 or entries[-1].end != self.num_frames - 1:
            raise FormatError("groups do not span the video's frames")
        for a, b in itertools.pairwise(entries):
            if b.start != a.end or b.end <= b.start:
                raise FormatError("groups must follow each other and share their boundary frame")
        if len(entries) > 1 and any(e.end == e.start for e in entries):
            raise FormatError("an empty group in a multi-group file")
        self.grid = header.grid()
        self._template = self._new_group(0, 1).state_dict()

    def _new_group(self, start: int, end: int) -> GroupModel:
        # Its initial values are overwritten; a private generator keeps the global RNG untouched.
        return GroupModel(self.grid, self.model_config, start, end, torch.Generator().manual_seed(0))

    # -- container facts ------------------------------------------------------------
    def __len__(self) -> int:
        return self.num_frames

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(frames, height, width)``."""
        return self.num_frames, self.height, self.width

    @property
    def duration(self) -> float:
        """Seconds of video at the stored frame rate."""
        return self.num_frames / self.fps

    @property
    def num_groups(self) -> int:
        return len(self._container.entries)

    # -- decoding -------------------------------------------------------------------
    def group_of(self, t: float) -> int:
        if not (isinstance(t, (int, float)) and math.isfinite(t) and 0 <= t <= self.num_frames - 1):
            raise ArgumentError(f"time {t!r} is outside the video's [0, {self.num_frames - 1}]")
        for index, entry in enumerate(self._container.entries):
            if t < entry.end:
                return index
        return self.num_groups - 1

    def _state(self, index: int) -> dict[str, torch.Tensor]:
        """Decoded parameters of a group: decode forward from the nearest cached or independent group."""
        first = index
        while first not in self._states and not is_intra(first, self.quant_config):
            first -= 1
        state: dict[str, torch.Tensor] | None = None
        for current in range(first, index + 1):
            if current in self._states:
                state = self._states[current]
                self._states.move_to_end(current)
                continue
            intra = is_intra(current, self.quant_config)
            payload = self._container.read_chunk(current)
            state = unpack_group(payload, self._template, None if intra else state, intra=intra)
            self._states[current] = state
            while len(self._states) > CACHED_GROUPS:
                self._states.popitem(last=False)
        assert state is not None
        return state

    def group(self, index: int) -> GroupModel:
        """The decoded model of group ``index`` (cached)."""
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        entry = self._container.entries[index]
        model = self._new_group(entry.start, entry.end)
        model.load_state_dict(self._state(index))
        model = model.to(self.device).eval()
        self._cache[index] = model
        while len(self._cache) > CACHED_GROUPS:
            self._cache.popitem(last=False)
        return model

    def _size(self, size: tuple[int, int] | None) -> tuple[int, int]:
        if size is None:
            return self.height, self.width
        if len(size) != 2 or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in size):
            raise ArgumentError(f"size must be (height, width) of positive integers, got {size!r}")
        if size[0] * size[1] > MAX_OUTPUT_PIXELS:
            raise ArgumentError(f"size {size[0]}x{size[1]} exceeds the {MAX_OUTPUT_PIXELS}-pixel cap")
        return int(size[0]), int(size[1])

    def _finish(self, frames: torch.Tensor) -> np.ndarray | torch.Tensor:
        if self.tensors:
            return frames
        return torch.round(frames * 255).to(torch.uint8).cpu().numpy()

    @torch.no_grad()
    def frame(self, t: float, size: tuple[int, int] | None = None) -> np.ndarray | torch.Tensor:
        """The frame at time ``t`` (frame units; fractional = in between) at ``size = (h, w)``."""
        t = float(t) if isinstance(t, (int, float, np.floating, np.integer)) else t
        return self._finish(self.group(self.group_of(t)).render(t, self._size(size)))

    @torch.no_grad()
    def frames(self, ts: Sequence[float], size: tuple[int, int] | None = None) -> np.ndarray | torch.Tensor:
        """Frames at several times, ``[F, h, w, 3]``; times in one group render together."""
        times = [float(t) for t in ts]
        if not times:
            raise ArgumentError("no times given")
        out_size = self._size(size)
        owners = [self.group_of(t) for t in times]
        result: list[torch.Tensor | None] = [None] * len(times)
        for index in dict.fromkeys(owners):
            picked = [i for i, owner in enumerate(owners) if owner == index]
            rendered = self.group(index).render([times[i] for i in picked], out_size)
            for i, frame in zip(picked, rendered):
                result[i] = frame
        return self._finish(torch.stack(result))  # type: ignore[arg-type]

    def __getitem__(self, index: int | slice) -> np.ndarray | torch.Tensor:
        if isinstance(index, slice):
            return self.frames(range(*index.indices(self.num_frames)))
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise ArgumentError(f"frame index must be an integer or a slice, got {type(index).__name__}")
        position = int(index) + (self.num_frames if index < 0 else 0)
        if not 0 <= position < self.num_frames:
            raise ArgumentError(f"frame {index} is outside 0..{self.num_frames - 1}")
        return self.frame(position)

    def __iter__(self) -> Iterator[np.ndarray | torch.Tensor]:
        for t in range(self.num_frames):
            yield self.frame(t)

    # -- lifetime -------------------------------------------------------------------
    def close(self) -> None:
        self._container.close()
        self._cache.clear()
        self._states.clear()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
