"""Byte-level container for ``.actv`` files (normative spec: ``formats/ACTV.md``).

The container knows nothing about neural networks: it stores one msgpack header
(a map with str keys) and a sequence of opaque *group chunks*, each tagged with
the inclusive frame range it covers. Layout, all integers little-endian::

    magic(8) | u16 major | u16 minor | u32 header_len | header | u32 header_crc
    chunk record*            (u32 payload_len | u32 payload_crc | payload)
    index                    (chunk_count x 32-byte entries)
    trailer(20)              (u64 index_offset | u32 chunk_count | u32 index_crc | b"VTCA")

The index sits at the end so an encoder can stream groups to disk as they finish.
:class:`ContainerReader` reads only the preamble, header, trailer and index when it
opens a file; :meth:`ContainerReader.read_chunk` seeks to one record and checks
its CRC before handing out the bytes. Every problem with a file raises
:class:`~nvcodec.errors.FormatError` (or :class:`~nvcodec.errors.InputError` when
the file cannot be opened or read at all); nothing else escapes.
"""

from __future__ import annotations

import contextlib
import os
import struct
import threading
import weakref
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO

import msgpack

from nvcodec.atomic import create_temp_file, publish, remove_quietly
from nvcodec.errors import ArgumentError, FormatError, InputError, OutputError

__all__ = [
    "END_MAGIC",
    "FORMAT_MAJOR",
    "FORMAT_MINOR",
    "INDEX_ENTRY_SIZE",
    "MAGIC",
    "MAX_CHUNKS",
    "MAX_CHUNK_BYTES",
    "MAX_HEADER_BYTES",
    "MAX_HEADER_DEPTH",
    "TRAILER_SIZE",
    "ChunkEntry",
    "ContainerReader",
    "ContainerWriter",
    "container_overhead",
    "header_map_from_bytes",
    "header_map_to_bytes",
]

MAGIC = b"\x89ACTV\r\n\x1a"
"""8 bytes at offset 0, PNG-style: a high-bit byte, the name, CRLF and ^Z catch 7-bit and text-mode mangling."""
END_MAGIC = b"VTCA"
"""Last 4 bytes of every complete file."""
FORMAT_MAJOR = 1
FORMAT_MINOR = 0

MAX_HEADER_BYTES = 1 << 20
"""Largest encoded header (msgpack bytes, stored uncompressed)."""
MAX_HEADER_DEPTH = 32
"""Deepest nesting of maps/arrays inside the header (the top-level map is depth 1)."""
MAX_CHUNKS = 1_000_000
MAX_CHUNK_BYTES = 256 << 20

_PREAMBLE = struct.Struct("<8sHHI")  # magic, major, minor, header_len
_U32 = struct.Struct("<I")
_RECORD_PREFIX = struct.Struct("<II")  # payload_len, payload_crc
_INDEX_ENTRY = struct.Struct("<QQQII")  # start, end, offset, length, crc32
_TRAILER = struct.Struct("<QII4s")  # index_offset, chunk_count, index_crc, END_MAGIC
_TRAILER_COVERED = struct.Struct("<QI")  # the part of the trailer the index CRC covers: index_offset, chunk_count

assert len(MAGIC) == 8 and len(END_MAGIC) == 4

PREAMBLE_SIZE = _PREAMBLE.size  # 16
HEADER_CRC_SIZE = _U32.size  # 4
RECORD_PREFIX_SIZE = _RECORD_PREFIX.size  # 8
INDEX_ENTRY_SIZE = _INDEX_ENTRY.size  # 32
TRAILER_SIZE = _TRAILER.size  # 20
MIN_FILE_SIZE = PREAMBLE_SIZE + 1 + HEADER_CRC_SIZE + TRAILER_SIZE  # smallest header is the empty map (1 byte)

_U64_MAX = (1 << 64) - 1
_VERIFY_BLOCK = 1 << 20


@dataclass(frozen=True)
class ChunkEntry:
    """One index entry: a group chunk and the inclusive frame range it covers."""

    start: int  # first frame index covered by this group (inclusive)
    end: int  # last frame index covered (inclusive); start <= end
    offset: int  # byte offset of the chunk record (its length prefix) in the file
    length: int  # payload length in bytes (the record is 8 bytes longer)
    crc32: int  # zlib.crc32 of the payload


def container_overhead(header_bytes: int, chunks: int) -> int:
    """Bytes of a file that are not chunk payloads: preamble, header and its CRC, record prefixes, index, trailer."""
    return (
        PREAMBLE_SIZE + header_bytes + HEADER_CRC_SIZE + chunks * (RECORD_PREFIX_SIZE + INDEX_ENTRY_SIZE) + TRAILER_SIZE
    )


