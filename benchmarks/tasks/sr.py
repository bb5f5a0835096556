"""4x spatial + 2x temporal super-resolution: train on shrunk even frames, score every frame at full size."""

from __future__ import annotations

import time

import numpy as np

from benchmarks import task_baselines as classical
from benchmarks.rd_metrics import psnr_rgb
from benchmarks.tasks.neural import run_nvcodec
from benchmarks.tasks.rows import Log, row
from benchmarks.tasks.scoring import score
from benchmarks.tasks.settings import Settings

SR_SCALE = 4
SR_STEP = 2
SR_FRAMES = 31


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
    rows.append(row("sr", clip, condition, "bicubic + linear blend", scores(out), time.perf_counter() - started))
    if "nvcodec" in settings.neural:
        log(f"  [sr {clip}] fitting nvcodec")
        run = run_nvcodec("sr", small, trained_times, settings, all_times, size=(height, width))
        rows.append(row("sr", clip, condition, "nvcodec", scores(run.output), run.seconds, settings=run.info))
        log(f"    nvcodec: PSNR {rows[-1]['psnr']:.2f} dB in {run.seconds:.1f} s")
    for system in settings.neural:
        if system != "nvcodec":
            rows.append(
                row("sr", clip, condition, system, {}, 0.0, note="not applicable: renders only at training size")
            )
    return rows
