"""``VideoReader``: decode any frame of an ``.actv`` file, at any time and size, on demand.

Opening reads the header and the index only, from a path, a URL or an open
binary file (:mod:`nvcodec.remote`: a remote file is read by ranges). A frame
decodes its own group (and, for a residual group, the groups back to the last
independent one, :mod:`nvcodec.decoder`), and a small cache keeps recently
decoded groups. Many times of one group render in one batched pass
(:meth:`VideoReader.frames_at`). A reader of a path or URL pickles as its
source and reopens lazily, so it can cross into ``DataLoader`` workers.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
import torch

from nvcodec.container import ContainerReader
from nvcodec.decoder import GroupDecoder
from nvcodec.device import resolve_device
from nvcodec.errors import ArgumentError, FormatError
from nvcodec.header import layout_problems, parse_header_map
from nvcodec.metadata import VideoMetadata, video_metadata
from nvcodec.model.group import GroupModel
from nvcodec.model.video import Timeline, as_time
from nvcodec.remote import DEFAULT_TIMEOUT, IOStats, is_url, open_source

MAX_OUTPUT_PIXELS = 1 << 28
"""Largest frame a reader renders (268 Mpixels, about 3 GiB as float RGB): a hostile header cannot make it allocate more."""
CACHED_GROUPS = 4
BATCH_PIXELS = 1 << 24
"""Output pixels one batched render holds at most (16 Mpixels: 192 MiB as float RGB); bigger requests go in parts."""


class VideoReader:
    """Random access to the frames of an ``.actv`` file.

    ``source`` is a path, a URL (``https://``, ``s3://``, ``memory://``...:
    read by ranges, :mod:`nvcodec.remote`) or an open binary file (left open).
    ``frame(t)`` returns ``[H, W, 3]`` uint8 numpy (or float ``torch`` tensors
    in [0, 1] with ``tensors=True``); ``t`` is in frame units and may be
    fractional; ``size=(h, w)`` renders at any resolution. ``frames_at(times)``
    renders many times at once. The facts of the file are properties named as
    torchcodec names them (``num_frames``, ``average_fps``,
    ``duration_seconds``...; :attr:`metadata` holds them all).
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        *,
        device: str = "cpu",
        tensors: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        storage_options: dict[str, Any] | None = None,
    ):
        self.device = resolve_device(device)
        self.tensors = tensors
        is_file = hasattr(source, "read")
        self.path: Path | None = None if is_file or is_url(source) else Path(source)  # type: ignore[arg-type]
        self._reopen: tuple[Any, ...] | None = (
            None
            if is_file
            else (str(source) if is_url(source) else self.path, device, tensors, timeout, storage_options)
        )
        self._source = open_source(source, timeout=timeout, storage_options=storage_options)
        self.name = self._source.name
        try:
            self._container = ContainerReader(cast(BinaryIO, self._source))
            self._read_header()
        except BaseException:
            self._source.close()
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
        spans = [(e.start, e.end) for e in entries]
        problems = layout_problems(header, spans)
        if problems:
            raise FormatError(f"{self.name}: {problems[0]}")
        self.metadata: VideoMetadata = video_metadata(header, spans, self._container.file_size, self._container.version)
        self.grid = header.grid()
        self.timeline = Timeline(tuple(e.end for e in entries), self.num_frames)
        self._decoder = GroupDecoder(header.tensors(), header.quant, self._container.read_chunk, CACHED_GROUPS)

    # -- pickling: a reader of a path or URL travels as its source and reopens where it lands

    def __reduce__(self) -> tuple[Any, ...]:
        if self._reopen is None:
            raise TypeError(
                f"a VideoReader of an open file object cannot be pickled ({self.name}); open it from a path or URL"
            )
        source, device, tensors, timeout, storage_options = self._reopen
        return (_reopen, (source, device, tensors, timeout, storage_options))

    # -- container facts (names as torchcodec's VideoStreamMetadata where the meaning is the same) --

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
    def duration_seconds(self) -> float:
        """Seconds of video at the stored frame rate (torchcodec's name)."""
        return self.metadata.duration_seconds

    @property
    def average_fps(self) -> float:
        """The stored frame rate (torchcodec's name; ``.actv`` frames are evenly spaced)."""
        return self.metadata.average_fps

    @property
    def file_size(self) -> int:
        """Bytes of the whole file."""
        return self.metadata.file_size

    @property
    def bit_rate(self) -> float:
        """Bits per second over the whole file."""
        return self.metadata.bit_rate

    @property
    def num_groups(self) -> int:
        return len(self._container.entries)

    @property
    def io_stats(self) -> IOStats:
        """Read requests and bytes read from the source so far: opening costs the header and index only."""
        return self._source.stats

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
        return self._finish(self.group(self.group_of(t)).render_frames([as_time(t)], out_size)[0])

    @torch.no_grad()
    def render_at(self, times: Sequence[float], size: tuple[int, int] | None = None) -> torch.Tensor:
        """Float frames ``[F, h, w, 3]`` in [0, 1] on the reader's device, whatever ``tensors`` says.

        The times of one group render in one batched pass of the networks
        (:meth:`GroupModel.render_frames`), in parts of at most
        :data:`BATCH_PIXELS` output pixels so a long list at a large size stays
        within memory; groups are decoded in order of first use.
        """
        out_size = self._size(size)
        per_pass = max(1, BATCH_PIXELS // (out_size[0] * out_size[1]))
        return self.timeline.render(
            list(times), lambda index, values: self.group(index).render_frames(values, out_size), per_pass
        )

    def frames_at(self, times: Sequence[float], size: tuple[int, int] | None = None) -> np.ndarray | torch.Tensor:
        """Frames at several times (frame units, fractional allowed), ``[F, h, w, 3]``, in the order given.

        Times in one group render together in one batched pass: much faster
        than a loop over :meth:`frame` (``benchmarks/frames_at.py``).
        """
        return self._finish(self.render_at(times, size))

    def frames(self, ts: Sequence[float], size: tuple[int, int] | None = None) -> np.ndarray | torch.Tensor:
        """Same as :meth:`frames_at` (its earlier name)."""
        return self.frames_at(ts, size)

    def frames_played_at(
        self, seconds: Sequence[float], size: tuple[int, int] | None = None
    ) -> np.ndarray | torch.Tensor:
        """Frames at times in seconds (torchcodec's ``get_frames_played_at``), rendered at that exact time.

        A time between two stored frames renders the in-between frame rather
        than the frame on screen then: ``.actv`` is continuous in time.
        """
        fps = self.fps
        return self.frames_at([as_time(s) * fps for s in seconds], size)

    def __getitem__(self, index: int | slice) -> np.ndarray | torch.Tensor:
        if isinstance(index, slice):
            times = range(*index.indices(self.num_frames))
            if len(times) == 0:
                raise ArgumentError(f"slice {index} selects no frames of {self.num_frames}")
            return self.frames_at(times)
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise ArgumentError(f"frame index must be an integer or a slice, got {type(index).__name__}")
        position = int(index) + (self.num_frames if index < 0 else 0)
        if not 0 <= position < self.num_frames:
            raise ArgumentError(f"frame {index} is outside 0..{self.num_frames - 1}")
        return self.frame(position)

    def __iter__(self) -> Iterator[np.ndarray | torch.Tensor]:
        for first in range(0, self.num_frames, ITER_BATCH):
            yield from self.frames_at(range(first, min(first + ITER_BATCH, self.num_frames)))

    # -- lifetime -------------------------------------------------------------------
    def close(self) -> None:
        self._container.close()
        self._source.close()
        self._cache.clear()
        self._decoder.clear()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


ITER_BATCH = 16
"""Frames that iterating over a reader renders at a time."""


def _reopen(
    source: str | Path, device: str, tensors: bool, timeout: float, storage_options: dict[str, Any] | None
) -> VideoReader:
    return VideoReader(source, device=device, tensors=tensors, timeout=timeout, storage_options=storage_options)
