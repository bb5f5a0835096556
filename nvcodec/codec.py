"""A group's parameters <-> the bytes of its chunk (layout: ``formats/ACTV.md``).

Encoder and decoder share this module, the quantizer and the model, so the
two sides cannot drift apart: the encoder's notion of "decoded parameters"
(the reference for the next group's residual) is exactly what the decoder
computes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import msgpack
import numpy as np
import torch
import zstandard

from nvcodec import entropy
from nvcodec.config import QuantConfig
from nvcodec.errors import FormatError
from nvcodec.quant import RAW_TENSORS, QuantizedTensor, channel_axes, quantize_state

PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class PackedGroup:
    payload: bytes
    decoded: dict[str, torch.Tensor]
    """Parameters exactly as a decoder will rebuild them (float32/complex64, CPU)."""
    coded_bits: int
    """Bits of entropy-coded symbols (without the count table)."""
    entropy_bits: float
    """Empirical entropy of the symbols: the bound an ideal coder would reach."""
    symbols: int


def _split(names: list[str], template: Mapping[str, torch.Tensor]) -> tuple[list[str], list[str]]:
    """Tensors whose symbols go through ANS, and 1-D tensors stored as zstd'd int32 (few, wide)."""
    coded = [n for n in names if template[n].ndim >= 2]
    return coded, [n for n in names if template[n].ndim < 2]


def _steps_shape(shape: tuple[int, ...], is_complex: bool) -> tuple[int, ...]:
    real_shape = (*shape, 2) if is_complex else shape
    keep = channel_axes(len(shape))
    return tuple(n if axis in keep else 1 for axis, n in enumerate(real_shape))


def _cpu_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: t.detach().to("cpu") for name, t in state.items()}


def pack_group(
    state: Mapping[str, torch.Tensor],
    config: QuantConfig,
    reference: Mapping[str, torch.Tensor] | None = None,
    steps: Mapping[str, torch.Tensor] | None = None,
    hessians: Mapping[str, torch.Tensor] | None = None,
) -> PackedGroup:
    """Quantize and entropy-code a group's ``state_dict``; ``reference`` makes it a residual.

    ``steps`` (from :func:`nvcodec.quant.quantization_steps`) replace the
    peak-magnitude steps; the decoder reads the steps from the chunk either way.
    ``hessians`` (from :func:`nvcodec.sensitivity.measure`) choose the
    symbols by error-compensated rounding; the decoder never needs them.
    """
    state = _cpu_state(state)
    quantized = quantize_state(state, config, reference, steps, hessians)
    names = sorted(quantized)
    coded, vectors = _split(names, state)
    symbols = np.concatenate([quantized[n].symbols.reshape(-1).numpy() for n in coded])
    stream = entropy.encode(symbols)
    vector_symbols = np.concatenate([quantized[n].symbols.reshape(-1).numpy() for n in vectors] or [np.zeros(0)])
    decoded = {n: quantized[n].dequantize(reference[n] if reference is not None else None) for n in names}
    raw = {}
    for name in RAW_TENSORS:
        raw[name] = state[name].to(torch.float32).numpy().astype("<f4").tobytes()
        decoded[name] = state[name].to(torch.float32).clone()
    payload = {
        "version": PAYLOAD_VERSION,
        "intra": reference is None,
        "raw": raw,
        "steps": {n: quantized[n].steps.numpy().astype("<f2").tobytes() for n in names},
        "symbols": stream.to_dict(),
        "vectors": zstandard.ZstdCompressor(level=19).compress(vector_symbols.astype("<i4").tobytes()),
    }
    packed = msgpack.packb(payload, use_bin_type=True)
    return PackedGroup(
        packed, decoded, entropy.coded_bits(stream), entropy.empirical_entropy_bits(symbols), symbols.size
    )


def _field(mapping: dict, key: str, kind: type) -> object:
    value = mapping.get(key)
    if not isinstance(value, kind):
        raise FormatError(f"group chunk field {key!r} is missing or not {kind.__name__}")
    return value


