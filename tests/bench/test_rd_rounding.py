"""The rounding benchmark's pieces that need no encode: code lengths and the Hessian's diagonal by layout."""

from __future__ import annotations

import math

import torch

from benchmarks.rd_rounding import _code_lengths, _hessian_diagonal
from nvcodec.model.tensors import Coding, Kind, TensorSpec


def test_code_lengths_follow_the_histogram_with_half_a_count_everywhere() -> None:
    table, low = _code_lengths(torch.tensor([0, 0, 0, 1]))
    assert low == -1  # one value of room below the smallest symbol
    total = 4 + 0.5 * table.numel()
    assert math.isclose(float(table[0 - low]), -math.log2(3.5 / total))
    assert math.isclose(float(table[1 - low]), -math.log2(1.5 / total))
    assert float(table[-1 - low]) > float(table[1 - low])  # unseen symbols cost more than seen ones


def test_hessian_diagonal_comes_back_in_the_weights_layout() -> None:
    hessian = torch.diag_embed(torch.arange(6.0).view(2, 3))  # [out=2, in=3, in=3]
    out_in = TensorSpec((2, 3), False, Kind.BIAS, Coding.ANS, (0,), in_axis=1)
    assert torch.equal(_hessian_diagonal(hessian, out_in, 2), torch.arange(6.0).view(2, 3))
    in_out = TensorSpec((4, 3, 2), False, Kind.FRAME, Coding.ANS, (0, 2), in_axis=1)
    patches = hessian.expand(4, 2, 3, 3)  # [P, out, in, in] for a [P, in, out] matrix
    assert torch.equal(_hessian_diagonal(patches, in_out, 3), torch.arange(6.0).view(2, 3).T.expand(4, 3, 2))
