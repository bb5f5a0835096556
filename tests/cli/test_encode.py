"""actv-encode: the summary, masks, resuming a killed encode, the rate target, frame ranges and the sample clip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nvcodec.cli import decode as decode_cli
from nvcodec.cli import encode as encode_cli
from nvcodec.cli import info as info_cli
from nvcodec.io import read_video, write_png_folder, write_video
from tests.cli.conftest import FRAMES, HEIGHT, TINY_ARGS, WIDTH, one_line_error


@pytest.mark.slow
def test_encode_prints_a_summary_and_writes_a_file(tmp_path, source, capsys):
    out = tmp_path / "a.actv"
    assert encode_cli.main([str(source), "-o", str(out), *TINY_ARGS]) == 0
    captured = capsys.readouterr()
    summary = captured.out.strip().splitlines()[-1]
    assert f"{FRAMES} frames {WIDTH}x{HEIGHT}" in summary and "bpp" in summary and "PSNR vs input" in summary
    assert "group 1/2" in captured.err and "group 2/2" in captured.err  # one line per group off a terminal
    assert out.exists() and not (tmp_path / "a.actv.partial").exists()


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_the_sample_clip_encodes(tmp_path, capsys):
    out = tmp_path / "sample.actv"
    args = ["--sample", "--frames", "2", "-o", str(out), "-q", *TINY_ARGS]
    assert encode_cli.main(args) == 0
    assert info_cli.main([str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["width"] == 176


def test_an_interrupt_before_any_group_says_nothing_was_kept(tmp_path, source, monkeypatch, capsys):
    def interrupted(self, progress):
        raise KeyboardInterrupt

    monkeypatch.setattr(encode_cli.EncodeProgress, "fit", interrupted)
    out = tmp_path / "early.actv"
    assert encode_cli.main([str(source), "-o", str(out), *TINY_ARGS]) == 130
    err = capsys.readouterr().err
    assert "nothing was kept" in err and "--resume" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_log_gets_progress_lines_with_the_time_left(capsys):
    """Off a terminal the bar is replaced by a line at a steady interval."""
    from nvcodec.fit import FitProgress

    progress = encode_cli.EncodeProgress(quiet=False, warm_iterations=100, interval=0.0)
    progress.fit(FitProgress(0, 3, 50, 200, 1e-3, 30.0, 1.0))
    line = capsys.readouterr().err.strip()
    assert line.startswith("group 1/3: iteration 50/200, 30.00 dB, about") and line.endswith("left")
    quiet = encode_cli.EncodeProgress(quiet=True, warm_iterations=100, interval=0.0)
    quiet.fit(FitProgress(0, 3, 50, 200, 1e-3, 30.0, 1.0))
    assert capsys.readouterr().err == ""


def test_the_time_left_counts_the_groups_not_started():
    from nvcodec.fit import FitProgress

    progress = encode_cli.EncodeProgress(quiet=True, warm_iterations=100)
    progress.started -= 10.0  # 10 s for the first 50 iterations: 0.2 s each
    left = progress.eta(FitProgress(0, 3, 50, 200, 1e-3, 30.0, 10.0))
    assert left == pytest.approx(0.2 * (150 + 2 * 100), rel=0.05)


def test_a_model_larger_than_the_video_is_narrowed_with_a_warning(tmp_path, capsys):
    """Two frames of 16x16 (1,536 raw bytes) once became a 9,428-byte file without a word."""
    clip = np.random.default_rng(0).random((2, 16, 16, 3)).astype(np.float32)
    source = tmp_path / "tiny.y4m"
    write_video(source, clip, fps=10)
    out = tmp_path / "tiny.actv"
    args = [str(source), "-o", str(out), "--preset", "fast", "--no-compile", "--iters", "20", "--iters-warm", "10"]
    assert encode_cli.main(args) == 0
    err = capsys.readouterr().err
    assert "outweigh the raw video" in err and "using --hidden" in err
    assert out.stat().st_size < 2 * clip.size  # was about six times the raw video
    assert encode_cli.main([*args, "-y", "--hidden", "36"]) == 0
    assert "a smaller --hidden or --patch would suit" in capsys.readouterr().err


def test_several_inputs_go_to_a_folder_and_a_bad_one_fails_alone(tmp_path, source, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00 not a video" * 40)
    out = tmp_path / "out"
    args = [str(source), str(bad), "-o", f"{out}/", *TINY_ARGS]
    assert encode_cli.main(args) == 1
    err = capsys.readouterr().err
    assert "bad.mp4" in err and "1 of 2 inputs failed" in err and "Traceback" not in err
    first = (out / "clip.actv").read_bytes()
    assert encode_cli.main(args) == 1  # the finished one is kept, not encoded again
    assert "already encoded; skipped" in capsys.readouterr().err
    assert (out / "clip.actv").read_bytes() == first
    (out / "clip.actv").write_bytes(first[:-5])  # damaged: not taken for finished
    assert encode_cli.main(args) == 1
    assert "not a complete .actv" in capsys.readouterr().err


def test_workers_without_ray_say_how_to_install_it(tmp_path, source, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as when it is not installed
    code = encode_cli.main([str(source), "-o", str(tmp_path / "x.actv"), "--workers", "2", *TINY_ARGS])
    one_line_error(capsys, code, 1, 'pip install "nvcodec[ray]"')


@pytest.mark.ray
@pytest.mark.slow
def test_workers_encode_the_same_bytes_as_a_serial_run(tmp_path, source, capsys):
    pytest.importorskip("ray", reason="the ray extra is not installed")
    options = [*TINY_ARGS, "--segment-groups", "2", "-q"]
    assert encode_cli.main([str(source), "-o", str(tmp_path / "serial.actv"), *options]) == 0
    assert encode_cli.main([str(source), "-o", str(tmp_path / "ray.actv"), "--workers", "2", *options]) == 0
    assert (tmp_path / "ray.actv").read_bytes() == (tmp_path / "serial.actv").read_bytes()


@pytest.mark.ray
@pytest.mark.slow
def test_workers_take_the_width_of_the_trial_fits_as_a_serial_run_does(tmp_path, source, capsys):
    pytest.importorskip("ray", reason="the ray extra is not installed")
    options = [*TRIAL_ARGS, "--segment-groups", "2"]
    assert encode_cli.main([str(source), "-o", str(tmp_path / "serial.actv"), *options]) == 0
    assert encode_cli.main([str(source), "-o", str(tmp_path / "ray.actv"), "--workers", "2", *options]) == 0
    assert (tmp_path / "ray.actv").read_bytes() == (tmp_path / "serial.actv").read_bytes()
    assert capsys.readouterr().err.count("trial fits at widths 64 and 96") == 2


def test_quality_is_the_default_and_bits_alone_selects_fixed_depths(tmp_path, source, capsys):
    for options, coding in (([], "lambda 0.00316"), (["--quality", "30"], "lambda 0.001"), (["--bits", "6"], "6 bits")):
        out = tmp_path / "x.actv"
        assert encode_cli.main([str(source), "-o", str(out), "-y", *options, *TINY_ARGS]) == 0
        assert f"preset fast, {coding}" in capsys.readouterr().err


def test_quality_and_lambda_together_are_a_usage_error(tmp_path, source, capsys):
    code = encode_cli.main(
        [str(source), "-o", str(tmp_path / "x.actv"), "--quality", "20", "--lambda", "1e-3", *TINY_ARGS]
    )
    one_line_error(capsys, code, 2, "not both")


@pytest.mark.parametrize("value", ["nan", "inf", "high"])
def test_a_quality_must_be_a_finite_number(tmp_path, source, capsys, value):
    code = encode_cli.main([str(source), "-o", str(tmp_path / "x.actv"), "--quality", value, *TINY_ARGS])
    one_line_error(capsys, code, 2, "--quality")


@pytest.mark.parametrize(
    ("options", "shape"),
    [
        ([], (64, 176)),  # the default quality, 25: one patch of the frame (up to 176 pixels a side)
        (["--quality", "15"], (48, 176)),
        (["--quality", "12"], (36, 176)),
        (["--quality", "30"], (96, 176)),
        (["--quality", "36"], (64, 96)),  # from Q 33, patches of 96
        (["--lambda", "1e-3"], (96, 176)),  # quality 30
        (["--quality", "15", "--hidden", "20"], (20, 176)),
        (["--quality", "15", "--patch", "64"], (48, 64)),
        (["--bits", "6"], (36, 96)),  # fixed depths keep the preset's width and patches
    ],
)
def test_the_quality_picks_the_width_and_patches_unless_they_are_given(options, shape):
    args = encode_cli.build_parser().parse_args(["in.mp4", "-o", "x.actv", *options])
    config = encode_cli.request_from_args(args).config
    assert (config.model.hidden, config.model.patch) == shape


@pytest.mark.parametrize(
    ("options", "shape"),
    [
        ([], (15, 3500, 1500)),  # the default quality, 25: the fast preset's steps per frame, in groups of 15
        (["--quality", "15"], (30, 5000, 3000)),
        (["--quality", "15", "--group-size", "10"], (10, 3000, 1000)),
        (["--quality", "15", "--iters", "600"], (30, 600, 200)),  # steps given are kept
        (["--bits", "6"], (10, 3000, 1000)),  # fixed depths keep the preset's groups
    ],
)
def test_the_quality_picks_the_group_length_unless_group_size_is_given(options, shape):
    args = encode_cli.build_parser().parse_args(["in.mp4", "-o", "x.actv", "--preset", "fast", *options])
    fit = encode_cli.request_from_args(args).config.fit
    assert (fit.group_size, fit.iters, fit.iters_warm) == shape


def test_scene_cuts_are_on_unless_switched_off():
    parse = encode_cli.build_parser().parse_args
    assert encode_cli.request_from_args(parse(["in.mp4", "-o", "x.actv"])).config.fit.scene_cuts
    assert not encode_cli.request_from_args(parse(["in.mp4", "-o", "x.actv", "--no-scene-cuts"])).config.fit.scene_cuts


TRIAL_ARGS = [arg for arg in TINY_ARGS if arg not in ("--hidden", "8")] + ["--quality", "36", "-y"]
"""TINY_ARGS with the width left to the quality and the trial fits (64 or 96 at Q 36)."""


def test_a_trial_fit_picks_the_width_unless_hidden_or_a_mask_is_given(tmp_path, source, capsys):
    steps = TRIAL_ARGS
    out = str(tmp_path / "x.actv")
    assert encode_cli.main([str(source), "-o", out, *steps]) == 0
    assert "trial fits at widths 64 and 96" in capsys.readouterr().err
    assert encode_cli.main([str(source), "-o", out, *steps, "--hidden", "8"]) == 0
    assert "trial fit" not in capsys.readouterr().err
    write_png_folder(tmp_path / "mask", np.ones((1, HEIGHT, WIDTH, 3), np.float32))
    assert encode_cli.main([str(source), "-o", out, *steps, "--mask", str(tmp_path / "mask" / "000000.png")]) == 0
    assert "trial fit" not in capsys.readouterr().err


def test_a_rate_target_alone_picks_its_starting_quality():
    from nvcodec.cli.encode import build_parser, request_from_args
    from nvcodec.recipe.quality import quality_for_bpp

    def request(*args):
        return request_from_args(build_parser().parse_args(["in.y4m", "-o", "out.actv", *args]))

    assert request("--max-bpp", "0.2").options.quality == quality_for_bpp(0.2)
    assert request("--max-bpp", "0.2", "--quality", "30").options.quality == 30
    assert request("--max-bpp", "0.2", "--bits", "6").options.quality is None
