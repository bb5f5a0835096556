"""The NeRV-baseline bitstream: one msgpack map of a quantized, entropy-coded model state.

A header (``kind``, the architecture config, the bit depth) and the
parameters coded exactly as nvcodec codes a group (``nvcodec/codec.py``):
every tensor with two or more dimensions is viewed as ``[rows, -1]`` (output
channels of convolutions and linear layers, frames of HNeRV's embeddings) and
quantized by ``nvcodec.quant.quantize_tensor`` with one step per row at
``bits``; all their symbols go through one ANS stream (``nvcodec.entropy``);
1-D tensors (biases) get 16 bits with one step per tensor, as zstd'd int32
like nvcodec's vectors. Steps are float16. Tensor names and shapes are not
stored: the decoder rebuilds the model from the header and takes the names
(sorted) and shapes from it, as nvcodec's reader does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import msgpack
import numpy as np
import torch
import zstandard

from nvcodec import entropy
from nvcodec.quant import QuantizedTensor, quantize_tensor

FORMAT = "nerv-baselines"
FORMAT_VERSION = 1
BITS_VECTOR = 16
"""Bits of 1-D tensors (biases), as nvcodec's ``QuantConfig.bits_vector``."""


@dataclass(frozen=True)
class Packed:
    data: bytes
    decoded: dict[str, torch.Tensor]
    """The state exactly as :func:`deserialise` rebuilds it (float32, CPU)."""
    numbers: int
    """Stored numbers (every element of the state)."""
    coded_bits: int
    """Bits of the ANS stream alone."""


def _rows_view(tensor: torch.Tensor) -> torch.Tensor:
    """``[rows, -1]``: one quantization step per output channel (or per frame of an embedding)."""
    return tensor.reshape(tensor.shape[0], -1)


def _coded_names(template: Mapping[str, torch.Tensor]) -> tuple[list[str], list[str]]:
    names = sorted(template)
    return [n for n in names if template[n].ndim >= 2], [n for n in names if template[n].ndim < 2]


def serialise(kind: str, arch: dict, state: Mapping[str, torch.Tensor], bits: int = 8) -> Packed:
    """Quantize and entropy-code ``state`` behind a header naming ``kind`` and ``arch``."""
    state = {n: t.detach().to("cpu", torch.float32) for n, t in state.items()}
    coded, vectors = _coded_names(state)
    quantized: dict[str, QuantizedTensor] = {}
    for name in coded:
        quantized[name] = quantize_tensor(_rows_view(state[name]), bits)
    for name in vectors:
        quantized[name] = quantize_tensor(state[name].reshape(-1), BITS_VECTOR)
    symbols = np.concatenate([quantized[n].symbols.reshape(-1).numpy() for n in coded] or [np.zeros(0, np.int64)])
    stream = entropy.encode(symbols)
    vector_symbols = np.concatenate([quantized[n].symbols.reshape(-1).numpy() for n in vectors] or [np.zeros(0)])
    steps = b"".join(quantized[n].steps.reshape(-1).numpy().astype("<f2").tobytes() for n in coded + vectors)
    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "kind": kind,
        "arch": arch,
        "bits": bits,
        "steps": steps,
        "symbols": stream.to_dict(),
        "vectors": zstandard.ZstdCompressor(level=19).compress(vector_symbols.astype("<i4").tobytes()),
    }
    decoded = {n: quantized[n].dequantize().reshape(state[n].shape) for n in coded + vectors}
    return Packed(
        msgpack.packb(payload, use_bin_type=True),
        decoded,
        sum(t.numel() for t in state.values()),
        entropy.coded_bits(stream),
    )


def read_header(data: bytes) -> dict:
    """The msgpack map of a bitstream, checked for format and version."""
    payload = msgpack.unpackb(data, raw=False, strict_map_key=False, max_bin_len=len(data))
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError("not a NeRV-baseline bitstream")
    if payload.get("version") != FORMAT_VERSION:
        raise ValueError(f"unsupported NeRV-baseline bitstream version {payload.get('version')!r}")
    return payload


def deserialise(payload: dict, template: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rebuild the state from a :func:`read_header` map; ``template`` gives names and shapes."""
    coded, vectors = _coded_names(template)
    stream = entropy.SymbolStream.from_dict(payload["symbols"])
    coded_count = sum(template[n].numel() for n in coded)
    vector_count = sum(template[n].numel() for n in vectors)
    if stream.size != coded_count:
        raise ValueError(f"bitstream has {stream.size} symbols, the model needs {coded_count}")
    raw = zstandard.ZstdDecompressor().decompress(payload["vectors"], max_output_size=4 * vector_count + 1)
    if len(raw) != 4 * vector_count:
        raise ValueError("vector symbols have the wrong size")
    symbols = torch.cat(
        [torch.from_numpy(entropy.decode(stream)), torch.from_numpy(np.frombuffer(raw, "<i4").astype(np.int64))]
    )
    step_values = torch.from_numpy(np.frombuffer(payload["steps"], "<f2").astype(np.float32))
    expected_steps = sum(template[n].shape[0] for n in coded) + len(vectors)
    if step_values.numel() != expected_steps:
        raise ValueError(f"bitstream has {step_values.numel()} steps, the model needs {expected_steps}")
    out: dict[str, torch.Tensor] = {}
    offset = step_offset = 0
    for name in coded + vectors:
        like = template[name]
        rows = like.shape[0] if like.ndim >= 2 else 1
        shape = (rows, like.numel() // rows) if like.ndim >= 2 else (like.numel(),)
        step = (
            step_values[step_offset : step_offset + rows].reshape(rows, 1)
            if like.ndim >= 2
            else step_values[step_offset]
        )
        tensor = QuantizedTensor(shape, False, step, symbols[offset : offset + like.numel()].reshape(shape))
        out[name] = tensor.dequantize().reshape(like.shape)
        offset += like.numel()
        step_offset += rows
    return out
