"""The ActINR paper's tasks on real clips: slow motion, super-resolution, denoising, inpainting.

``python -m benchmarks.tasks --quick`` (carphone only, short fits: a few
minutes on 2 CPU cores) or ``python -m benchmarks.tasks`` (every clip, longer
fits; the run time is estimated up front). ``--tasks`` and ``--clips`` pick a
subset, ``--budget`` sets the seconds per neural fit. One table per task is
printed and the results go to ``benchmarks/results/tasks.json`` / ``tasks.md``
(``tasks_quick.*`` with ``--quick``).

Protocols (``T`` = frames used; scores are RGB PSNR from the clip-wide MSE and
SSIM, both from :mod:`benchmarks.rd_metrics`, against the clean frames):

``slowmo`` (10x slow motion)
    Train on frames 0, 10, 20, 30 of a 31-frame clip; score the 27 frames in
    between. Compared with repeating the previous trained frame, a linear
    blend, FFmpeg's motion-compensated ``minterpolate`` and NeRV / HNeRV
    rendered at the in-between indices (NeRV: its time input is continuous;
    HNeRV: embeddings interpolated linearly, see ``baselines/hnerv.py``).
``sr`` (4x spatial + 2x temporal super-resolution)
    Train on every 2nd frame shrunk 4x by 4x4 block averaging; render every
    frame at full size and score all of them (also split into trained and
    in-between frames). Compared with bicubic upscaling plus a linear blend
    in time. NeRV and HNeRV render only at their training resolution, so they
    take no part.
``denoise``
    Add Gaussian noise of sigma 25/255 and 50/255 (seeded, clipped to [0, 1]),
    fit the noisy frames, score against the clean ones. Compared with the
    noisy input itself, per-frame non-local means (scikit-image, told the true
    sigma) and NeRV / HNeRV fitted to the same noisy frames.
``inpaint``
    Two masks: 30 % of the pixels missing at random (i.i.d. per pixel and per
    frame, missing pixels set to black) and a text overlay (two subtitle-like
    lines burnt into every frame at the same place, set to white). Every
    system is told which pixels are unknown. Scored on the unknown pixels only
    and on the whole frame (each system's output as it is; biharmonic keeps
    the known pixels). Compared with the degraded input, per-frame biharmonic
    inpainting (scikit-image) and NeRV / HNeRV trained on the known pixels.

Budgets: every neural system gets the same wall clock per fit. nvcodec's fit
has an iteration count, not a time limit, so a few iterations of the task's
own fit are timed first and the count is set to fill ``--budget``
(first group : later groups = 3 : 2 iterations, as in the ``fast`` preset);
its actual fit time (calibration excluded, recorded apart) then becomes the
``seconds=`` budget of NeRV and HNeRV. NeRV / HNeRV are sized to the preset
whose stored-number count is nearest nvcodec's model. Every row records its
seconds.

nvcodec settings per task, from 20 s probes on carphone (``run_task`` with
other ``NVCODEC_TASK`` values, on a busy 2-core machine; one run each): the ``fast`` preset uncompiled (``torch.compile``'s ~25 s warm-up
would eat a short budget) with 8192 pixels per step instead of 32768, so a
short budget still gets hundreds of steps (slow motion: 25.1 dB against
22.8 dB with the full batch). ``group_size`` 30 for slow motion and
super-resolution: one group sees every trained frame and gets the whole
budget. Slow motion scored the same with groups of 10 (25.2 against 25.1 dB)
at three times the numbers; super-resolution scored 23.5 dB with one group
against 22.6 dB with three. The default patch (clipped to the 44x36 frame:
one patch) is kept for super-resolution: 24-pixel patches scored the same
PSNR (23.4 dB) and a lower SSIM with three times the numbers.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks import task_baselines as classical
from benchmarks.common import json_clean, to_float32
from benchmarks.rd_metrics import mse_to_psnr, psnr_rgb, ssim
from benchmarks.systems import NEURAL, frame_model

TASKS: tuple[str, ...] = ("slowmo", "sr", "denoise", "inpaint")

SLOWMO_STEP = 10
SLOWMO_FRAMES = 31
SR_SCALE = 4
SR_STEP = 2
SR_FRAMES = 31
SIGMAS_8BIT: tuple[int, ...] = (25, 50)
RANDOM_MISSING = 0.3
CALIBRATION_WARMUP = 10
TEXT_LINES: tuple[str, ...] = ("ActINR 2025", "nvcodec test")

TASK_TITLES = {
    "slowmo": "10x slow motion: train on every 10th frame, score the in-between frames",
    "sr": "4x spatial + 2x temporal super-resolution: train on 4x-shrunk even frames, score all frames at full size",
    "denoise": "Denoising: Gaussian noise, scored against the clean frames",
    "inpaint": "Inpainting: scored on the unknown pixels and on the whole frame",
}

# Per-task nvcodec overrides of the "fast" preset (the iteration counts are set by the budget).
NVCODEC_BASE: dict[str, Any] = {"compile": False, "batch_pixels": 8192}
NVCODEC_TASK: dict[str, dict[str, Any]] = {
    "slowmo": {"group_size": 30},
    "sr": {"group_size": 30},
    "denoise": {},
    "inpaint": {},
}


@dataclass
class Settings:
    """Everything a run depends on besides the clips (stored in the result file)."""

    budget: float = 120.0
    """Seconds of wall clock per neural fit."""
    restore_frames: int = 31
    """Frames used by denoise and inpaint."""
    neural: tuple[str, ...] = NEURAL
    device: str = "cpu"
    seed: int = 0
    nvcodec: dict[str, Any] = field(default_factory=dict)
    """Extra overrides of the ``fast`` preset, applied after the per-task ones."""
    nvcodec_iters: tuple[int, int] | None = None
    """Fixed (first group, later groups) iterations instead of filling the budget (tests)."""
    calibration_iters: int = 30
    """Timed iterations (after a warm-up of ``CALIBRATION_WARMUP``) that set nvcodec's iteration count."""
    nerv_size: str | None = None
    """NeRV / HNeRV preset; ``None``: the one nearest nvcodec's number count."""


