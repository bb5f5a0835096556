"""The .actv container: round trips, atomic writes, and hostile/damaged files (formats/ACTV.md)."""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import io
import os
import re
import struct
import tracemalloc
import zlib
from pathlib import Path

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nvcodec import container
from nvcodec.container import (
    FORMAT_MAJOR,
    MAGIC,
    MAX_CHUNK_BYTES,
    MAX_CHUNKS,
    MAX_HEADER_BYTES,
    ChunkEntry,
    ContainerReader,
    ContainerWriter,
)
from nvcodec.errors import ActvError, ArgumentError, FormatError, InputError

HEADER = {"codec": "actinr", "frames": 9, "fps": 29.97, "size": [48, 64], "extra": {"b": b"\x00\x01", "a": None}}
CHUNKS = [(0, 3, b"first group payload" * 3), (4, 4, b""), (5, 8, bytes(range(256)) + b"tail")]


def write_file(path: Path, header: dict = HEADER, chunks=CHUNKS) -> bytes:
    with ContainerWriter(path, header) as writer:
        for start, end, payload in chunks:
            writer.add_chunk(start, end, payload)
    return path.read_bytes()


@pytest.fixture
def small(tmp_path) -> bytes:
    """A small valid file (a few hundred bytes), as bytes."""
    return write_file(tmp_path / "small.actv", {"k": 1, "name": "x"}, [(0, 1, b"abc"), (2, 2, b""), (3, 5, b"defgh")])


def read_everything(data: bytes):
    """Open ``data`` from memory and read header, entries and every chunk."""
    with ContainerReader(io.BytesIO(data)) as reader:
        return reader.header, reader.entries, [reader.read_chunk(i) for i in range(len(reader.entries))]


def only_actv_errors(data: bytes) -> None:
    """Anything but an ActvError (or success) fails the test."""
    try:
        with ContainerReader(io.BytesIO(data)) as reader:
            for i in range(len(reader.entries)):
                with contextlib.suppress(ActvError):
                    assert len(reader.read_chunk(i)) == reader.entries[i].length
            reader.verify()
    except ActvError:
        pass


# ---------------------------------------------------------------- raw file builder (hostile files)


def raw_file(
    header_bytes: bytes = b"\x80",
    records: list[bytes] = (),
    entries: list[tuple[int, int, int, int, int]] | None = None,
    *,
    major: int = FORMAT_MAJOR,
    minor: int = 0,
    header_len: int | None = None,
    index_offset: int | None = None,
    count: int | None = None,
    index_bytes: bytes | None = None,
) -> bytes:
    """Assemble a file byte by byte with correct CRCs, so only the lie under test is wrong."""
    hlen = len(header_bytes) if header_len is None else header_len
    pre = struct.pack("<8sHHI", MAGIC, major, minor, hlen) + header_bytes
    out = bytearray(pre + struct.pack("<I", zlib.crc32(pre)))
    auto_entries = []
    for payload in records:
        auto_entries.append((0, 0, len(out), len(payload), zlib.crc32(payload)))
        out += struct.pack("<II", len(payload), zlib.crc32(payload)) + payload
    entries = auto_entries if entries is None else entries
    if index_bytes is None:
        index_bytes = b"".join(struct.pack("<QQQII", *e) for e in entries)
    offset = len(out) if index_offset is None else index_offset
    n = len(entries) if count is None else count
    covered = index_bytes + struct.pack("<QI", offset, n)
    out += covered + struct.pack("<I", zlib.crc32(covered)) + b"VTCA"
    return bytes(out)


def record(payload: bytes) -> bytes:
    return struct.pack("<II", len(payload), zlib.crc32(payload)) + payload


# ---------------------------------------------------------------- round trip


def test_round_trip(tmp_path):
    path = tmp_path / "clip.actv"
    write_file(path)
    assert len(MAGIC) == 8 and path.read_bytes()[:8] == MAGIC
    with ContainerReader(path) as reader:
        assert reader.version == (1, 0)
        assert reader.header == HEADER
        assert reader.file_size == path.stat().st_size
        assert [(e.start, e.end, e.length) for e in reader.entries] == [(s, e, len(p)) for s, e, p in CHUNKS]
        assert all(e.crc32 == zlib.crc32(p) for e, (_, _, p) in zip(reader.entries, CHUNKS))
        assert [reader.read_chunk(i) for i in range(3)] == [p for _, _, p in CHUNKS]
        assert reader.verify() == [True, True, True]
        assert len(reader) == 3


