"""The group chunk payload: a group's parameters <-> the bytes of its chunk (``formats/ACTV.md`` section 5).

Encoder and decoder share this module, the quantizer and the tensor table, so
the two sides cannot drift apart: the encoder's notion of "decoded parameters"
(the reference for the next group's residual) is exactly what the decoder
computes. :func:`code_tensors` and :func:`decode_tensors` know nothing of
ActINR beyond the table they are given, so other models (the NeRV baselines)
store their tensors the same way. The symbols of each coding go through the
entropy model registered for it (:func:`nvcodec.entropy.model_for`), whose
stored fields the chunk lays out in :data:`nvcodec.entropy.CODED_ORDER`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import msgpack
import numpy as np
import torch

from nvcodec.config import QuantConfig
from nvcodec.entropy import CODED_ORDER, Layout, model_for
from nvcodec.entropy.byte_planes import decode_plain_int32
from nvcodec.entropy.count_table import SymbolStream, empirical_entropy_bits
from nvcodec.entropy.tensor_laplace import POOLED_FIELDS, TensorLaplaceANS, has_models
from nvcodec.entropy.zstd import zstd_compress, zstd_decompress
from nvcodec.errors import FormatError
from nvcodec.model.tensors import Coding, TensorSpec, symbol_order
from nvcodec.quant.uniform import (
    EXPONENT_MAX,
    EXPONENT_MIN,
    QuantizedTensor,
    QuantPlan,
    exponent_steps,
    quantize_state,
    step_exponents,
)

PAYLOAD_VERSION = 2
"""Version of the chunks of models without latent grids whose tensors all stay in the pooled count table. It
reads version 1 too (``formats/ACTV.md`` section 5)."""
GRID_PAYLOAD_VERSION = 3
"""Version of the chunks of models with latent grids: version 2's elements and the grids' stream."""
MODELS_PAYLOAD_VERSION = 4
"""Version of the chunks where some tensor has its own Laplace tables (:mod:`nvcodec.entropy.tensor_laplace`):
version 2's or 3's elements, with the main stream's ``models`` and ``laplace`` after its words."""
WRITTEN_VERSIONS = (PAYLOAD_VERSION, GRID_PAYLOAD_VERSION, MODELS_PAYLOAD_VERSION)
"""What this writer writes, each chunk the oldest version that holds it."""
READABLE_VERSIONS = (1, *WRITTEN_VERSIONS)
MAX_PAYLOAD_STRING = 1024
"""Longest msgpack string a chunk may hold (version 1's keys): bounds what a hostile chunk can make a reader allocate."""
GRID_FIELDS = ("grid_alphabet", "grid_words")
"""The latent grids' stream (:class:`~nvcodec.entropy.grid_context.GridContextModel`'s fields), after the vectors."""


def field_names(version: int, grids: bool) -> tuple[str, ...]:
    """The names of a version-2, 3 or 4 chunk array's elements, in order (``formats/ACTV.md`` section 5): the
    main stream's fields (version 4: with the tensor models and Laplace words), the vectors, the grids' stream
    where the model has grids (versions 3 and 4), the raw values."""
    main = TensorLaplaceANS.fields if version == MODELS_PAYLOAD_VERSION else TensorLaplaceANS.fields[:POOLED_FIELDS]
    return ("version", "intra", "steps", *main, "vectors", *(GRID_FIELDS if grids else ()), "raw")


