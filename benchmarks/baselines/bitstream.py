"""The NeRV-baseline bitstream: one msgpack map of a quantized, entropy-coded model state.

A header (``kind``, the architecture config, the bit depth) and the
parameters coded by nvcodec's own tensor coder (``nvcodec.payload.code_tensors``,
the one a group chunk uses), under a tensor table made here: every tensor
with two or more dimensions is viewed as ``[rows, -1]`` (output channels of
convolutions and linear layers, frames of HNeRV's embeddings) with one step
per row at ``bits`` (from the row's peak, or a step the model learned:
HNeRV-Boost, :func:`serialise`'s ``steps``), and all their symbols go through one ANS stream; 1-D
tensors (biases) get 16 bits with one step per tensor, as zstd'd byte planes like
nvcodec's vectors. Steps (on nvcodec's step grid, so exact in float16) are
stored as float16, concatenated in symbol order: a model coded once for a whole
clip has few of them. Version 2 (2026-12-04): the vectors' byte planes and the
step grid, as nvcodec's chunk version 2. Tensor
names and shapes are not stored: the decoder rebuilds the model from the
header and takes the names (sorted) and shapes from it, as nvcodec's reader does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import msgpack
import numpy as np
import torch

from nvcodec.config import QuantConfig
from nvcodec.entropy.count_table import SymbolStream
from nvcodec.model.tensors import Coding, Kind, TensorSpec
from nvcodec.payload import CodedTensors, code_tensors, decode_tensors
from nvcodec.quant.uniform import QuantPlan, quantize_state

FORMAT = "nerv-baselines"
FORMAT_VERSION = 2
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


def tensor_table(shapes: Mapping[str, tuple[int, ...]]) -> dict[str, TensorSpec]:
    """The table nvcodec's coder reads: row views of matrices in the ANS stream, vectors as zstd'd int32."""
    specs = {}
    for name, shape in shapes.items():
        if len(shape) >= 2:
            specs[name] = TensorSpec((shape[0], math.prod(shape[1:])), False, Kind.BIAS, Coding.ANS, (0,))
        else:
            specs[name] = TensorSpec((math.prod(shape),), False, Kind.VECTOR, Coding.ZSTD, ())
    return specs


def _order(specs: Mapping[str, TensorSpec]) -> list[str]:
    """Symbol order: the ANS-coded tensors by name, then the vectors by name (as ``code_tensors``)."""
    return sorted(n for n in specs if specs[n].coding is Coding.ANS) + sorted(
        n for n in specs if specs[n].coding is Coding.ZSTD
    )


def serialise(
    kind: str,
    arch: dict,
    state: Mapping[str, torch.Tensor],
    bits: int = 8,
    steps: Mapping[str, torch.Tensor] | None = None,
) -> Packed:
    """Quantize and entropy-code ``state`` behind a header naming ``kind`` and ``arch``.

    ``steps``: a chosen step (on nvcodec's step grid, a scalar or one per row)
    for some tensors of two or more dimensions, instead of their rows' peak
    steps; their symbols may then reach ``nvcodec.quant.uniform.finer_bits``
    more bits. The stream is the same: a decoder reads every step from it.
    """
    state = {n: t.detach().to("cpu", torch.float32) for n, t in state.items()}
    specs = tensor_table({n: tuple(t.shape) for n, t in state.items()})
    views = {n: t.reshape(specs[n].shape) for n, t in state.items()}
    chosen = {
        n: s.detach().to("cpu", torch.float32).reshape(-1, 1).expand(specs[n].step_shape).contiguous()
        for n, s in (steps or {}).items()
    }
    plan = QuantPlan(steps=chosen) if chosen else None
    quantized = quantize_state(views, specs, QuantConfig(bits_bias=bits, bits_vector=BITS_VECTOR), plan)
    coded = code_tensors(quantized, {}, specs)
    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "kind": kind,
        "arch": arch,
        "bits": bits,
        "steps": b"".join(coded.steps[n].astype("<f2").tobytes() for n in _order(specs)),
        "symbols": coded.symbols.to_dict(),
        "vectors": coded.streams[Coding.ZSTD][0],
    }
    decoded = {n: q.dequantize().reshape(state[n].shape) for n, q in quantized.items()}
    return Packed(
        msgpack.packb(payload, use_bin_type=True),
        decoded,
        sum(t.numel() for t in state.values()),
        coded.coded_bits,
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
    specs = tensor_table({n: tuple(t.shape) for n, t in template.items()})
    blob = payload["steps"]
    steps, offset = {}, 0
    for name in _order(specs):
        size = 2 * math.prod(specs[name].step_shape)
        steps[name] = np.frombuffer(blob[offset : offset + size], dtype="<f2").astype(np.float32)
        offset += size
    if offset != len(blob):
        raise ValueError(f"bitstream has {len(blob) // 2} steps, the model needs {offset // 2}")
    stream = SymbolStream.from_dict(payload["symbols"])
    streams: dict[Coding, list[object]] = {
        Coding.ANS: [stream.size, stream.low, stream.table, stream.data],
        Coding.ZSTD: [payload["vectors"]],
    }
    coded = CodedTensors(steps, streams, {})
    return {n: t.reshape(template[n].shape) for n, t in decode_tensors(coded, specs).items()}
