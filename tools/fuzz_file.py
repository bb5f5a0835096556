"""Mutation fuzzer for whole ``.actv`` files: container, header, chunk payloads, entropy decoder, renderer.

Run from the repository root::

    python -m tools.fuzz_file --cases 2000 --seed 0                 # encodes its own small clips first
    python -m tools.fuzz_file --cases 300 --file clip.actv --json fuzz.json
    python -m tools.fuzz_file --seed 0 --replay 1234                # one case again, with its traceback

It needs nothing beyond the library (no atheris). Without ``--file`` it encodes
a real 13-frame 32x40 clip (:func:`nvcodec.sample.sample_clip`) three times with a
tiny model: once with residual groups (intra, residual, residual: a residual
chain), once with every group intra, and once with latent grids and residual
groups (payload version 3: the grids' context-coded stream). Chunks whose tensors
take their own Laplace tables are payload version 4 (the barely fitted bases of
the tests are; those of a default run stay in versions 2 and 3). Each case takes one of those files,
damages it and then does what a user would: open it with
:class:`nvcodec.VideoReader`, read ``len(reader)``, decode every frame at the
native size (at most 64 frames, evenly spread), one frame at twice the size,
and run ``actv-info --decode`` (:func:`nvcodec.cli.info.describe`).

Cases take turns between three modes:

``raw``
    Byte-level damage with the checksums left as they are: bit flips, random
    runs, truncation, insertion, deletion, a duplicated region. Nearly every
    such file must be rejected by a CRC or length check.
``rechecksum``
    Same-length damage to the header, the index, the trailer, a record prefix
    or a chunk payload, then every checksum rewritten where the damaged file's
    own fields say it lives (header CRC, each chunk's CRC in its record prefix
    and its index entry, the index CRC), so the damage reaches the msgpack,
    header-field, payload and entropy decoders.
``structured``
    One field of the header map, of a chunk's msgpack payload or of the chunk
    list is changed (wrong types, huge or negative numbers, a symbol stream
    that lies, steps of the wrong size or not finite, zstd frames that lie
    about their size, ...) and a well-formed file is rebuilt with
    :class:`nvcodec.container.ContainerWriter`.

Outcomes: ``rejected`` (an :class:`nvcodec.errors.ActvError` was raised, or
``actv-info`` listed a problem), ``decoded`` (everything worked), ``crash``
(any other exception, or a finding: a file that decoded although a checksum
is wrong, or ``VideoReader`` and ``actv-info`` disagreeing), ``hang`` (a case
over ``--time-limit`` seconds) and ``memory`` (a ``MemoryError``, or a case
that raised the process's peak RSS by more than ``--rss-cap-mib``; the address
space is also capped a few GiB above what the process uses once the base
files are decoded). The exit status is 1 when any case crashed, hung or ran
out of memory. A case is fully determined by ``--seed``, its number and the
base file (the encodes are deterministic), so ``--replay N`` reruns it.

A hang inside native code (zstd, constriction, torch) cannot be interrupted
by ``SIGALRM``; a watchdog thread then ends the process after three times the
time limit, naming the case.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import hashlib
import io
import json
import math
import os
import platform
import random
import resource
import shlex
import signal
import struct
import sys
import tempfile
import threading
import time
import traceback
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import zstandard

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from nvcodec import container  # noqa: E402
from nvcodec.entropy.count_table import MAX_ALPHABET  # noqa: E402
from nvcodec.errors import ActvError  # noqa: E402
from nvcodec.payload import field_names  # noqa: E402

MODES = ("raw", "rechecksum", "structured")
OUTCOMES = ("rejected", "decoded", "crash", "hang", "memory")
FAILURES = ("crash", "hang", "memory")
MAX_DECODED_FRAMES = 64
"""Frames decoded per case: a header may (validly) declare millions of frames."""
ZSTD_FRAME_MAGIC = b"\x28\xb5\x2f\xfd"
BOMB_BYTES = 1280 << 20
"""Size of the honest zstd bomb: over the default RSS cap of one case (1 GiB)."""


# --------------------------------------------------------------------------- base files


def make_base_files(
    folder: Path,
    *,
    frames: int = 13,
    height: int = 32,
    width: int = 40,
    iters: int = 60,
    iters_warm: int = 40,
    group_size: int = 4,
    intra_variant: bool = True,
    grid_variant: bool = True,
    clip: np.ndarray | None = None,
) -> list[Path]:
    """Encode a clip (default: the sample clip) with a tiny model: residual groups (I R R ...), all intra, and
    residual groups with two levels of latent grids (payload version 3)."""
    import torch

    from nvcodec import Config, QuantConfig, encode
    from nvcodec.sample import sample_clip

    if clip is None:
        clip = sample_clip(frames=frames, height=height, width=width)
    tiny = dict(hidden=12, layers=2, patch=24, overlap=6, rff_freqs=4, latent_dim=4, hyper_hidden=8)
    variants = [("residual", QuantConfig(residual=True, intra_period=4), 1.0, {})]
    if intra_variant:
        variants.append(("intra", QuantConfig(residual=False), 0.5, {}))  # fewer iterations: it only needs to exist
    if grid_variant:  # coded without rate in the loss: the context model is fitted to the grids' symbols
        variants.append(("grids", QuantConfig(residual=True, intra_period=4), 1.0, dict(grid_levels=2, grid_cell=4)))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same bytes on every run, so that --replay finds the same case
    try:
        paths = []
        for name, quant, share, grids in variants:
            config = Config.preset(
                "fast",
                **tiny,
                **grids,
                batch_pixels=2048,
                iters=max(1, int(iters * share)),
                iters_warm=max(1, int(iters_warm * share)),
                group_size=group_size,
                compile=False,
                device="cpu",
            )
            path = folder / f"base-{name}.actv"
            encode(clip, path, config, quant, fps=25.0)
            paths.append(path)
    finally:
        torch.set_num_threads(threads)
    return paths


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int
    payload: bytes


@dataclass(frozen=True)
class BaseFile:
    """A well-formed file, its layout and its decoded header map and chunks."""

    data: bytes
    header: dict
    chunks: tuple[Chunk, ...]
    entries: tuple[container.ChunkEntry, ...]
    header_end: int  # 16 + header_len: where the header CRC lives

    @classmethod
    def parse(cls, data: bytes) -> BaseFile:
        with container.ContainerReader(io.BytesIO(data)) as reader:
            chunks = tuple(Chunk(e.start, e.end, reader.read_chunk(i)) for i, e in enumerate(reader.entries))
            (header_len,) = struct.unpack_from("<I", data, 12)
            return cls(data, reader.header, chunks, tuple(reader.entries), container.PREAMBLE_SIZE + header_len)

    @property
    def index_offset(self) -> int:
        return len(self.data) - container.TRAILER_SIZE - container.INDEX_ENTRY_SIZE * len(self.entries)

    @property
    def trailer_offset(self) -> int:
        return len(self.data) - container.TRAILER_SIZE


# --------------------------------------------------------------------------- checksums


def fix_checksums(buf: bytearray) -> None:
    """Rewrite every CRC where ``buf``'s own (possibly damaged) fields say it lives.

    Each chunk's CRC goes into its record prefix and its index entry; the record's
    length field is left alone. Positions outside the file are skipped.
    """
    size = len(buf)
    if size < container.MIN_FILE_SIZE:
        return
    trailer_at = size - container.TRAILER_SIZE
    index_offset, count = struct.unpack_from("<QI", buf, trailer_at)
    if index_offset + count * container.INDEX_ENTRY_SIZE == trailer_at:
        for i in range(count):
            entry_at = index_offset + i * container.INDEX_ENTRY_SIZE
            _, _, offset, length, _ = struct.unpack_from("<QQQII", buf, entry_at)
            if offset + container.RECORD_PREFIX_SIZE + length > size:
                continue
            payload_at = offset + container.RECORD_PREFIX_SIZE
            crc = zlib.crc32(buf[payload_at : payload_at + length])
            struct.pack_into("<I", buf, offset + 4, crc)
            struct.pack_into("<I", buf, entry_at + 28, crc)
    (header_len,) = struct.unpack_from("<I", buf, 12)
    crc_at = container.PREAMBLE_SIZE + header_len
    if crc_at + 4 <= size:
        struct.pack_into("<I", buf, crc_at, zlib.crc32(buf[:crc_at]))
    if index_offset + count * container.INDEX_ENTRY_SIZE == trailer_at:
        struct.pack_into("<I", buf, trailer_at + 12, zlib.crc32(buf[index_offset : trailer_at + 12]))


def checksums_valid(data: bytes) -> bool:
    """Whether every CRC of ``data`` matches, read from the spec (ACTV.md 2-7) and not from the library."""
    try:
        (header_len,) = struct.unpack_from("<I", data, 12)
        crc_at = container.PREAMBLE_SIZE + header_len
        if zlib.crc32(data[:crc_at]) != struct.unpack_from("<I", data, crc_at)[0]:
            return False
        trailer_at = len(data) - container.TRAILER_SIZE
        index_offset, count, index_crc = struct.unpack_from("<QII", data, trailer_at)
        if index_offset + count * container.INDEX_ENTRY_SIZE != trailer_at:
            return False
        if zlib.crc32(data[index_offset : trailer_at + 12]) != index_crc:
            return False
        for i in range(count):
            _, _, offset, length, crc = struct.unpack_from("<QQQII", data, index_offset + 32 * i)
            if struct.unpack_from("<II", data, offset) != (length, crc):
                return False
            payload = data[offset + 8 : offset + 8 + length]
            if len(payload) != length or zlib.crc32(payload) != crc:
                return False
    except struct.error:
        return False
    return True


# --------------------------------------------------------------------------- raw mode


def _random_bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def _flip_bits(buf: bytearray, rng: random.Random) -> str:
    spots = sorted(rng.randrange(len(buf) * 8) for _ in range(rng.randint(1, 8)))
    for bit in spots:
        buf[bit // 8] ^= 1 << (bit % 8)
    return f"flip bits {spots}"


def _overwrite_run(buf: bytearray, rng: random.Random) -> str:
    at, n = rng.randrange(len(buf)), rng.randint(1, 64)
    run = _random_bytes(rng, n) if rng.random() < 0.7 else bytes([rng.choice((0, 0xFF, 0x7F, 0x80))]) * n
    buf[at : at + n] = run[: len(buf) - at]
    return f"overwrite {n} bytes at {at}"


def _truncate(buf: bytearray, rng: random.Random) -> str:
    cut = rng.randrange(len(buf))
    del buf[cut:]
    return f"truncate to {cut} bytes"


def _insert(buf: bytearray, rng: random.Random) -> str:
    at, n = rng.randrange(len(buf) + 1), rng.randint(1, 64)
    buf[at:at] = _random_bytes(rng, n)
    return f"insert {n} bytes at {at}"


def _delete(buf: bytearray, rng: random.Random) -> str:
    at, n = rng.randrange(len(buf)), rng.randint(1, 64)
    del buf[at : at + n]
    return f"delete {n} bytes at {at}"


def _duplicate(buf: bytearray, rng: random.Random) -> str:
    at, n = rng.randrange(len(buf)), rng.randint(1, 256)
    region = bytes(buf[at : at + n])
    to = rng.randrange(len(buf) + 1)
    buf[to:to] = region
    return f"duplicate {len(region)} bytes from {at} at {to}"


RAW_MUTATORS: tuple[Callable[[bytearray, random.Random], str], ...] = (
    _flip_bits,
    _overwrite_run,
    _truncate,
    _insert,
    _delete,
    _duplicate,
)


def mutate_raw(base: BaseFile, rng: random.Random) -> tuple[bytes, str]:
    buf = bytearray(base.data)
    steps = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if not buf:
            break
        steps.append(rng.choice(RAW_MUTATORS)(buf, rng))
    return bytes(buf), "; ".join(steps)


# --------------------------------------------------------------------------- rechecksum mode

INTERESTING_U32 = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def _regions(base: BaseFile) -> list[tuple[str, int, int, float]]:
    """(name, start, end, weight) of the parts a same-length mutation may target."""
    regions = [
        ("version and header_len", 8, container.PREAMBLE_SIZE, 0.5),
        ("header bytes", container.PREAMBLE_SIZE, base.header_end, 2.0),
        ("index", base.index_offset, base.trailer_offset, 1.0),
        ("trailer fields", base.trailer_offset, base.trailer_offset + 12, 0.3),
    ]
    for i, entry in enumerate(base.entries):
        regions.append((f"chunk {i} record prefix", entry.offset, entry.offset + 8, 0.2))
        payload = entry.offset + container.RECORD_PREFIX_SIZE
        regions.append((f"chunk {i} payload", payload, payload + entry.length, 4.0 / len(base.entries)))
    return [r for r in regions if r[2] > r[1]]


def mutate_rechecksum(base: BaseFile, rng: random.Random) -> tuple[bytes, str]:
    regions = _regions(base)
    name, start, end, _ = rng.choices(regions, weights=[r[3] for r in regions])[0]
    buf = bytearray(base.data)
    at = rng.randrange(start, end)
    kind = rng.choice(("flip", "run", "u32", "byte"))
    if kind == "flip":
        spots = sorted(rng.randrange(8 * start, 8 * end) for _ in range(rng.randint(1, 4)))
        for bit in spots:
            buf[bit // 8] ^= 1 << (bit % 8)
        what = f"flip bits {spots}"
    elif kind == "run":
        n = min(rng.randint(1, 8), end - at)
        buf[at : at + n] = _random_bytes(rng, n)
        what = f"overwrite {n} bytes at {at}"
    elif kind == "u32" and end - at >= 4:
        value = rng.choice(INTERESTING_U32)
        struct.pack_into("<I", buf, at, value)
        what = f"u32 {value:#x} at {at}"
    else:
        value = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.getrandbits(8)))
        buf[at] = value
        what = f"byte {value:#x} at {at}"
    fix_checksums(buf)
    return bytes(buf), f"{name}: {what}, checksums rewritten"


# --------------------------------------------------------------------------- structured mode

_MISSING = object()
"""A field value meaning: delete the key."""
TYPE_LIES: tuple[Any, ...] = (None, True, False, 1.5, math.nan, math.inf, "x", b"\x00", [], {}, [1, 2])
INT_LIES = (0, -1, 1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**64 - 1, -(2**63))
FPS_LIES: tuple[Any, ...] = (
    [0, 1], [1, 0], [25], [25, 1, 1], [2**31, 1], [2**31 - 1, 1], [1, 2**31 - 1], [-25, 1], [25.0, 1], [True, 1],
    "25", None, _MISSING,
)  # fmt: skip


def _lies_for(value: Any) -> list[Any]:
    """Values to put where ``value`` was: wrong types, edge numbers, near misses."""
    if isinstance(value, bool):
        return [not value, 0, 1, None, "true", _MISSING]
    if isinstance(value, int):
        near = [value - 1, value + 1, 2 * value, -value, float(value), str(value)]
        return [*INT_LIES, *near, *TYPE_LIES, _MISSING]
    if isinstance(value, float):
        edges = [0.0, -1.0, -math.inf, 1e308, 5e-324, 2 * value, value / 1e6, int(value)]
        return [*edges, *TYPE_LIES, _MISSING]
    if isinstance(value, str):
        return ["", "x" * 2000, value.upper(), value.encode(), 1, None, "wire", "siren", "gauss", "gabor", _MISSING]
    return [*TYPE_LIES, _MISSING]


def _set(mapping: dict, key: str, value: Any) -> None:
    if value is _MISSING:
        mapping.pop(key, None)
    else:
        mapping[key] = value


def _show(value: Any) -> str:
    if value is _MISSING:
        return "<deleted>"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class Draft:
    """A file about to be rebuilt: header map and chunks, both freely editable."""

    header: dict
    chunks: list[Chunk]

    def build(self, folder: Path) -> bytes:
        path = folder / "structured.actv"
        with container.ContainerWriter(path, self.header) as writer:
            for chunk in self.chunks:
                writer.add_chunk(chunk.start, chunk.end, chunk.payload)
        return path.read_bytes()


def _header_field(draft: Draft, rng: random.Random) -> str:
    header = draft.header
    paths: list[tuple[str, ...]] = [(k,) for k in header]
    paths += [(section, k) for section in ("model", "quant") for k in header.get(section, {})]
    path = rng.choice(paths)
    parent = header if len(path) == 1 else header[path[0]]
    old = parent.get(path[-1])
    value = rng.choice(FPS_LIES if path == ("fps",) else _lies_for(old))
    _set(parent, path[-1], value)
    return f"header {'.'.join(path)} = {_show(value)} (was {_show(old)})"


def _header_special(draft: Draft, rng: random.Random) -> str:
    header = draft.header
    choice = rng.randrange(8)
    if choice == 0:
        header["height"] = header["width"] = 32768
        return "header: a 32768x32768 frame"
    if choice == 1:
        frames = rng.choice((10_000_000, 2**31))
        header["frames"] = frames
        last = draft.chunks[-1]
        draft.chunks[-1] = Chunk(last.start, frames - 1, last.payload)
        return f"header: {frames} frames, the last group stretched to match"
    if choice == 2:
        header["model"].update(hidden=4096, layers=16)
        return "header: a model of 4096x16 (over the per-group parameter cap)"
    if choice == 3:
        section = rng.choice(("model", "quant"))
        header[section]["future_key"] = rng.choice((1, "x", [1, 2], {"a": None}))
        return f"header: unknown key in {section}"
    if choice == 4:
        header["future_field"] = {"nested": [1, 2.5, b"\x00", None]}
        return "header: unknown top-level key"
    if choice == 5:
        header["model"]["activation"] = rng.choice(("siren", "gauss", "wire", "gabor", "relu", "GABOR"))
        return f"header: activation {header['model']['activation']!r}"
    if choice == 6:
        header["model"][rng.choice(("omega0", "s0", "rff_sigma"))] = rng.choice((1e-30, 1e30, 1e308, 0.5, 60.0))
        return "header: an extreme but valid float"
    header["quant"]["residual"] = not header["quant"]["residual"]
    return f"header: quant.residual flipped to {header['quant']['residual']}"


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3).compress(data)


def zstd_frame_declaring(size: int, body: bytes = b"abcd") -> bytes:
    """A zstd frame whose header declares ``size`` content bytes but holds only ``body`` (one raw block)."""
    header = ZSTD_FRAME_MAGIC + bytes([0b1110_0000]) + struct.pack("<Q", size)  # 8-byte content size, single segment
    block = (1 | (len(body) << 3)).to_bytes(3, "little")  # last block, raw
    return header + block + body


def _zstd_rle_bomb(size: int, byte: int = 0) -> bytes:
    """A valid zstd frame of ``size`` bytes equal to ``byte``, declared in its header: tiny on disk."""
    parts = [ZSTD_FRAME_MAGIC, bytes([0b1110_0000]), struct.pack("<Q", size)]
    block = 1 << 17
    left = size
    while left > 0:
        n = min(block, left)
        last = 1 if n == left else 0
        parts.append((last | (1 << 1) | (n << 3)).to_bytes(3, "little") + bytes([byte]))  # RLE block
        left -= n
    return b"".join(parts)


def _zstd_lies(rng: random.Random, good: bytes, words: np.ndarray) -> tuple[bytes, str]:
    """A zstd blob that should hold ``words`` (32-bit) but lies about them or about its size."""
    raw = words.astype("<u4").tobytes()
    lies: list[tuple[bytes, str]] = [
        (b"", "empty"),
        (_random_bytes(rng, 16), "random bytes"),
        (ZSTD_FRAME_MAGIC + _random_bytes(rng, 12), "zstd magic then garbage"),
        (_zstd(raw[:-4]), "one word short"),
        (_zstd(raw + raw[-4:]), "one word long"),
        (_zstd(raw[:-1]), "not a whole number of words"),
        (good[: len(good) // 2], "truncated frame"),
        (zstd_frame_declaring(1 << 40), "declares 2^40 bytes"),
        (zstd_frame_declaring(1 << 34), "declares 2^34 bytes"),
        (zstd_frame_declaring(len(raw)), "declares its size but holds 4 bytes"),
        (_zstd_rle_bomb(BOMB_BYTES), f"a real frame of {BOMB_BYTES >> 20} MiB (RLE blocks, declared size)"),
        (_zstd(raw) + _zstd(raw), "two frames"),
    ]
    return rng.choice(lies)


def _steps_lie(blob: bytes, rng: random.Random) -> tuple[Any, str]:
    """Step exponents (one zstd frame of int8) that lie: off the grid's range, the wrong count, not zstd..."""
    exponents = np.frombuffer(zstandard.ZstdDecompressor().decompress(blob), np.int8).copy()
    i = rng.randrange(exponents.size)
    choice = rng.randrange(8)
    if choice < 3:
        exponents[i] = (-128, -113, 127)[choice]
        return _zstd(exponents.tobytes()), f"exponent {i} = {exponents[i]}"
    if choice == 3:
        return _zstd(np.full(exponents.size, -128, np.int8).tobytes()), "every exponent -128 (below the grid)"
    lies: list[tuple[Any, str]] = [
        (_zstd(exponents[:-1].tobytes()), "one exponent short"),
        (_zstd(exponents.tobytes() + b"\x00"), "one exponent long"),
        (blob.hex(), "hex string"),
        (None, "nil"),
    ]
    return lies[choice - 4] if rng.random() < 0.5 else _zstd_lies(rng, blob, exponents.astype("<u4"))


