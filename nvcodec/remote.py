"""Where an ``.actv`` file's bytes come from: a local path, a URL, or an open binary file.

A ``.actv`` file has its index at the end and independent groups, so a reader
needs only the header, the index and the groups a request asks for. Every
source here is a seekable binary file whose ``read(n)`` at a position is one
range read, and it counts them (:class:`IOStats`), so the bytes a frame costs
can be measured rather than guessed.

- ``http://`` and ``https://``: :class:`HttpRangeFile`, the standard library's
  ``http.client`` with ``Range`` requests on one kept-alive connection and a
  timeout on every socket operation (fsspec's own HTTP filesystem would need
  aiohttp). The server must honour ``Range``; one that answers with the whole
  file, a body cut short, or a file that changes between requests raises an
  :class:`~nvcodec.errors.InputError` (or the container's
  :class:`~nvcodec.errors.FormatError`), never a hang and never an unbounded read.
- any other ``scheme://`` (``s3://``, ``gs://``, ``memory://``...): fsspec (the
  ``remote`` extra), opened without read-ahead so each read is one range request.
- a path: the local file.
- an open binary file: used as it is, not closed by the reader.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import re
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

from nvcodec.errors import ArgumentError, FormatError, InputError

__all__ = ["HttpRangeFile", "IOStats", "Source", "is_url", "open_source"]

DEFAULT_TIMEOUT = 30.0
"""Seconds any one socket operation (connect, send, each receive) may wait before the read fails."""
MAX_REDIRECTS = 5
PROBE_BYTES = 16
"""The first request reads this much from offset 0 (the container's preamble) and learns the file's size."""
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")


def is_url(source: object) -> bool:
    """Whether ``source`` is a string naming a URL (``scheme://...``) rather than a local path."""
    return isinstance(source, str) and bool(_URL.match(source))


@dataclass
class IOStats:
    """Read calls and bytes delivered by a source: what a request really cost."""

    requests: int = 0
    bytes: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"requests": self.requests, "bytes": self.bytes}


class Source(io.RawIOBase):
    """A seekable, read-only binary file that counts its reads in :attr:`stats`."""

    name: str
    size: int

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.stats = IOStats()
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self.size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence}")
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError(f"{self.name}: read of a closed source")
        end = self.size if size is None or size < 0 else min(self.size, self._pos + size)
        if end <= self._pos:
            return b""
        data = self._read_range(self._pos, end - self._pos)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _read_range(self, offset: int, length: int) -> bytes:
        """The bytes ``[offset, offset + length)``, counted in :attr:`stats` as the requests made."""
        raise NotImplementedError

    def _count(self, data: bytes) -> bytes:
        self.stats.requests += 1
        self.stats.bytes += len(data)
        return data


class _FileSource(Source):
    """A local or fsspec file, read through its own seek and read."""

    def __init__(self, file: BinaryIO, name: str, owns: bool = True) -> None:
        super().__init__(name)
        self._file = file
        self._owns = owns
        try:
            self.size = int(file.seek(0, os.SEEK_END))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {name}: {exc}") from exc

    def _read_range(self, offset: int, length: int) -> bytes:
        self._file.seek(offset)
        data = self._file.read(length)
        return self._count(data if isinstance(data, bytes) else bytes(data))

    def close(self) -> None:
        if not self.closed and self._owns:
            with contextlib.suppress(Exception):
                self._file.close()
        super().close()