def test_writer_returns_the_entries_the_reader_sees(tmp_path):
    path = tmp_path / "clip.actv"
    with ContainerWriter(path, HEADER) as writer:
        returned = [writer.add_chunk(s, e, p) for s, e, p in CHUNKS]
        assert writer.entries == returned
    with ContainerReader(path) as reader:
        assert reader.entries == returned
        assert all(isinstance(e, ChunkEntry) for e in reader.entries)


def test_empty_file_no_chunks(tmp_path):
    path = tmp_path / "empty.actv"
    with ContainerWriter(path, {}):
        pass
    assert path.stat().st_size == container.MIN_FILE_SIZE
    with ContainerReader(path) as reader:
        assert reader.header == {}
        assert reader.entries == []
        assert reader.verify() == []


def test_deterministic_bytes(tmp_path):
    reordered = {"extra": {"a": None, "b": b"\x00\x01"}, "size": (48, 64), "fps": 29.97, "frames": 9, "codec": "actinr"}
    a = write_file(tmp_path / "a.actv")
    b = write_file(tmp_path / "b.actv")
    c = write_file(tmp_path / "c.actv", reordered)
    assert a == b == c


def test_header_value_types_round_trip(tmp_path):
    header = {
        "none": None,
        "flag": True,
        "neg": -(2**63),
        "big": 2**64 - 1,
        "float": 1e-300,
        "nan_free": float("inf"),
        "text": "héllo ✓",
        "blob": bytearray(b"\xff\x00"),
        "tuple": (1, (2, 3)),
        "nested": {"z": [{"y": 1}], "a": {}},
    }
    path = tmp_path / "h.actv"
    write_file(path, header, [])
    with ContainerReader(path) as reader:
        assert reader.header == {**header, "blob": b"\xff\x00", "tuple": [1, [2, 3]]}
        assert list(reader.header) == sorted(header)


def test_memoryview_and_bytearray_payloads(tmp_path):
    path = tmp_path / "m.actv"
    data = bytes(range(40))
    write_file(path, {}, [(0, 0, bytearray(data)), (1, 1, memoryview(data)[5:10])])
    with ContainerReader(path) as reader:
        assert reader.read_chunk(0) == data
        assert reader.read_chunk(1) == data[5:10]


