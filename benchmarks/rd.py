"""Rate–distortion sweep of every system on every clip, from real file sizes.

Systems:
- ``nvcodec``: one fit per model width, each coded at several bit depths
  (the same fit coded twice costs seconds, a new width costs a fit);
- ``nerv``, ``hnerv``: the baselines in :mod:`benchmarks.baselines`, each point
  trained for the same wall-clock time that nvcodec's fit took on that clip,
  and coded with nvcodec's quantizer and ANS;
- classical codecs through PyAV (:mod:`benchmarks.baselines.classical`), swept over CRF.

Every point records bpp of the whole file, RGB PSNR, Y-PSNR, MS-SSIM, encode
seconds and decode frames/s; each (clip, system) is written to
``benchmarks/results/<clip>/<system>.json`` (:mod:`benchmarks.results_io`).
Then BD-rate and BD-PSNR of every system against x265 medium and against
HNeRV go to ``benchmarks/results/bd.json`` and ``bd.md``, and the curves to
``<clip>/rd.png``.

    python -m benchmarks.rd --quick              # 11 frames, 150-iteration fits: a smoke test, ~10 min on 2 CPU cores
    python -m benchmarks.rd --plan standard      # 31 frames, the fast preset: ~20 minutes per clip
    python -m benchmarks.rd                      # 31 frames, the medium preset: several hours on 2 CPU cores
    python -m benchmarks.rd --quick --report-only   # redo BD tables and plots from stored results
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.baselines.base import Coded
from benchmarks.baselines.classical import available_systems, codec_version, default_crfs, encode_classical
from benchmarks.baselines.rd_point import run_rd_point
from benchmarks.clips import CLIPS, clip_info, load_clip
from benchmarks.common import RESULTS
from benchmarks.plot import plot_clip
from benchmarks.rd_metrics import bd_metric, bd_rate
from benchmarks.results_io import point_from_coded, read_results, write_result
from nvcodec import Config, QuantConfig, VideoReader, __version__
from nvcodec.encoder import write_groups
from nvcodec.fit import fit_groups
from nvcodec.header import build_header

NEURAL = ("nvcodec", "nerv", "hnerv")
ANCHORS = ("x265-medium", "hnerv")

# Rate points. nvcodec: model widths, each coded at these depths; the baselines: their size presets.
FULL = {
    "frames": 31,
    "nvcodec_widths": (16, 24, 36, 48),
    "nvcodec_bits": (8, 6),
    "nvcodec_preset": "medium",
    "baseline_sizes": ("xs", "s", "m", "l"),
    "classical_points": None,  # each codec's default CRF sweep
}
STANDARD = {
    "frames": 31,
    "nvcodec_widths": (16, 24, 36, 48),
    "nvcodec_bits": (8, 6),
    "nvcodec_preset": "fast",
    "baseline_sizes": ("xs", "s", "m", "l"),
    "classical_points": None,
}
QUICK = {
    "frames": 11,
    "nvcodec_widths": (20, 36),
    "nvcodec_bits": (8, 6),
    "nvcodec_preset": "fast",
    "nvcodec_iters": 150,
    "baseline_sizes": ("xs", "s", "m", "l"),  # BD needs four points per curve
    "classical_points": 4,
    "classical_systems": ("x264-medium", "x265-medium", "svtav1", "vp9"),
}


def _decode_actv(path: Path, count: int) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    with VideoReader(path) as reader:
        frames = np.stack([reader.frame(t) for t in range(count)])
    return frames, count / (time.perf_counter() - started)


def nvcodec_points(frames: np.ndarray, fps: float, plan: dict) -> list[Coded]:
    """Fit once per width, then code the fit at each bit depth and decode it through ``VideoReader``."""
    count, height, width = frames.shape[:3]
    out = []
    for hidden in plan["nvcodec_widths"]:
        overrides: dict = {"hidden": hidden, "device": "auto"}
        if "nvcodec_iters" in plan:
            overrides.update(iters=plan["nvcodec_iters"], iters_warm=plan["nvcodec_iters"] * 2 // 3, compile=False)
        config = Config.preset(plan["nvcodec_preset"], **overrides)
        started = time.perf_counter()
        fits = list(fit_groups(frames, config))
        fit_seconds = time.perf_counter() - started
        for bits in plan["nvcodec_bits"]:
            quant = QuantConfig(bits_frame=bits, bits_latent=bits, bits_bias=bits)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "clip.actv"
                began = time.perf_counter()
                header = build_header(count, height, width, fps, config, quant)
                write_groups([copy.deepcopy(f) for f in fits], path, header, config, quant)
                code_seconds = time.perf_counter() - began
                decoded, decode_fps = _decode_actv(path, count)
                size = path.stat().st_size
            settings = {
                "preset": plan["nvcodec_preset"],
                "hidden": hidden,
                "bits": bits,
                "iters": config.fit.iters,
                "iters_warm": config.fit.iters_warm,
                "group_size": config.fit.group_size,
                "patch": config.model.patch,
            }
            extra = {"fit_seconds": fit_seconds}
            out.append(Coded("nvcodec", settings, size, decoded, fit_seconds + code_seconds, decode_fps, extra))
            print(
                f"  nvcodec hidden {hidden} {bits} bits: {8 * size / frames[..., 0].size:.3f} bpp, fit {fit_seconds:.0f} s"
            )
    return out


def baseline_points(system: str, frames: np.ndarray, fps: float, plan: dict, seconds: float) -> list[Coded]:
    out = []
    for size in plan["baseline_sizes"]:
        device = "cuda" if torch.cuda.is_available() else "cpu"
        coded = run_rd_point(
            frames, fps, {"system": system, "size": size, "seconds": seconds, "bits": 8, "device": device}
        )
        print(f"  {system} {size}: {8 * coded.file_bytes / frames[..., 0].size:.3f} bpp in {seconds:.0f} s")
        out.append(coded)
    return out


def classical_points(system: str, frames: np.ndarray, fps: float, plan: dict) -> list[Coded]:
    crfs = list(default_crfs(system))
    if plan["classical_points"]:
        picks = np.linspace(0, len(crfs) - 1, plan["classical_points"]).round().astype(int)
        crfs = [crfs[i] for i in sorted(set(picks))]
    return [encode_classical(frames, system, crf, fps) for crf in crfs]


def bd_tables(clips: list[str], results: Path) -> dict:
    """BD-rate (on RGB PSNR) and BD-PSNR of every system against each anchor, per clip."""
    table: dict = {}
    for clip in clips:
        systems = read_results(clip, results)
        for anchor in ANCHORS:
            if anchor not in systems:
                continue
            base = systems[anchor].points
            for name, result in systems.items():
                if name == anchor:
                    continue
                test = result.points
                args = ([p["bpp"] for p in base], [p["psnr_rgb"] for p in base])
                targs = ([p["bpp"] for p in test], [p["psnr_rgb"] for p in test])
                # Pareto fronts: under one time budget a bigger NeRV may train to a worse PSNR than a
                # smaller one, and a 6-bit point may sit under an 8-bit one; dominated points drop out.
                rate = bd_rate(*args, *targs, pareto=True)
                psnr = bd_metric(*args, *targs, pareto=True)
                table.setdefault(clip, {}).setdefault(anchor, {})[name] = {
                    "bd_rate_percent": rate.value,
                    "bd_rate_note": rate.reason,
                    "bd_psnr_db": psnr.value,
                    "bd_psnr_note": psnr.reason,
                }
    return table


def _markdown(table: dict) -> str:
    lines = []
    for clip, anchors in table.items():
        for anchor, rows in anchors.items():
            lines += [f"### {clip}: against {anchor}", "", "| system | BD-rate | BD-PSNR |", "|---|---|---|"]
            for name, row in sorted(rows.items()):
                rate = "n/a" if row["bd_rate_percent"] != row["bd_rate_percent"] else f"{row['bd_rate_percent']:+.1f}%"
                psnr = "n/a" if row["bd_psnr_db"] != row["bd_psnr_db"] else f"{row['bd_psnr_db']:+.2f} dB"
                note = row["bd_rate_note"] or row["bd_psnr_note"]
                lines.append(f"| {name} | {rate}{f' ({note})' if note else ''} | {psnr} |")
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Rate-distortion sweep of nvcodec, NeRV, HNeRV and classical codecs.")
    parser.add_argument(
        "--plan",
        choices=("quick", "standard", "full"),
        default="full",
        help="quick: 11 frames, 150-iteration fits, four classical codecs (a smoke test, about 10 minutes); "
        "standard: 31 frames, fast preset (about 20 minutes per clip); full: medium preset (hours)",
    )
    parser.add_argument("--quick", action="store_const", dest="plan", const="quick", help="same as --plan quick")
    parser.add_argument("--report-only", action="store_true", help="redo BD tables and plots from stored results")
    parser.add_argument("--clips", nargs="+", default=list(CLIPS), choices=list(CLIPS))
    parser.add_argument(
        "--systems", nargs="+", help="default: nvcodec, nerv, hnerv and every available classical codec"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    plan = {"quick": QUICK, "standard": STANDARD, "full": FULL}[args.plan]
    classical = [s for s in available_systems() if s in plan.get("classical_systems", available_systems())]
    systems = args.systems or [*NEURAL, *classical]
    results = args.results / f"rd_{args.plan}"
    expected = {
        "quick": "about 10 minutes",
        "standard": "about 20 minutes per clip",
        "full": "several hours (minutes on a GPU)",
    }[args.plan]
    if not args.report_only:
        print(f"{args.plan} run: {len(args.clips)} clip(s) x {len(systems)} systems; {expected} on 2 CPU cores")
    for clip in [] if args.report_only else args.clips:
        frames, fps = load_clip(clip, plan["frames"])
        info = clip_info(clip, plan["frames"])
        print(f"{clip}: {frames.shape[0]} frames {frames.shape[2]}x{frames.shape[1]}")
        budget = None
        for system in systems:
            if system == "nvcodec":
                coded = nvcodec_points(frames, fps, plan)
                budget = float(np.median([c.extra["fit_seconds"] for c in coded]))
                version = f"nvcodec {__version__}"
                settings = {"plan": {k: v for k, v in plan.items() if k.startswith("nvcodec")}}
            elif system in ("nerv", "hnerv"):
                seconds = budget if budget is not None else 60.0
                coded = baseline_points(system, frames, fps, plan, seconds)
                version = f"benchmarks.baselines.{system} (nvcodec {__version__})"
                settings = {"seconds_per_point": seconds, "budget": "nvcodec's median fit time on this clip"}
            else:
                coded = classical_points(system, frames, fps, plan)
                version = codec_version(system)
                settings = {}
            points = [point_from_coded(frames, c) for c in coded]
            write_result(info, system, version, points, settings, results=results)
    for clip in args.clips:
        if (results / clip).is_dir():
            plot_clip(clip, read_results(clip, results), results / clip / "rd.png")
    table = bd_tables([c for c in args.clips if (results / c).is_dir()], results)
    (results / "bd.json").write_text(json.dumps(table, indent=2, allow_nan=True) + "\n")
    (results / "bd.md").write_text(_markdown(table) + "\n")
    print(_markdown(table))


if __name__ == "__main__":
    main()