def unpack_group(
    payload: bytes,
    template: Mapping[str, torch.Tensor],
    reference: Mapping[str, torch.Tensor] | None,
    *,
    intra: bool | None = None,
) -> dict[str, torch.Tensor]:
    """Rebuild a ``state_dict`` from a chunk. ``template`` gives the names, shapes and dtypes
    the model expects; ``reference`` is the previous group's decoded state (None for intra groups);
    ``intra``, when given, is what the header says this group must be.
    """
    try:
        data = msgpack.unpackb(payload, raw=False, strict_map_key=True, max_bin_len=len(payload), max_str_len=1024)
    except Exception as exc:  # msgpack raises several unrelated types for bad data
        raise FormatError(f"group chunk is not valid msgpack: {exc}") from None
    if not isinstance(data, dict) or type(data.get("version")) is not int or data["version"] != PAYLOAD_VERSION:
        raise FormatError(
            f"group chunk has an unsupported payload version {data.get('version') if isinstance(data, dict) else None!r}"
        )
    stored_intra = _field(data, "intra", bool)
    if intra is not None and stored_intra != intra:
        raise FormatError(f"group chunk says intra={stored_intra}, the header's coding rule says intra={intra}")
    intra = stored_intra
    raw = _field(data, "raw", dict)
    steps = _field(data, "steps", dict)
    if not intra and reference is None:
        raise FormatError("a residual group has no decoded predecessor to add to")
    quantized_names = sorted(n for n in template if n not in RAW_TENSORS)
    if sorted(steps) != quantized_names or sorted(raw) != sorted(n for n in template if n in RAW_TENSORS):
        raise FormatError("group chunk holds different tensors than the model described by the header")
    stream = entropy.SymbolStream.from_dict(data.get("symbols"))
    coded, vectors = _split(quantized_names, template)

    def real_count(names: list[str]) -> int:
        return sum(template[n].numel() * (2 if template[n].is_complex() else 1) for n in names)

    if stream.size != real_count(coded):
        raise FormatError(f"group chunk declares {stream.size} symbols, the model needs {real_count(coded)}")
    blob = _field(data, "vectors", bytes)
    try:
        raw_vectors = zstandard.ZstdDecompressor().decompress(blob, max_output_size=4 * real_count(vectors) + 1)
    except zstandard.ZstdError as exc:
        raise FormatError(f"vector symbols are damaged: {exc}") from None
    if len(raw_vectors) != 4 * real_count(vectors):
        raise FormatError("vector symbols have the wrong size")
    symbols = torch.cat(
        [torch.from_numpy(entropy.decode(stream)), torch.from_numpy(np.frombuffer(raw_vectors, "<i4").astype(np.int64))]
    )
    out: dict[str, torch.Tensor] = {}
    offset = 0
    for name in coded + vectors:
        like = template[name]
        is_complex = like.is_complex()
        real_shape = (*like.shape, 2) if is_complex else tuple(like.shape)
        count = int(np.prod(real_shape))
        step_shape = _steps_shape(tuple(like.shape), is_complex)
        blob = steps[name]
        if not isinstance(blob, bytes) or len(blob) != 2 * int(np.prod(step_shape)):
            raise FormatError(f"quantization steps of {name} have the wrong size")
        step = torch.from_numpy(np.frombuffer(blob, dtype="<f2").astype(np.float32).reshape(step_shape))
        if not bool(torch.isfinite(step).all()):
            raise FormatError(f"quantization steps of {name} are not finite")
        tensor = QuantizedTensor(tuple(like.shape), is_complex, step, symbols[offset : offset + count].view(real_shape))
        out[name] = tensor.dequantize(None if intra else reference[name])
        offset += count
    for name in raw:
        blob = raw[name]
        like = template[name]
        if not isinstance(blob, bytes) or len(blob) != 4 * like.numel():
            raise FormatError(f"raw tensor {name} has the wrong size")
        out[name] = torch.from_numpy(np.frombuffer(blob, dtype="<f4").astype(np.float32).reshape(like.shape))
    return out
