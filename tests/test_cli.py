"""actv-encode / actv-decode / actv-info driven through ``main(argv)`` on tiny generated clips."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from nvcodec.cli import decode as decode_cli
from nvcodec.cli import encode as encode_cli
from nvcodec.cli import info as info_cli
from nvcodec.io import read_video, to_uint8, write_png_folder, write_video
from nvcodec.metrics import psnr
from nvcodec.sample import sample_clip
from tests.conftest import moving_square_clip

FRAMES, HEIGHT, WIDTH = 5, 32, 40
# A tiny model and short fits: these tests check the tools, not the codec's quality. Smaller than
# tests.conftest.TINY (the options set only the width and the patch): every test here encodes.
TINY_ARGS = [
    "--preset", "fast", "--no-compile", "--device", "cpu",
    "--hidden", "8", "--patch", "16", "--group-size", "2", "--iters", "30", "--iters-warm", "15",
]  # fmt: skip


@pytest.fixture(scope="module")
def clip():
    return moving_square_clip(frames=FRAMES, height=HEIGHT, width=WIDTH)


@pytest.fixture(scope="module")
def source(tmp_path_factory, clip):
    path = tmp_path_factory.mktemp("src") / "clip.y4m"
    write_video(path, clip, fps=10)
    return path


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, source):
    path = tmp_path_factory.mktemp("actv") / "clip.actv"
    assert encode_cli.main([str(source), "-o", str(path), "-q", *TINY_ARGS]) == 0
    return path


def one_line_error(capsys, code: int, expected: int, needle: str) -> None:
    err = capsys.readouterr().err
    assert code == expected, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert needle in err, err


def test_encode_prints_a_summary_and_writes_a_file(tmp_path, source, capsys):
    out = tmp_path / "a.actv"
    assert encode_cli.main([str(source), "-o", str(out), *TINY_ARGS]) == 0
    captured = capsys.readouterr()
    summary = captured.out.strip().splitlines()[-1]
    assert f"{FRAMES} frames {WIDTH}x{HEIGHT}" in summary and "bpp" in summary and "PSNR vs input" in summary
    assert "group 1/2" in captured.err and "group 2/2" in captured.err  # one line per group off a terminal
    assert out.exists() and not (tmp_path / "a.actv.partial").exists()


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


def test_mask_inpaints_the_unknown_pixels(tmp_path, clip):
    corrupted = clip.copy()
    corrupted[:, 20:28, 4:12] = (0.0, 1.0, 0.0)  # a green block the mask marks unknown
    source = tmp_path / "corrupted.y4m"
    write_video(source, corrupted, fps=10)
    mask = np.ones((1, HEIGHT, WIDTH, 3), np.float32)
    mask[0, 20:28, 4:12] = 0
    write_png_folder(tmp_path / "mask", mask)
    out = tmp_path / "inpainted.actv"
    args = [str(source), "-o", str(out), "--mask", str(tmp_path / "mask" / "000000.png"), "-q", *TINY_ARGS]
    assert encode_cli.main(args) == 0
    decoded_path = tmp_path / "inpainted.y4m"
    assert decode_cli.main([str(out), "-o", str(decoded_path), "-q"]) == 0
    hole = read_video(decoded_path).frames[:, 20:28, 4:12]
    assert np.abs(hole - clip[:, 20:28, 4:12]).mean() < np.abs(hole - corrupted[:, 20:28, 4:12]).mean()


def test_mask_summary_says_known_pixels(tmp_path, source, capsys):
    mask = np.ones((FRAMES, HEIGHT, WIDTH, 3), np.float32)
    mask[:, :4] = 0
    write_video(tmp_path / "mask.y4m", mask, fps=10)
    args = [str(source), "-o", str(tmp_path / "m.actv"), "--mask", str(tmp_path / "mask.y4m"), *TINY_ARGS]
    assert encode_cli.main(args) == 0
    assert "PSNR on known pixels" in capsys.readouterr().out
    write_video(tmp_path / "small.y4m", mask[:, :16], fps=10)
    args = [str(source), "-o", str(tmp_path / "n.actv"), "--mask", str(tmp_path / "small.y4m"), *TINY_ARGS]
    one_line_error(capsys, encode_cli.main(args), 1, "mask")


def test_resume_after_a_kill_gives_the_same_file(tmp_path, source, encoded, monkeypatch, capsys):
    out = tmp_path / "resumed.actv"
    finished = encode_cli.EncodeProgress.group_done

    def killed_after_first_group(self, group):
        finished(self, group)
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(encode_cli.EncodeProgress, "group_done", killed_after_first_group)
        code = encode_cli.main([str(source), "-o", str(out), "-q", *TINY_ARGS])
    err = capsys.readouterr().err
    assert code == 130 and "--resume" in err and "Traceback" not in err
    assert not out.exists(), "a killed encode leaves no half-written file"
    assert (tmp_path / "resumed.actv.partial" / "group-000000.msgpack").exists()

    one_line_error(capsys, encode_cli.main([str(source), "-o", str(out), *TINY_ARGS]), 2, "--resume")
    assert encode_cli.main([str(source), "-o", str(out), "--resume", *TINY_ARGS]) == 0
    assert "taken from the resume folder" in capsys.readouterr().err
    assert out.read_bytes() == encoded.read_bytes()
    assert not (tmp_path / "resumed.actv.partial").exists()


def test_max_bpp_is_honoured(tmp_path, source, encoded, capsys):
    full = 8 * encoded.stat().st_size / (FRAMES * HEIGHT * WIDTH)
    out = tmp_path / "small.actv"
    assert encode_cli.main([str(source), "-o", str(out), "--max-bpp", f"{0.9 * full:.4f}", *TINY_ARGS]) == 0
    assert 8 * out.stat().st_size / (FRAMES * HEIGHT * WIDTH) <= 0.9 * full
    err = capsys.readouterr().err
    assert "at 8 bits" not in err.splitlines()[-1] or "at 8 bits" not in err.splitlines()[-2], err


def test_frame_range_and_stride(tmp_path, source, capsys):
    out = tmp_path / "sub.actv"
    args = [str(source), "-o", str(out), "--start", "1", "--frames", "2", "--stride", "2", "-q", *TINY_ARGS]
    assert encode_cli.main(args) == 0
    assert info_cli.main([str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == 2 and report["fps"] == 5


def test_the_sample_clip_encodes(tmp_path, capsys):
    out = tmp_path / "sample.actv"
    args = ["--sample", "--frames", "2", "-o", str(out), "-q", *TINY_ARGS]
    assert encode_cli.main(args) == 0
    assert info_cli.main([str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["width"] == 176


def test_sample_clip_moves():
    clip = sample_clip(frames=6)
    assert clip.shape == (6, 144, 176, 3) and clip.dtype == np.float32
    assert clip.min() >= 0 and clip.max() <= 1
    np.testing.assert_array_equal(clip, sample_clip(frames=6), "generated the same way every time")
    assert all(np.abs(a - b).mean() > 0.01 for a, b in itertools.pairwise(clip)), "every frame moves"


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


def test_ctrl_c_during_decode_leaves_no_file(tmp_path, encoded, monkeypatch, capsys):
    from nvcodec.reader import VideoReader

    calls = []
    render = VideoReader.frame

    def interrupted(self, t, size=None):
        calls.append(t)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return render(self, t, size)

    monkeypatch.setattr(VideoReader, "frame", interrupted)
    for target in (tmp_path / "out.mp4", tmp_path / "frames"):
        calls.clear()
        assert decode_cli.main([str(encoded), "-o", str(target)]) == 130
        assert "interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [], "no output and no temporary file is left"
