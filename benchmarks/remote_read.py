"""Bytes and requests one frame of a 1000-frame ``.actv`` file costs over HTTP range reads.

Encodes a 1000-frame clip (the built-in sample's pan at 72x88, the ``fast``
preset's model at width 36, groups of 15 frames, residual groups with an
independent one every 4, a handful of fit steps: the container's layout is
what is measured, not the picture), serves it from a loopback HTTP server
that honours ``Range`` (a thread of this script, 127.0.0.1), and reads one
frame through ``VideoReader(url)``: in an independent group (its own chunk),
and in the last residual group of a chain (its chunk and the three before it).

    python -m benchmarks.remote_read [--frames 1000]

Writes ``benchmarks/results/remote_read.json``.
"""

from __future__ import annotations

import nvcodec.cli  # noqa: F401 - first, as the tools do: OpenMP threads spin briefly, set before torch loads

# isort: split
import argparse
import json
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmarks.common import RESULTS, run_record
from nvcodec import Config, QuantConfig, VideoReader, encode
from nvcodec.sample import sample_clip


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single ``bytes=a-b`` ranges, on a kept-alive connection."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        data = path.read_bytes()
        first_text, last_text = self.headers["Range"].removeprefix("bytes=").split("-")
        first, last = int(first_text), min(int(last_text), len(data) - 1)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
        self.send_header("Content-Length", str(last - first + 1))
        self.end_headers()
        self.wfile.write(data[first : last + 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--output", type=Path, default=RESULTS / "remote_read.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.actv"
        config = Config.preset("fast", hidden=36, iters=4, iters_warm=4, group_size=15, compile=False)
        encode(sample_clip(frames=args.frames, height=72, width=88), path, config, QuantConfig(intra_period=4), fps=30)
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(RangeHandler, directory=folder))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/long.actv"
        rows = []
        try:
            for label, pick in (("independent group", 0), ("last residual group of a chain", 3)):
                with VideoReader(url, timeout=10) as reader:
                    opened = reader.io_stats.as_dict()
                    group = 8 + pick  # group 8 is independent (8 % 4 == 0); group 11 needs 8, 9, 10, 11
                    start = reader._container.entries[group].start
                    reader.frame(start + 0.5)
                    total = reader.io_stats.as_dict()
                    chunk_bytes = sum(8 + reader._container.entries[g].length for g in range(8, group + 1))
                    row = {
                        "frame": start + 0.5,
                        "case": label,
                        "groups_read": group - 8 + 1,
                        "open": opened,
                        "after_frame": total,
                        "group_record_bytes": chunk_bytes,
                        "file_bytes": reader.file_size,
                        "num_groups": reader.num_groups,
                        "fraction_of_file": total["bytes"] / reader.file_size,
                    }
                rows.append(row)
                print(
                    f"{label}: opening {opened['requests']} requests / {opened['bytes']} bytes; one frame in all "
                    f"{total['requests']} requests / {total['bytes']:,} of {row['file_bytes']:,} bytes "
                    f"({100 * row['fraction_of_file']:.2f}% of the file, {row['num_groups']} groups)",
                    flush=True,
                )
        finally:
            server.shutdown()
            server.server_close()
    record = {**run_record(), "benchmark": "remote_read", "frames": args.frames, "rows": rows}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