@dataclass(frozen=True)
class CodedTensors:
    """Quantized tensors as bytes: each coding's stored fields, the steps and the raw values by name."""

    steps: dict[str, np.ndarray]
    """float32 steps of each quantized tensor, in its step shape (grid values for what this module writes)."""
    streams: dict[Coding, list[object]]
    """Each coding's entropy-model fields (:attr:`nvcodec.entropy.EntropyModel.fields`), its tensors' symbols
    pooled in sorted name order."""
    raw: dict[str, bytes]
    """float32 little-endian values of the raw tensors."""
    entropy_bits: float = 0.0
    """Empirical entropy of the ANS stream's symbols: the bound an ideal coder would reach (encoder only)."""
    vector_planes: bool = True
    """Vector layout: byte planes (what this module writes), or plain int32 (version-1 chunks)."""

    @property
    def symbols(self) -> SymbolStream:
        """The main stream's pooled count-table part (every matrix and latent, unless some have their own
        Laplace tables)."""
        fields = model_for(Coding.ANS).fields[:POOLED_FIELDS]
        return SymbolStream.from_dict(dict(zip(fields, self.streams[Coding.ANS][:POOLED_FIELDS])))

    @property
    def coded_bits(self) -> int:
        """Entropy-coded bits of every stream, without tables."""
        return sum(model_for(c).coded_bits(fields) for c, fields in self.streams.items())


def _names(specs: Mapping[str, TensorSpec], coding: Coding) -> list[str]:
    return sorted(name for name, spec in specs.items() if spec.coding is coding)


def coding_layout(
    specs: Mapping[str, TensorSpec], coding: Coding, decoded: Mapping[str, torch.Tensor] | None = None
) -> Layout:
    """What ``coding``'s model knows besides its symbols: its tensors' shapes and the tensors decoded before."""
    names = _names(specs, coding)
    shapes = tuple(specs[n].real_shape for n in names)
    channels = tuple(specs[n].step_shape for n in names)
    return Layout(shapes=shapes, channels=channels, decoded={n: t.numpy() for n, t in (decoded or {}).items()})


def code_tensors(
    quantized: Mapping[str, QuantizedTensor],
    raw: Mapping[str, torch.Tensor],
    specs: Mapping[str, TensorSpec],
    reference: Mapping[str, torch.Tensor] | None = None,
) -> CodedTensors:
    """Entropy-code the symbols of ``quantized`` (residuals of ``reference`` where given) and store the ``raw``
    tensors, as ``specs`` say."""
    streams: dict[Coding, list[object]] = {}
    pooled: dict[Coding, np.ndarray] = {}
    decoded: dict[str, torch.Tensor] = {}
    for coding in CODED_ORDER:
        names = _names(specs, coding)
        parts = [quantized[n].symbols.reshape(-1).numpy() for n in names]
        pooled[coding] = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        if parts or coding is not Coding.ARM:  # a model without grids stores no grid stream
            streams[coding] = model_for(coding).encode(pooled[coding], coding_layout(specs, coding, decoded))
        for name in names:
            decoded[name] = quantized[name].dequantize(reference[name] if reference is not None else None)
    return CodedTensors(
        steps={n: quantized[n].steps.numpy().astype(np.float32) for n in sorted(quantized)},
        streams=streams,
        raw={n: raw[n].to(torch.float32).numpy().astype("<f4").tobytes() for n in _names(specs, Coding.RAW)},
        entropy_bits=empirical_entropy_bits(pooled[Coding.ANS]),
    )


def _decode_symbols(
    coded: CodedTensors, specs: Mapping[str, TensorSpec], coding: Coding, decoded: Mapping[str, torch.Tensor]
) -> np.ndarray:
    """The symbols of ``coding``'s tensors, pooled in sorted name order, through its model."""
    count = sum(specs[n].real_size for n in _names(specs, coding))
    fields = coded.streams.get(coding)
    if fields is None:
        if count:
            raise FormatError(f"group chunk lacks the {coding.value} stream its model needs")
        return np.zeros(0, np.int64)
    if coding is Coding.ZSTD and not coded.vector_planes:
        if len(fields) != 1 or not isinstance(fields[0], bytes):
            raise FormatError("group chunk field 'vectors' is not bytes")
        return decode_plain_int32(fields[0], count)
    return model_for(coding).decode(fields, count, coding_layout(specs, coding, decoded))


