"""Atheris fuzz target for the ``.actv`` container reader (``nvcodec.container``).

Run from the repository root::

    pip install atheris
    python tools/fuzz_container.py -atheris_runs=100000

Extra arguments go to libFuzzer (a corpus folder, ``-max_len=4096``, ``-jobs=4``...).
Each input is opened with :class:`ContainerReader` from memory and every chunk
is read and verified. The reader may only fail with an ``ActvError`` subclass;
any other exception escapes and libFuzzer reports it as a crash.

The first input byte picks a mode so that mutations get past the checksums:
odd -> the rest is used as is; even -> the rest gets the magic, format 1.x and
correct header/index CRC32s patched in where its own length fields point, so
the fuzzer can reach the header decoder and the index checks.

The module imports without atheris (tests call :func:`TestOneInput` directly);
atheris is imported only inside :func:`main`.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zlib

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:  # run as a script from a checkout without `pip install -e .`
    sys.path.insert(0, _ROOT)

from nvcodec import container  # noqa: E402
from nvcodec.errors import ActvError  # noqa: E402


def fix_checksums(data: bytes) -> bytes:
    """Patch magic, major version and both CRC32s into ``data`` wherever its own fields say they go."""
    buf = bytearray(data)
    if len(buf) < container.PREAMBLE_SIZE:
        return bytes(buf)
    buf[0:8] = container.MAGIC
    struct.pack_into("<H", buf, 8, container.FORMAT_MAJOR)
    (header_len,) = struct.unpack_from("<I", buf, 12)
    crc_at = container.PREAMBLE_SIZE + header_len
    if crc_at + 4 <= len(buf):
        struct.pack_into("<I", buf, crc_at, zlib.crc32(buf[:crc_at]))
    if len(buf) >= container.TRAILER_SIZE:
        trailer_at = len(buf) - container.TRAILER_SIZE
        index_offset, count = struct.unpack_from("<QI", buf, trailer_at)
        if index_offset + count * container.INDEX_ENTRY_SIZE == trailer_at:
            struct.pack_into("<I", buf, trailer_at + 12, zlib.crc32(buf[index_offset : trailer_at + 12]))
    return bytes(buf)


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    body = data[1:] if data[0] & 1 else fix_checksums(data[1:])
    try:
        with container.ContainerReader(io.BytesIO(body)) as reader:
            assert isinstance(reader.header, dict)
            for i in range(len(reader.entries)):
                try:
                    payload = reader.read_chunk(i)
                except ActvError:
                    continue
                assert len(payload) == reader.entries[i].length
            reader.verify()
    except ActvError:
        pass


def main() -> None:
    try:
        import atheris
    except ImportError:
        sys.exit("atheris is not installed: pip install atheris")

    if hasattr(atheris, "instrument_all"):  # atheris >= 2.1: coverage for the pure-Python reader
        atheris.instrument_all()
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