# --------------------------------------------------------------------------- header


def header_map_to_bytes(header: dict) -> bytes:
    """Canonical msgpack encoding of a header map: keys sorted (recursively), tuples as arrays.

    Allowed values: None, bool, int (-2**63 .. 2**64-1), float (stored as float64),
    str, bytes/bytearray (stored as bin), list/tuple and dict with str keys, nested at
    most :data:`MAX_HEADER_DEPTH` deep. Anything else raises :class:`ArgumentError`.
    """
    if not isinstance(header, dict):
        raise ArgumentError(f"container header must be a dict, got {type(header).__name__}")
    canonical = _canonical(header, "header", 1)
    try:
        data = msgpack.packb(canonical, use_bin_type=True, use_single_float=False, strict_types=True)
    except Exception as exc:  # msgpack raises TypeError/ValueError/OverflowError/UnicodeEncodeError
        raise ArgumentError(f"container header cannot be encoded: {exc}") from exc
    if len(data) > MAX_HEADER_BYTES:
        raise ArgumentError(f"container header encodes to {len(data)} bytes, more than the cap of {MAX_HEADER_BYTES}")
    return data


def _canonical(value: Any, where: str, depth: int) -> Any:
    if value is None or type(value) in (bool, float, str, bytes):
        return value
    if isinstance(value, int):
        if not -(1 << 63) <= value <= _U64_MAX:
            raise ArgumentError(f"{where}: integer {value} does not fit in 64 bits")
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (list, tuple, dict)):
        if depth > MAX_HEADER_DEPTH:
            raise ArgumentError(f"{where}: header nests deeper than {MAX_HEADER_DEPTH} levels")
        if isinstance(value, dict):
            out = {}
            for key in sorted(value, key=_sort_key(where)):
                out[str(key)] = _canonical(value[key], f"{where}[{key!r}]", depth + 1)
            return out
        return [_canonical(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise ArgumentError(f"{where}: unsupported header value type {type(value).__module__}.{type(value).__qualname__}")


def _sort_key(where: str):
    def key(k: Any) -> str:
        if not isinstance(k, str):
            raise ArgumentError(f"{where}: header map keys must be str, got {type(k).__name__} {k!r}")
        return str(k)

    return key


class _Reject(Exception):
    """Raised from msgpack hooks; turned into FormatError by header_map_from_bytes."""


def _pairs_hook(pairs: list) -> dict:
    out: dict = {}
    for key, value in pairs:
        if not isinstance(key, str):
            raise _Reject(f"map key {key!r} is not a string")
        if key in out:
            raise _Reject(f"map key {key!r} appears twice")
        out[key] = value
    return out


def _ext_hook(code: int, data: bytes) -> Any:
    raise _Reject(f"msgpack extension type {code} is not allowed")


def header_map_from_bytes(data: bytes, what: str = "header") -> dict:
    """Decode and type-check header bytes; any problem raises :class:`FormatError`."""
    if len(data) > MAX_HEADER_BYTES:
        raise FormatError(f"{what} is {len(data)} bytes, more than the cap of {MAX_HEADER_BYTES}")
    limit = max(len(data), 1)
    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            use_list=True,
            timestamp=0,
            object_pairs_hook=_pairs_hook,
            ext_hook=_ext_hook,
            max_str_len=limit,
            max_bin_len=limit,
            max_array_len=limit,
            max_map_len=limit,
            max_ext_len=limit,
        )
    except _Reject as exc:
        raise FormatError(f"{what} is not valid: {exc}") from None
    except Exception as exc:  # every msgpack/unicode/memory error is a damaged file here
        raise FormatError(f"{what} is not valid msgpack ({type(exc).__name__}: {exc})") from None
    if not isinstance(value, dict):
        raise FormatError(f"{what} must be a msgpack map, found {type(value).__name__}")
    _check_types(value, what)
    return value


def _check_types(root: dict, what: str) -> None:
    # Iterative walk: msgpack allows deeper nesting than Python's recursion limit.
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_HEADER_DEPTH:
                raise FormatError(f"{what} nests deeper than {MAX_HEADER_DEPTH} levels")
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
        elif not (value is None or isinstance(value, (bool, int, float, str, bytes))):
            raise FormatError(f"{what} holds a value of unsupported type {type(value).__name__}")


# --------------------------------------------------------------------------- writer


def _check_frame(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentError(f"chunk {name} must be an int, got {type(value).__name__}")
    if not 0 <= value <= _U64_MAX:
        raise ArgumentError(f"chunk {name} must be in 0..2**64-1, got {value}")
    return int(value)


class ContainerWriter:
    """Streams chunks to ``<dir>/.<name>.*.part`` and os.replace()s it onto ``path`` at close().

    ``abort()``, an exception inside ``with``, or garbage collection of an unclosed
    writer deletes the temp file and leaves any existing ``path`` untouched. The
    header is encoded (and validated) before anything is created on disk.
    Output is deterministic: the same header and chunks give the same bytes.
    """

    def __init__(self, path: str | os.PathLike, header: dict) -> None:
        self.path = os.fspath(path)
        header_bytes = header_map_to_bytes(header)
        directory, name = os.path.split(os.path.abspath(self.path))
        if not name:
            raise ArgumentError(f"output path {self.path!r} names a folder, not a file")
        fd, temp = create_temp_file(os.path.join(directory, name))
        self._tmp = os.fspath(temp)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self._finalizer = weakref.finalize(self, _discard, self._file, self._tmp)
        self._entries: list[ChunkEntry] = []
        self._closed = False
        preamble = _PREAMBLE.pack(MAGIC, FORMAT_MAJOR, FORMAT_MINOR, len(header_bytes)) + header_bytes
        self._write(preamble + _U32.pack(zlib.crc32(preamble)))
        self._offset = len(preamble) + HEADER_CRC_SIZE

    @property
    def entries(self) -> list[ChunkEntry]:
        """The chunks written so far (a copy)."""
        return list(self._entries)

    def add_chunk(self, start: int, end: int, payload: bytes) -> ChunkEntry:
        """Append one group chunk covering frames ``start..end`` (inclusive) and return its index entry."""
        self._check_open()
        start = _check_frame("start", start)
        end = _check_frame("end", end)
        if start > end:
            raise ArgumentError(f"chunk start {start} is after its end {end}")
        try:
            view = memoryview(payload).cast("B")
        except TypeError as exc:
            raise ArgumentError(f"chunk payload must be bytes-like, got {type(payload).__name__}") from exc
        if view.nbytes > MAX_CHUNK_BYTES:
            raise ArgumentError(f"chunk payload is {view.nbytes} bytes, more than the cap of {MAX_CHUNK_BYTES}")
        if len(self._entries) >= MAX_CHUNKS:
            raise ArgumentError(f"a file holds at most {MAX_CHUNKS} chunks")
        crc = zlib.crc32(view)
        entry = ChunkEntry(start=start, end=end, offset=self._offset, length=view.nbytes, crc32=crc)
        self._write(_RECORD_PREFIX.pack(view.nbytes, crc))
        self._write(view)
        self._offset += RECORD_PREFIX_SIZE + view.nbytes
        self._entries.append(entry)
        return entry

    def close(self) -> None:
        """Write index and trailer, fsync, and move the file onto ``path``. A second call does nothing."""
        if self._closed:
            return
        index = b"".join(_INDEX_ENTRY.pack(e.start, e.end, e.offset, e.length, e.crc32) for e in self._entries)
        covered = index + _TRAILER_COVERED.pack(self._offset, len(self._entries))
        self._write(covered + _U32.pack(zlib.crc32(covered)) + END_MAGIC)
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            publish(self._tmp, self.path)
        except (OSError, OutputError) as exc:
            self.abort()
            if isinstance(exc, OutputError):
                raise
            raise OutputError(f"cannot write {self.path!r}: {exc.strerror or exc}") from exc
        self._closed = True
        self._finalizer.detach()

    def abort(self) -> None:
        """Discard everything written; ``path`` is left as it was. Safe to call more than once."""
        self._closed = True
        self._finalizer()

    def _check_open(self) -> None:
        if self._closed:
            raise ArgumentError(f"writer for {self.path!r} is already closed")

    def _write(self, data: bytes | memoryview) -> None:
        try:
            self._file.write(data)
        except OSError as exc:
            self.abort()
            raise OutputError(f"cannot write {self.path!r}: {exc.strerror or exc}") from exc

    def __enter__(self) -> ContainerWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _discard(file: BinaryIO, tmp: str) -> None:
    with contextlib.suppress(OSError):
        file.close()
    remove_quietly(tmp)


# --------------------------------------------------------------------------- reader


class ContainerReader:
    """Random access to the chunks of a ``.actv`` file.

    Opening reads only the preamble, header, trailer and index, and validates all
    of them; chunk payloads are read on demand by :meth:`read_chunk`. ``source`` is
    a path, or a seekable binary file object (not closed by the reader). Safe to
    share between threads: reads of a chunk are serialised by a lock.
    """

    header: dict
    entries: list[ChunkEntry]
    version: tuple[int, int]
    file_size: int

    def __init__(self, source: str | os.PathLike | BinaryIO) -> None:
        self._lock = threading.Lock()
        self._file: BinaryIO | None = None
        if hasattr(source, "read") and hasattr(source, "seek"):
            self.path = str(getattr(source, "name", "<stream>"))
            self._owns = False
            self._file = source  # type: ignore[assignment]
        else:
            try:
                self.path = os.fspath(source)
            except TypeError as exc:
                raise ArgumentError(f"expected a path or a binary file object, got {type(source).__name__}") from exc
            self._owns = True
            try:
                self._file = open(self.path, "rb")  # noqa: SIM115 - held open for read_chunk, closed by close()
            except (OSError, ValueError) as exc:  # ValueError: embedded NUL in the path
                raise InputError(f"cannot open {self.path!r}: {getattr(exc, 'strerror', None) or exc}") from exc
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    # -- opening

    def _open(self) -> None:
        self.file_size = self._size()
        size = self.file_size
        if size == 0:
            raise self._error("empty file (not an .actv file)")
        head = self._read_at(0, min(size, PREAMBLE_SIZE))
        if head[:8] != MAGIC[: len(head[:8])]:
            raise self._error("not an .actv file (wrong magic bytes)")
        if len(head) < PREAMBLE_SIZE:
            raise self._error(f"truncated file: {size} bytes is shorter than the smallest .actv file ({MIN_FILE_SIZE})")
        _, major, minor, header_len = _PREAMBLE.unpack(head)
        self.version = (major, minor)
        if major > FORMAT_MAJOR:
            raise self._error(
                f"written by a newer nvcodec (format {major}.{minor}); this reader supports {FORMAT_MAJOR}.x"
            )
        if major != FORMAT_MAJOR:
            raise self._error(f"unknown format version {major}.{minor}; this reader supports {FORMAT_MAJOR}.x")
        if size < MIN_FILE_SIZE:
            raise self._error(f"truncated file: {size} bytes is shorter than the smallest .actv file ({MIN_FILE_SIZE})")
        if header_len > MAX_HEADER_BYTES:
            raise self._error(f"header length {header_len} is over the cap of {MAX_HEADER_BYTES} bytes")
        room = size - PREAMBLE_SIZE - HEADER_CRC_SIZE - TRAILER_SIZE
        if header_len > room:
            raise self._error(f"truncated file: header declares {header_len} bytes but only {max(room, 0)} remain")
        body = self._read_at(PREAMBLE_SIZE, header_len + HEADER_CRC_SIZE)
        covered = head + body[:header_len]
        (stored_crc,) = _U32.unpack(body[header_len:])
        if zlib.crc32(covered) != stored_crc:
            raise self._error("header checksum mismatch (damaged file)")
        self.header = header_map_from_bytes(body[:header_len], what=f"{self.path}: header")
        data_start = PREAMBLE_SIZE + header_len + HEADER_CRC_SIZE
        self._data_start = data_start
        self.entries = self._read_index(data_start)

    def _read_index(self, data_start: int) -> list[ChunkEntry]:
        size = self.file_size
        trailer = self._read_at(size - TRAILER_SIZE, TRAILER_SIZE)
        index_offset, count, index_crc, end_magic = _TRAILER.unpack(trailer)
        if end_magic != END_MAGIC:
            raise self._error("truncated or damaged file: end marker missing (was the write interrupted?)")
        if count > MAX_CHUNKS:
            raise self._error(f"index declares {count} chunks, more than the cap of {MAX_CHUNKS}")
        index_len = count * INDEX_ENTRY_SIZE
        if index_offset < data_start or index_offset > size - TRAILER_SIZE:
            raise self._error(
                f"index offset {index_offset} lies outside the chunk area ({data_start}..{size - TRAILER_SIZE})"
            )
        if index_offset + index_len != size - TRAILER_SIZE:
            raise self._error(
                f"index of {count} chunks ({index_len} bytes) at offset {index_offset} does not end at the "
                f"trailer (offset {size - TRAILER_SIZE}); the file is truncated or damaged"
            )
        covered = self._read_at(index_offset, index_len) + trailer[: _TRAILER_COVERED.size]
        if zlib.crc32(covered) != index_crc:
            raise self._error("index checksum mismatch (damaged file)")
        entries: list[ChunkEntry] = []
        cursor = data_start
        for i, (start, end, offset, length, crc) in enumerate(_INDEX_ENTRY.iter_unpack(covered[:index_len])):
            if start > end:
                raise self._error(f"chunk {i}: frame range {start}..{end} starts after it ends")
            if length > MAX_CHUNK_BYTES:
                raise self._error(f"chunk {i}: length {length} is over the cap of {MAX_CHUNK_BYTES} bytes")
            if offset < cursor:
                where = "the header" if i == 0 else f"chunk {i - 1}"
                raise self._error(
                    f"chunk {i}: record at offset {offset} overlaps {where} (must start at {cursor} or later)"
                )
            record_end = offset + RECORD_PREFIX_SIZE + length
            if record_end > index_offset:
                raise self._error(
                    f"chunk {i}: record of {length} bytes at offset {offset} runs past the start of the index ({index_offset})"
                )
            entries.append(ChunkEntry(start=start, end=end, offset=offset, length=length, crc32=crc))
            cursor = record_end
        return entries

    # -- chunk access

    def read_chunk(self, index: int) -> bytes:
        """The payload of chunk ``index`` (0-based), after checking its length prefix and CRC32."""
        entry = self._entry(index)
        with self._lock:  # prefix and payload in one read: one range request on a remote file
            record = self._read_at(entry.offset, RECORD_PREFIX_SIZE + entry.length)
        self._check_prefix(index, entry, record[:RECORD_PREFIX_SIZE])
        payload = record[RECORD_PREFIX_SIZE:]
        if zlib.crc32(payload) != entry.crc32:
            raise self._error(f"chunk {index}: checksum mismatch (damaged file)")
        return payload

    def verify(self) -> list[bool]:
        """CRC status of every chunk (True = intact), reading each in blocks of at most 1 MiB."""
        return [self._verify_one(i) for i in range(len(self.entries))]

    def _verify_one(self, index: int) -> bool:
        entry = self.entries[index]
        try:
            with self._lock:
                self._check_prefix(index, entry, self._read_at(entry.offset, RECORD_PREFIX_SIZE))
                crc, pos, left = 0, entry.offset + RECORD_PREFIX_SIZE, entry.length
                while left:
                    block = self._read_at(pos, min(left, _VERIFY_BLOCK))
                    crc = zlib.crc32(block, crc)
                    pos += len(block)
                    left -= len(block)
        except FormatError:
            return False
        return crc == entry.crc32

    def _entry(self, index: int) -> ChunkEntry:
        if isinstance(index, bool) or not isinstance(index, int):
            raise ArgumentError(f"chunk index must be an int, got {type(index).__name__}")
        if not 0 <= index < len(self.entries):
            raise ArgumentError(f"chunk index {index} is out of range: {self.path} holds {len(self.entries)} chunks")
        return self.entries[index]

    def _check_prefix(self, index: int, entry: ChunkEntry, prefix: bytes) -> None:
        length, crc = _RECORD_PREFIX.unpack(prefix)
        if length != entry.length:
            raise self._error(f"chunk {index}: record says {length} bytes but the index says {entry.length}")
        if crc != entry.crc32:
            raise self._error(f"chunk {index}: record checksum field disagrees with the index (damaged file)")

    # -- low-level I/O

    def _error(self, message: str) -> FormatError:
        return FormatError(f"{self.path}: {message}")

    def _size(self) -> int:
        try:
            return int(self._io().seek(0, os.SEEK_END))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {self.path!r}: {getattr(exc, 'strerror', None) or exc}") from exc

    def _io(self) -> BinaryIO:
        if self._file is None:
            raise ArgumentError(f"reader for {self.path!r} is closed")
        return self._file

    def _read_at(self, offset: int, length: int) -> bytes:
        """Exactly ``length`` bytes at ``offset``; callers have bounded ``length`` by the file size and caps."""
        f = self._io()
        try:
            f.seek(offset)
            parts = []
            left = length
            while left > 0:
                part = f.read(left)
                if not part:
                    break
                parts.append(part)
                left -= len(part)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {self.path!r}: {getattr(exc, 'strerror', None) or exc}") from exc
        try:
            data = b"".join(parts)
        except TypeError as exc:
            raise ArgumentError(f"{self.path!r} must be opened in binary mode") from exc
        if len(data) != length:
            raise self._error(f"truncated file: expected {length} bytes at offset {offset}, found {len(data)}")
        return data

    def close(self) -> None:
        """Close the file (if the reader opened it). Safe to call more than once."""
        f, self._file = self._file, None
        if f is not None and self._owns:
            with contextlib.suppress(OSError):
                f.close()

    def __enter__(self) -> ContainerReader:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        state = "closed" if self._file is None else f"{len(self.entries)} chunks"
        return f"ContainerReader({self.path!r}, format {self.version[0]}.{self.version[1]}, {state})"
