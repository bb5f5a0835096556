"""The ActINR task benchmark: degradations, classical comparators, scoring and one tiny end-to-end run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchmarks import task_baselines as tb
from benchmarks.rd_metrics import psnr_rgb
from benchmarks.tasks.degradations import add_noise, apply_mask, random_known_mask, text_known_mask
from benchmarks.tasks.denoise import SIGMAS_8BIT
from benchmarks.tasks.inpaint import inpaint_conditions
from benchmarks.tasks.neural import split_iterations
from benchmarks.tasks.report import markdown_table
from benchmarks.tasks.runner import run_task
from benchmarks.tasks.scoring import region_psnr, score
from benchmarks.tasks.settings import Settings


def moving_wave(frames: int, height: int = 48, width: int = 64, speed: float = 0.8) -> np.ndarray:
    """A smooth pattern sliding right by ``speed`` pixels per frame, uint8-exact float32 ``[T, H, W, 3]``."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    clip = []
    for t in range(frames):
        value = 0.5 + 0.4 * np.sin((x - speed * t) / 12.0) * np.cos(y / 9.0)
        clip.append(np.stack([value, 0.8 * value + 0.1, 1.0 - value], axis=-1))
    return (np.round(np.stack(clip) * 255) / 255).astype(np.float32)


# ---------------------------------------------------------------- degradations


def test_noise_is_seeded_shaped_and_clipped():
    clean = np.full((3, 8, 10, 3), 0.5, dtype=np.float32)
    a = add_noise(clean, 25 / 255, seed=1)
    assert a.shape == clean.shape and a.dtype == np.float32
    assert np.array_equal(a, add_noise(clean, 25 / 255, seed=1))
    assert not np.array_equal(a, add_noise(clean, 25 / 255, seed=2))
    assert abs(float(np.std(a - clean)) - 25 / 255) < 0.01
    strong = add_noise(np.zeros_like(clean), 1.0, seed=0)
    assert strong.min() >= 0.0 and strong.max() <= 1.0


def test_random_mask_fraction_and_seed():
    known = random_known_mask((4, 40, 50), 0.3, seed=3)
    assert known.shape == (4, 40, 50) and known.dtype == bool
    assert abs((~known).mean() - 0.3) < 0.02
    assert np.array_equal(known, random_known_mask((4, 40, 50), 0.3, seed=3))
    assert not np.array_equal(known[0], known[1])  # a new draw per frame


def test_text_mask_is_a_subtitle_band():
    known = text_known_mask(144, 176)
    assert known.shape == (144, 176) and known.dtype == bool
    unknown = ~known
    assert 0.02 < unknown.mean() < 0.3
    rows = np.flatnonzero(unknown.any(axis=1))
    assert rows.min() > 144 // 2  # in the lower half, like a subtitle
    frames = np.zeros((3, 144, 176, 3), dtype=np.float32)
    _, mask, fill = inpaint_conditions(frames, seed=0)[1]
    assert fill == 1.0 and all(np.array_equal(mask[0], m) for m in mask)


def test_apply_mask_fills_only_unknown_pixels():
    frames = np.full((2, 4, 4, 3), 0.25, dtype=np.float32)
    known = np.ones((4, 4), dtype=bool)
    known[1, 2] = False
    out = apply_mask(frames, known, 1.0)
    assert np.all(out[:, 1, 2] == 1.0)
    out[:, 1, 2] = 0.25
    assert np.array_equal(out, frames)


# --------------------------------------------------------------------- scoring


def test_region_psnr_scores_only_the_region():
    reference = np.zeros((2, 16, 16, 3), dtype=np.float32)
    output = reference.copy()
    region = np.zeros((2, 16, 16), dtype=bool)
    region[:, 0, 0] = True
    output[:, 0, 0] = 0.1  # error inside the region
    output[:, 3, 3] = 1.0  # a big error outside it must not count
    assert region_psnr(reference, output, region) == pytest.approx(20.0)
    scores = score(reference, output, region)
    assert scores["psnr_region"] == pytest.approx(20.0)
    assert scores["psnr"] == pytest.approx(psnr_rgb(reference, output)) != pytest.approx(20.0)
    with pytest.raises(ValueError):
        region_psnr(reference, output, np.zeros((16, 16), dtype=bool))


# ---------------------------------------------------------- classical methods


def test_linear_blend_is_exact_on_a_linear_ramp():
    t = np.arange(21, dtype=np.float32)
    clip = (0.1 + 0.04 * t)[:, None, None, None] * np.ones((1, 3, 5, 3), dtype=np.float32)
    known_times = [0, 10, 20]
    out = tb.linear_blend(clip[known_times], known_times, list(range(21)))
    np.testing.assert_allclose(out, clip, atol=1e-6)
    held = tb.repeat_previous(clip[known_times], known_times, [0, 9, 10, 19, 20])
    np.testing.assert_array_equal(held, clip[[0, 0, 10, 10, 20]])


