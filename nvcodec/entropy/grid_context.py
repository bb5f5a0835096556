"""The latent grids' entropy model: each symbol under a Laplace predicted from its decoded neighbours.

The chunk stores the grids' symbols as one ANS stream coded by
:mod:`nvcodec.entropy.context` under the group's own context model, whose
integer weights are tensors of the group (``context.*``, zstd byte planes,
decoded before the grids: ``CODED_ORDER`` puts this model last). Its fields
are the alphabet's half-width ``A`` and the ANS words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nvcodec.entropy.context import IntegerARM, decode_grids, encode_grids
from nvcodec.entropy.model import EntropyModel, Layout
from nvcodec.errors import FormatError
from nvcodec.model.tensors import ARM_SHAPES, Coding

ARM_TENSORS = tuple(f"context.{name}" for name in ARM_SHAPES)
"""The group tensors that hold the context model, in :class:`IntegerARM`'s argument order."""


def _arm(layout: Layout) -> IntegerARM:
    missing = [name for name in ARM_TENSORS if name not in layout.decoded]
    if missing:
        raise FormatError(f"latent grids need the context model, but the chunk lacks {', '.join(missing)}")
    return IntegerARM.from_float(*(np.asarray(layout.decoded[name], np.float64) for name in ARM_TENSORS))


def _grid_shapes(layout: Layout) -> list[tuple[int, int]]:
    """Every 2-D grid of the coding's ``[P, h, w]`` tensors, patch by patch, tensor by tensor."""
    out = []
    for shape in layout.shapes:
        if len(shape) != 3:
            raise ValueError(f"a latent grid tensor is [patches, rows, columns], not {shape}")
        out += [(shape[1], shape[2])] * shape[0]
    return out


class GridContextModel(EntropyModel):
    """Context-modelled ANS for the latent grids (``formats/ACTV.md`` section 5, payload version 3)."""

    coding = Coding.ARM
    fields = ("grid_alphabet", "grid_words")

    def encode(self, symbols: np.ndarray, layout: Layout) -> list[object]:
        shapes = _grid_shapes(layout)
        flat = np.asarray(symbols, np.int64).reshape(-1)
        if flat.size != sum(h * w for h, w in shapes):
            raise ValueError(f"{flat.size} grid symbols for grids of {sum(h * w for h, w in shapes)} cells")
        offsets = np.cumsum([0, *(h * w for h, w in shapes)])
        grids = [flat[offsets[i] : offsets[i + 1]].reshape(shape) for i, shape in enumerate(shapes)]
        alphabet, words = encode_grids(grids, _arm(layout))
        return [alphabet, words]

    def decode(self, stored: Sequence[object], count: int, layout: Layout) -> np.ndarray:
        if len(stored) != len(self.fields):
            raise FormatError(f"latent grid stream has {len(stored)} fields, not {len(self.fields)}")
        alphabet, words = stored
        if not isinstance(words, bytes):
            raise FormatError("latent grid stream's words are not bytes")
        shapes = _grid_shapes(layout)
        if sum(math.prod(shape) for shape in shapes) != count:
            raise FormatError("latent grid shapes do not match the model's")
        grids = decode_grids(alphabet, words, shapes, _arm(layout))  # type: ignore[arg-type]  # checked there
        return np.concatenate([g.reshape(-1) for g in grids]) if grids else np.zeros(0, np.int64)

    def coded_bits(self, stored: Sequence[object]) -> int:
        words = stored[1] if len(stored) == len(self.fields) else b""
        return 8 * len(words) if isinstance(words, bytes) else 0


__all__ = ["ARM_TENSORS", "GridContextModel"]
