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
