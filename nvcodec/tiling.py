"""The patch grid: where each per-patch INR lives and how patches are blended.

Geometry is continuous. Along an axis of ``L`` input pixels, position ``x`` is
measured in input-pixel units in ``[0, L]``; an output of ``l`` pixels samples
the pixel centres ``x_j = (j + 0.5) * L / l``. Every patch owns an interval
``[a, a + S]`` mapped to local coordinates ``[-1, 1]``, and a blending window.
Because windows and local coordinates are functions of ``x``, rendering at 4H×4W
samples exactly the same continuous function as rendering at H×W.

Neighbouring patches cross-fade linearly inside a *band* centred in their
overlap. Bands never touch each other, so at most two windows per axis are
non-zero anywhere and they are ``r`` and ``1 - r``: the 1-D windows sum to 1
exactly, the separable 2-D windows to 1 up to one rounding of a product.

The geometry needs only numpy; torch is imported when pixel plans are made,
so that a header (which builds the grid to count patches) is read without it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nvcodec.errors import ConfigError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class AxisTiling:
    """Patch intervals and blending windows along one axis."""

    length: int
    size: int
    starts: tuple[int, ...]
    band_lo: tuple[float, ...]
    """Start of the cross-fade band between patch i and i+1 (one per neighbour pair)."""
    band_hi: tuple[float, ...]

    @classmethod
    def build(cls, length: int, patch: int, overlap: int) -> AxisTiling:
        if length < 1:
            raise ConfigError(f"frame side must be at least 1 pixel, got {length}")
        size = min(patch, length)
        overlap = min(overlap, size // 2)
        if size == length:
            return cls(length, size, (0,), (), ())
        count = math.ceil((length - overlap) / (size - overlap))
        starts = tuple(round(i * (length - size) / (count - 1)) for i in range(count))
        strides = [b - a for a, b in itertools.pairwise(starts)]
        # Half-width of each band: inside the overlap, and narrow enough that two
        # bands never meet (their centres are one stride apart).
        half = min(min(size - s for s in strides), min(strides)) / 2.0
        centres = [(starts[i + 1] + starts[i] + size) / 2.0 for i in range(count - 1)]
        return cls(
            length,
            size,
            starts,
            tuple(c - half for c in centres),
            tuple(c + half for c in centres),
        )

    @property
    def count(self) -> int:
        return len(self.starts)

    def _ramp(self, pair: int, x: np.ndarray) -> np.ndarray:
        """Weight of patch ``pair + 1`` across band ``pair``: 0 before, 1 after."""
        lo, hi = self.band_lo[pair], self.band_hi[pair]
        if hi <= lo:
            return (x >= lo).astype(np.float64)
        return np.clip((x - lo) / (hi - lo), 0.0, 1.0)

    def window(self, index: int, x: np.ndarray) -> np.ndarray:
        """Blending weight of patch ``index`` at positions ``x`` (float64)."""
        x = np.asarray(x, dtype=np.float64)
        w = np.ones_like(x)
        if index > 0:
            w = self._ramp(index - 1, x)
        if index < self.count - 1:
            w = np.where(x >= self.band_lo[index], 1.0 - self._ramp(index, x), w)
        return w

    def local(self, index: int, x: np.ndarray) -> np.ndarray:
        """Positions mapped into the patch's own coordinates, [-1, 1] over its interval."""
        return (np.asarray(x, dtype=np.float64) - self.starts[index]) * (2.0 / self.size) - 1.0

    def centres(self, out_length: int) -> np.ndarray:
        """Pixel centres of an ``out_length``-pixel output in input-pixel units."""
        return (np.arange(out_length, dtype=np.float64) + 0.5) * (self.length / out_length)

    def support(self, index: int, out_length: int) -> np.ndarray:
        """Output pixel indices where patch ``index`` has non-zero weight."""
        return np.nonzero(self.window(index, self.centres(out_length)) > 0)[0]


@dataclass(frozen=True)
class PixelPlan:
    """Which output pixels every patch evaluates, padded to one length for batching.

    All arrays are ``[P, N]``; padded entries have weight 0 and point at pixel 0,
    so an ``index_add_`` of weighted outputs assembles the blended frame.
    """

    height: int
    width: int
    coords: torch.Tensor
    """float32 ``[P, N, 2]`` local (y, x) coordinates in [-1, 1]."""
    weights: torch.Tensor
    """float32 ``[P, N]`` blending weights."""
    index: torch.Tensor
    """int64 ``[P, N]`` flat output pixel index ``row * width + col``."""

    def to(self, device: torch.device | str) -> PixelPlan:
        return PixelPlan(
            self.height, self.width, self.coords.to(device), self.weights.to(device), self.index.to(device)
        )


