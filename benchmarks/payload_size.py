"""Where the bytes of an ``.actv`` file go, and what payload version 2 saves over version 1.

Encodes each clip at each quality (the ``fast`` preset shaped as ``actv-encode
--quality`` shapes it: the width of the quality and the trial fits, its group
length and latent grids; bpp and RGB PSNR of the decoded frames recorded; runs
before 2026-12-07 took the quality's width alone, groups of 10 and no grids),
then splits every file into its parts:
the ANS words (the coded parameters themselves), the count tables, the
per-tensor Laplace models, the step exponents, the bias vectors, the latent
grids' words, the raw values, msgpack framing, and the
container (preamble, header, index, trailer). Each chunk is also transcoded,
losslessly, to payload version 1 (float16 steps and raw tensors by name, plain
int32 vectors: the same decoded parameters, checked), so the saving of version
2 is measured on the same fits rather than on two encodes.

    python -m benchmarks.payload_size                       # carphone and bikes at Q 12, 24, 36: about 8 minutes
    python -m benchmarks.payload_size --clips carphone --qualities 12

Writes ``benchmarks/results/payload_size.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import msgpack
import numpy as np
import torch

from benchmarks.common import RESULTS, command, machine
from benchmarks.rate_estimate import cli_encodes
from benchmarks.results_io import with_provenance
from nvcodec.container import ContainerReader
from nvcodec.entropy import model_for
from nvcodec.entropy.byte_planes import decode_planes
from nvcodec.entropy.count_table import encode_stream
from nvcodec.entropy.zstd import zstd_compress
from nvcodec.model.group import group_tensors
from nvcodec.model.tensors import Coding, TensorSpec
from nvcodec.payload import CodedTensors, coding_layout, field_names, read_chunk, unpack_group
from nvcodec.reader import VideoReader


def as_version_1(payload: bytes, specs: dict[str, TensorSpec]) -> bytes:
    """The same chunk as payload version 1: a map with float16 steps and raw tensors by name, int32 vectors."""
    intra, coded = read_chunk(payload, specs)
    vector_count = sum(s.real_size for s in specs.values() if s.coding is Coding.ZSTD)
    vectors = decode_planes(coded.streams[Coding.ZSTD][0], vector_count)  # type: ignore[arg-type]
    version_1 = {
        "version": 1,
        "intra": intra,
        "raw": coded.raw,
        "steps": {n: s.astype("<f2").tobytes() for n, s in coded.steps.items()},  # grid steps are float16-exact
        "symbols": encode_stream(ans_symbols(coded, specs)).to_dict(),  # version 1 pools every tensor
        "vectors": zstd_compress(vectors.astype("<i4").tobytes()),
    }
    return msgpack.packb(version_1, use_bin_type=True)


def ans_symbols(coded: CodedTensors, specs: dict[str, TensorSpec]) -> np.ndarray:
    """Every symbol of the main stream, whichever tables coded each tensor."""
    layout = coding_layout(specs, Coding.ANS)
    count = sum(int(np.prod(shape)) for shape in layout.shapes)
    return model_for(Coding.ANS).decode(coded.streams[Coding.ANS], count, layout)


def chunk_parts(payload: bytes) -> dict[str, int]:
    """Bytes of each element of a version-2, 3 or 4 chunk, by what it holds."""
    data = msgpack.unpackb(payload, raw=False)
    grids = len(data) == len(field_names(data[0], grids=True))
    named = dict(zip(field_names(data[0], grids), data))

    def size(*keys: str) -> int:
        return sum(len(named.get(key, b"")) for key in keys)

    return {"ans_words": size("data", "laplace"), "count_tables": size("table"), "tensor_models": size("models"),
            "step_exponents": size("steps"), "vectors": size("vectors"), "grid_words": size("grid_words"),
            "raw": size("raw")}  # fmt: skip


def breakdown(path: Path) -> dict:
    """Bytes of each part of the file, and of the file with every chunk in payload version 1.

    Version 1 has no latent grids: a file with grids gets no version-1 size (None).
    """
    with VideoReader(path) as reader:
        specs = group_tensors(reader.grid.num_patches, reader.model_config, reader.grid.patch_shape)
    parts = dict.fromkeys(
        ("ans_words", "count_tables", "tensor_models", "step_exponents", "vectors", "grid_words", "raw", "msgpack"), 0
    )
    transcode = all(spec.coding is not Coding.ARM for spec in specs.values())
    version_1 = 0
    reference = reference_1 = None
    with ContainerReader(path) as container:
        for index in range(len(container)):
            payload = container.read_chunk(index)
            sizes = chunk_parts(payload)
            for key, value in sizes.items():
                parts[key] += value
            parts["msgpack"] += len(payload) - sum(sizes.values())
            if not transcode:
                continue
            old = as_version_1(payload, specs)
            version_1 += len(old)
            reference = unpack_group(payload, specs, reference)
            reference_1 = unpack_group(old, specs, reference_1)
            assert all(torch.equal(reference[n], reference_1[n]) for n in specs), "transcoding changed a parameter"
    size = path.stat().st_size
    payloads = sum(parts.values())
    parts["container"] = size - payloads
    if not transcode:
        return {"file_bytes": size, "parts": parts, "version_1_file_bytes": None, "saved_percent": None}
    return {"file_bytes": size, "parts": parts, "version_1_file_bytes": size - payloads + version_1,
            "saved_percent": 100 * (1 - size / (size - payloads + version_1))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes"])
    parser.add_argument("--qualities", nargs="+", type=float, default=[12, 24, 36])
    parser.add_argument("--output", type=Path, default=RESULTS / "payload_size.json")
    args = parser.parse_args()
    rows = []
    for run in cli_encodes(args.clips, args.qualities):
        row = {"clip": run.clip, "quality": run.quality, **run.shape(), "bpp": run.coded.stats.bpp,
               "psnr": run.psnr, "encode_seconds": run.coded.stats.seconds, **breakdown(run.path)}  # fmt: skip
        rows.append(row)
        shares = ", ".join(f"{k} {100 * v / row['file_bytes']:.1f}%" for k, v in row["parts"].items())
        version_1 = ""
        if row["version_1_file_bytes"] is not None:
            version_1 = f"as version 1 {row['version_1_file_bytes']:,} (-{row['saved_percent']:.1f}%); "
        print(f"{run.clip} Q{run.quality:g} (width {row['width']}): {row['file_bytes']:,} bytes, "
              f"{row['bpp']:.4f} bpp, {row['psnr']:.2f} dB; {version_1}{shares}")  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps(with_provenance({"machine": machine(), "command": command(), "rows": rows}), indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
