"""What every tool shares: a user error is one line and an exit status, and an existing output needs -y."""

from __future__ import annotations

import torch

from nvcodec.cli import decode as decode_cli
from nvcodec.cli import encode as encode_cli
from nvcodec.cli import info as info_cli
from nvcodec.io import read_video
from tests.cli.conftest import FRAMES, HEIGHT, TINY_ARGS, WIDTH, one_line_error


def test_user_errors_are_one_line(tmp_path, source, encoded, capsys):
    out = tmp_path / "x.actv"
    one_line_error(capsys, encode_cli.main([str(tmp_path / "missing.mp4"), "-o", str(out)]), 1, "does not exist")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00not a video at all" * 50)
    one_line_error(capsys, encode_cli.main([str(garbage), "-o", str(out)]), 1, "cannot open")
    one_line_error(capsys, encode_cli.main([str(source), "-o", str(out), "--bits", "40"]), 2, "--bits")
    one_line_error(capsys, encode_cli.main([str(source), "-o", str(out), "--preset", "ultra"]), 2, "--preset")
    one_line_error(capsys, encode_cli.main(["-o", str(out)]), 2, "no input")
    one_line_error(capsys, encode_cli.main([str(source), "-o", str(tmp_path)]), 1, "is a directory")
    if not torch.cuda.is_available():
        one_line_error(capsys, encode_cli.main([str(source), "-o", str(out), "--device", "cuda"]), 1, "CUDA")

    corrupt = tmp_path / "corrupt.actv"
    corrupt.write_bytes(encoded.read_bytes()[:-10])
    one_line_error(capsys, decode_cli.main([str(corrupt), "-o", str(tmp_path / "c.mp4")]), 1, "corrupt.actv")
    one_line_error(capsys, decode_cli.main([str(source), "-o", str(tmp_path / "c.mp4")]), 1, "clip.y4m")
    one_line_error(capsys, info_cli.main([str(corrupt)]), 1, "corrupt.actv")
    one_line_error(capsys, decode_cli.main([str(encoded), "-o", str(tmp_path / "c.avi")]), 2, ".avi")
    one_line_error(
        capsys, decode_cli.main([str(encoded), "-o", str(tmp_path / "c.mp4"), "--scale", "-2"]), 2, "--scale"
    )
    one_line_error(
        capsys, decode_cli.main([str(encoded), "-o", str(tmp_path / "c.mp4"), "--start", "9"]), 2, "past the end"
    )
    assert not (tmp_path / "c.mp4").exists()


def test_existing_output_needs_y(tmp_path, source, encoded, capsys):
    precious = tmp_path / "precious.mp4"
    precious.write_bytes(b"keep me")
    one_line_error(capsys, decode_cli.main([str(encoded), "-o", str(precious)]), 1, "-y")
    assert precious.read_bytes() == b"keep me"
    existing = tmp_path / "existing.actv"
    existing.write_bytes(b"keep me too")
    one_line_error(capsys, encode_cli.main([str(source), "-o", str(existing), *TINY_ARGS]), 1, "-y")
    assert existing.read_bytes() == b"keep me too"
    assert decode_cli.main([str(encoded), "-o", str(precious), "-y", "-q"]) == 0
    assert read_video(precious).frames.shape == (FRAMES, HEIGHT, WIDTH, 3)
