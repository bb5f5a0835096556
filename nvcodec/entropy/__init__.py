"""Entropy models: each coding of the tensor table, its training rate and its exact bytes side by side.

- :mod:`~nvcodec.entropy.model`: the seam, :class:`EntropyModel`;
- :mod:`~nvcodec.entropy.tensor_laplace`: the matrices and latents, each tensor under integer Laplace
  tables (a scale per channel) or the pooled count table of :mod:`~nvcodec.entropy.count_table`;
- :mod:`~nvcodec.entropy.byte_planes`: zigzag byte planes through zstd (the bias vectors);
- :mod:`~nvcodec.entropy.grid_context`: the latent grids under their integer context model
  (:mod:`~nvcodec.entropy.context`);
- :mod:`~nvcodec.entropy.zstd`: zstd frames for side tables.

:func:`model_for` is the registry: the chunk payload (:mod:`nvcodec.payload`)
codes each coding's tensors with the model registered for it, in
:data:`CODED_ORDER`. Torch-free, so ``actv-info`` can check streams without it.
"""

from __future__ import annotations

from nvcodec.entropy.byte_planes import ZstdBytePlanes
from nvcodec.entropy.grid_context import GridContextModel
from nvcodec.entropy.model import EntropyModel, Layout
from nvcodec.entropy.tensor_laplace import TensorLaplaceANS
from nvcodec.model.tensors import Coding

_MODELS: dict[Coding, EntropyModel] = {
    Coding.ANS: TensorLaplaceANS(),
    Coding.ZSTD: ZstdBytePlanes(),
    Coding.ARM: GridContextModel(),
}

CODED_ORDER: tuple[Coding, ...] = (Coding.ANS, Coding.ZSTD, Coding.ARM)
"""Codings whose symbols a chunk stores through an entropy model, in the order of their fields and symbols.
A model may condition on the tensors of the codings before it (:class:`Layout`)."""


def model_for(coding: Coding) -> EntropyModel:
    """The entropy model of ``coding`` (a ``KeyError`` names a coding no model serves: a programming error)."""
    return _MODELS[coding]


__all__ = ["CODED_ORDER", "EntropyModel", "Layout", "model_for"]
