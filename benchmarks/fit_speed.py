"""Time to reach a fixed quality: the fit before and after the speed work, on carphone and bikes.

    python -m benchmarks.fit_speed                                    # both clips, both recipes (~20 min)
    python -m benchmarks.fit_speed --clips carphone --recipes current

A *recipe* is a way of fitting (learning-rate schedule, batch, compilation);
each is run at several iteration budgets (first group, warm groups). Every
point fits the clip's first 31 frames (3 groups, the default model: the same
size for every recipe) in a fresh process, so every point pays its own
compilation, as a user's encode does (with torch's on-disk compile cache
warmed by a first small fit). A point reports the wall time of the fit and the
full-frame PSNR of the unquantized model, decoded to 8 bits.

The quality levels are what the ``before`` recipe reaches on that clip at the
budgets of the old ``fast`` and ``medium`` presets (on carphone 30.5 and
32.5 dB). The time another recipe takes to reach a level is read off its
curve of PSNR against time, interpolated between the two budgets that bracket
the level; a level no budget reached is reported as missing, never
extrapolated.

``before`` holds the fit settings of the release before the speed work,
spelled out here so that it keeps measuring the same thing when defaults move;
``current`` is the code's defaults (the presets are points on its curve).

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
from benchmarks.results_io import with_provenance

FRAMES = 31

BEFORE = {
    "lr": 1e-2,
    "lr_final_factor": 0.1,
    "lr_schedule": "exponential",
    "lr_warmup": 0.0,
    "batch_pixels": 32768,
    "compile": True,
}
RECIPES: dict[str, dict[str, Any]] = {
    "before": {"overrides": BEFORE, "budgets": ((1200, 800), (2000, 1500), (3000, 2200), (4000, 3000))},
    "current": {
        "overrides": {"compile": True},
        "budgets": ((2000, 800), (3000, 1000), (6000, 2000), (10000, 3000), (25000, 8000)),
    },
}
"""Recipes by name: ``overrides`` of the default configuration; ``budgets``: (iters, iters_warm) points."""
LEVEL_BUDGETS = {"fast": (1200, 800), "medium": (4000, 3000)}
"""The old presets' budgets: ``before`` at these sets the quality levels of a clip."""

POINT_SCRIPT = """
import json, sys
import torch
from benchmarks.clips import load_clip
from nvcodec.config import Config
from nvcodec.fit import fit_video
from nvcodec.metrics import psnr, quantize_8bit

clip, overrides, iters, iters_warm = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
frames = load_clip(clip, int(sys.argv[5]))[0]
config = Config.preset("medium", **{**overrides, "iters": iters, "iters_warm": iters_warm})
result = fit_video(frames, config)
with torch.no_grad():
    decoded = quantize_8bit(result.model.render(list(range(frames.shape[0]))))
print(json.dumps({"seconds": result.seconds, "group_seconds": result.group_seconds, "psnr": psnr(decoded, frames),
                  "iters": config.fit.iters, "iters_warm": config.fit.iters_warm,
                  "parameters": result.model.num_parameters()}))
"""


def fit_point(clip: str, overrides: dict[str, Any], iters: int, iters_warm: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", POINT_SCRIPT, clip, json.dumps(overrides), str(iters), str(iters_warm), str(FRAMES)],
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
        for level in results.get("levels", {}).get(clip, {}).values():
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
    fit_point("carphone", {"compile": True}, 20, 10)  # warms torch's on-disk compile cache
    for clip in args.clips:
        rows = results["clips"].setdefault(clip, {})
        for recipe in args.recipes:
            spec = RECIPES[recipe]
            points = []
            for iters, iters_warm in spec["budgets"]:
                point = {
                    "iters": iters,
                    "iters_warm": iters_warm,
                    **fit_point(clip, spec["overrides"], iters, iters_warm),
                }
                points.append(point)
                print(
                    f"{clip} {recipe} {iters}/{iters_warm}: {point['psnr']:.2f} dB in {point['seconds']:.1f} s",
                    flush=True,
                )
            rows[recipe] = {"overrides": spec["overrides"], "points": points}
        before = {(p["iters"], p["iters_warm"]): p for p in rows.get("before", {}).get("points", [])}
        levels = {name: before[budget]["psnr"] for name, budget in LEVEL_BUDGETS.items() if budget in before}
        for recipe, row in rows.items():
            row["seconds_to"] = {name: time_to_level(row["points"], level) for name, level in levels.items()}
            print(f"{clip} {recipe}: " + ", ".join(
                f"{name} quality ({levels[name]:.2f} dB) in {seconds and round(seconds, 1)} s"
                for name, seconds in row["seconds_to"].items()), flush=True)  # fmt: skip
        results.setdefault("levels", {})[clip] = levels
    results.update(command=command(), machine=machine(), frames=FRAMES, level_budgets=LEVEL_BUDGETS)
    args.output.write_text(json.dumps(json_clean(with_provenance(results)), indent=2))
    plot(results, args.output.with_suffix(".png"))


if __name__ == "__main__":
    main()
