"""What per-tensor Laplace tables save: each file as written against the same symbols in one pooled count table.

The main stream's tensors may each be coded under their own zero-mean Laplace
tables, a scale per channel (payload version 4, :mod:`nvcodec.entropy.tensor_laplace`).
The choice is lossless, so it is measured exactly on one encode: every chunk is
re-packed with all of its ``ans`` symbols in the pooled count table (what
version 2 and 3 chunks store), the decoded parameters are checked equal, and
the file sizes compared, with the seconds that unpacking every chunk's
parameters takes either way (the entropy decode a reader pays per group). Encodes as ``actv-encode --preset fast --quality Q``
does (trial fits included)::

    python -m benchmarks.tensor_models --clips carphone bikes bunny motion --qualities 18 25 33

Writes ``benchmarks/results/tensor_models.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

import msgpack
import torch

from benchmarks.common import RESULTS, command, machine
from benchmarks.rate_estimate import cli_encodes
from benchmarks.results_io import with_provenance
from nvcodec.container import ContainerReader
from nvcodec.entropy import model_for
from nvcodec.entropy.count_table import encode_stream
from nvcodec.entropy.tensor_laplace import has_models
from nvcodec.header import parse_header_map
from nvcodec.model.tensors import Coding, TensorSpec
from nvcodec.payload import chunk_payload, coding_layout, read_chunk, unpack_group


def pooled_payload(payload: bytes, specs: dict[str, TensorSpec]) -> bytes:
    """``payload`` with every ``ans`` symbol in one count table: the version-2 or 3 chunk of the same symbols."""
    intra, coded = read_chunk(payload, specs)
    if not has_models(coded.streams[Coding.ANS]):
        return payload
    layout = coding_layout(specs, Coding.ANS)
    count = sum(math.prod(shape) for shape in layout.shapes)
    stream = encode_stream(model_for(Coding.ANS).decode(coded.streams[Coding.ANS], count, layout))
    streams = {**coded.streams, Coding.ANS: [stream.size, stream.low, stream.table, stream.data]}
    return chunk_payload(dataclasses.replace(coded, streams=streams), specs, intra=intra)


def compare(path: Path) -> dict:
    """Bytes of the file as written and with pooled chunks; chunk versions; parameters checked equal."""
    with ContainerReader(path) as container:
        specs = parse_header_map(container.header).tensors()
        written = pooled = 0
        versions = []
        reference = reference_pooled = None
        seconds = {"written": 0.0, "pooled": 0.0}
        for index in range(len(container.entries)):
            payload = container.read_chunk(index)
            other = pooled_payload(payload, specs)
            written, pooled = written + len(payload), pooled + len(other)
            versions.append(msgpack.unpackb(payload, raw=False)[0])
            began = time.perf_counter()
            reference = unpack_group(payload, specs, reference)
            seconds["written"] += time.perf_counter() - began
            began = time.perf_counter()
            reference_pooled = unpack_group(other, specs, reference_pooled)
            seconds["pooled"] += time.perf_counter() - began
            assert all(torch.equal(reference[n], reference_pooled[n]) for n in specs), "re-packing changed a tensor"
    size = path.stat().st_size
    return {"file_bytes": size, "pooled_file_bytes": size - written + pooled, "chunk_versions": versions,
            "saved_percent": 100 * (1 - size / (size - written + pooled)),
            "unpack_seconds": seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes"])
    parser.add_argument("--qualities", nargs="+", type=float, default=[18, 25, 33])
    parser.add_argument("--output", type=Path, default=RESULTS / "tensor_models.json")
    args = parser.parse_args()
    rows = []
    for run in cli_encodes(args.clips, args.qualities):
        row = {"clip": run.clip, "quality": run.quality, **run.shape(), **compare(run.path),
               "encode_seconds": run.coded.stats.seconds}  # fmt: skip
        rows.append(row)
        print(f"{run.clip} Q{run.quality:g}: {row['file_bytes']:,} bytes against {row['pooled_file_bytes']:,} "
              f"pooled ({-row['saved_percent']:+.2f}%), chunk versions {row['chunk_versions']}", flush=True)  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(with_provenance({"machine": machine(), "command": command(), "rows": rows}), indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