def _symbols_lie(symbols: dict, rng: random.Random) -> str:
    key = rng.choice(("n", "low", "table", "data", "map"))
    n, low, data = symbols["n"], symbols["low"], symbols["data"]
    if key == "n":
        value = rng.choice([n - 1, n + 1, 0, 1 << 28, (1 << 28) + 1, -1, 2**64 - 1, True, "n", None, float(n)])
        symbols["n"] = value
        return f"symbols.n = {_show(value)} (was {n})"
    if key == "low":
        value = rng.choice([low - 1, low + 1, -(2**31), 2**31, 2**31 + 1, -(2**63), 2**64 - 1, 1.0, True, None])
        symbols["low"] = value
        return f"symbols.low = {_show(value)} (was {low})"
    if key == "table":
        counts = np.frombuffer(zstandard.ZstdDecompressor().decompress(symbols["table"]), "<u4").copy()
        lie = _table_lie if rng.random() < 0.5 else _zstd_lies
        symbols["table"], what = lie(rng, symbols["table"], counts)
        return f"symbols.table: {what}"
    if key == "data":
        words = len(data) // 4
        options: list[tuple[bytes, str]] = [
            (data[:-4], "one word short"),
            (data + data[-4:], "one word long"),
            (b"", "empty"),
            (data + b"\x00", "not a whole number of words"),
            (bytes(len(data)), "all zero"),
            (b"\xff" * len(data), "all ones"),
            (_random_bytes(rng, len(data)), "random words"),
            (data[4:] + data[:4], f"rotated by one of {words} words"),
        ]
        symbols["data"], what = rng.choice(options)
        return f"symbols.data: {what}"
    victim = rng.choice(("n", "low", "table", "data"))
    if rng.random() < 0.5:
        del symbols[victim]
        return f"symbols: {victim} deleted"
    symbols["extra"] = 0
    return "symbols: an extra key"


