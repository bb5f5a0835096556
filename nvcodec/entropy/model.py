"""The entropy-model seam: how the symbols of one kind of coded tensor are modelled and stored.

A group chunk codes its quantized tensors by kind: the tensor table
(:mod:`nvcodec.model.tensors`) gives each tensor a :class:`~nvcodec.model.tensors.Coding`,
and each coding has one :class:`EntropyModel` (:func:`nvcodec.entropy.model_for`).
A model keeps side by side the three things that must agree, as CompressAI's
``EntropyModel`` does:

- :meth:`EntropyModel.rate_model`: the differentiable rate that training puts
  in the loss (:mod:`nvcodec.quant.rdtrain`);
- :meth:`EntropyModel.encode` / :meth:`EntropyModel.decode`: the exact coding
  of the pooled symbols of its tensors to what the chunk stores;
- :attr:`EntropyModel.fields`: what it stores, as the msgpack elements of the
  chunk (``formats/ACTV.md`` section 5), in order.

Adding a model is one new module with a subclass, its section in ACTV.md and a
golden vector (``tools/make_vectors.py``). Decoding must be bit-exact on every
machine: a model's probabilities come from integers or exact float arithmetic
on what the chunk stores, never from data re-estimated at decode time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    from torch import nn

    from nvcodec.model.tensors import Coding


@dataclass(frozen=True)
class Layout:
    """What a model may know of its symbols beyond their count, the same at encode and decode."""

    shapes: tuple[tuple[int, ...], ...] = ()
    """The real shapes of the coding's tensors, in the order their symbols are pooled."""
    decoded: Mapping[str, np.ndarray] = field(default_factory=dict)
    """The decoded values of the tensors of the codings before this one in ``CODED_ORDER``, by name: what a
    model may condition on (the context model reads its own weights there)."""
    channels: tuple[tuple[int, ...], ...] = ()
    """Their step shapes, in the same order: which numbers share a quantization step (a channel)."""


class EntropyModel(ABC):
    """One way of modelling and storing integer symbols (stateless: the stored fields hold everything)."""

    coding: ClassVar[Coding]
    """The tensor-table coding this model serves."""
    fields: ClassVar[tuple[str, ...]]
    """Names of the chunk elements it stores, in the order it stores them."""

    @abstractmethod
    def encode(self, symbols: np.ndarray, layout: Layout) -> list[object]:
        """The chunk elements (msgpack values, one per :attr:`fields`) that code the 1-D int64 ``symbols``."""

    @abstractmethod
    def decode(self, stored: Sequence[object], count: int, layout: Layout) -> np.ndarray:
        """Exactly ``count`` int64 symbols from the elements :meth:`encode` made; damage is a ``FormatError``."""

    def coded_bits(self, stored: Sequence[object]) -> int:
        """Bits of the entropy-coded data proper (without tables), for statistics."""
        return 0

    def rate_model(self) -> nn.Module | None:
        """A fresh differentiable stand-in for this model's rate, for training, or None.

        The module has ``initialize(symbols)`` and ``bits(symbols) -> Tensor``
        (:class:`nvcodec.quant.ratemodel.SymbolPrior` is the interface). None
        means the model has no rate of its own to learn: training prices its
        symbols with the stream model's stand-in.
        """
        return None


__all__ = ["EntropyModel", "Layout"]