class RecordingFile(io.BytesIO):
    """Remembers every byte range read from it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.reads: list[tuple[int, int]] = []

    def read(self, n=-1):
        pos = self.tell()
        out = super().read(n)
        self.reads.append((pos, pos + len(out)))
        return out


def test_open_reads_no_payload_and_read_chunk_reads_only_its_record(tmp_path):
    data = write_file(tmp_path / "r.actv")
    f = RecordingFile(data)
    reader = ContainerReader(f)
    records = [(e.offset, e.offset + 8 + e.length) for e in reader.entries]
    first_record = records[0][0]
    index_start = records[-1][1]
    for lo, hi in f.reads:  # header area or index/trailer area only
        assert hi <= first_record or lo >= index_start
    for i, (lo, hi) in enumerate(records):
        f.reads.clear()
        assert reader.read_chunk(i) == CHUNKS[i][2]
        assert f.reads and all(lo <= a and b <= hi for a, b in f.reads)
    assert not f.closed  # a caller's file object is not closed by the reader
    reader.close()
    assert not f.closed


def test_damaged_chunk_does_not_affect_the_others(tmp_path):
    data = bytearray(write_file(tmp_path / "d.actv"))
    with ContainerReader(io.BytesIO(bytes(data))) as reader:
        e = reader.entries[0]
    data[e.offset + 8 + 5] ^= 0x01
    with ContainerReader(io.BytesIO(bytes(data))) as reader:
        with pytest.raises(FormatError, match="chunk 0: checksum mismatch"):
            reader.read_chunk(0)
        assert reader.read_chunk(2) == CHUNKS[2][2]
        assert reader.verify() == [False, True, True]


def test_read_chunk_bad_index(tmp_path):
    path = tmp_path / "b.actv"
    write_file(path)
    with ContainerReader(path) as reader:
        for bad in (-1, 3, 10**30):
            with pytest.raises(ArgumentError, match="out of range"):
                reader.read_chunk(bad)
        for bad in ("0", 1.0, True, None):
            with pytest.raises(ArgumentError):
                reader.read_chunk(bad)
    with pytest.raises(ArgumentError, match="closed"):
        reader.read_chunk(0)
    reader.close()  # twice is fine


def test_newer_minor_version_is_accepted():
    data = raw_file(msgpack.packb({"a": 1}), [b"xyz"], minor=7)
    with ContainerReader(io.BytesIO(data)) as reader:
        assert reader.version == (1, 7)
        assert reader.header == {"a": 1}
        assert reader.read_chunk(0) == b"xyz"


def test_gap_between_records_is_ignored():
    # Reserved for later minor versions: bytes between records that no entry points to.
    pre = raw_file()[: container.PREAMBLE_SIZE + 1 + 4]
    start = len(pre)
    body = b"GAP!" + record(b"payload") + b"MORE"
    entries = [(0, 9, start + 4, 7, zlib.crc32(b"payload"))]
    index = b"".join(struct.pack("<QQQII", *e) for e in entries)
    covered = index + struct.pack("<QI", start + len(body), 1)
    data = pre + body + covered + struct.pack("<I", zlib.crc32(covered)) + b"VTCA"
    assert read_everything(data)[2] == [b"payload"]


# ---------------------------------------------------------------- damaged files


def test_every_truncation_is_a_format_error(small):
    for cut in range(len(small)):
        with pytest.raises(FormatError):
            read_everything(small[:cut])


def test_truncation_of_a_real_path(tmp_path, small):
    path = tmp_path / "cut.actv"
    path.write_bytes(small[:-1])
    with pytest.raises(FormatError, match="end marker"):
        ContainerReader(path)
    path.write_bytes(small[:20])
    with pytest.raises(FormatError, match="truncated"):
        ContainerReader(path)


def test_appended_bytes_are_detected(small):
    with pytest.raises(FormatError):
        read_everything(small + b"\x00")


@pytest.mark.parametrize("mask", ["xor_ff", "bit"])
def test_every_byte_flip_is_detected(small, mask):
    for i in range(len(small)):
        damaged = bytearray(small)
        damaged[i] ^= 0xFF if mask == "xor_ff" else 1 << (i % 8)
        with pytest.raises(FormatError):
            read_everything(bytes(damaged))


def test_wrong_magic():
    with pytest.raises(FormatError, match=r"not an \.actv file"):
        read_everything(b"\x89PNG\r\n\x1a\n" + bytes(64))
    with pytest.raises(FormatError, match=r"not an \.actv file"):
        read_everything(b"hello")
    with pytest.raises(FormatError, match="empty file"):
        read_everything(b"")


def test_newer_major_version():
    data = raw_file(major=2, minor=3)
    with pytest.raises(FormatError, match=r"newer nvcodec \(format 2\.3\); this reader supports 1\.x"):
        read_everything(data)
    # Rejected from the version field alone: nothing after it is trusted.
    with pytest.raises(FormatError, match="newer"):
        read_everything(data[:12] + b"\xff" * 4)
    with pytest.raises(FormatError, match="unknown format version 0"):
        read_everything(raw_file(major=0))


def test_open_errors_name_the_path(tmp_path):
    missing = tmp_path / "missing.actv"
    with pytest.raises(InputError, match=r"missing\.actv"):
        ContainerReader(missing)
    with pytest.raises(InputError, match=re.escape(tmp_path.name)):
        ContainerReader(tmp_path)
    bad = tmp_path / "bad.actv"
    bad.write_bytes(b"garbage" * 10)
    with pytest.raises(FormatError, match=r"bad\.actv"):
        ContainerReader(bad)


def bounded_memory(fn, limit: int = 2 << 20):
    """Run ``fn`` (expected to raise FormatError) and check it allocated less than ``limit`` bytes."""
    tracemalloc.start()
    try:
        with pytest.raises(FormatError) as info:
            fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit, f"allocated {peak} bytes before failing"
    return info.value


def test_lying_header_lengths():
    err = bounded_memory(lambda: read_everything(raw_file(header_len=0xFFFFFFFF)))
    assert "over the cap" in str(err)
    err = bounded_memory(lambda: read_everything(raw_file(header_len=MAX_HEADER_BYTES)))
    assert f"header declares {MAX_HEADER_BYTES} bytes but only" in str(err)


def test_lying_chunk_lengths():
    base = container.PREAMBLE_SIZE + 1 + 4
    err = bounded_memory(lambda: read_everything(raw_file(records=[b"abc"], entries=[(0, 0, base, 0xFFFFFFFF, 0)])))
    assert "over the cap" in str(err)
    err = bounded_memory(
        lambda: read_everything(raw_file(records=[b"abc"], entries=[(0, 0, base, MAX_CHUNK_BYTES, 0)]))
    )
    assert "runs past the start of the index" in str(err)
    # The record prefix lies while the index is honest: caught before the payload is read.
    payload = b"abc"
    liar = raw_file(records=[])[:base] + struct.pack("<II", 0xFFFFFFFF, zlib.crc32(payload)) + payload
    entries = [(0, 0, base, 3, zlib.crc32(payload))]
    index = b"".join(struct.pack("<QQQII", *e) for e in entries) + struct.pack("<QI", len(liar), 1)
    liar += index + struct.pack("<I", zlib.crc32(index)) + b"VTCA"
    with ContainerReader(io.BytesIO(liar)) as reader:
        err = bounded_memory(lambda: reader.read_chunk(0))
        assert "record says 4294967295 bytes but the index says 3" in str(err)
        assert reader.verify() == [False]


def test_lying_index_position_and_count():
    err = bounded_memory(lambda: read_everything(raw_file(index_offset=2**63)))
    assert "index offset" in str(err)
    err = bounded_memory(lambda: read_everything(raw_file(index_offset=3)))
    assert "index offset" in str(err)
    err = bounded_memory(lambda: read_everything(raw_file(count=MAX_CHUNKS + 1)))
    assert "more than the cap" in str(err)
    err = bounded_memory(lambda: read_everything(raw_file(count=MAX_CHUNKS)))
    assert "does not end at the trailer" in str(err)
    err = bounded_memory(lambda: read_everything(raw_file(count=0xFFFFFFFF)))


def test_bad_index_entries():
    base = container.PREAMBLE_SIZE + 1 + 4
    a, b = b"aaaa", b"bb"
    good = [(0, 1, base, 4, zlib.crc32(a)), (2, 3, base + 12, 2, zlib.crc32(b))]
    assert read_everything(raw_file(records=[a, b], entries=good))[2] == [a, b]
    cases = {
        "starts after it ends": [(5, 4, base, 4, zlib.crc32(a)), good[1]],
        "overlaps chunk 0": [good[0], (2, 3, base + 4, 2, zlib.crc32(b))],
        "overlaps the header": [(0, 1, base - 1, 4, zlib.crc32(a)), good[1]],
        "runs past the start of the index": [good[0], (2, 3, base + 12, 3, zlib.crc32(b))],
    }
    for message, entries in cases.items():
        with pytest.raises(FormatError, match=message):
            read_everything(raw_file(records=[a, b], entries=entries))
    # Out of file order (even if not overlapping) is rejected too.
    with pytest.raises(FormatError, match="overlaps"):
        read_everything(raw_file(records=[a, b], entries=[good[1], good[0]]))


@pytest.mark.parametrize(
    ("header_bytes", "message"),
    [
        (msgpack.packb([1, 2]), "must be a msgpack map"),
        (msgpack.packb("text"), "must be a msgpack map"),
        (b"", "shorter than the smallest"),
        (b"\xc1", "not valid msgpack"),
        (msgpack.packb({1: 2}), "not valid"),
        (msgpack.packb({b"k": 2}, use_bin_type=True), "not a string"),
        (b"\x82\xa1a\x01\xa1a\x02", "appears twice"),
        (msgpack.packb({"a": msgpack.ExtType(5, b"xx")}), "extension type 5"),
        (msgpack.packb({"t": msgpack.Timestamp(1)}), "unsupported type"),
        (b"\x81\xa1s\xa2\xff\xfe", "not valid msgpack"),  # invalid UTF-8
        (msgpack.packb({"a": 1}) + b"\x00", "not valid msgpack"),  # trailing data
        (b"\x81\xa1a" + b"\x91" * 40 + b"\x00", "deeper"),
        (b"\x81\xa1a" + b"\x91" * 5000 + b"\x00", "not valid msgpack"),  # msgpack's own stack limit
        (b"\x81\xa1a\xdb\xff\xff\xff\xff", "not valid msgpack"),  # str32 of 4 GiB
        (b"\x81\xa1a\xdd\xff\xff\xff\xff", "not valid msgpack"),  # array32 of 4G items
    ],
)
def test_hostile_headers_with_valid_crc(header_bytes, message):
    err = bounded_memory(lambda: read_everything(raw_file(header_bytes)), limit=8 << 20)
    assert re.search(message, str(err)), str(err)


# ---------------------------------------------------------------- writer validation and atomicity


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ([1], "must be a dict"),
        ({1: "x"}, "keys must be str"),
        ({"a": {2: "x"}}, "keys must be str"),
        ({"a": object()}, r"header\['a'\]: unsupported header value type"),
        ({"a": {1, 2}}, "unsupported"),
        ({"a": 2**64}, "does not fit in 64 bits"),
        ({"a": -(2**63) - 1}, "does not fit in 64 bits"),
        ({"a": "\ud800"}, "cannot be encoded"),
        ({"a": b"x" * MAX_HEADER_BYTES}, "more than the cap"),
    ],
)
def test_writer_rejects_bad_headers(tmp_path, header, message):
    with pytest.raises(ArgumentError, match=message):
        ContainerWriter(tmp_path / "x.actv", header)
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_too_deep_header(tmp_path):
    deep: dict = {}
    node = deep
    for _ in range(container.MAX_HEADER_DEPTH):
        node["n"] = {}
        node = node["n"]
    with pytest.raises(ArgumentError, match="deeper"):
        ContainerWriter(tmp_path / "x.actv", deep)


def test_writer_rejects_bad_chunks(tmp_path):
    path = tmp_path / "x.actv"
    with ContainerWriter(path, {}) as writer:
        for args, message in [
            ((3, 2, b""), "after its end"),
            ((-1, 2, b""), "0..2"),
            ((0, 2**64, b""), "0..2"),
            ((True, 2, b""), "must be an int"),
            ((0, 1.5, b""), "must be an int"),
            ((0, 1, "text"), "bytes-like"),
        ]:
            with pytest.raises(ArgumentError, match=message):
                writer.add_chunk(*args)
        writer.add_chunk(0, 0, b"ok")
    with pytest.raises(ArgumentError, match="closed"):
        writer.add_chunk(1, 1, b"")
    writer.close()  # twice is fine
    with ContainerReader(path) as reader:
        assert [reader.read_chunk(0)] == [b"ok"]


def test_chunk_size_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(container, "MAX_CHUNK_BYTES", 10)
    with ContainerWriter(tmp_path / "x.actv", {}) as writer, pytest.raises(ArgumentError, match="cap"):
        writer.add_chunk(0, 0, b"x" * 11)


def test_exception_inside_with_leaves_nothing(tmp_path):
    path = tmp_path / "out.actv"
    with pytest.raises(RuntimeError), ContainerWriter(path, HEADER) as writer:
        writer.add_chunk(0, 0, b"partial")
        assert len(list(tmp_path.glob(".out.actv.*.part"))) == 1
        raise RuntimeError("encoder crashed")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_existing_file(tmp_path):
    path = tmp_path / "out.actv"
    original = write_file(path)
    with pytest.raises(RuntimeError), ContainerWriter(path, {"other": 1}) as writer:
        writer.add_chunk(0, 0, b"new")
        raise RuntimeError("boom")
    assert path.read_bytes() == original
    assert list(tmp_path.iterdir()) == [path]
    writer = ContainerWriter(path, {"other": 2})
    writer.add_chunk(0, 0, b"new")
    writer.abort()
    writer.abort()
    writer.close()  # after abort: nothing happens
    assert path.read_bytes() == original
    assert list(tmp_path.iterdir()) == [path]


def test_successful_close_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "out.actv"
    write_file(path, {"v": 1})
    write_file(path, {"v": 2})
    assert list(tmp_path.iterdir()) == [path]
    with ContainerReader(str(path)) as reader:
        assert reader.header == {"v": 2}


def test_abandoned_writer_removes_its_temp_file(tmp_path):
    writer = ContainerWriter(tmp_path / "out.actv", {})
    writer.add_chunk(0, 0, b"x")
    del writer
    gc.collect()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_written_file_gets_umask_permissions(tmp_path):
    path = tmp_path / "out.actv"
    write_file(path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_unwritable_folder_is_an_actv_error(tmp_path):
    with pytest.raises(ActvError):
        ContainerWriter(tmp_path / "no" / "such" / "dir.actv", {})


# ---------------------------------------------------------------- property-based fuzzing

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_arbitrary_bytes(data):
    only_actv_errors(data)
    only_actv_errors(MAGIC + data)
    only_actv_errors(MAGIC + b"\x01\x00\x00\x00" + data)


_VALID = raw_file(
    msgpack.packb({"codec": "actinr", "list": [1, 2.5, None, b"x"]}, use_bin_type=True),
    [b"first", b"", b"third-payload"],
)

_edit = st.one_of(
    st.tuples(st.just("set"), st.integers(0, len(_VALID) - 1), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, len(_VALID)), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, len(_VALID) - 1), st.just(0)),
)


@FUZZ
@given(st.lists(_edit, min_size=1, max_size=6))
def test_fuzz_mutations_of_a_valid_file(edits):
    data = bytearray(_VALID)
    for kind, pos, value in edits:
        pos = min(pos, len(data) - (kind != "insert"))
        if pos < 0:
            continue
        if kind == "set":
            data[pos] = value
        elif kind == "insert":
            data.insert(pos, value)
        else:
            del data[pos]
    only_actv_errors(bytes(data))


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_header_bytes_behind_a_valid_crc(header_bytes):
    only_actv_errors(raw_file(header_bytes, [b"abc"]))


@FUZZ
@given(st.lists(st.tuples(*[st.integers(0, 2**64 - 1)] * 3, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))))
def test_fuzz_index_entries_behind_a_valid_crc(entries):
    only_actv_errors(raw_file(b"\x80", [b"abc", b"defg"], entries))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 60), st.integers(0, 20))))
def test_fuzz_plausible_index_entries(entries):
    payloads = [b"abc", b"", b"0123456789"]
    crcs = [zlib.crc32(p) for p in payloads]
    full = [(s, e, off, length, crcs[length % 3]) for s, e, off, length in entries]
    only_actv_errors(raw_file(b"\x80", payloads, full))


def _load_fuzz_target():
    path = Path(__file__).resolve().parents[1] / "tools" / "fuzz_container.py"
    spec = importlib.util.spec_from_file_location("fuzz_container", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fuzz_target_runs_without_atheris(small):
    target = _load_fuzz_target()
    for data in [b"", b"\x00", b"\x01" + small, b"\x00" + small, b"\x00" + small[:-3], b"\x00" + bytes(100)]:
        target.TestOneInput(data)
    # The checksum fixer really lets damaged headers through to the msgpack decoder.
    damaged = bytearray(small)
    damaged[container.PREAMBLE_SIZE] = 0xC1  # never-used msgpack byte
    with pytest.raises(FormatError, match="not valid msgpack"):
        read_everything(target.fix_checksums(bytes(damaged)))
    assert target.fix_checksums(small) == small


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_target_with_fixed_checksums(data):
    target = _load_fuzz_target_cached()
    target.TestOneInput(b"\x00" + data)
    target.TestOneInput(b"\x00" + _VALID[:16] + data)


_TARGET = []


def _load_fuzz_target_cached():
    if not _TARGET:
        _TARGET.append(_load_fuzz_target())
    return _TARGET[0]
