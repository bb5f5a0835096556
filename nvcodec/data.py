"""PyTorch datasets over many ``.actv`` files: clips at any frame rate and size, read lazily in each worker.

    from torch.utils.data import DataLoader
    from nvcodec.data import ClipDataset, ClipSampler

    data = ClipDataset(sorted(Path("clips").glob("*.actv")), clip_frames=8, fps=15, size=(112, 112))
    loader = DataLoader(data, batch_size=4, sampler=ClipSampler(data, seed=0), num_workers=2)
    for clips in loader:  # [4, 8, 3, 112, 112] float in [0, 1]
        ...

A clip is ``clip_frames`` times spaced by ``stride`` stored frames; the stride
may be fractional (``fps=`` sets it from a target frame rate), because an
``.actv`` file renders any time and any size from the same networks: frame
rate and resolution are free augmentations, not resampling of decoded pixels.
Each clip's times fall in one or two groups, which render in one batched pass
(:meth:`nvcodec.reader.VideoReader.render_at`).

The dataset holds only the sources (paths or URLs) and each file's length,
read once from its header and index. Readers open on first use inside each
process, so a ``DataLoader`` worker never receives an open file, a socket or
a decoded model: nothing unpicklable crosses processes.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import torch
from torch.utils.data import Dataset, Sampler

from nvcodec.container import ContainerReader
from nvcodec.errors import ArgumentError
from nvcodec.header import parse_header_map
from nvcodec.reader import VideoReader
from nvcodec.remote import DEFAULT_TIMEOUT, is_url, open_source

__all__ = ["Clip", "ClipDataset", "ClipSampler"]

OPEN_READERS = 8
"""Readers one process keeps open (least recently used closed first): a folder of thousands of files stays bounded."""


@dataclass(frozen=True)
class Clip:
    """Which file and which times (in stored-frame units) one dataset item renders."""

    video: int
    source: str
    times: tuple[float, ...]


@dataclass(frozen=True)
class _Video:
    source: str
    frames: int
    fps: float


class ClipDataset(Dataset[torch.Tensor]):
    """Clips of ``clip_frames`` frames from many ``.actv`` files, as ``[T, C, H, W]`` tensors.

    ``sources``: paths or URLs (:mod:`nvcodec.remote`). Between two frames of a
    clip lie ``stride`` stored frames (fractional allowed), or
    ``stored fps / fps`` when ``fps`` is given. Clips start every
    ``step`` stored frames (default: one clip's span, so clips do not
    overlap). ``size=(h, w)`` renders at any resolution (default: stored).
    ``dtype`` is ``torch.float32`` (values in [0, 1]) or ``torch.uint8``.
    ``transform`` is applied to each clip tensor.
    """

    def __init__(  # noqa: PLR0913 - the knobs of a video dataset, all keyword-only
        self,
        sources: Sequence[str | os.PathLike[str]],
        *,
        clip_frames: int = 8,
        stride: float = 1.0,
        fps: float | None = None,
        step: float | None = None,
        size: tuple[int, int] | None = None,
        dtype: torch.dtype = torch.float32,
        transform: Callable[[torch.Tensor], Any] | None = None,
        storage_options: dict[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if isinstance(clip_frames, bool) or not isinstance(clip_frames, int) or clip_frames < 1:
            raise ArgumentError(f"clip_frames must be a positive int, got {clip_frames!r}")
        if dtype not in (torch.float32, torch.uint8):
            raise ArgumentError(f"dtype must be torch.float32 or torch.uint8, got {dtype}")
        for name, value in (("stride", stride), ("fps", fps), ("step", step)):
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ArgumentError(f"{name} must be a positive number, got {value!r}")
        if size is not None and (len(size) != 2 or min(size) < 1):
            raise ArgumentError(f"size must be (height, width) of positive integers, got {size!r}")
        self.clip_frames = clip_frames
        self.stride = float(stride)
        self.fps = fps
        self.step = step
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.dtype = dtype
        self.transform = transform
        self.storage_options = storage_options
        self.timeout = timeout
        self.videos = [self._describe(source) for source in sources]
        if not self.videos:
            raise ArgumentError("no sources given")
        self._starts: list[list[float]] = [self._clip_starts(video) for video in self.videos]
        self._offsets = [0]
        for starts in self._starts:
            self._offsets.append(self._offsets[-1] + len(starts))
        self._readers: OrderedDict[int, VideoReader] = OrderedDict()
        self._pid = os.getpid()

    def _describe(self, source: str | os.PathLike[str]) -> _Video:
        """A file's length and frame rate, from its header and index (no decoding, no torch model)."""
        name = str(source) if is_url(source) else os.fspath(Path(source))
        with (
            open_source(name, timeout=self.timeout, storage_options=self.storage_options) as file,
            ContainerReader(cast(BinaryIO, file)) as container,
        ):
            header = parse_header_map(container.header)
        return _Video(name, header.frames, header.fps)

    def stride_of(self, video: int) -> float:
        """Stored frames between two frames of a clip of ``video``."""
        return self._stride(self.videos[video])

    def _stride(self, video: _Video) -> float:
        return video.fps / self.fps if self.fps is not None else self.stride

    def _clip_starts(self, video: _Video) -> list[float]:
        stride = self._stride(video)
        span = stride * (self.clip_frames - 1)
        step = self.step if self.step is not None else max(span + stride, stride)
        last = video.frames - 1 - span
        if last < -1e-9:
            return []  # shorter than one clip
        count = math.floor(last / step + 1e-9) + 1
        return [k * step for k in range(count)]

    # -- the map

    def __len__(self) -> int:
        return self._offsets[-1]

    def clips_of(self, video: int) -> range:
        """The dataset indices of ``video``'s clips."""
        return range(self._offsets[video], self._offsets[video + 1])

    def clip(self, index: int) -> Clip:
        """The file and times item ``index`` renders."""
        if isinstance(index, bool) or not isinstance(index, int) or not -len(self) <= index < len(self):
            raise IndexError(f"clip index {index!r} is outside 0..{len(self) - 1}")
        index %= len(self)
        lo, hi = 0, len(self.videos)
        while hi - lo > 1:  # the video whose clips hold index
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if self._offsets[mid] <= index else (lo, mid)
        start = self._starts[lo][index - self._offsets[lo]]
        stride = self.stride_of(lo)
        last = self.videos[lo].frames - 1
        times = tuple(min(start + k * stride, last) for k in range(self.clip_frames))  # min: float dust at the end
        return Clip(lo, self.videos[lo].source, times)

    def __getitem__(self, index: int) -> Any:
        clip = self.clip(int(index))
        frames = self._reader(clip.video).render_at(clip.times, self.size)  # [T, H, W, 3] float in [0, 1]
        out = frames.permute(0, 3, 1, 2).contiguous()
        if self.dtype == torch.uint8:
            out = torch.round(out * 255).to(torch.uint8)
        return self.transform(out) if self.transform is not None else out

    # -- readers: opened on first use in each process, never pickled

    def _reader(self, video: int) -> VideoReader:
        if self._pid != os.getpid():  # a forked worker inherited the parent's readers: not its to use
            self._readers = OrderedDict()
            self._pid = os.getpid()
        reader = self._readers.get(video)
        if reader is None:
            reader = VideoReader(
                self.videos[video].source, timeout=self.timeout, storage_options=self.storage_options, tensors=True
            )
            self._readers[video] = reader
            while len(self._readers) > OPEN_READERS:
                self._readers.popitem(last=False)[1].close()
        self._readers.move_to_end(video)
        return reader

    def close(self) -> None:
        """Close this process's readers (they reopen on the next item)."""
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_readers"] = OrderedDict()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pid = os.getpid()