class HttpRangeFile(Source):
    """An HTTP(S) URL read by ``Range`` requests over one kept-alive connection.

    The first request reads the first :data:`PROBE_BYTES` bytes and learns the
    size from ``Content-Range``; later reads check that every answer is the
    range asked for, of the same file (size, ``ETag``, ``Last-Modified``).
    Only ``length`` bytes are ever read from an answer to a read of ``length``.
    """

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT, headers: dict[str, str] | None = None) -> None:
        super().__init__(url)
        self.url = url
        self.timeout = timeout
        self._headers = dict(headers or {})
        self._lock = threading.Lock()
        self._connection: http.client.HTTPConnection | None = None
        self._validators: dict[str, str] = {}
        self.size = 0
        self._probe = b""
        self._probe_size()

    # -- requests

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            parts = urlsplit(self.url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ArgumentError(f"not an http(s) URL: {self.url}")
            if parts.scheme == "https":
                self._connection = http.client.HTTPSConnection(
                    parts.hostname, parts.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                self._connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        return self._connection

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def _target(self) -> str:
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def _get(self, first: int, last: int) -> http.client.HTTPResponse:
        """Send ``GET`` for bytes ``first..last`` (inclusive); retry once on a connection the server closed."""
        headers = {**self._headers, "Range": f"bytes={first}-{last}", "Accept-Encoding": "identity"}
        for attempt in (0, 1):
            connection = self._connect()
            try:
                connection.request("GET", self._target(), headers=headers)
                return connection.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop_connection()  # a kept-alive connection the server closed: one fresh try
                if attempt:
                    raise self._io_error(exc) from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                raise self._io_error(exc) from exc
        raise AssertionError("unreachable")

    def _io_error(self, exc: BaseException) -> InputError:
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return InputError(f"cannot read {self.url}: no answer within {self.timeout:g} s")
        return InputError(f"cannot read {self.url}: {type(exc).__name__}: {exc}")

    def _probe_size(self) -> None:
        for _ in range(MAX_REDIRECTS + 1):
            response = self._get(0, PROBE_BYTES - 1)
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                self._drop_connection()
                if not location:
                    raise InputError(f"cannot read {self.url}: HTTP {response.status} without a Location")
                self.url = urljoin(self.url, location)
                continue
            if response.status == 416:  # an empty file: no range of it is satisfiable
                self._drop_connection()
                self.size = 0
                return
            self._validators = {
                key: value for key in ("ETag", "Last-Modified") if (value := response.getheader(key)) is not None
            }
            first, last, total = self._check_range(response, 0, PROBE_BYTES - 1, probe=True)
            self.size = total
            self._probe = self._count(self._body(response, last - first + 1))
            return
        raise InputError(f"cannot read {self.name}: more than {MAX_REDIRECTS} redirects")

    def _check_range(
        self, response: http.client.HTTPResponse, first: int, last: int, probe: bool = False
    ) -> tuple[int, int, int]:
        """``(first, last, total)`` of a ``206`` answer, after checking it is the range and file asked for."""
        status = response.status
        if status == 200:
            self._drop_connection()  # never read a whole-file answer
            raise InputError(
                f"cannot read {self.url}: the server ignores Range requests (it answered 200 with the whole "
                "file); nvcodec reads remote files by ranges"
            )
        if status != 206:
            self._drop_connection()
            raise InputError(f"cannot read {self.url}: HTTP {status} {response.reason}")
        match = _CONTENT_RANGE.match(response.getheader("Content-Range") or "")
        if match is None or match.group(3) == "*":
            self._drop_connection()
            raise InputError(f"cannot read {self.url}: a 206 answer without a usable Content-Range")
        got_first, got_last, total = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if not probe:
            if total != self.size:
                self._drop_connection()
                raise FormatError(f"{self.url}: the file changed while it was read (size {self.size} -> {total})")
            for key, value in self._validators.items():
                now = response.getheader(key)
                if now is not None and now != value:
                    self._drop_connection()
                    raise FormatError(f"{self.url}: the file changed while it was read ({key} {value} -> {now})")
        expected_last = min(last, total - 1)
        if got_first != first or got_last != expected_last:
            self._drop_connection()
            raise InputError(
                f"cannot read {self.url}: asked for bytes {first}-{expected_last}, got {got_first}-{got_last}"
            )
        length = response.getheader("Content-Length")
        if length is not None and length.strip() != str(got_last - got_first + 1):
            self._drop_connection()
            raise InputError(f"cannot read {self.url}: Content-Length {length} does not match its Content-Range")
        return got_first, got_last, total

    def _body(self, response: http.client.HTTPResponse, length: int) -> bytes:
        try:
            data = response.read(length)
        except http.client.IncompleteRead as exc:
            self._drop_connection()
            raise InputError(
                f"cannot read {self.url}: the body was cut short ({len(exc.partial)} of {length} bytes)"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            self._drop_connection()
            raise self._io_error(exc) from exc
        if len(data) != length:
            self._drop_connection()
            raise InputError(f"cannot read {self.url}: the body was cut short ({len(data)} of {length} bytes)")
        if response.will_close or not response.isclosed():
            self._drop_connection()
        return data

    def _read_range(self, offset: int, length: int) -> bytes:
        with self._lock:
            if offset + length <= len(self._probe):  # the preamble the probe already fetched
                return self._probe[offset : offset + length]
            response = self._get(offset, offset + length - 1)
            first, last, _ = self._check_range(response, offset, offset + length - 1)
            return self._count(self._body(response, last - first + 1))

    def close(self) -> None:
        self._drop_connection()
        super().close()


def _open_fsspec(url: str, storage_options: dict[str, Any] | None) -> Source:
    try:
        import fsspec  # type: ignore[import-untyped]
    except ImportError:
        raise ArgumentError(f"reading {url} needs fsspec: pip install 'nvcodec[remote]'") from None
    try:
        fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
        file = fs.open(path, "rb", cache_type="none")
    except FileNotFoundError as exc:
        raise InputError(f"cannot open {url}: no such file") from exc
    except (ImportError, ValueError) as exc:  # an unknown protocol, or its package is missing
        raise ArgumentError(f"cannot open {url}: {exc}") from exc
    except OSError as exc:
        raise InputError(f"cannot open {url}: {exc}") from exc
    return _FileSource(file, url)


def open_source(
    source: str | os.PathLike[str] | BinaryIO,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    storage_options: dict[str, Any] | None = None,
) -> Source:
    """Open a path, a URL or an open binary file as a counting :class:`Source`.

    An open file stays open when the source is closed: its owner closes it.
    """
    if hasattr(source, "read") and hasattr(source, "seek"):
        file: BinaryIO = source  # type: ignore[assignment]
        return _FileSource(file, str(getattr(source, "name", "<stream>")), owns=False)
    if is_url(source):
        url = str(source)
        scheme = url.split("://", 1)[0].lower()
        if scheme in ("http", "https") and not storage_options:
            return HttpRangeFile(url, timeout=timeout)
        if scheme == "file":
            return _open_local(Path(urlsplit(url).path))
        return _open_fsspec(url, storage_options)
    try:
        path = Path(os.fspath(source))
    except TypeError as exc:
        raise ArgumentError(f"expected a path, a URL or a binary file object, got {type(source).__name__}") from exc
    return _open_local(path)


def _open_local(path: Path) -> Source:
    try:
        file = open(path, "rb")  # noqa: SIM115 - owned by the source, closed by its close()
    except (OSError, ValueError) as exc:  # ValueError: embedded NUL in the path
        raise InputError(f"cannot open {str(path)!r}: {getattr(exc, 'strerror', None) or exc}") from exc
    return _FileSource(file, str(path))
