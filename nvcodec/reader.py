"""``VideoReader``: decode any frame of an ``.actv`` file, at any time and size, on demand.

Opening reads the header and the index only. A frame decodes its own group
(and, for a residual group, the groups back to the last independent one,
:mod:`nvcodec.decoder`), and a small cache keeps recently decoded groups.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from nvcodec.container import ContainerReader
from nvcodec.decoder import GroupDecoder
from nvcodec.device import resolve_device
from nvcodec.errors import ArgumentError, FormatError
from nvcodec.header import layout_problems, parse_header_map
from nvcodec.model.group import GroupModel
from nvcodec.model.video import Timeline, as_time

MAX_OUTPUT_PIXELS = 1 << 28
"""Largest frame a reader renders (268 Mpixels, about 3 GiB as float RGB): a hostile header cannot make it allocate more."""
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

    def _read_header(self) -> None:
        header = parse_header_map(self._container.header)
        self.header = header
        self.num_frames, self.height, self.width = header.frames, header.height, header.width
        self.fps = header.fps
        self.model_config = header.model
        self.quant_config = header.quant
        self.encoder = header.encoder
        entries = self._container.entries
        problems = layout_problems(header, [(e.start, e.end) for e in entries])
        if problems:
            raise FormatError(f"{self.path}: {problems[0]}")
        self.grid = header.grid()
        self.timeline = Timeline(tuple(e.end for e in entries), self.num_frames)
        self._decoder = GroupDecoder(header.tensors(), header.quant, self._container.read_chunk, CACHED_GROUPS)

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
        """Index of the group that decodes time ``t``; a shared boundary belongs to the later group."""
        return self.timeline.group_of(t)

    def group(self, index: int) -> GroupModel:
        """The decoded model of group ``index`` (cached)."""
        if index in self._cache:
            self._cache.move_to_end(index)
            return self._cache[index]
        entry = self._container.entries[index]
        state = self._decoder.state(index)
        model = GroupModel.from_state(self.grid, self.model_config, entry.start, entry.end, state)
        model = model.to(self.device).eval()
        self._cache[index] = model
        while len(self._cache) > CACHED_GROUPS:
            self._cache.popitem(last=False)
        return model

    @staticmethod
    def _check_size(height: int, width: int) -> None:
        if height * width > MAX_OUTPUT_PIXELS:
            raise ArgumentError(
                f"a {width}x{height} frame exceeds the {MAX_OUTPUT_PIXELS}-pixel cap of what a reader renders"
            )

    def _size(self, size: tuple[int, int] | None) -> tuple[int, int]:
        if size is None:
            self._check_size(self.height, self.width)  # a header may declare frames too big to render
            return self.height, self.width
        if len(size) != 2 or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in size
        ):
            raise ArgumentError(f"size must be (height, width) of positive integers, got {size!r}")
        self._check_size(int(size[0]), int(size[1]))
        return int(size[0]), int(size[1])

    def _finish(self, frames: torch.Tensor) -> np.ndarray | torch.Tensor:
        if self.tensors:
            return frames
        return torch.round(frames * 255).to(torch.uint8).cpu().numpy()

    @torch.no_grad()
    def frame(self, t: float, size: tuple[int, int] | None = None) -> np.ndarray | torch.Tensor:
        """The frame at time ``t`` (frame units; fractional = in between) at ``size = (h, w)``."""
        out_size = self._size(size)
        return self._finish(self.group(self.group_of(t)).render(as_time(t), out_size))

    @torch.no_grad()
    def frames(self, ts: Sequence[float], size: tuple[int, int] | None = None) -> np.ndarray | torch.Tensor:
        """Frames at several times, ``[F, h, w, 3]``; times in one group render together."""
        return self._finish(self.timeline.render(list(ts), self.group, self._size(size)))

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
        self._decoder.clear()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
