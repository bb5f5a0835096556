"""What other models of the weights' symbols would save, measured on coded files (no format change).

For each group chunk of the given ``.actv`` files: the bits of today's ANS stream (one count table
pooled over every matrix, words plus table), against the same symbols with each tensor that gains
moved to its own zero-mean Laplace (the integer tables of :mod:`nvcodec.entropy.context`, one of 64
scales and its alphabet per tensor, 20 bits of side data) and the rest left in the pooled table; and
the step exponents' zstd frame against their zeroth-order entropy. Run on files ``actv-encode`` wrote::

    actv-encode carphone.y4m --preset fast --quality 24 -o /tmp/c24.actv
    python -m benchmarks.weight_models /tmp/c24.actv
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import msgpack
import numpy as np
import torch

from nvcodec.container import ContainerReader
from nvcodec.entropy import Layout, model_for
from nvcodec.entropy.context import PRECISION, SCALE_LEVELS, _free_weights
from nvcodec.entropy.count_table import empirical_entropy_bits, encode_stream
from nvcodec.header import parse_header_map
from nvcodec.model.tensors import Coding, symbol_order
from nvcodec.payload import read_chunk, unpack_exponents
from nvcodec.quant.uniform import step_exponents

SIDE_BITS = 20
"""A tensor's own Laplace: its scale level (6 bits, stored in 8) and its alphabet (12)."""


def laplace_bits(symbols: np.ndarray) -> float:
    """Bits of ``symbols`` under the best of the 64 zero-mean integer Laplace tables, plus its side data."""
    half = max(1, int(np.abs(symbols).max()))
    best = math.inf
    for level in range(SCALE_LEVELS):
        counts = _free_weights(half, np.zeros(1, np.int64), np.array([level]))[0] + 1
        best = min(best, float(np.sum(PRECISION - np.log2(counts[symbols + half].astype(np.float64)))))
    return best + SIDE_BITS


def chunk_report(path: Path) -> list[dict]:
    reader = ContainerReader(path)
    specs = parse_header_map(reader.header).tensors()
    names = sorted(n for n, s in specs.items() if s.coding is Coding.ANS)
    rows = []
    for index in range(len(reader.entries)):
        payload = reader.read_chunk(index)
        _, coded = read_chunk(payload, specs)
        count = sum(specs[n].real_size for n in names)
        symbols = model_for(Coding.ANS).decode(coded.streams[Coding.ANS], count, Layout())
        parts, offset = {}, 0
        for name in names:
            parts[name], offset = symbols[offset : offset + specs[name].real_size], offset + specs[name].real_size
        stream = coded.symbols
        pooled_bits = 8 * (len(stream.data) + len(stream.table))
        own = {n: laplace_bits(parts[n]) for n in names}
        pooled = set(names)
        for _ in range(3):  # move each tensor whose own Laplace beats its cost under the pooled histogram
            pool = np.concatenate([parts[n] for n in sorted(pooled)])
            values, counts = np.unique(pool, return_counts=True)
            cost = dict(zip(values.tolist(), (-np.log2(counts / pool.size)).tolist()))
            pooled -= {n for n in pooled if own[n] < sum(cost[v] for v in parts[n].tolist())}
        rest = encode_stream(np.concatenate([parts[n] for n in sorted(pooled)])) if pooled else None
        mixed = (8 * (len(rest.data) + len(rest.table)) if rest else 0) + sum(own[n] for n in names if n not in pooled)
        steps = unpack_exponents(msgpack.unpackb(payload)[2], specs)
        exponents = np.concatenate(
            [step_exponents(torch.from_numpy(steps[n].reshape(-1))).numpy() for n in symbol_order(specs)]
        )
        rows.append({
            "file": str(path), "group": index, "ans_bits": pooled_bits, "per_tensor_laplace_bits": round(mixed),
            "saved_percent": 100 * (1 - mixed / pooled_bits), "own_laplace": sorted(set(names) - pooled),
            "exponent_bits": 8 * len(msgpack.unpackb(payload)[2]),
            "exponent_entropy_bits": round(empirical_entropy_bits(exponents)),
        })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    for path in args.files:
        for row in chunk_report(path):
            print(
                f"{row['file']} group {row['group']}: ANS {row['ans_bits']} bits, per-tensor Laplace where it pays "
                f"{row['per_tensor_laplace_bits']} ({-row['saved_percent']:+.1f}%); step exponents "
                f"{row['exponent_bits']} bits, entropy {row['exponent_entropy_bits']}"
            )


if __name__ == "__main__":
    main()
