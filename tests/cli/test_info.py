"""actv-info: the report of a file, and a damaged group flagged."""

from __future__ import annotations

import json

import pytest

from nvcodec.cli import info as info_cli
from tests.cli.conftest import FRAMES, HEIGHT, WIDTH


def test_info_reports_the_file(encoded, capsys):
    assert info_cli.main([str(encoded), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["frames"], report["width"], report["height"]) == (FRAMES, WIDTH, HEIGHT)
    assert report["file_bytes"] == encoded.stat().st_size
    assert report["bpp"] == pytest.approx(8 * encoded.stat().st_size / (FRAMES * WIDTH * HEIGHT))
    assert report["checksums_ok"] and [g["frames"] for g in report["groups"]] == [[0, 2], [2, 4]]
    assert info_cli.main([str(encoded)]) == 0
    assert "checksums   all ok" in capsys.readouterr().out


def test_info_flags_a_damaged_group(tmp_path, encoded, capsys):
    damaged = tmp_path / "damaged.actv"
    data = bytearray(encoded.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside a group chunk: the header and index stay readable
    damaged.write_bytes(bytes(data))
    assert info_cli.main([str(damaged)]) == 1
    captured = capsys.readouterr()
    assert "damaged" in captured.out and "damaged" in captured.err


def _rewrite(source, target, header_changes=None, keep_chunks=None):
    """``source`` rewritten with changed header fields and/or only some of its chunks (valid checksums)."""
    from nvcodec.container import ContainerReader, ContainerWriter

    with ContainerReader(source) as reader:
        header = {**reader.header, **(header_changes or {})}
        chunks = [(e.start, e.end, reader.read_chunk(i)) for i, e in enumerate(reader.entries)]
    with ContainerWriter(target, header) as writer:
        for index, chunk in enumerate(chunks):
            if keep_chunks is None or index in keep_chunks:
                writer.add_chunk(*chunk)


def test_a_file_without_groups_is_reported_not_a_traceback(tmp_path, encoded, capsys):
    empty = tmp_path / "empty.actv"
    _rewrite(encoded, empty, keep_chunks=[])
    assert info_cli.main([str(empty), "--json"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["groups"] == [] and not report["decodes"] and "no groups" in report["problems"][0]
    assert info_cli.main([str(empty)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "would not decode" in captured.err
    assert "groups      0" in captured.out


def test_a_header_that_lies_about_the_frames_fails_like_the_reader(tmp_path, encoded, capsys):
    from nvcodec import VideoReader
    from nvcodec.errors import FormatError

    lying = tmp_path / "lying.actv"
    _rewrite(encoded, lying, header_changes={"frames": 10_000_000})
    assert info_cli.main([str(lying), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["checksums_ok"] and "10000000 frames" in report["problems"][0]
    with pytest.raises(FormatError, match="10000000 frames"):
        VideoReader(lying)


def test_decode_finds_a_damaged_payload_behind_a_valid_checksum(tmp_path, encoded, capsys):
    import msgpack

    from nvcodec.container import ContainerReader, ContainerWriter

    with ContainerReader(encoded) as reader:
        header = reader.header
        chunks = [(e.start, e.end, reader.read_chunk(i)) for i, e in enumerate(reader.entries)]
    payload = msgpack.unpackb(chunks[0][2], raw=False)
    payload[3] += 1  # a version-2 chunk's symbol count
    forged = tmp_path / "forged.actv"
    with ContainerWriter(forged, header) as writer:
        writer.add_chunk(chunks[0][0], chunks[0][1], msgpack.packb(payload, use_bin_type=True))
        for chunk in chunks[1:]:
            writer.add_chunk(*chunk)
    assert info_cli.main([str(forged)]) == 0  # structure and checksums hold
    capsys.readouterr()
    assert info_cli.main([str(forged), "--decode", "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert problems[0].startswith("group 0 does not decode") and "symbols" in problems[0]
    assert problems[1].startswith("group 1 cannot decode")  # its residual chain starts at group 0


def test_reading_a_header_loads_no_torch(encoded):
    """actv-info answers in a fraction of a second: torch is never imported for a header and an index."""
    import subprocess
    import sys

    code = (
        "import sys; from nvcodec.cli import info; "
        f"assert info.main([{str(encoded)!r}, '--json']) == 0; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_json_carries_torchcodec_metadata_names(encoded, capsys):
    from nvcodec.reader import VideoReader

    assert info_cli.main([str(encoded), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    with VideoReader(encoded) as reader:
        for name in ("num_frames", "average_fps", "duration_seconds", "height", "width", "bit_rate", "file_size"):
            assert report[name] == pytest.approx(getattr(reader, name)), name
        assert report["num_groups"] == reader.num_groups == 2
        assert report == {**report, **reader.metadata.as_dict()}
    assert report["codec"] == "actv" and report["begin_stream_seconds"] == 0
    assert report["end_stream_seconds"] == pytest.approx(FRAMES / 10)
    assert report["bit_rate"] == pytest.approx(8 * encoded.stat().st_size * 10 / FRAMES)


def test_a_url_is_described_without_torch(encoded):
    """A file in fsspec's memory filesystem (any URL scheme works alike), still without loading torch."""
    import subprocess
    import sys

    pytest.importorskip("fsspec")
    code = (
        "import sys, fsspec; from nvcodec.cli import info; "
        f"fsspec.open('memory://info/clip.actv', 'wb').open().write(open({str(encoded)!r}, 'rb').read()); "
        "assert info.main(['memory://info/clip.actv', '--json']) == 0; "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["file"] == "memory://info/clip.actv"