@dataclass(frozen=True)
class SamplingTable:
    """Per-patch lists of the native-resolution rows and columns it covers.

    Used to draw random training pixels for all patches at once: a uniform draw
    of ``k < count`` gathers a row (or column) of that patch's support.
    """

    rows: torch.Tensor  # int64 [P, Ry], padded
    row_count: torch.Tensor  # int64 [P]
    cols: torch.Tensor  # int64 [P, Rx], padded
    col_count: torch.Tensor  # int64 [P]
    row_local: torch.Tensor  # float32 [P, Ry]
    col_local: torch.Tensor  # float32 [P, Rx]
    row_weight: torch.Tensor  # float32 [P, Ry]
    col_weight: torch.Tensor  # float32 [P, Rx]

    def to(self, device: torch.device | str) -> SamplingTable:
        return SamplingTable(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))


def _padded(rows: list[np.ndarray], dtype: torch.dtype) -> torch.Tensor:
    import torch

    width = max(len(r) for r in rows)
    out = np.zeros((len(rows), width), dtype=np.float64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return torch.from_numpy(out).to(dtype)


@dataclass(frozen=True)
class PatchGrid:
    """Separable 2-D patch grid over an ``height`` × ``width`` frame.

    Patches are numbered row-major: patch ``p`` is row ``p // cols.count`` and
    column ``p % cols.count`` of the grid.
    """

    rows: AxisTiling
    cols: AxisTiling

    @classmethod
    def build(cls, height: int, width: int, patch: int, overlap: int) -> PatchGrid:
        return cls(AxisTiling.build(height, patch, overlap), AxisTiling.build(width, patch, overlap))

    @property
    def height(self) -> int:
        return self.rows.length

    @property
    def width(self) -> int:
        return self.cols.length

    @property
    def num_patches(self) -> int:
        return self.rows.count * self.cols.count

    @property
    def patch_shape(self) -> tuple[int, int]:
        """Rows and columns of every patch in input pixels."""
        return self.rows.size, self.cols.size

    def _cells(self) -> list[tuple[int, int]]:
        return [(r, c) for r in range(self.rows.count) for c in range(self.cols.count)]

    def weights(self, height: int | None = None, width: int | None = None) -> np.ndarray:
        """float64 ``[P, h, w]`` blending windows at an output size (default: native)."""
        height, width = height or self.height, width or self.width
        wy = [self.rows.window(r, self.rows.centres(height)) for r in range(self.rows.count)]
        wx = [self.cols.window(c, self.cols.centres(width)) for c in range(self.cols.count)]
        return np.stack([np.outer(wy[r], wx[c]) for r, c in self._cells()])

    def pixel_plan(self, height: int, width: int) -> PixelPlan:
        """Per-patch output pixels, coordinates and weights for a render at ``height`` × ``width``."""
        import torch

        if height < 1 or width < 1:
            raise ConfigError(f"output size must be at least 1x1, got {width}x{height}")
        ys, xs = self.rows.centres(height), self.cols.centres(width)
        sup_r = [self.rows.support(r, height) for r in range(self.rows.count)]
        sup_c = [self.cols.support(c, width) for c in range(self.cols.count)]
        ny, nx = max(len(s) for s in sup_r), max(len(s) for s in sup_c)
        count = self.num_patches
        coords = np.zeros((count, ny, nx, 2), dtype=np.float32)
        weights = np.zeros((count, ny, nx), dtype=np.float32)
        index = np.zeros((count, ny, nx), dtype=np.int64)
        for p, (r, c) in enumerate(self._cells()):
            rr, cc = sup_r[r], sup_c[c]
            ly, lx = self.rows.local(r, ys[rr]), self.cols.local(c, xs[cc])
            coords[p, : len(rr), : len(cc), 0] = ly[:, None]
            coords[p, : len(rr), : len(cc), 1] = lx[None, :]
            weights[p, : len(rr), : len(cc)] = np.outer(self.rows.window(r, ys[rr]), self.cols.window(c, xs[cc]))
            index[p, : len(rr), : len(cc)] = rr[:, None] * width + cc[None, :]
        return PixelPlan(
            height,
            width,
            torch.from_numpy(coords.reshape(count, ny * nx, 2)),
            torch.from_numpy(weights.reshape(count, ny * nx)),
            torch.from_numpy(index.reshape(count, ny * nx)),
        )

    def sampling_table(self) -> SamplingTable:
        """Native-resolution support of every patch, for drawing training pixels."""
        import torch

        cells = self._cells()
        ys, xs = self.rows.centres(self.height), self.cols.centres(self.width)
        sup_r = [self.rows.support(r, self.height) for r, _ in cells]
        sup_c = [self.cols.support(c, self.width) for _, c in cells]
        return SamplingTable(
            rows=_padded(sup_r, torch.int64),
            row_count=torch.tensor([len(s) for s in sup_r]),
            cols=_padded(sup_c, torch.int64),
            col_count=torch.tensor([len(s) for s in sup_c]),
            row_local=_padded([self.rows.local(r, ys[s]) for (r, _), s in zip(cells, sup_r)], torch.float32),
            col_local=_padded([self.cols.local(c, xs[s]) for (_, c), s in zip(cells, sup_c)], torch.float32),
            row_weight=_padded([self.rows.window(r, ys[s]) for (r, _), s in zip(cells, sup_r)], torch.float32),
            col_weight=_padded([self.cols.window(c, xs[s]) for (_, c), s in zip(cells, sup_c)], torch.float32),
        )