def _table_lie(rng: random.Random, good: bytes, counts: np.ndarray) -> tuple[bytes, str]:
    """A count table that decompresses fine but does not match the stream."""
    choice = rng.randrange(7)
    bad = counts.copy()
    if choice == 0:
        bad[0] = 0
        return _zstd(bad.tobytes()), "first count 0"
    if choice == 1:
        bad[-1] = 0
        return _zstd(bad.tobytes()), "last count 0"
    if choice == 2:
        bad[rng.randrange(bad.size)] += 1
        return _zstd(bad.tobytes()), "counts sum to n + 1"
    if choice == 3:
        return _zstd(np.array([counts.sum()], "<u4").tobytes()), "a one-value alphabet (data still present)"
    if choice == 4:
        big = np.zeros(MAX_ALPHABET + 1, "<u4")
        big[0], big[-1] = counts.sum() - 1, 1
        return _zstd(big.tobytes()), f"an alphabet of {big.size} values"
    if choice == 5:
        bad[rng.randrange(bad.size)] = 0xFFFFFFFF
        return _zstd(bad.tobytes()), "a count of 2^32 - 1"
    return _zstd(np.roll(counts, 1).tobytes()), "counts rotated"


PAYLOAD_FIELDS = field_names(2, grids=False)
"""A version-2 chunk payload's msgpack array, by position (``formats/ACTV.md`` section 5)."""
GRID_PAYLOAD_FIELDS = field_names(3, grids=True)
"""A version-3 chunk payload's array (models with latent grids): version 2's first eight, the grids' stream, raw."""
MODELS_PAYLOAD_FIELDS = field_names(4, grids=False)
"""A version-4 chunk payload's array without latent grids: the tensor models and Laplace words after ``data``."""
MODELS_GRID_PAYLOAD_FIELDS = field_names(4, grids=True)
"""A version-4 chunk payload's array with latent grids."""
STREAM_FIELDS = ("n", "low", "table", "data")
CONTEXT_SYMBOLS = 6 * 8 + 8 + 8 * 2 + 2
"""Symbols of the grids' context model (``context.*``): the last of a version-3 chunk's vectors, by name order."""