def test_minterpolate_returns_aligned_frames():
    truth = moving_wave(31)
    known = truth[::10]
    out = tb.minterpolate(known, 10)
    assert out.shape == truth.shape
    # Known times come back as the known frames (up to the YUV round trip).
    for k in range(len(known)):
        assert np.abs(out[10 * k] - known[k]).max() <= 2 / 255
    # Every output frame is closest to the true frame at its own time, not its neighbours'.
    for j in (3, 5, 7, 15, 25):
        errors = {s: float(np.mean((out[j] - truth[s]) ** 2)) for s in (j - 2, j, j + 2)}
        assert min(errors, key=errors.get) == j
    # Motion compensation beats blending at mid-interval on steady motion.
    blend = tb.linear_blend(known, [0, 10, 20, 30], list(range(31)))
    mid = [5, 15, 25]
    assert np.mean((out[mid] - truth[mid]) ** 2) < np.mean((blend[mid] - truth[mid]) ** 2)


def test_bicubic_and_box_downscale_shapes():
    clip = moving_wave(2, 16, 24)
    small = tb.box_downscale(clip, 4)
    assert small.shape == (2, 4, 6, 3)
    np.testing.assert_allclose(small[0, 0, 0], clip[0, :4, :4].mean(axis=(0, 1)), atol=1e-6)
    big = tb.bicubic_upscale(small, (16, 24))
    assert big.shape == clip.shape and big.min() >= 0 and big.max() <= 1


def test_classical_restorers_improve_degraded_frames():
    clean = moving_wave(2, 32, 32)
    noisy = add_noise(clean, 25 / 255, seed=0)
    denoised = tb.nlm_denoise(noisy, 25 / 255)
    assert psnr_rgb(clean, denoised) > psnr_rgb(clean, noisy)
    known = random_known_mask(clean.shape[:3], 0.3, seed=0)
    filled = tb.biharmonic_inpaint(apply_mask(clean, known, 0.0), known)
    assert np.array_equal(filled[known], clean[known])
    assert region_psnr(clean, filled, ~known) > 30


# ------------------------------------------------------------------ the runner


def test_split_iterations_keeps_the_preset_ratio():
    first, warm = split_iterations(700, 3)
    assert first + 2 * warm == pytest.approx(700, abs=2)
    assert first / warm == pytest.approx(1.5, rel=0.01)
    assert split_iterations(0.1, 1) == (1, 1)


def test_denoise_task_runs_end_to_end_on_a_tiny_clip(one_thread):
    clip = moving_wave(3, 32, 32)
    settings = Settings(
        budget=1.0,
        restore_frames=3,
        neural=("nvcodec", "nerv"),
        nvcodec={"hidden": 8, "patch": 16, "overlap": 4},
        nvcodec_iters=(10, 5),
        nerv_size="xs",
    )
    rows = run_task("denoise", "tiny", clip, settings, log=lambda _: None)
    systems = [(r["condition"], r["system"]) for r in rows]
    assert systems == [
        (f"sigma {level}/255", system)
        for level in SIGMAS_8BIT
        for system in ("noisy input", "non-local means", "nvcodec", "nerv")
    ]
    for row in rows:
        assert math.isfinite(row["psnr"]) and 0 < row["ssim"] <= 1
    nv = next(r for r in rows if r["system"] == "nvcodec")
    assert nv["settings"]["iters"] == 10 and nv["settings"]["numbers"] > 0
    table = markdown_table("denoise", rows)
    assert table.count("\n") == len(rows) + 1 and "nvcodec" in table


def test_sr_task_marks_frame_models_not_applicable():
    clip = moving_wave(5, 16, 16)
    settings = Settings(neural=("nerv",))
    rows = run_task("sr", "tiny", clip, settings, log=lambda _: None)
    assert [r["system"] for r in rows] == ["bicubic + linear blend", "nerv"]
    assert "not applicable" in rows[1]["note"] and "psnr" not in rows[1]
    assert {"psnr", "ssim", "psnr_trained", "psnr_between"} <= rows[0].keys()


def test_the_summary_reads_every_part_by_its_headline_score_and_margins(tmp_path):
    from benchmarks.tasks.summary import main as summary_main
    from benchmarks.tasks.summary import summary_rows

    def part(commit, rows):
        return {"schema": 1, "commit": commit, "rows": rows}

    def scored(task, system, **scores):
        return {"task": task, "clip": "carphone", "condition": "c", "system": system, **scores}

    parts = [
        part("a" * 40, [scored("denoise", "noisy input", psnr=20.0), scored("denoise", "nvcodec", psnr=30.0),
                        scored("denoise", "hnerv-boost", psnr=29.0), scored("denoise", "non-local means", psnr=28.0)]),
        part("b" * 40, [scored("inpaint", "nvcodec", psnr=40.0, psnr_region=25.0),
                        scored("inpaint", "hinerv", psnr=35.0, psnr_region=26.5)]),
    ]  # fmt: skip
    rows = summary_rows(parts)
    assert [(r["task"], r["commit"][0]) for r in rows] == [("denoise", "a"), ("inpaint", "b")]
    denoise, inpaint = rows
    assert "noisy input" not in denoise["scores"]  # the input itself is no method
    assert denoise["margin_boost"] == 1.0 and denoise["best_other"] == "hnerv-boost"
    # Inpainting is read on the unknown pixels, not the whole frame.
    assert inpaint["margin_best"] == -1.5 and inpaint["margin_boost"] is None
    for index, data in enumerate(parts):
        (tmp_path / f"part{index}.json").write_text(json.dumps(data))
    summary_main([str(tmp_path)])
    assert "ahead of HNeRV-Boost on 1 of 1 rows" in (tmp_path / "summary.md").read_text()