QUICK = {"budget": 20.0, "restore_frames": 11}
QUICK_CLIPS: tuple[str, ...] = ("carphone",)
FULL = {"budget": 120.0, "restore_frames": 31}


# ---------------------------------------------------------------- degradations


def add_noise(frames: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Frames plus seeded Gaussian noise of standard deviation ``sigma`` (on the [0, 1] scale), clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(frames.shape, dtype=np.float32) * np.float32(sigma)
    return np.clip(frames.astype(np.float32) + noise, 0.0, 1.0)


def random_known_mask(shape: tuple[int, int, int], missing: float, seed: int) -> np.ndarray:
    """bool ``[T, H, W]``, True = known; each pixel of each frame is missing with probability ``missing``."""
    if not 0.0 <= missing < 1.0:
        raise ValueError(f"missing must be in [0, 1), got {missing}")
    return np.random.default_rng(seed).random(shape) >= missing


def text_known_mask(height: int, width: int, lines: Sequence[str] = TEXT_LINES) -> np.ndarray:
    """bool ``[H, W]``, True = known: subtitle-like text lines near the bottom of the frame are unknown.

    Drawn with Pillow's built-in scalable font with a one-pixel stroke, sized so
    the widest line fills about 90 % of the width.
    """
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(image)
    size = max(6, height // 7)
    while True:
        font = ImageFont.load_default(size=size)
        boxes = [draw.textbbox((0, 0), line, font=font, stroke_width=1) for line in lines]
        widest = max(b[2] - b[0] for b in boxes)
        if widest <= 0.9 * width or size <= 6:
            break
        size -= 1
    line_height = max(b[3] - b[1] for b in boxes) + 2
    top = height - len(lines) * line_height - max(2, height // 24)
    for index, (line, box) in enumerate(zip(lines, boxes)):
        x = (width - (box[2] - box[0])) // 2 - box[0]
        y = top + index * line_height - box[1]
        draw.text((x, y), line, fill=255, font=font, stroke_width=1, stroke_fill=255)
    return np.asarray(image) < 128


def apply_mask(frames: np.ndarray, known: np.ndarray, fill: float) -> np.ndarray:
    """Unknown pixels (``known`` False, ``[T, H, W]`` or ``[H, W]``) set to ``fill``."""
    known = np.broadcast_to(np.asarray(known, dtype=bool), frames.shape[:3])
    return np.where(known[..., None], frames, np.float32(fill)).astype(np.float32)


# --------------------------------------------------------------------- scoring


def region_psnr(reference: np.ndarray, output: np.ndarray, region: np.ndarray) -> float:
    """RGB PSNR over the pixels where ``region`` (bool ``[T, H, W]`` or ``[H, W]``) is True only."""
    region = np.broadcast_to(np.asarray(region, dtype=bool), reference.shape[:3])
    if not region.any():
        raise ValueError("the scoring region is empty")
    diff = reference.astype(np.float64)[region] - output.astype(np.float64)[region]
    return mse_to_psnr(float(np.mean(diff**2)))


def score(reference: np.ndarray, output: np.ndarray, region: np.ndarray | None = None) -> dict[str, float]:
    """PSNR and SSIM of whole frames, plus ``psnr_region`` when a region is given."""
    out = {"psnr": psnr_rgb(reference, output), "ssim": ssim(reference, output)}
    if region is not None:
        out["psnr_region"] = region_psnr(reference, output, region)
    return out


# -------------------------------------------------------------- neural systems


@dataclass
class NeuralRun:
    output: np.ndarray
    """Rendered frames, float32 ``[N, H, W, 3]``."""
    seconds: float
    """Fit time (what the budget limits)."""
    info: dict[str, Any]
    trained: np.ndarray | None = None
    """The model's rendering of the trained frames, where asked for."""


def nvcodec_config(task: str, settings: Settings, iters: int, iters_warm: int):
    from nvcodec import Config

    overrides = {**NVCODEC_BASE, **NVCODEC_TASK.get(task, {}), **settings.nvcodec}
    return Config.preset("fast", **overrides, iters=iters, iters_warm=iters_warm, device=settings.device)


def _group_count(times: Sequence[int], group_size: int) -> int:
    from nvcodec.model.video import group_bounds

    return len(group_bounds(int(times[-1]) + 1, group_size)) - 1


def split_iterations(total: float, groups: int) -> tuple[int, int]:
    """First-group and later-group iterations summing to about ``total``, in the ``fast`` preset's 3 : 2 ratio."""
    warm = total / (groups + 0.5)
    return max(1, round(1.5 * warm)), max(1, round(warm))


def _seconds_per_iteration(task: str, frames, times, mask, settings: Settings) -> tuple[float, float]:
    """Time iterations of the task's first group; returns (seconds per iteration, seconds spent).

    The first few steps are several times slower than the rest (allocation,
    first-touch), so the rate is the slope between the end of a warm-up and the
    end of the calibration, read from the progress callback.
    """
    from nvcodec.fit import fit_groups

    warmup, count = CALIBRATION_WARMUP, settings.calibration_iters
    config = nvcodec_config(task, settings, warmup + count, warmup + count)
    marks: dict[int, float] = {}

    def note(progress) -> None:
        marks[progress.iteration] = progress.elapsed

    started = time.perf_counter()
    next(fit_groups(frames, config, mask=mask, times=times, callback=note, report_every=warmup))
    spent = time.perf_counter() - started
    return (marks[warmup + count] - marks[warmup]) / count, spent


def run_nvcodec(
    task: str,
    frames: np.ndarray,
    times: Sequence[int],
    settings: Settings,
    render_times: Sequence[float],
    *,
    mask: np.ndarray | None = None,
    size: tuple[int, int] | None = None,
    trained_size: tuple[int, int] | None = None,
) -> NeuralRun:
    from nvcodec import fit_video

    info: dict[str, Any] = {}
    if settings.nvcodec_iters is not None:
        iters, iters_warm = settings.nvcodec_iters
    else:
        per_iteration, spent = _seconds_per_iteration(task, frames, times, mask, settings)
        groups = _group_count(times, nvcodec_config(task, settings, 1, 1).fit.group_size)
        iters, iters_warm = split_iterations(settings.budget / per_iteration, groups)
        info.update(calibration_seconds=round(spent, 2), seconds_per_iteration=round(per_iteration, 4))
    config = nvcodec_config(task, settings, iters, iters_warm)
    result = fit_video(frames, config, times=list(times), mask=mask)
    model = result.model
    with torch.no_grad():
        output = to_float32(model.render([float(t) for t in render_times], size))
        trained = to_float32(model.render([float(t) for t in times], trained_size))
    info.update(
        iters=iters,
        iters_warm=iters_warm,
        groups=len(model.groups),
        numbers=model.num_parameters(),
        config=config.to_dict(),
    )
    return NeuralRun(output, result.seconds, info, trained)


def run_frame_model(
    kind: str,
    frames: np.ndarray,
    times: Sequence[int],
    num_frames: int,
    seconds: float,
    settings: Settings,
    render_times: Sequence[float],
    *,
    mask: np.ndarray | None = None,
    numbers: int | None = None,
) -> NeuralRun:
    """Fit NeRV or HNeRV for ``seconds`` of wall clock and render ``render_times``.

    The preset is ``settings.nerv_size``, or the one whose stored-number count is nearest ``numbers``.
    """
    system = frame_model(kind)
    _, height, width, _ = frames.shape
    size = settings.nerv_size or system.matched_size(numbers or 0, height, width, num_frames, times)
    started = time.perf_counter()
    model = system.fit(
        frames,
        size=size,
        seconds=seconds,
        times=list(times),
        mask=mask,
        num_frames=num_frames,
        seed=settings.seed,
        device=settings.device,
    )
    fit_seconds = time.perf_counter() - started
    output = to_float32(model.render_frames([float(t) for t in render_times]))
    trained = to_float32(model.render_frames([float(t) for t in times]))
    stats = model.train_stats
    info = {"size": size, "numbers": model.numbers(), "iterations": stats.iterations, "train_seconds": stats.seconds}
    return NeuralRun(output, fit_seconds, info, trained)


# ----------------------------------------------------------------------- tasks

Log = Callable[[str], None]


def _row(task: str, clip: str, condition: str, system: str, scores: dict[str, float], seconds: float, **extra) -> dict:
    return {
        "task": task,
        "clip": clip,
        "condition": condition,
        "system": system,
        **scores,
        "seconds": round(seconds, 2),
        **extra,
    }


def _timed(function: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    out = function()
    return out, time.perf_counter() - started


def _neural_rows(
    task: str,
    clip: str,
    condition: str,
    settings: Settings,
    log: Log,
    *,
    train: np.ndarray,
    times: Sequence[int],
    num_frames: int,
    render_times: Sequence[float],
    reference: np.ndarray,
    trained_reference: np.ndarray | None,
    mask: np.ndarray | None = None,
    region: np.ndarray | None = None,
) -> list[dict]:
    """nvcodec first (its fit time sets the others' budget), then NeRV and HNeRV."""
    rows = []
    budget: float | None = None
    numbers: int | None = None
    for system in settings.neural:
        log(f"  [{task} {clip} {condition}] fitting {system}" + (f" for {budget:.1f} s" if budget else ""))
        if system == "nvcodec":
            run = run_nvcodec(task, train, times, settings, render_times, mask=mask)
            budget, numbers = run.seconds, run.info["numbers"]
        else:
            seconds = budget if budget is not None else settings.budget
            run = run_frame_model(
                system, train, times, num_frames, seconds, settings, render_times, mask=mask, numbers=numbers
            )
        scores = score(reference, run.output, region)
        extra: dict[str, Any] = {"settings": run.info}
        if trained_reference is not None and run.trained is not None:
            extra["psnr_trained"] = psnr_rgb(trained_reference, run.trained)
        rows.append(_row(task, clip, condition, system, scores, run.seconds, **extra))
        log(f"    {system}: PSNR {scores['psnr']:.2f} dB in {run.seconds:.1f} s")
    return rows


def task_slowmo(clip: str, frames: np.ndarray, settings: Settings, log: Log) -> list[dict]:
    frames = frames[:SLOWMO_FRAMES]
    count = (len(frames) - 1) // SLOWMO_STEP * SLOWMO_STEP + 1
    frames = frames[:count]
    known_times = list(range(0, count, SLOWMO_STEP))
    if len(known_times) < 2:
        raise ValueError(f"slow motion needs at least {SLOWMO_STEP + 1} frames, got {len(frames)}")
    known = frames[known_times]
    targets = [t for t in range(count) if t % SLOWMO_STEP]
    reference = frames[targets]
    condition = f"{len(known_times)} trained, {len(targets)} scored"
    rows = []
    for system, function in (
        ("repeat previous", lambda: classical.repeat_previous(known, known_times, targets)),
        ("linear blend", lambda: classical.linear_blend(known, known_times, targets)),
        ("minterpolate (FFmpeg)", lambda: classical.minterpolate(known, SLOWMO_STEP)[targets]),
    ):
        out, seconds = _timed(function)
        rows.append(_row("slowmo", clip, condition, system, score(reference, out), seconds))
    rows += _neural_rows(
        "slowmo",
        clip,
        condition,
        settings,
        log,
        train=known,
        times=known_times,
        num_frames=count,
        render_times=targets,
        reference=reference,
        trained_reference=known,
    )
    return rows


def task_sr(clip: str, frames: np.ndarray, settings: Settings, log: Log) -> list[dict]:
    frames = frames[:SR_FRAMES]
    count = (len(frames) - 1) // SR_STEP * SR_STEP + 1
    _, height, width, _ = frames.shape
    height, width = height // SR_SCALE * SR_SCALE, width // SR_SCALE * SR_SCALE
    frames = frames[:count, :height, :width]
    trained_times = list(range(0, count, SR_STEP))
    small = classical.box_downscale(frames[trained_times], SR_SCALE)
    all_times = list(range(count))
    between = [t for t in all_times if t % SR_STEP]
    condition = f"{small.shape[2]}x{small.shape[1]} -> {width}x{height}, {len(trained_times)} -> {count} frames"

    def scores(out: np.ndarray) -> dict[str, float]:
        result = score(frames, out)
        result["psnr_trained"] = psnr_rgb(frames[trained_times], out[trained_times])
        result["psnr_between"] = psnr_rgb(frames[between], out[between])
        return result

    rows = []
    started = time.perf_counter()
    upscaled = classical.bicubic_upscale(small, (height, width))
    out = classical.linear_blend(upscaled, trained_times, all_times)
    rows.append(_row("sr", clip, condition, "bicubic + linear blend", scores(out), time.perf_counter() - started))
    if "nvcodec" in settings.neural:
        log(f"  [sr {clip}] fitting nvcodec")
        run = run_nvcodec("sr", small, trained_times, settings, all_times, size=(height, width))
        rows.append(_row("sr", clip, condition, "nvcodec", scores(run.output), run.seconds, settings=run.info))
        log(f"    nvcodec: PSNR {rows[-1]['psnr']:.2f} dB in {run.seconds:.1f} s")
    for system in settings.neural:
        if system != "nvcodec":
            rows.append(
                _row("sr", clip, condition, system, {}, 0.0, note="not applicable: renders only at training size")
            )
    return rows


def task_denoise(clip: str, frames: np.ndarray, settings: Settings, log: Log) -> list[dict]:
    frames = frames[: settings.restore_frames]
    times = list(range(len(frames)))
    rows = []
    for level in SIGMAS_8BIT:
        sigma = level / 255.0
        noisy = add_noise(frames, sigma, seed=settings.seed * 1000 + level)
        condition = f"sigma {level}/255"
        rows.append(_row("denoise", clip, condition, "noisy input", score(frames, noisy), 0.0))
        out, seconds = _timed(lambda noisy=noisy, sigma=sigma: classical.nlm_denoise(noisy, sigma))
        rows.append(_row("denoise", clip, condition, "non-local means", score(frames, out), seconds))
        rows += _neural_rows(
            "denoise",
            clip,
            condition,
            settings,
            log,
            train=noisy,
            times=times,
            num_frames=len(frames),
            render_times=times,
            reference=frames,
            trained_reference=None,
        )
    return rows


def inpaint_conditions(frames: np.ndarray, seed: int) -> list[tuple[str, np.ndarray, float]]:
    """(name, known mask ``[T, H, W]``, fill value of unknown pixels) of each inpainting case."""
    t, h, w, _ = frames.shape
    return [
        (f"random {round(100 * RANDOM_MISSING)}% missing", random_known_mask((t, h, w), RANDOM_MISSING, seed), 0.0),
        ("text overlay", np.broadcast_to(text_known_mask(h, w), (t, h, w)).copy(), 1.0),
    ]


def task_inpaint(clip: str, frames: np.ndarray, settings: Settings, log: Log) -> list[dict]:
    frames = frames[: settings.restore_frames]
    times = list(range(len(frames)))
    rows = []
    for name, known, fill in inpaint_conditions(frames, settings.seed):
        degraded = apply_mask(frames, known, fill)
        unknown = ~known
        condition = f"{name} ({100 * unknown.mean():.1f}% of pixels)"
        rows.append(_row("inpaint", clip, condition, "degraded input", score(frames, degraded, unknown), 0.0))
        out, seconds = _timed(lambda degraded=degraded, known=known: classical.biharmonic_inpaint(degraded, known))
        rows.append(_row("inpaint", clip, condition, "biharmonic", score(frames, out, unknown), seconds))
        rows += _neural_rows(
            "inpaint",
            clip,
            condition,
            settings,
            log,
            train=degraded,
            times=times,
            num_frames=len(frames),
            render_times=times,
            reference=frames,
            trained_reference=None,
            mask=known,
            region=unknown,
        )
    return rows


TASK_FUNCTIONS: dict[str, Callable[[str, np.ndarray, Settings, Log], list[dict]]] = {
    "slowmo": task_slowmo,
    "sr": task_sr,
    "denoise": task_denoise,
    "inpaint": task_inpaint,
}


def run_task(task: str, clip: str, frames: np.ndarray, settings: Settings, log: Log = print) -> list[dict]:
    """Rows of one task on one clip (float32 ``[T, H, W, 3]`` frames in [0, 1])."""
    if task not in TASK_FUNCTIONS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    return TASK_FUNCTIONS[task](clip, np.asarray(frames, dtype=np.float32), settings, log)


def frames_needed(task: str, settings: Settings) -> int:
    return {"slowmo": SLOWMO_FRAMES, "sr": SR_FRAMES}.get(task, settings.restore_frames)


def neural_fits(task: str, settings: Settings) -> int:
    """Neural fits a task runs per clip (for the run-time estimate)."""
    others = len([s for s in settings.neural if s != "nvcodec"])
    has_nv = "nvcodec" in settings.neural
    per_condition = {"slowmo": 1, "sr": 0, "denoise": 2, "inpaint": 2}[task]
    if task == "sr":
        return int(has_nv)
    return per_condition * (int(has_nv) + others)


def estimate_seconds(tasks: Sequence[str], clips: Sequence[str], settings: Settings) -> float:
    """Rough wall clock: the neural fits at their budget plus ~25 % for calibration, rendering and baselines."""
    fits = sum(neural_fits(task, settings) for task in tasks) * len(clips)
    return 1.25 * fits * settings.budget + 5.0 * len(tasks) * len(clips)


# --------------------------------------------------------------------- reports

COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    # (key, header, format)
    "slowmo": [("psnr", "PSNR in-between", ".2f"), ("ssim", "SSIM", ".4f"), ("psnr_trained", "PSNR trained", ".2f")],
    "sr": [
        ("psnr", "PSNR all", ".2f"),
        ("ssim", "SSIM all", ".4f"),
        ("psnr_trained", "PSNR trained", ".2f"),
        ("psnr_between", "PSNR in-between", ".2f"),
    ],
    "denoise": [("psnr", "PSNR", ".2f"), ("ssim", "SSIM", ".4f")],
    "inpaint": [
        ("psnr_region", "PSNR unknown px", ".2f"),
        ("psnr", "PSNR frame", ".2f"),
        ("ssim", "SSIM frame", ".4f"),
    ],
}


def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return format(value, fmt)


def markdown_table(task: str, rows: Sequence[dict]) -> str:
    columns = COLUMNS[task]
    header = ["clip", "condition", "system", *(c[1] for c in columns), "seconds", "notes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        if row["task"] != task:
            continue
        settings = row.get("settings") or {}
        notes = row.get("note", "")
        if row["system"] == "nvcodec" and settings:
            groups = settings["groups"]
            steps = (
                f"{settings['iters']} it."
                if groups == 1
                else f"{settings['iters']} + {groups - 1} x {settings['iters_warm']} it."
            )
            notes = f"{steps}, {groups} group{'s' if groups > 1 else ''}, {settings['numbers']:,} numbers"
        elif row["system"] in ("nerv", "hnerv") and settings:
            notes = f"size {settings['size']}, {settings['iterations']} it., {settings['numbers']:,} numbers"
        cells = [row["clip"], row["condition"], row["system"], *(_cell(row.get(k), f) for k, _, f in columns)]
        seconds = "—" if row.get("note") else f"{row['seconds']:.1f}"
        lines.append("| " + " | ".join([*cells, seconds, notes]) + " |")
    return "\n".join(lines)


def write_results(rows: list[dict], meta: dict[str, Any], json_path: Path, md_path: Path, tasks: Sequence[str]) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(json_clean({**meta, "rows": rows}), indent=1) + "\n")
    parts = [
        "# ActINR tasks",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine'].get('cpu')}, {meta['machine'].get('cores_available')} cores, "
        f"torch {meta['machine'].get('torch')} ({meta['settings']['threads']} thread(s)); created {meta['created']}.  ",
        f"Budget per neural fit: {meta['settings']['budget']} s (nvcodec's iterations fill it; NeRV/HNeRV get "
        "nvcodec's actual fit time). Seconds are fit/processing wall clock on a shared machine.",
        "",
    ]
    for task in tasks:
        parts += [f"## {TASK_TITLES[task]}", "", markdown_table(task, rows), ""]
    parts += [
        "Columns: PSNR is RGB PSNR from the mean squared error over all scored pixels, SSIM the mean over "
        "frames of scikit-image's Gaussian SSIM (`benchmarks/rd_metrics.py`). *PSNR trained*: a neural "
        "model's own rendering of the frames it was fitted to (slow motion), or every system's full-size "
        "output on the frames whose shrunk version it saw (super-resolution). *PSNR unknown px*: only the "
        "pixels the systems were not given. Notes give nvcodec's iterations (set by timing its first steps "
        "to fill the budget) and NeRV/HNeRV's preset (nearest nvcodec's number count) and iterations.",
        "",
    ]
    md_path.write_text("\n".join(parts))


def report(json_path: Path) -> None:
    """Rewrite the markdown beside a result file from its rows, and print the tables."""
    data = json.loads(json_path.read_text())
    rows = data["rows"]
    tasks = [task for task in TASKS if any(row["task"] == task for row in rows)]
    write_results(rows, {k: v for k, v in data.items() if k != "rows"}, json_path, json_path.with_suffix(".md"), tasks)
    for task in tasks:
        print(f"\n{TASK_TITLES[task]}\n")
        print(markdown_table(task, rows))


# ------------------------------------------------------------------------- CLI


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    from benchmarks.clips import CLIPS

    parser = argparse.ArgumentParser(prog="python -m benchmarks.tasks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="carphone only, 20 s fits, 11 frames for denoise/inpaint")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--clips", nargs="+", choices=CLIPS, default=None)
    parser.add_argument("--budget", type=float, default=None, help="seconds per neural fit (quick 20, full 120)")
    parser.add_argument(
        "--restore-frames", type=int, default=None, help="frames for denoise/inpaint (quick 11, full 31)"
    )
    parser.add_argument("--neural", nargs="*", choices=NEURAL, default=list(NEURAL), help="neural systems to run")
    parser.add_argument("--nerv-size", choices=("xs", "s", "m", "l"), default=None, help="default: matched to nvcodec")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core box)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=None, help="JSON path (the markdown goes beside it)")
    parser.add_argument("--report", type=Path, default=None, help="only rewrite the markdown of this result JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    from benchmarks.clips import CLIPS, clip_info, load_clip
    from benchmarks.common import RESULTS, command, machine

    args = _parse(argv)
    if args.report is not None:
        report(args.report)
        return
    torch.set_num_threads(args.threads)
    mode = QUICK if args.quick else FULL
    clips = args.clips or list(QUICK_CLIPS if args.quick else CLIPS)
    settings = Settings(
        budget=args.budget if args.budget is not None else mode["budget"],
        restore_frames=args.restore_frames if args.restore_frames is not None else mode["restore_frames"],
        neural=tuple(args.neural),
        device=args.device,
        seed=args.seed,
        nerv_size=args.nerv_size,
    )
    json_path = args.output or RESULTS / ("tasks_quick.json" if args.quick else "tasks.json")
    md_path = json_path.with_suffix(".md")
    estimate = estimate_seconds(args.tasks, clips, settings)
    print(
        f"tasks {', '.join(args.tasks)} on {', '.join(clips)}; {settings.budget:g} s per neural fit; "
        f"estimated run time {estimate / 60:.0f} min",
        flush=True,
    )
    started = time.perf_counter()
    rows: list[dict] = []
    infos = {}
    for clip in clips:
        length = max(frames_needed(task, settings) for task in args.tasks)
        frames, _ = load_clip(clip, length)
        infos[clip] = clip_info(clip, length)
        for task in args.tasks:
            print(f"{task} on {clip}", flush=True)
            rows += run_task(task, clip, frames, settings, log=lambda s: print(s, flush=True))
    meta = {
        "schema": 1,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": command(),
        "machine": machine(),
        "settings": {
            **asdict(replace(settings)),
            "threads": args.threads,
            "nvcodec_base": NVCODEC_BASE,
            "nvcodec_task": NVCODEC_TASK,
            "sigmas_8bit": SIGMAS_8BIT,
            "random_missing": RANDOM_MISSING,
            "text_lines": TEXT_LINES,
            "minterpolate": classical.MINTERPOLATE_OPTIONS,
        },
        "clips": infos,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    write_results(rows, meta, json_path, md_path, args.tasks)
    for task in args.tasks:
        print(f"\n{TASK_TITLES[task]}\n")
        print(markdown_table(task, rows))
    print(f"\ntotal {meta['total_seconds'] / 60:.1f} min; wrote {json_path} and {md_path}")


if __name__ == "__main__":
    main(sys.argv[1:])