def payload_fields(payload: list) -> tuple[str, ...]:
    """The names of a well-formed chunk array's elements, by its version (and, for version 4, its length)."""
    if payload and payload[0] == 4:
        return MODELS_GRID_PAYLOAD_FIELDS if len(payload) == len(MODELS_GRID_PAYLOAD_FIELDS) else MODELS_PAYLOAD_FIELDS
    return GRID_PAYLOAD_FIELDS if payload and payload[0] == 3 else PAYLOAD_FIELDS


def _payload_view(payload: list, fields: tuple[str, ...] = PAYLOAD_FIELDS) -> dict:
    """A chunk's array as a map with the symbol stream's four fields under ``symbols``, to mutate by name."""
    named = dict(zip(fields, payload))
    named["symbols"] = {key: named.pop(key) for key in STREAM_FIELDS}
    return named


def _payload_array(view: dict, names: tuple[str, ...] = PAYLOAD_FIELDS) -> list:
    """Back to an array; a deleted field leaves the array shorter, an extra one makes it longer."""
    view = dict(view)
    stream = view.pop("symbols")
    if isinstance(stream, dict):
        fields = [stream.pop(key) if key in stream else _MISSING for key in STREAM_FIELDS]
        extra = list(stream.values())
    else:  # the whole stream replaced by one wrong value
        fields, extra = [stream, _MISSING, _MISSING, _MISSING], []
    values = dict(zip(STREAM_FIELDS, fields))
    out = [view.get(key, _MISSING) if key not in values else values[key] for key in names]
    return [value for value in out if value is not _MISSING] + extra


