"""Where a training step's time goes: one ``medium`` group of carphone under the torch profiler.

    python -m benchmarks.profile_fit                     # eager and compiled, 60 profiled steps each
    python -m benchmarks.profile_fit --modes eager --steps 30
    python -m benchmarks.profile_fit --quality 25 --output benchmarks/results/profile_rate_phase.json

The fit labels the parts of a step (``nvcodec.fit.phase``): drawing pixels
(``sample``), the loss (``objective``: bias INR, frame INR, the weighted MSE
and the bias-smoothness penalty; one graph when compiled), the backward pass
and Adam. For each mode the script reports those
parts in milliseconds per step, and, in eager mode, the operators with the
most self time, grouped so the rows read as the issue's candidates (the
batched matmuls, the activation's transcendentals, the optimizer...).

With ``--quality Q`` the profiled steps are those of the rate-aware phase at
that quality (:class:`~nvcodec.quant.rdtrain.RateTerm`), its three stages in
their shares; ``stand-ins`` is then the eager draw of the quantized stand-ins
and the rate, before the compiled loss.

Warm-up steps (compilation included) run before the profiled ones.
Writes ``benchmarks/results/profile_fit.json`` and ``profile_fit.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks.clips import load_clip
from benchmarks.common import RESULTS, command, machine
from benchmarks.results_io import provenance_line, with_provenance
from nvcodec.config import Config, QuantConfig
from nvcodec.fit import FitData, VideoFitter, fit_group
from nvcodec.quant.rdtrain import RateTerm, lambda_for_quality

PHASES = ("stand-ins", "sample", "objective", "backward", "optimizer")

OPERATOR_FAMILIES = {
    "matmul": ("bmm", "mm", "addmm", "matmul", "linear", "baddbmm"),
    "activation (cos, exp, sin, mul)": ("cos", "sin", "exp", "clamp", "square", "pow", "mul", "neg"),
    "gather / index": ("gather", "index", "index_select", "take"),
    "random": ("uniform_", "rand", "normal_"),
    "optimizer (Adam)": ("_foreach", "lerp", "addcmul", "addcdiv", "sqrt", "adam"),
}


def family(name: str) -> str:
    bare = name.removeprefix("aten::").removeprefix("_").lower()
    for label, prefixes in OPERATOR_FAMILIES.items():
        if any(bare == p or bare.startswith(p) for p in prefixes):
            return label
    return "other"


def profile_mode(
    frames: torch.Tensor, mode: str, warmup: int, steps: int, overrides: dict, quality: float | None = None
) -> dict:
    config = Config.preset("medium", **{"compile": mode == "compiled", "device": "cpu", **overrides})
    fitter = VideoFitter(frames[:11], config)
    group = fitter.cold_start(0)
    picked_frames = fitter.frames
    assert picked_frames is not None
    taus = group.local_time(torch.arange(11, dtype=torch.float32))
    generator = torch.Generator().manual_seed(0)
    data = FitData(picked_frames, taus)
    rate = None
    if quality is not None:
        fit_group(group, data, warmup, dataclasses.replace(config, fit=dataclasses.replace(config.fit, compile=False)),
                  generator=generator)  # fmt: skip  # fitted a little, so the rate term starts from real weights
        rate = RateTerm(group, QuantConfig(), None, lambda_for_quality(quality), generator)
    started = time.perf_counter()
    fit_group(group, data, warmup, config, generator=generator, rate=rate)
    warmup_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fit_group(group, data, steps, config, generator=generator, rate=rate)
    plain_ms = (time.perf_counter() - started) * 1000 / steps
    started = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fit_group(group, data, steps, config, generator=generator, rate=rate)
    wall_ms = (time.perf_counter() - started) * 1000 / steps
    events = prof.key_averages()
    phases = {p: 0.0 for p in PHASES}
    for event in events:
        if event.key.startswith("fit."):
            phases[event.key[4:]] = event.cpu_time_total / 1000 / steps
    families: dict[str, float] = defaultdict(float)
    operators = []
    for event in events:
        if event.key.startswith("fit.") or event.key.startswith("Torch-Compiled") or event.self_cpu_time_total == 0:
            continue
        per_step = event.self_cpu_time_total / 1000 / steps
        families[family(event.key)] += per_step
        operators.append({"operator": event.key, "ms_per_step": per_step, "calls_per_step": event.count / steps})
    operators.sort(key=lambda row: -row["ms_per_step"])
    row = {
        "mode": mode,
        "wall_ms_per_step": plain_ms,
        "wall_ms_per_step_profiled": wall_ms,
        "warmup_steps": warmup,
        "warmup_seconds": warmup_seconds,
        "phases_ms_per_step": phases,
        "families_ms_per_step": dict(sorted(families.items(), key=lambda kv: -kv[1])),
        "top_operators": operators[:20],
    }
    print(f"{mode}: {plain_ms:.2f} ms/step, {wall_ms:.1f} under the profiler; "
          + ", ".join(f"{k} {v:.2f}" for k, v in phases.items()), flush=True)  # fmt: skip
    return row


def markdown(rows: list[dict], header: dict) -> str:
    lines = [
        "# Where a training step's time goes",
        "",
        provenance_line(header),
        "",
        f"`{header['command']}` on {header['machine']['cpu']}, {header['machine']['torch_threads']} torch threads, "
        f"torch {header['machine']['torch']}. One `medium` group (carphone frames 0-10, 176x144, 4 patches, overrides {header['overrides']}, "
        f"{header['batch_pixels']} pixels per step"
        + (
            f"; steps of the rate-aware phase at quality {header['quality']:g}"
            if header.get("quality") is not None
            else ""
        )
        + "); milliseconds per step: the parts from the profiler "
        "(which adds its own overhead, mostly to eager mode's many small operators), the whole step also without it.",
        "",
        "| part of the step | " + " | ".join(r["mode"] for r in rows) + " |",
        "|---|" + "---|" * len(rows),
    ]
    for name in PHASES:
        lines.append(f"| {name} | " + " | ".join(f"{r['phases_ms_per_step'].get(name, 0.0):.2f}" for r in rows) + " |")
    profiled = " | ".join(f"{r['wall_ms_per_step_profiled']:.2f}" for r in rows)
    plain = " | ".join(f"**{r['wall_ms_per_step']:.2f}**" for r in rows)
    lines.append(f"| whole step under the profiler | {profiled} |")
    lines.append(f"| **whole step, no profiler** | {plain} |")
    for r in rows:
        lines += ["", f"## Operators by self time, {r['mode']}", "", "| family | ms/step |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in r["families_ms_per_step"].items()]
        lines += ["", "| operator | ms/step | calls/step |", "|---|---|---|"]
        lines += [
            f"| `{o['operator']}` | {o['ms_per_step']:.2f} | {o['calls_per_step']:.0f} |"
            for o in r["top_operators"][:12]
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", nargs="+", choices=("eager", "compiled"), default=["eager", "compiled"])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--overrides", type=json.loads, default={}, help="Config.preset overrides (JSON)")
    parser.add_argument("--quality", type=float, default=None, help="profile the rate-aware phase at this quality")
    parser.add_argument("--output", type=Path, default=RESULTS / "profile_fit.json")
    args = parser.parse_args(argv)
    frames = torch.from_numpy(load_clip("carphone", 11)[0])
    rows = [profile_mode(frames, mode, args.warmup, args.steps, args.overrides, args.quality) for mode in args.modes]
    header = {"command": command(), "machine": machine(), "overrides": args.overrides, "quality": args.quality,
              "batch_pixels": Config.preset("medium", **args.overrides).fit.batch_pixels}  # fmt: skip
    header = with_provenance(header)
    args.output.write_text(json.dumps({**header, "rows": rows}, indent=2))
    args.output.with_suffix(".md").write_text(markdown(rows, header))


if __name__ == "__main__":
    main()