class ClipSampler(Sampler[int]):
    """A seeded order of a :class:`ClipDataset`'s clips, new each epoch, the same for the same seed and epoch.

    ``clips_per_video=k`` draws ``k`` clips of each video (without replacement
    while it has enough), as torchvision's ``RandomClipSampler`` does, so long
    videos do not dominate an epoch; ``None`` takes every clip. ``shuffle=False``
    keeps the drawn clips in dataset order. Call :meth:`set_epoch` before each
    epoch (as with ``DistributedSampler``) for a new order.
    """

    def __init__(
        self, dataset: ClipDataset, *, clips_per_video: int | None = None, shuffle: bool = True, seed: int = 0
    ) -> None:
        if clips_per_video is not None and (
            isinstance(clips_per_video, bool) or not isinstance(clips_per_video, int) or clips_per_video < 1
        ):
            raise ArgumentError(f"clips_per_video must be a positive int or None, got {clips_per_video!r}")
        self.dataset = dataset
        self.clips_per_video = clips_per_video
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _indices(self) -> list[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        picked: list[int] = []
        for video in range(len(self.dataset.videos)):
            clips = self.dataset.clips_of(video)
            if self.clips_per_video is None:
                picked.extend(clips)
            elif len(clips):
                k = self.clips_per_video
                draws = torch.cat([torch.randperm(len(clips), generator=generator) for _ in range(-(-k // len(clips)))])
                picked.extend(sorted(clips[int(i)] for i in draws[:k]))
        if self.shuffle:
            order = torch.randperm(len(picked), generator=generator)
            picked = [picked[int(i)] for i in order]
        return picked

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices())

    def __len__(self) -> int:
        if self.clips_per_video is None:
            return len(self.dataset)
        return sum(self.clips_per_video for v in range(len(self.dataset.videos)) if len(self.dataset.clips_of(v)))