def _payload_field(draft: Draft, rng: random.Random) -> str:
    index = rng.randrange(len(draft.chunks))
    chunk = draft.chunks[index]
    array = msgpack.unpackb(chunk.payload, raw=False)
    fields = payload_fields(array)
    grids = "grid_alphabet" in fields
    models = "models" in fields
    payload = _payload_view(array, fields)
    where = f"chunk {index}"
    keys = ("version", "intra", "raw", "steps", "symbols", "symbols", "vectors", "vectors", "whole")
    if grids:
        keys += ("grids", "grids", "grids", "context", "layout")
    if models:
        keys += ("models", "models", "models")
    key = rng.choice(keys)
    if key in ("version", "intra"):
        old = payload[key]
        versions = [0, 1, 2, 3, 4, 5, 4.0, 3.0, 2.0, "4", "3", None, True, _MISSING]
        lies = [v for v in versions if not (type(v) is type(old) and v == old)]  # 4.0 lies about 4; 4 does not
        value = rng.choice(lies if key == "version" else _lies_for(old))
        _set(payload, key, value)
        what = f"{key} = {_show(value)} (was {_show(old)})"
    elif key == "models":
        what = _models_lie(payload, rng)
    elif key == "grids":
        what = _grid_lie(payload, rng)
    elif key == "context":
        what = _context_lie(payload, rng)
    elif key == "layout":  # a well-formed array without the grids' stream for a model with grids: refused
        payload["version"] = 4 if models else 2
        del payload["grid_alphabet"], payload["grid_words"]
        what = f"version {payload['version']} without the grids' stream"
    elif key == "raw":
        what = _raw_lie(payload, rng)
    elif key == "steps":
        if rng.random() < 0.2:
            payload["steps"] = rng.choice(([], None, b"", {}, _MISSING))
            what = f"steps = {_show(payload['steps'])}"
            if payload["steps"] is _MISSING:
                del payload["steps"]
        else:
            payload["steps"], lie = _steps_lie(payload["steps"], rng)
            what = f"steps: {lie}"
    elif key == "symbols":
        if rng.random() < 0.1:
            payload["symbols"] = rng.choice(([], None, b"", {}, 0))
            what = f"symbols = {_show(payload['symbols'])}"
        else:
            what = _symbols_lie(payload["symbols"], rng)
    elif key == "vectors":
        good = payload["vectors"]
        words = np.frombuffer(zstandard.ZstdDecompressor().decompress(good), "<u4")
        if rng.random() < 0.2:
            extreme = np.full(words.size, rng.choice((0xFFFFFFFF, 0xFFFFFFFE)), "<u4")  # zigzag of -2^31, 2^31 - 1
            payload["vectors"], lie = _zstd(extreme.tobytes()), "every symbol extreme"
        elif rng.random() < 0.1:
            payload["vectors"], lie = rng.choice((good.hex(), None, 0, [])), "wrong type"
        else:
            payload["vectors"], lie = _zstd_lies(rng, good, words)
        what = f"vectors: {lie}"
    else:
        return _whole_payload(draft, index, payload, rng, fields)
    packed = msgpack.packb(_payload_array(payload, fields), use_bin_type=True)
    draft.chunks[index] = dataclasses.replace(chunk, payload=packed)
    return f"{where} {what}"