def decode_tensors(
    coded: CodedTensors,
    specs: Mapping[str, TensorSpec],
    reference: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """Every tensor of ``specs`` from its coded form (residuals added to ``reference`` when given).

    Any inconsistency between the bytes and the table is a :class:`FormatError`.
    """
    raw = _names(specs, Coding.RAW)
    order = symbol_order(specs)  # the codings of CODED_ORDER, each in sorted name order
    if sorted(coded.steps) != sorted(order) or sorted(coded.raw) != raw:
        raise FormatError("group chunk holds different tensors than the model described by the header")
    out: dict[str, torch.Tensor] = {}
    for coding in CODED_ORDER:  # a coding's model may condition on the tensors decoded before it
        symbols = torch.from_numpy(_decode_symbols(coded, specs, coding, out))
        offset = 0
        for name in _names(specs, coding):
            spec = specs[name]
            values = coded.steps[name]
            if not isinstance(values, np.ndarray) or values.size != math.prod(spec.step_shape):
                raise FormatError(f"quantization steps of {name} have the wrong size")
            step = torch.from_numpy(values.astype(np.float32).reshape(spec.step_shape))
            if not bool(torch.isfinite(step).all()):
                raise FormatError(f"quantization steps of {name} are not finite")
            tensor = QuantizedTensor(
                spec.shape, spec.complex, step, symbols[offset : offset + spec.real_size].view(spec.real_shape)
            )
            out[name] = tensor.dequantize(reference[name] if reference is not None else None)
            offset += spec.real_size
    for name in raw:
        blob = coded.raw[name]
        if not isinstance(blob, bytes) or len(blob) != 4 * math.prod(specs[name].shape):
            raise FormatError(f"raw tensor {name} has the wrong size")
        out[name] = torch.from_numpy(np.frombuffer(blob, dtype="<f4").astype(np.float32).reshape(specs[name].shape))
    return out


def pack_exponents(steps: Mapping[str, np.ndarray], specs: Mapping[str, TensorSpec]) -> bytes:
    """Grid steps in symbol order as one zstd frame of int8 exponents (``formats/ACTV.md`` section 5)."""
    order = symbol_order(specs)
    if not order:
        return b""
    flat = torch.from_numpy(np.concatenate([np.asarray(steps[n], np.float32).reshape(-1) for n in order]))
    exponents = step_exponents(flat)
    if not torch.equal(exponent_steps(exponents), flat):
        raise ValueError("a version-2 chunk stores grid steps only (nvcodec.quant.uniform.grid_steps)")
    return zstd_compress(exponents.numpy().astype(np.int8).tobytes())


def unpack_exponents(blob: bytes, specs: Mapping[str, TensorSpec]) -> dict[str, np.ndarray]:
    """Inverse of :func:`pack_exponents`; a wrong count or an exponent off the grid is a :class:`FormatError`."""
    order = symbol_order(specs)
    count = sum(math.prod(specs[n].step_shape) for n in order)
    raw = zstd_decompress(blob, count, "step exponents") if count else b""
    if len(raw) != count:
        raise FormatError(f"group chunk holds {len(raw)} step exponents, the model needs {count}")
    exponents = torch.from_numpy(np.frombuffer(raw, dtype=np.int8).astype(np.int64))
    if count and (int(exponents.min()) < EXPONENT_MIN or int(exponents.max()) > EXPONENT_MAX):
        raise FormatError(f"step exponents must lie in [{EXPONENT_MIN}, {EXPONENT_MAX}]")
    steps = exponent_steps(exponents).numpy()
    out, offset = {}, 0
    for name in order:
        size = math.prod(specs[name].step_shape)
        out[name] = steps[offset : offset + size].reshape(specs[name].step_shape)
        offset += size
    return out


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
    estimated_bits: float | None = None
    """The training rate model's bits for the same symbols, when the group was trained with rate in the loss."""
    lambda_scale: float | None = None
    """Factor on the quality's lambda the group was trained at, under a rate target (rate control's state)."""


def chunk_payload(coded: CodedTensors, specs: Mapping[str, TensorSpec], *, intra: bool) -> bytes:
    """The chunk payload of ``coded``, in the oldest version that holds it: 4 where some tensor has its own
    Laplace tables, else 3 with latent grids and 2 without (byte for byte what those versions store)."""
    streams = dict(coded.streams)
    if has_models(streams[Coding.ANS]):
        version = MODELS_PAYLOAD_VERSION
    else:
        version = GRID_PAYLOAD_VERSION if Coding.ARM in streams else PAYLOAD_VERSION
        streams[Coding.ANS] = streams[Coding.ANS][:POOLED_FIELDS]
    payload = [
        version,
        intra,
        pack_exponents(coded.steps, specs),
        *(field for coding in CODED_ORDER for field in streams.get(coding, [])),
        b"".join(coded.raw[n] for n in _names(specs, Coding.RAW)),
    ]
    return msgpack.packb(payload, use_bin_type=True)


def pack_group(
    state: Mapping[str, torch.Tensor],
    specs: Mapping[str, TensorSpec],
    config: QuantConfig,
    plan: QuantPlan | None = None,
) -> PackedGroup:
    """Quantize and entropy-code a group's ``state_dict``; ``plan.reference`` makes it a residual.

    ``plan.steps`` and ``plan.hessians`` are the encoder's free choices of
    steps and symbols (:class:`~nvcodec.quant.uniform.QuantPlan`); the decoder
    reads the steps from the chunk either way.
    """
    plan = plan or QuantPlan()
    state = {name: t.detach().to("cpu") for name, t in state.items()}
    quantized = quantize_state(state, specs, config, plan)
    reference = plan.reference
    coded = code_tensors(quantized, state, specs, reference)
    decoded = {n: q.dequantize(reference[n] if reference is not None else None) for n, q in quantized.items()}
    for name in _names(specs, Coding.RAW):
        decoded[name] = state[name].to(torch.float32).clone()
    return PackedGroup(
        chunk_payload(coded, specs, intra=reference is None),
        decoded,
        model_for(Coding.ANS).coded_bits(coded.streams[Coding.ANS]),
        coded.entropy_bits,
        sum(specs[n].real_size for n in _names(specs, Coding.ANS)),
    )


def _field(mapping: dict, key: str, kind: type) -> object:
    value = mapping.get(key)
    if not isinstance(value, kind):
        raise FormatError(f"group chunk field {key!r} is missing or not {kind.__name__}")
    return value


def read_chunk(payload: bytes, specs: Mapping[str, TensorSpec]) -> tuple[bool, CodedTensors]:
    """A chunk's ``intra`` flag and coded tensors (payload version 1 to 4), checked against the msgpack
    and version rules; what the bytes hold is checked when :func:`decode_tensors` decodes them."""
    try:
        data = msgpack.unpackb(
            payload, raw=False, strict_map_key=True, max_bin_len=len(payload), max_str_len=MAX_PAYLOAD_STRING
        )
    except Exception as exc:  # msgpack raises several unrelated types for bad data
        raise FormatError(f"group chunk is not valid msgpack: {exc}") from None
    if isinstance(data, list):
        version = data[0] if data else None
    else:
        version = data.get("version") if isinstance(data, dict) else None
    if type(version) is not int or version not in READABLE_VERSIONS or isinstance(data, list) != (version >= 2):
        raise FormatError(f"group chunk has an unsupported payload version {version!r}")
    return _coded_v2(data, specs) if version >= 2 else _coded_v1(data)


def unpack_group(
    payload: bytes,
    specs: Mapping[str, TensorSpec],
    reference: Mapping[str, torch.Tensor] | None,
    *,
    intra: bool | None = None,
) -> dict[str, torch.Tensor]:
    """Rebuild a ``state_dict`` from a chunk (payload version 1 to 4). ``specs`` are the tensors the
    header's model has; ``reference`` is the previous group's decoded state (None for intra groups);
    ``intra``, when given, is what the header says this group must be.
    """
    stored_intra, coded = read_chunk(payload, specs)
    if intra is not None and stored_intra != intra:
        raise FormatError(f"group chunk says intra={stored_intra}, the header's coding rule says intra={intra}")
    if not stored_intra and reference is None:
        raise FormatError("a residual group has no decoded predecessor to add to")
    return decode_tensors(coded, specs, None if stored_intra else reference)


def _coded_v1(data: dict) -> tuple[bool, CodedTensors]:
    """A version-1 chunk: a map with float16 steps and raw tensors by name, int32 vectors."""
    stored_intra = bool(_field(data, "intra", bool))
    raw = _field(data, "raw", dict)
    blobs = _field(data, "steps", dict)
    assert isinstance(blobs, dict)
    steps = {}
    for name, blob in blobs.items():
        if not isinstance(blob, bytes) or len(blob) % 2:
            raise FormatError(f"quantization steps of {name} have the wrong size")
        steps[name] = np.frombuffer(blob, dtype="<f2").astype(np.float32)
    stream = SymbolStream.from_dict(data.get("symbols"))
    vectors = _field(data, "vectors", bytes)
    streams: dict[Coding, list[object]] = {
        Coding.ANS: [stream.size, stream.low, stream.table, stream.data],
        Coding.ZSTD: [vectors],
    }
    return stored_intra, CodedTensors(steps, streams, raw, vector_planes=False)  # type: ignore[arg-type]  # checked by decode_tensors


def _coded_v2(data: list, specs: Mapping[str, TensorSpec]) -> tuple[bool, CodedTensors]:
    """A version-2, 3 or 4 chunk: an array with grid exponents, the main stream's fields (version 4: with the
    tensor models and the Laplace words), byte-plane vectors, (versions 3 and 4 with grids: the latent grids'
    stream,) raw values."""
    version = data[0]
    has_grids = any(spec.coding is Coding.ARM for spec in specs.values())
    if version in (2, 3) and has_grids != (version == 3):
        raise FormatError(
            f"a payload of version {version} cannot hold this model's tensors (latent grids: {has_grids})"
        )
    names = field_names(version, has_grids)
    if len(data) != len(names):
        raise FormatError(f"group chunk has {len(data)} fields, version {version} of this model has {len(names)}")
    named = dict(zip(names, data))
    stored_intra, exponents, vectors, raw = named["intra"], named["steps"], named["vectors"], named["raw"]
    size, low, table, words, *models = (named[key] for key in TensorLaplaceANS.fields if key in named)
    grid_stream = [named[key] for key in GRID_FIELDS if key in named]
    if not isinstance(stored_intra, bool):
        raise FormatError("group chunk field 'intra' is not bool")
    for field, value in (("steps", exponents), ("table", table), ("data", words), ("vectors", vectors), ("raw", raw)):
        if not isinstance(value, bytes):
            raise FormatError(f"group chunk field {field!r} is not bytes")
    for field, value in zip(("models", "laplace"), models):
        if not isinstance(value, bytes) or value == b"":
            raise FormatError(f"group chunk field {field!r} is not bytes, or empty in a version-4 chunk")
    SymbolStream.from_dict({"n": size, "low": low, "table": table, "data": words})  # checks the stream's fields
    streams: dict[Coding, list[object]] = {Coding.ANS: [size, low, table, words, *models], Coding.ZSTD: [vectors]}
    if grid_stream:
        streams[Coding.ARM] = grid_stream
    raw_names = _names(specs, Coding.RAW)
    sizes = [4 * math.prod(specs[n].shape) for n in raw_names]
    if len(raw) != sum(sizes):
        raise FormatError(f"raw tensors take {len(raw)} bytes, the model needs {sum(sizes)}")
    offsets = np.cumsum([0, *sizes])
    raws = {n: raw[offsets[i] : offsets[i + 1]] for i, n in enumerate(raw_names)}
    return stored_intra, CodedTensors(unpack_exponents(exponents, specs), streams, raws)
