"""actv-decode: every output kind, slow motion, super-resolution, time ranges and Ctrl-C."""

from __future__ import annotations

import os

import numpy as np
import pytest

from nvcodec.cli import decode as decode_cli
from nvcodec.io import read_video, to_uint8
from nvcodec.metrics import psnr
from tests.cli.conftest import FRAMES, HEIGHT, WIDTH


def test_round_trip_through_every_output_kind(tmp_path, encoded, clip, capsysbinary):
    mp4, y4m, pngs = tmp_path / "out.mp4", tmp_path / "out.y4m", tmp_path / "frames"
    for target in (mp4, y4m, pngs):
        assert decode_cli.main([str(encoded), "-o", str(target), "-q"]) == 0
    lossless = read_video(y4m)
    assert lossless.frames.shape == clip.shape and lossless.fps == 10
    assert psnr(lossless.frames, clip) > 20
    assert read_video(mp4).frames.shape == clip.shape
    # PNG is exact RGB; y4m passes through 4:4:4 YUV, which rounds by a level or two.
    rgb_difference = np.abs(to_uint8(read_video(pngs).frames).astype(int) - to_uint8(lossless.frames))
    assert rgb_difference.max() <= 3

    assert decode_cli.main([str(encoded), "-", "-q"]) == 0
    stream = capsysbinary.readouterr().out
    assert stream.startswith(b"YUV4MPEG2 W40 H32 F10:1")
    assert stream.count(b"FRAME") == FRAMES


def test_slow_motion_frame_count(tmp_path, encoded):
    out = tmp_path / "slow.y4m"
    assert decode_cli.main([str(encoded), "-o", str(out), "--fps-scale", "4", "-q"]) == 0
    video = read_video(out)
    assert len(video.frames) == (FRAMES - 1) * 4 + 1
    assert video.fps == 10, "slow motion keeps the stored frame rate"
    assert decode_cli.main([str(encoded), "-o", str(out), "-y", "--fps-scale", "4", "--fps", "40", "-q"]) == 0
    assert read_video(out).fps == 40


def test_super_resolution_size(tmp_path, encoded):
    out = tmp_path / "big.y4m"
    assert decode_cli.main([str(encoded), "-o", str(out), "--scale", "2", "-q"]) == 0
    assert read_video(out).frames.shape == (FRAMES, 2 * HEIGHT, 2 * WIDTH, 3)
    assert decode_cli.main([str(encoded), "-o", str(out), "-y", "--size", "50x30", "-q"]) == 0
    assert read_video(out).frames.shape == (FRAMES, 30, 50, 3)


def test_time_range(tmp_path, encoded):
    out = tmp_path / "part.y4m"
    # 10 fps: seconds [0.1, 0.3) are frames 1 and 2; with 2x slow motion also 1.5 and 2.5.
    assert decode_cli.main([str(encoded), "-o", str(out), "--start", "0.1", "--end", "0.3", "-q"]) == 0
    assert len(read_video(out).frames) == 2
    args = [str(encoded), "-o", str(out), "-y", "--start", "0.1", "--end", "0.3", "--fps-scale", "2", "-q"]
    assert decode_cli.main(args) == 0
    assert len(read_video(out).frames) == 4


def test_ctrl_c_during_decode_leaves_no_file(tmp_path, encoded, monkeypatch, capsys):
    from nvcodec.reader import VideoReader

    calls = []
    render = VideoReader.frames_at

    def interrupted(self, times, size=None):
        calls.append(times)
        if len(calls) == 2:  # after the first batch is written
            raise KeyboardInterrupt
        return render(self, times, size)

    monkeypatch.setattr(VideoReader, "frames_at", interrupted)
    monkeypatch.setattr(decode_cli, "DECODE_BATCH", 2)
    for target in (tmp_path / "out.mp4", tmp_path / "frames"):
        calls.clear()
        assert decode_cli.main([str(encoded), "-o", str(target)]) == 130
        assert "interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [], "no output and no temporary file is left"


def test_a_closed_pipe_ends_the_decode_quietly(encoded):
    """``actv-decode x.actv - | head -c 100``: the reader went away; not an error."""
    import os
    import subprocess
    import sys

    import pytest

    if os.name != "posix":
        pytest.skip("POSIX pipes")
    command = f"{sys.executable} -m nvcodec.cli.decode {encoded} - -q --scale 4 | head -c 100 > /dev/null"
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_outputs_honour_the_umask(tmp_path, encoded):
    old = os.umask(0o022)
    try:
        for name in ("out.mp4", "out.y4m", "frames"):
            assert decode_cli.main([str(encoded), "-o", str(tmp_path / name), "-q"]) == 0
    finally:
        os.umask(old)
    assert (tmp_path / "out.mp4").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "out.y4m").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "frames").stat().st_mode & 0o777 == 0o755


def test_a_later_run_clears_what_a_killed_one_left(tmp_path, encoded):
    """A SIGKILL leaves a temporary; the next decode to the same output removes it, not a live writer's."""
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".out.mp4.{int(dead.stdout)}-0badf00d.part.mp4"
    stale.write_bytes(b"half a video")
    live = tmp_path / f".out.mp4.{os.getpid()}-0badf00d.part.mp4"
    live.write_bytes(b"someone is writing this")
    assert decode_cli.main([str(encoded), "-o", str(tmp_path / "out.mp4"), "-q"]) == 0
    assert not stale.exists() and live.exists()


def test_batched_decode_equals_the_reader_frame_by_frame(tmp_path, encoded, monkeypatch):
    """The decode renders in batches (here of 3, across a group boundary); every frame is what frame(t) gives."""
    from nvcodec.reader import VideoReader

    monkeypatch.setattr(decode_cli, "DECODE_BATCH", 3)
    out = tmp_path / "frames"
    assert decode_cli.main([str(encoded), "-o", str(out), "--fps-scale", "2", "-q"]) == 0
    decoded = to_uint8(read_video(out).frames)
    with VideoReader(encoded) as reader:
        expected = np.stack([reader.frame(k / 2) for k in range(2 * (FRAMES - 1) + 1)])
    assert np.abs(decoded.astype(int) - expected).max() <= 1  # float dust between batch sizes may flip a rounding