def _models_lie(payload: dict, rng: random.Random) -> str:
    """The main stream's tensor models or Laplace words (version 4) lie."""
    models, words = payload["models"], payload["laplace"]
    raw = zstandard.ZstdDecompressor().decompress(models)
    if rng.random() < 0.5:
        options: list[tuple[Any, str]] = [
            (_zstd(raw[:-1]), "one byte short"),
            (_zstd(raw + b"\x00"), "one byte long"),
            (_zstd(b"\x00\x00" * (len(raw) // 2)), "every tensor pooled (A = 0)"),
            (_zstd(b"\x01\x10" + raw[2:]), "the first tensor's A = 4097"),
            (_zstd(b"\xff\xff" + raw[2:]), "the first tensor's A = 65535"),
            (_zstd(raw[:2] + bytes([rng.choice((64, 255))]) + raw[3:]), "a level of 64 or more"),
            (_zstd(_random_bytes(rng, len(raw))), "random models"),
            (b"", "empty"),
            (models[:-3], "zstd frame cut"),
            (rng.choice((None, 0, [], models.hex())), "wrong type"),
        ]
        value, what = rng.choice(options)
        _set(payload, "models", value)
        return f"models: {what}"
    options = [
        (words[:-4], "one word short"),
        (words + words[-4:], "one word long"),
        (b"", "empty"),
        (words + b"\x00", "not a whole number of words"),
        (bytes(len(words)), "all zero"),
        (_random_bytes(rng, len(words)), "random words"),
        (words[4:] + words[:4], "rotated by one word"),
        (rng.choice((None, 0, [], words.hex())), "wrong type"),
    ]
    value, what = rng.choice(options)
    _set(payload, "laplace", value)
    return f"laplace: {what}"


def _grid_lie(payload: dict, rng: random.Random) -> str:
    """The grids' stream (version 3) lies: its alphabet ``A`` or its ANS words."""
    alphabet, words = payload["grid_alphabet"], payload["grid_words"]
    if rng.random() < 0.4:
        value = rng.choice(
            [alphabet - 1, alphabet + 1, 2 * alphabet, 0, 1, 4096, 4097, -1, 2**31, 2**64 - 1, -(2**63), True, None,
             1.5, str(alphabet), b"\x01", _MISSING]
        )  # fmt: skip
        _set(payload, "grid_alphabet", value)
        return f"grid_alphabet = {_show(value)} (was {alphabet})"
    if rng.random() < 0.1:
        payload["grid_alphabet"], payload["grid_words"] = 0, b""
        return "grid stream: A = 0 and no words (every grid symbol 0: a valid stream)"
    count = len(words) // 4
    options: list[tuple[Any, str]] = [
        (words[:-4], "one word short"),
        (words[4:], "first word dropped"),
        (words + words[-4:], "one word long"),
        (words + bytes(4), "a zero word appended"),
        (b"", "empty"),
        (words + b"\x00", "not a whole number of words"),
        (bytes(len(words)), "all zero"),
        (b"\xff" * len(words), "all ones"),
        (_random_bytes(rng, len(words)), "random words"),
        (words[4:] + words[:4], f"rotated by one of {count} words"),
        (words.hex(), "a string"),
        (rng.choice((None, 0, [])), "wrong type"),
    ]
    value, what = rng.choice(options)
    _set(payload, "grid_words", value)
    return f"grid_words: {what}"


def _context_lie(payload: dict, rng: random.Random) -> str:
    """The context model's weights (the last vectors) changed: too large for the ARM, or a random valid model."""
    planes = np.frombuffer(zstandard.ZstdDecompressor().decompress(payload["vectors"]), np.uint8).reshape(4, -1)
    zigzag = (planes.astype(np.uint32) << np.array([24, 16, 8, 0], np.uint32)[:, None]).sum(0, dtype=np.uint32)
    start = zigzag.size - CONTEXT_SYMBOLS
    if rng.random() < 0.5:
        at = start + rng.randrange(CONTEXT_SYMBOLS)
        value = rng.choice((2**15 + 1, 2**16, 2**24, 2**31 - 1, -(2**31)))
        zigzag[at] = 2 * value if value >= 0 else -2 * value - 1
        what = f"context weight symbol {at - start} = {value}"
    else:
        values = np.array([rng.randint(-400, 400) for _ in range(CONTEXT_SYMBOLS)], np.int64)
        zigzag[start:] = np.where(values >= 0, 2 * values, -2 * values - 1).astype(np.uint32)
        what = "context weights random within the ARM's range"
    planes = np.stack([(zigzag >> shift) & 255 for shift in (24, 16, 8, 0)]).astype(np.uint8)
    payload["vectors"] = _zstd(planes.tobytes())
    return what


def _raw_lie(payload: dict, rng: random.Random) -> str:
    blob = payload["raw"]
    choice = rng.randrange(6)
    if choice == 0:
        values = np.frombuffer(blob, "<f4").copy()
        values[rng.randrange(values.size)] = rng.choice((np.nan, np.inf, -np.inf, 3.4e38))
        payload["raw"] = values.tobytes()
        return "raw: a frequency not finite or huge"
    if choice == 1:
        payload["raw"] = blob[:-4]
        return "raw: one value short"
    if choice == 2:
        payload["raw"] = blob + blob[:4]
        return "raw: one value long"
    if choice == 3:
        payload["raw"] = blob.hex()
        return "raw: a string blob"
    if choice == 4:
        del payload["raw"]
        return "raw: missing"
    payload["raw"] = rng.choice(([], None, {}))
    return f"raw = {_show(payload['raw'])}"


def _whole_payload(
    draft: Draft, index: int, payload: dict, rng: random.Random, names: tuple[str, ...] = PAYLOAD_FIELDS
) -> str:
    chunk = draft.chunks[index]
    fields = _payload_array(payload, names)
    choice = rng.randrange(6)
    if choice == 0:
        new = msgpack.packb(rng.choice(({}, 1, "x", b"", None, [fields], dict(zip(names, fields)))), use_bin_type=True)
        what = "not an array"
    elif choice == 1:
        new, what = b"", "empty"
    elif choice == 2:
        new, what = chunk.payload[: len(chunk.payload) // 2], "cut in half"
    elif choice == 3:
        new, what = msgpack.packb([*fields, {"a": [1, 2], "b": b"\x00" * 8}], use_bin_type=True), "an extra field"
    elif choice == 4:
        rng.shuffle(fields)
        new, what = msgpack.packb(fields, use_bin_type=True), "fields shuffled"
    else:
        new, what = chunk.payload + msgpack.packb(1), "a trailing object"
    draft.chunks[index] = dataclasses.replace(chunk, payload=new)
    return f"chunk {index} payload: {what}"


def _chunk_list(draft: Draft, rng: random.Random) -> str:
    chunks = draft.chunks
    i = rng.randrange(len(chunks))
    choice = rng.randrange(6)
    if choice == 0 and len(chunks) > 1:
        del chunks[i]
        return f"chunk {i} dropped"
    if choice == 1:
        chunks.insert(i, chunks[i])
        return f"chunk {i} duplicated"
    if choice == 2 and len(chunks) > 1:
        j = rng.randrange(len(chunks))
        chunks[i], chunks[j] = (
            dataclasses.replace(chunks[i], payload=chunks[j].payload),
            dataclasses.replace(chunks[j], payload=chunks[i].payload),
        )
        return f"payloads of chunks {i} and {j} swapped"
    c = chunks[i]
    start, end = rng.choice(
        [(c.start, c.end + 1), (c.start + 1, c.end), (c.start, c.start), (c.end, c.end), (0, 2**64 - 1)]
    )
    if start > end:
        start = end
    chunks[i] = Chunk(start, end, c.payload)
    return f"chunk {i} covers {start}..{end} (was {c.start}..{c.end})"


STRUCTURED_MUTATORS: tuple[tuple[Callable[[Draft, random.Random], str], float], ...] = (
    (_header_field, 3.0),
    (_header_special, 1.0),
    (_payload_field, 5.0),
    (_chunk_list, 1.0),
)


def mutate_structured(base: BaseFile, rng: random.Random, folder: Path) -> tuple[bytes, str]:
    draft = Draft(copy.deepcopy(base.header), list(base.chunks))
    mutators = [m for m, _ in STRUCTURED_MUTATORS]
    mutate = rng.choices(mutators, weights=[w for _, w in STRUCTURED_MUTATORS])[0]
    what = mutate(draft, rng)
    return draft.build(folder), what


# --------------------------------------------------------------------------- running a case


class CaseTimeout(BaseException):
    """Raised by SIGALRM; a BaseException so that the library's ``except Exception`` cannot swallow it."""


class Finding(Exception):
    """Not raised by the library but a bug all the same (a damaged file accepted, two readers disagreeing)."""


@dataclass
class CaseResult:
    case: int
    mode: str
    base: str
    mutation: str
    outcome: str
    error: str = ""
    seconds: float = 0.0
    rss_growth_mib: float = 0.0


def frame_times(count: int) -> list[int]:
    """Every frame, or ``MAX_DECODED_FRAMES`` of them evenly spread (first and last included)."""
    if count <= MAX_DECODED_FRAMES:
        return list(range(count))
    return sorted({round(i * (count - 1) / (MAX_DECODED_FRAMES - 1)) for i in range(MAX_DECODED_FRAMES)})


def read_everything(path: Path) -> None:
    """What a user does with a file: open, length, every frame, one frame at twice the size."""
    from nvcodec import VideoReader

    with VideoReader(path) as reader:
        count = len(reader)
        times = frame_times(count)
        frames = reader.frames(times)
        if len(frames) != len(times):
            raise Finding(f"frames() returned {len(frames)} frames for {len(times)} times")
        big = reader.frame(times[-1], size=(2 * reader.height, 2 * reader.width))
        if tuple(big.shape) != (2 * reader.height, 2 * reader.width, 3):
            raise Finding(f"a frame at twice the size has shape {tuple(big.shape)}")


def exercise(path: Path, data: bytes) -> str:
    """``decoded`` or ``rejected``; a crash propagates as the exception that caused it."""
    from nvcodec.cli.info import describe

    decoded = True
    try:
        read_everything(path)
    except ActvError:
        decoded = False
    try:
        problems = describe(path, decode=True)["problems"]
    except ActvError as exc:
        problems = [str(exc)]
    if decoded and problems:
        raise Finding(f"VideoReader decoded every frame but actv-info --decode says: {problems[0]}")
    if decoded and not checksums_valid(data):
        raise Finding("a file with a wrong checksum decoded")
    return "decoded" if decoded else "rejected"


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # kilobytes on Linux


def _reset_peak_rss() -> None:
    """Bring the peak RSS down to the current RSS (Linux), so that each case is measured on its own.

    Elsewhere the peak only grows: a case is then caught only where it goes over every earlier one.
    """
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _on_alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout


def _is_out_of_memory(exc: BaseException) -> bool:
    return (
        isinstance(exc, MemoryError) or "can't allocate memory" in str(exc) or type(exc).__name__ == "OutOfMemoryError"
    )


def run_one(path: Path, data: bytes, time_limit: float) -> tuple[str, str, BaseException | None]:
    """(outcome, error summary, exception) of one file under a time limit."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        return _run_timed(path, data, time_limit)
    finally:
        signal.signal(signal.SIGALRM, previous)


def _run_timed(path: Path, data: bytes, time_limit: float) -> tuple[str, str, BaseException | None]:
    try:
        signal.setitimer(signal.ITIMER_REAL, time_limit)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outcome = exercise(path, data)
        finally:  # an alarm that fires in here is still caught below
            signal.setitimer(signal.ITIMER_REAL, 0)
        return outcome, "", None
    except CaseTimeout as exc:
        return "hang", f"over the time limit of {time_limit:g} s", exc
    except Exception as exc:
        kind = "memory" if _is_out_of_memory(exc) else "crash"
        return kind, f"{type(exc).__module__}.{type(exc).__qualname__}: {str(exc)[:300]}", exc


@dataclass
class Fuzzer:
    """The cases of one seed over some base files; ``folder`` holds the file each case writes."""

    bases: list[tuple[str, BaseFile]]
    seed: int
    folder: Path
    time_limit: float = 20.0
    rss_cap: int = 1 << 30
    results: list[CaseResult] = field(default_factory=list)

    def mutate(self, case: int) -> tuple[str, str, bytes, str]:
        """(mode, base name, bytes, description) of case ``case``: the same for the same seed and bases."""
        rng = random.Random(f"actv-fuzz/{self.seed}/{case}")
        mode = MODES[case % len(MODES)]
        name, base = rng.choice(self.bases)
        if mode == "raw":
            data, what = mutate_raw(base, rng)
        elif mode == "rechecksum":
            data, what = mutate_rechecksum(base, rng)
        else:
            data, what = self._structured(base, rng)
        return mode, name, data, what

    def _structured(self, base: BaseFile, rng: random.Random) -> tuple[bytes, str]:
        from nvcodec.errors import ArgumentError

        for _ in range(20):  # a few mutations make files the writer refuses to write: draw another
            try:
                return mutate_structured(base, rng, self.folder)
            except ArgumentError:
                continue
        return base.data, "no writable mutation drawn (original file)"

    def run_case(self, case: int) -> CaseResult:
        mode, name, data, what = self.mutate(case)
        path = self.folder / "case.actv"
        path.write_bytes(data)
        _reset_peak_rss()
        before, started = _peak_rss_bytes(), time.perf_counter()
        outcome, error, _ = run_one(path, data, self.time_limit)
        growth = _peak_rss_bytes() - before
        if growth > self.rss_cap and outcome not in FAILURES:
            outcome, error = "memory", f"peak RSS grew by {growth / 2**20:.0f} MiB"
        result = CaseResult(case, mode, name, what, outcome, error, time.perf_counter() - started, growth / 2**20)
        self.results.append(result)
        return result

    def run(self, cases: int, report: Callable[[CaseResult], None] | None = None) -> list[CaseResult]:
        for case in range(cases):
            with _watchdog(case, 3 * self.time_limit):
                result = self.run_case(case)
            if report is not None:
                report(result)
        return self.results

    def counts(self) -> dict[str, dict[str, int]]:
        table = {mode: dict.fromkeys(OUTCOMES, 0) for mode in (*MODES, "all")}
        for r in self.results:
            table[r.mode][r.outcome] += 1
            table["all"][r.outcome] += 1
        return table


@contextlib.contextmanager
def _watchdog(case: int, seconds: float) -> Iterator[None]:
    """End the process if a case is stuck in native code, where SIGALRM cannot reach it."""

    def fire() -> None:
        print(f"fuzz_file: case {case} is stuck in native code after {seconds:g} s (hang); exiting", flush=True)
        os._exit(1)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def load_bases(paths: list[Path]) -> list[tuple[str, BaseFile]]:
    return [(p.name, BaseFile.parse(p.read_bytes())) for p in paths]


# --------------------------------------------------------------------------- command line


def cap_address_space(extra: int) -> bool:
    """Limit the address space to what the process maps now plus ``extra``; False where that is not possible."""
    try:
        with open("/proc/self/statm") as f:
            mapped = int(f.read().split()[0]) * resource.getpagesize()
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = mapped + extra
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError, AttributeError):
        return False
    return True


def summary_line(name: str, counts: dict[str, int]) -> str:
    total = sum(counts.values())
    return f"{name:>10}: {total:5d} cases  " + "  ".join(f"{o} {counts[o]}" for o in OUTCOMES)


def _command_line(argv: list[str]) -> str:
    """The command, with paths inside the repository relative to its root."""
    out = []
    for arg in argv:
        path = Path(arg)
        if os.sep in arg and path.exists():
            with contextlib.suppress(ValueError):
                arg = str(path.resolve().relative_to(ROOT))
        out.append(arg)
    return shlex.join(["python", "-m", "tools.fuzz_file", *out])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.fuzz_file", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=300, help="number of cases (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--file", type=Path, action="append", help="base .actv file (repeatable); default: encode")
    parser.add_argument("--json", type=Path, help="write the counts here")
    parser.add_argument("--replay", type=int, metavar="N", help="rerun case N only and print its traceback")
    parser.add_argument("--save", type=Path, help="with --replay: also write the case's file here")
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per case before it is a hang")
    parser.add_argument("--rss-cap-mib", type=int, default=1024, help="peak RSS growth of one case that is a failure")
    parser.add_argument(
        "--address-space-gib",
        type=float,
        default=4.0,
        help="cap the address space this far above what the process maps before the cases (0: no cap)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    return parser


def explain(path: Path) -> None:
    """Print what the reader and actv-info say about a file that did not crash."""
    from nvcodec.cli.info import describe

    try:
        read_everything(path)
        print("VideoReader: every frame decoded")
    except ActvError as exc:
        print(f"VideoReader: {type(exc).__name__}: {exc}")
    try:
        print("actv-info --decode:", describe(path, decode=True)["problems"] or "no problems")
    except ActvError as exc:
        print(f"actv-info: {type(exc).__name__}: {exc}")


def replay(fuzzer: Fuzzer, case: int, save: Path | None) -> int:
    mode, name, data, what = fuzzer.mutate(case)
    print(f"case {case}: {mode} on {name}: {what} ({len(data)} bytes, checksums valid: {checksums_valid(data)})")
    if save is not None:
        save.write_bytes(data)
        print(f"written to {save}")
    path = fuzzer.folder / "case.actv"
    path.write_bytes(data)
    outcome, error, exc = run_one(path, data, fuzzer.time_limit)
    if exc is not None:
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    else:
        explain(path)
    print(f"outcome: {outcome}" + (f" ({error})" if error else ""))
    return 1 if outcome in FAILURES else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    import torch

    torch.set_num_threads(max(1, args.threads))
    with tempfile.TemporaryDirectory(prefix="actv-fuzz-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        paths = args.file or make_base_files(folder)
        bases = load_bases(paths)
        for name, base in bases:
            digest = hashlib.sha256(base.data).hexdigest()[:16]
            print(f"base {name}: {len(base.data)} bytes, {len(base.chunks)} groups, sha256 {digest}...")
        fuzzer = Fuzzer(bases, args.seed, folder, args.time_limit, args.rss_cap_mib << 20)
        for _, base in bases:  # warm up torch before the address space is capped
            (folder / "warm.actv").write_bytes(base.data)
            read_everything(folder / "warm.actv")
        capped = args.address_space_gib > 0 and cap_address_space(int(args.address_space_gib * 2**30))
        if args.replay is not None:
            return replay(fuzzer, args.replay, args.save)

        def report(result: CaseResult) -> None:
            if result.outcome in FAILURES:
                print(f"case {result.case} [{result.mode}, {result.base}] {result.outcome}: {result.error}")
                print(f"    mutation: {result.mutation}    replay: --seed {args.seed} --replay {result.case}")

        fuzz_started = time.perf_counter()
        fuzzer.run(args.cases, report)
        elapsed = time.perf_counter() - fuzz_started
        counts = fuzzer.counts()
        for mode in (*MODES, "all"):
            print(summary_line(mode, counts[mode]))
        print(f"{args.cases} cases in {elapsed:.1f} s ({time.perf_counter() - started:.1f} s with the encode)")
        if args.json:
            from benchmarks.results_io import with_provenance  # commit, machine, command: as every result file

            summary = with_provenance(_json_report(argv, args, fuzzer, bases, elapsed, capped))
            args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 1 if any(counts["all"][o] for o in FAILURES) else 0


def _json_report(
    argv: list[str],
    args: argparse.Namespace,
    fuzzer: Fuzzer,
    bases: list[tuple[str, BaseFile]],
    elapsed: float,
    capped: bool,
) -> dict[str, Any]:
    import torch

    counts = fuzzer.counts()
    return {
        "command": _command_line(argv),
        "cases": args.cases,
        "seed": args.seed,
        "counts": {mode: counts[mode] for mode in MODES},
        "total": counts["all"],
        "seconds": round(elapsed, 2),
        "files": [
            {
                "name": name,
                "bytes": len(base.data),
                "groups": len(base.chunks),
                "sha256": hashlib.sha256(base.data).hexdigest(),
            }
            for name, base in bases
        ],
        "limits": {
            "time_s": args.time_limit,
            "rss_cap_mib": args.rss_cap_mib,
            "address_space_gib": args.address_space_gib if capped else None,
        },
        "machine": {
            "processor": platform.processor(),
            "machine": platform.machine(),
            "python": platform.python_version(),
        },
        "torch": torch.__version__,
        "failures": [dataclasses.asdict(r) for r in fuzzer.results if r.outcome in FAILURES],
    }


if __name__ == "__main__":
    sys.exit(main())
