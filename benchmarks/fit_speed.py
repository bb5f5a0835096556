"""Time to reach a fixed quality: the fit before and after a speed change, on carphone and bikes.

    python -m benchmarks.fit_speed                                    # both clips, both recipes
    python -m benchmarks.fit_speed --clips carphone --recipes current

A *recipe* is a way of fitting (learning-rate schedule, batch, stopping rule,
compilation); a *budget* scales its iteration counts. Each (clip, recipe,
budget) point fits the clip's first 31 frames (3 groups, the `medium` model:
same size for every recipe) in a fresh process, so every point pays its own
compilation, as a user's encode does (with torch's on-disk compile cache
warmed by the first point). It reports the wall time of the fit and the
full-frame PSNR of the unquantized model decoded to 8 bits.

The time to reach a level (30.5 dB: the `fast` preset's quality before this
work, 32.5 dB: `medium`'s) is read off each recipe's curve of time against
PSNR, interpolated between the two budgets that bracket the level; a level
no budget reached is reported as missing, never extrapolated.

``before`` holds the fit settings of the release before the speed work,
spelled out here so that it keeps measuring the same thing when defaults move.

Writes ``benchmarks/results/fit_speed.json`` and a PNG of PSNR against time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, command, json_clean, machine

LEVELS = (30.5, 32.5)
FRAMES = 31

RECIPES: dict[str, dict[str, Any]] = {
    "before": {
        "overrides": {
            "lr": 1e-2,
            "lr_final_factor": 0.1,
            "batch_pixels": 32768,
            "compile": True,
            "iters": 4000,
            "iters_warm": 3000,
        },
        "budgets": (0.3, 0.5, 0.75, 1.0),
    },
    "current": {"overrides": {}, "budgets": (0.3, 0.5, 0.75, 1.0)},
}
"""Recipes by name: ``overrides`` of the ``medium`` preset; ``budgets`` multiply its iteration counts."""

POINT_SCRIPT = """
import json, sys
import torch
from benchmarks.clips import load_clip
from nvcodec.config import Config
from nvcodec.fit import fit_video
from nvcodec.metrics import psnr, quantize_8bit

clip, overrides, budget = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
frames = load_clip(clip, int(sys.argv[4]))[0]
base = Config.preset("medium", **overrides)
config = Config.preset("medium", **{**overrides, "iters": max(1, round(base.fit.iters * budget)),
                                    "iters_warm": max(1, round(base.fit.iters_warm * budget))})
result = fit_video(frames, config)
with torch.no_grad():
    decoded = quantize_8bit(result.model.render(list(range(frames.shape[0]))))
print(json.dumps({"seconds": result.seconds, "group_seconds": result.group_seconds, "psnr": psnr(decoded, frames),
                  "iters": config.fit.iters, "iters_warm": config.fit.iters_warm,
                  "parameters": result.model.num_parameters()}))
"""


def fit_point(clip: str, overrides: dict[str, Any], budget: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", POINT_SCRIPT, clip, json.dumps(overrides), str(budget), str(FRAMES)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"a fit failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_to_level(points: list[dict[str, Any]], level: float) -> float | None:
    """Seconds to reach ``level`` dB, interpolated between the bracketing budgets; None if never reached."""
    ordered = sorted(points, key=lambda p: p["seconds"])
    if ordered and ordered[0]["psnr"] >= level:
        return ordered[0]["seconds"]  # an upper bound: the cheapest budget already gets there
    for low, high in itertools.pairwise(ordered):
        if low["psnr"] < level <= high["psnr"]:
            share = (level - low["psnr"]) / (high["psnr"] - low["psnr"])
            return low["seconds"] + share * (high["seconds"] - low["seconds"])
    return None


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clips = list(results["clips"])
    figure, axes = plt.subplots(1, len(clips), figsize=(5.5 * len(clips), 4), squeeze=False)
    for axis, clip in zip(axes[0], clips):
        for recipe, row in results["clips"][clip].items():
            points = sorted(row["points"], key=lambda p: p["seconds"])
            axis.plot([p["seconds"] for p in points], [p["psnr"] for p in points], "o-", label=recipe)
        for level in LEVELS:
            axis.axhline(level, color="grey", lw=0.5, ls="--")
        axis.set(title=f"{clip}, {FRAMES} frames", xlabel="fit wall time (s)", ylabel="PSNR (dB)")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes"])
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES), default=list(RECIPES))
    parser.add_argument("--output", type=Path, default=RESULTS / "fit_speed.json")
    args = parser.parse_args(argv)
    results: dict[str, Any] = json.loads(args.output.read_text()) if args.output.exists() else {}
    results.setdefault("clips", {})
    fit_point("carphone", {"iters": 20, "iters_warm": 10}, 1.0)  # warms torch's on-disk compile cache
    for clip in args.clips:
        for recipe in args.recipes:
            spec = RECIPES[recipe]
            points = []
            for budget in spec["budgets"]:
                point = {"budget": budget, **fit_point(clip, spec["overrides"], budget)}
                points.append(point)
                print(f"{clip} {recipe} x{budget}: {point['psnr']:.2f} dB in {point['seconds']:.1f} s", flush=True)
            row = {"overrides": spec["overrides"], "points": points}
            row["seconds_to"] = {str(level): time_to_level(points, level) for level in LEVELS}
            results["clips"].setdefault(clip, {})[recipe] = row
            print(
                f"{clip} {recipe}: "
                + ", ".join(f"{k} dB in {v and round(v, 1)} s" for k, v in row["seconds_to"].items())
            )
    results.update(command=command(), machine=machine(), frames=FRAMES, levels=LEVELS)
    args.output.write_text(json.dumps(json_clean(results), indent=2))
    plot(results, args.output.with_suffix(".png"))


if __name__ == "__main__":
    main()
