"""The rate-distortion benchmark's measures, on inputs whose answers are known."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchmarks.baselines.base import Coded
from benchmarks.rd_metrics import (
    bd_metric,
    bd_psnr,
    bd_rate,
    bits_per_pixel,
    luma_bt601,
    ms_ssim,
    pareto_front,
    psnr_rgb,
    psnr_rgb_frame_mean,
    psnr_y,
    quality,
    ssim,
)
from benchmarks.results_io import point_from_coded, read_result, read_results, result_clips, write_result


def _smooth_clip(frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    clip = np.empty((frames, height, width, 3), np.float32)
    for t in range(frames):
        for c in range(3):
            a, b = rng.uniform(4, 12, size=2)
            clip[t, ..., c] = 0.5 + 0.3 * np.sin(x / a + t) * np.cos(y / b + c)
    return clip


# --- PSNR -------------------------------------------------------------------------------------------------------


def test_psnr_of_a_constant_error_is_known():
    ref = np.full((2, 8, 8, 3), 0.5)
    # Every sample off by 0.1: MSE 0.01, PSNR exactly 20 dB, on every channel and on luma.
    assert psnr_rgb(ref, ref + 0.1) == pytest.approx(20.0)
    assert psnr_rgb_frame_mean(ref, ref + 0.1) == pytest.approx(20.0)
    assert psnr_y(ref, ref + 0.1) == pytest.approx(20.0)


def test_psnr_from_clip_mse_differs_from_mean_of_frame_psnr():
    ref = np.zeros((2, 4, 4, 3))
    dec = ref.copy()
    dec[0] += 0.1  # frame 0 at 20 dB
    dec[1] += 0.01  # frame 1 at 40 dB
    assert psnr_rgb_frame_mean(ref, dec) == pytest.approx(30.0)
    assert psnr_rgb(ref, dec) == pytest.approx(10 * math.log10(1 / ((0.01 + 0.0001) / 2)))


def test_psnr_accepts_uint8_and_exact_match_is_infinite():
    ref = np.random.default_rng(0).integers(0, 256, size=(2, 6, 6, 3), dtype=np.uint8)
    assert psnr_rgb(ref, ref) == math.inf
    assert psnr_rgb(ref, ref.astype(np.float64) / 255) == math.inf
    assert psnr_rgb(ref, ref.astype(np.float32) / 255) > 100  # float32 levels differ from k/255 by ~1e-8
    off = ref.astype(np.int16) + 1
    off[off > 255] = 254
    assert 47 < psnr_rgb(ref, off.astype(np.uint8)) < 49  # off by one level: 20 log10(255) = 48.1 dB


def test_y_psnr_uses_bt601_luma_and_ignores_luma_neutral_error():
    assert luma_bt601(np.ones((1, 1, 1, 3)))[0, 0, 0] == pytest.approx(1.0)
    assert luma_bt601(np.array([[[[1.0, 0, 0]]]]))[0, 0, 0] == pytest.approx(0.299)
    ref = np.full((1, 4, 4, 3), 0.5)
    # An error along a direction of zero luma: colour changes, Y does not.
    dec = ref + 0.05 * np.array([0.587, -0.299, 0.0])
    assert psnr_y(ref, dec) == math.inf
    assert math.isfinite(psnr_rgb(ref, dec))


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        psnr_rgb(np.zeros((1, 4, 4, 3)), np.zeros((1, 4, 5, 3)))


# --- MS-SSIM / SSIM ----------------------------------------------------------------------------------------------


def test_ms_ssim_is_one_for_identical_clips_and_falls_with_noise():
    clip = _smooth_clip(1, 104, 112)
    rng = np.random.default_rng(1)
    assert ms_ssim(clip, clip) == pytest.approx(1.0, abs=1e-6)
    scores = [ms_ssim(clip, np.clip(clip + rng.normal(0, s, clip.shape), 0, 1)) for s in (0.02, 0.08)]
    assert 1.0 > scores[0] > scores[1] > 0.3


def test_ms_ssim_works_at_qcif_height_and_rejects_tiny_frames():
    ms_ssim(np.zeros((1, 144, 176, 3)) + 0.5, np.zeros((1, 144, 176, 3)) + 0.5)  # the benchmark's clips
    with pytest.raises(ValueError, match="short side"):
        ms_ssim(np.zeros((1, 64, 64, 3)), np.zeros((1, 64, 64, 3)))


def test_ssim_is_one_for_identical_clips_and_falls_with_noise():
    clip = _smooth_clip(2, 32, 32)
    noisy = np.clip(clip + np.random.default_rng(2).normal(0, 0.05, clip.shape), 0, 1)
    assert ssim(clip, clip) == pytest.approx(1.0)
    assert ssim(clip, noisy) < 0.95


def test_quality_names_the_result_keys():
    clip = _smooth_clip(1, 104, 104)
    q = quality(clip, np.clip(clip + 0.01, 0, 1), with_ssim=True)
    assert set(q) == {"psnr_rgb", "psnr_rgb_frame_mean", "psnr_y", "ms_ssim", "ssim"}
    assert "ms_ssim" not in quality(clip[:, :40, :40], clip[:, :40, :40])  # too small: left out, not an error


# --- rate --------------------------------------------------------------------------------------------------------


def test_bits_per_pixel():
    assert bits_per_pixel(1000, 10, 10, 8) == pytest.approx(10.0)
    assert bits_per_pixel(0, 1, 1, 1) == 0.0
    with pytest.raises(ValueError):
        bits_per_pixel(-1, 1, 1, 1)
    with pytest.raises(ValueError):
        bits_per_pixel(10, 0, 1, 1)


# --- Bjøntegaard deltas ------------------------------------------------------------------------------------------

RATES = [0.05, 0.11, 0.24, 0.52, 1.1]
PSNRS = [29.0, 32.0, 35.5, 38.5, 41.0]


def test_bd_rate_of_a_curve_at_080_times_the_rate_is_minus_20_percent():
    result = bd_rate(RATES, PSNRS, [0.8 * r for r in RATES], PSNRS)
    assert result.ok and result.value == pytest.approx(-20.0, abs=1e-6)
    assert bd_rate([0.8 * r for r in RATES], PSNRS, RATES, PSNRS).value == pytest.approx(25.0, abs=1e-6)


def test_bd_psnr_of_a_one_db_shift_is_plus_one():
    result = bd_psnr(RATES, PSNRS, RATES, [p + 1 for p in PSNRS])
    assert result.ok and result.value == pytest.approx(1.0, abs=1e-9)
    assert bd_metric is bd_psnr


def test_bd_is_order_independent_and_identical_curves_give_zero():
    shuffled = [4, 0, 2, 1, 3]
    result = bd_rate(RATES, PSNRS, [RATES[i] for i in shuffled], [PSNRS[i] for i in shuffled])
    assert result.value == pytest.approx(0.0, abs=1e-9)


def test_bd_with_too_few_points_is_nan_with_a_reason():
    result = bd_rate(RATES, PSNRS, RATES[:3], PSNRS[:3])
    assert math.isnan(result.value) and "need at least 4" in result.reason
    assert bd_rate(RATES, PSNRS, RATES[:3], PSNRS[:3], min_points=3).ok


def test_bd_with_a_non_monotonic_curve_is_nan_unless_pareto():
    wiggly = [29.0, 33.0, 32.5, 38.5, 41.0]  # the third point is worse than the cheaper second one
    result = bd_rate(RATES, PSNRS, RATES, wiggly)
    assert math.isnan(result.value) and "non-monotonic" in result.reason
    result = bd_rate(RATES, PSNRS, RATES, wiggly, pareto=True, min_points=3)
    assert result.ok and any("dominated" in w for w in result.warnings)


def test_bd_of_curves_that_share_no_quality_range_is_nan():
    result = bd_rate(RATES, PSNRS, RATES, [p + 20 for p in PSNRS])
    assert math.isnan(result.value) and "share no" in result.reason


def test_pareto_front_drops_dominated_points():
    assert pareto_front([0.3, 0.1, 0.2, 0.4], [31.0, 30.0, 29.0, 35.0]) == ([0.1, 0.3, 0.4], [30.0, 31.0, 35.0])


# --- result files ------------------------------------------------------------------------------------------------


def test_point_from_coded_and_result_round_trip(tmp_path):
    ref = _smooth_clip(2, 104, 104)
    decoded = np.round(np.clip(ref + 0.02, 0, 1) * 255).astype(np.uint8)
    coded = Coded("toy", {"q": 3}, file_bytes=2704, decoded=decoded, encode_seconds=0.5, decode_fps=10.0)
    point = point_from_coded(ref, coded, note="x")
    assert point["bpp"] == pytest.approx(8 * 2704 / (2 * 104 * 104))
    assert point["psnr_rgb"] == pytest.approx(psnr_rgb(ref, decoded))
    assert point["note"] == "x" and point["settings"] == {"q": 3}
    lossless = dict(point, bpp=2.0, psnr_rgb=math.inf)

    path = write_result({"name": "toyclip", "frames": 2}, "toy", "toy 1.0", [lossless, point], results=tmp_path)
    assert path == tmp_path / "toyclip" / "toy.json"
    raw = json.loads(path.read_text())  # strict JSON: infinity stored as null
    assert raw["points"][0]["bpp"] == point["bpp"] and raw["points"][1]["psnr_rgb"] is None
    assert {"system", "version", "settings", "machine", "command", "clip", "points"} <= set(raw)

    result = read_result(path)
    assert result.system == "toy" and result.clip["frames"] == 2 and math.isnan(result.points[1]["psnr_rgb"])
    assert result.series("psnr_rgb") == ([point["bpp"]], [point["psnr_rgb"]])
    assert list(read_results("toyclip", tmp_path)) == ["toy"] and result_clips(tmp_path) == ["toyclip"]


def test_write_result_rejects_incomplete_points(tmp_path):
    with pytest.raises(ValueError, match="lacks"):
        write_result({"name": "c"}, "s", "v", [{"bpp": 1.0}], results=tmp_path)


def test_plot_draws_one_image_per_clip(tmp_path):
    from benchmarks.plot import plot_all

    for system, shift in (("nvcodec", 0.0), ("x264-medium", -1.0)):
        points = [
            {
                "bpp": r,
                "psnr_rgb": p + shift,
                "psnr_y": p,
                "ms_ssim": 0.9,
                "encode_seconds": 1,
                "decode_fps": 1,
                "settings": {},
            }
            for r, p in zip(RATES, PSNRS)
        ]
        write_result({"name": "clip"}, system, "v", points, results=tmp_path)
    assert plot_all(tmp_path) == [tmp_path / "clip" / "rd.png"]
    assert (tmp_path / "clip" / "rd.png").stat().st_size > 1000


def test_the_sweeps_pick_the_setting_of_least_cost_per_clip_and_quality():
    from benchmarks.width_quality import least_cost

    points = [
        {"clip": "a", "quality": 18.0, "group_size": 10, "cost": 2.0},
        {"clip": "a", "quality": 18.0, "group_size": 30, "cost": 1.0},
        {"clip": "a", "quality": 30.0, "group_size": 10, "cost": 0.5},
        {"clip": "a", "quality": 30.0, "group_size": 30, "cost": 0.7},
        {"clip": "b", "quality": 18.0, "group_size": 10, "cost": 0.1},
    ]
    assert least_cost(points, "group_size") == {"a": {"18": 30, "30": 10}, "b": {"18": 10}}


def test_a_sweep_records_every_point_and_the_pick_of_least_cost(monkeypatch, tmp_path):
    import argparse
    import json

    import benchmarks.width_quality as sweeps
    from nvcodec import Config

    monkeypatch.setattr(sweeps, "load_clip", lambda clip, frames: (None, 25.0))

    def fake_point(frames, fps, config, quality):  # the encode itself is the slow part, tested elsewhere
        size = config.fit.group_size
        return {"group_size": size, "quality": quality, "iters": config.fit.iters, "iters_warm": config.fit.iters_warm,
                "bpp": 1.0 / size, "psnr": 30.0, "encode_seconds": 0.0, "cost": abs(size - quality)}  # fmt: skip

    monkeypatch.setattr(sweeps, "encode_point", fake_point)
    args = argparse.Namespace(clips=["a"], qualities=[12.0, 28.0], frames=3, preset="fast", output=tmp_path / "s.json")
    sweeps.sweep(args, [10, 30], "group_size", lambda size, q: Config.preset("fast", group_size=size))
    record = json.loads((tmp_path / "s.json").read_text())
    assert len(record["points"]) == 4 and record["preset"] == "fast"
    assert record["best_group_size"] == {"a": {"12": 10, "28": 30}}


def test_width_costs_count_only_sweeps_at_the_encoder_s_group_length_and_know_their_grids(tmp_path):
    """The grid trial may drop the quality's grids, so a swept point is kept with its own grid levels."""
    import json

    from benchmarks.width_trial import measured_costs
    from nvcodec import Config
    from nvcodec.recipe.shape import shaped_for_quality

    q24, q42 = shaped_for_quality(Config.preset("fast"), 24.0), shaped_for_quality(Config.preset("fast"), 42.0)
    assert q24.model.grid_levels > 0 and q42.model.grid_levels == 0
    points = [  # before the grids a point had no grid_levels: it was fitted without them
        {"clip": "a", "quality": 24.0, "width": 36, "group_size": q24.fit.group_size, "cost": 1.0},
        {"clip": "a", "quality": 24.0, "width": 48, "group_size": q24.fit.group_size, "cost": 2.0,
         "grid_levels": q24.model.grid_levels},
        {"clip": "a", "quality": 42.0, "width": 64, "group_size": q42.fit.group_size, "cost": 3.0},
        {"clip": "a", "quality": 42.0, "width": 96, "group_size": q42.fit.group_size + 1, "cost": 4.0,
         "grid_levels": 0},
    ]  # fmt: skip
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps({"points": points}))
    assert measured_costs([path, tmp_path / "absent.json"], "fast") == {
        ("a", 24.0, 36, 0): 1.0,
        ("a", 24.0, 48, q24.model.grid_levels): 2.0,
        ("a", 42.0, 64, 0): 3.0,
    }


def test_the_grid_trial_s_curve_comparison_is_the_mean_rate_ratio_at_equal_psnr():
    import math

    from benchmarks.grid_trial import rate_change

    anchor = [{"bpp": b, "psnr_rgb": d} for b, d in ((0.1, 25.0), (0.2, 27.0), (0.4, 29.0))]
    half = [{"bpp": p["bpp"] / 2, "psnr_rgb": p["psnr_rgb"]} for p in anchor]
    assert rate_change(anchor, anchor) == 0.0
    assert rate_change(anchor, half) == pytest.approx(-0.5)
    assert rate_change(half, anchor) == pytest.approx(1.0)
    assert math.isnan(rate_change(anchor, [{"bpp": 1.0, "psnr_rgb": 40.0}, {"bpp": 2.0, "psnr_rgb": 41.0}]))
