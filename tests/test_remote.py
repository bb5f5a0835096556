"""Reading .actv files from URLs and file objects: a real HTTP server on loopback, fsspec's memory filesystem.

The server runs in a thread of the test, on 127.0.0.1, and answers Range
requests as object stores do; its ``mode`` makes it misbehave the ways a real
one can (ignore Range, cut a body short, change the file between requests,
stall). Every misbehaviour must end in a library error, never a hang: the
reader's timeout bounds a stall.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from nvcodec import Config, QuantConfig, VideoReader, encode
from nvcodec.container import PREAMBLE_SIZE, RECORD_PREFIX_SIZE, TRAILER_SIZE, ContainerReader
from nvcodec.errors import ArgumentError, FormatError, InputError
from nvcodec.remote import HttpRangeFile, is_url, open_source
from tests.conftest import TINY, moving_square_clip

CONFIG = Config.preset("fast", **TINY, iters=40, iters_warm=20, group_size=2, device="cpu")


class FileServer(ThreadingHTTPServer):
    """Serves ``files`` (path -> bytes) with Range support; ``mode`` picks a misbehaviour."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RangeHandler)
        self.files: dict[str, bytes] = {}
        self.mode = "range"
        self.requests: list[str] = []
        self.change_after: int | None = None
        self.release = threading.Event()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class RangeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as object stores answer
    server: FileServer

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        server = self.server
        server.requests.append(self.headers.get("Range", ""))
        if server.change_after is not None and len(server.requests) > server.change_after:
            data = server.files[self.path]
            server.files[self.path] = data[:-1] + bytes([data[-1] ^ 0xFF]) + b"\0"  # another file now
        data = server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        if server.mode == "stall":
            server.release.wait(10)  # bounded: the test's reader gives up long before
            return
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        header = self.headers.get("Range")
        if server.mode == "ignore" or header is None:
            self._send(200, data, etag)
            return
        first_text, last_text = header.removeprefix("bytes=").split("-")
        first, last = int(first_text), min(int(last_text), len(data) - 1)
        if first >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = data[first : last + 1]
        self._send(206, body, etag, f"bytes {first}-{last}/{len(data)}")

    def _send(self, status: int, body: bytes, etag: str, content_range: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        if content_range:
            self.send_header("Content-Range", content_range)
        self.end_headers()
        if self.server.mode == "truncate" and len(body) > 20:
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[FileServer]:
    httpd = FileServer()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def actv(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("remote") / "clip.actv"
    encode(moving_square_clip(frames=7, height=40, width=56), path, CONFIG, QuantConfig(intra_period=2), fps=12)
    return path.read_bytes()


def test_is_url() -> None:
    assert is_url("https://x/y.actv") and is_url("s3://bucket/key") and is_url("memory://a")
    assert not is_url("clip.actv") and not is_url("C:\\clips\\a.actv") and not is_url(b"http://x")


def test_http_reads_only_header_index_and_the_groups_a_frame_needs(server, actv) -> None:
    server.files["/clip.actv"] = actv
    container = ContainerReader(io.BytesIO(actv))
    header_len = int.from_bytes(actv[12:16], "little")
    index_bytes = 32 * len(container.entries) + TRAILER_SIZE
    with VideoReader(server.base + "/clip.actv", timeout=5) as reader, VideoReader(io.BytesIO(actv)) as local:
        assert reader.path is None and reader.name.endswith("/clip.actv")
        assert reader.io_stats.requests == 4  # preamble (also the size), header, trailer, index
        assert reader.io_stats.bytes == PREAMBLE_SIZE + header_len + 4 + index_bytes
        opened = reader.io_stats.bytes
        np.testing.assert_array_equal(reader.frame(0.5), local.frame(0.5))  # group 0, independent
        assert reader.io_stats.requests == 5
        assert reader.io_stats.bytes == opened + RECORD_PREFIX_SIZE + container.entries[0].length
        np.testing.assert_array_equal(reader.frames_at([3, 2.5, 6]), local.frames_at([3, 2.5, 6]))
        assert reader.io_stats.bytes < len(actv) + RECORD_PREFIX_SIZE * reader.num_groups
        assert reader.file_size == len(actv) and reader.num_frames == 7
    assert all(r.startswith("bytes=") for r in server.requests)


def test_fsspec_memory_filesystem_and_open_files(actv) -> None:
    fsspec = pytest.importorskip("fsspec")
    with fsspec.open("memory://nvcodec-test/clip.actv", "wb") as f:
        f.write(actv)
    with VideoReader("memory://nvcodec-test/clip.actv") as remote, VideoReader(io.BytesIO(actv)) as local:
        np.testing.assert_array_equal(remote.frame(4.25), local.frame(4.25))
        assert remote.io_stats.requests >= 4
    with pytest.raises(InputError, match="no such file"):
        VideoReader("memory://nvcodec-test/missing.actv")


def test_a_server_that_ignores_range_is_refused_without_reading_the_file(server, actv) -> None:
    server.files["/clip.actv"] = actv
    server.mode = "ignore"
    with pytest.raises(InputError, match="ignores Range"):
        VideoReader(server.base + "/clip.actv", timeout=5)


def test_a_truncated_body_is_an_error(server, actv) -> None:
    server.files["/clip.actv"] = actv
    server.mode = "truncate"
    with pytest.raises(InputError, match="cut short"):
        VideoReader(server.base + "/clip.actv", timeout=5)


def test_a_file_changed_between_requests_is_an_error(server, actv) -> None:
    server.files["/clip.actv"] = actv
    server.change_after = 4  # after the open: the first group's read sees another file
    with VideoReader(server.base + "/clip.actv", timeout=5) as reader, pytest.raises(FormatError, match="changed"):
        reader.frame(0)


def test_a_stalled_server_times_out(server, actv) -> None:
    server.files["/clip.actv"] = actv
    server.mode = "stall"
    with pytest.raises(InputError, match="no answer within"):
        HttpRangeFile(server.base + "/clip.actv", timeout=0.3)


def test_missing_and_not_actv_urls(server, actv) -> None:
    server.files["/notes.txt"] = b"hello, not a video" * 10
    with pytest.raises(InputError, match="404"):
        VideoReader(server.base + "/missing.actv", timeout=5)
    with pytest.raises(FormatError, match="not an \\.actv file"):
        VideoReader(server.base + "/notes.txt", timeout=5)
    server.files["/empty.actv"] = b""
    with pytest.raises(FormatError, match="empty file"):
        VideoReader(server.base + "/empty.actv", timeout=5)


def test_readers_of_urls_pickle_and_readers_of_open_files_say_why_not(server, actv) -> None:
    server.files["/clip.actv"] = actv
    with VideoReader(server.base + "/clip.actv", timeout=5) as reader:
        clone = pickle.loads(pickle.dumps(reader))
        np.testing.assert_array_equal(clone.frame(2), reader.frame(2))
        clone.close()
    with VideoReader(io.BytesIO(actv)) as reader, pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(reader)


def test_bad_sources() -> None:
    with pytest.raises(ArgumentError):
        open_source(12)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"fsspec|protocol|cannot open"):
        VideoReader("nosuchprotocol-xyz://bucket/clip.actv")
