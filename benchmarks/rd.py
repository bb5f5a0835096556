"""Rate–distortion sweep of every system on every clip, from real file sizes.

Systems (found by name in :mod:`benchmarks.systems`; each codes a clip at the plan's rate points):
- ``nvcodec``: one fit per model width, each coded at several bit depths
  (the same fit coded twice costs seconds, a new width costs a fit;
  :mod:`benchmarks.baselines.nvcodec_system`);
- ``nerv``, ``hnerv``: the baselines in :mod:`benchmarks.baselines`, each point
  trained for the same wall-clock time that nvcodec's fit took on that clip,
  and coded with nvcodec's quantizer and ANS;
- classical codecs through PyAV (:mod:`benchmarks.baselines.classical`), swept over CRF.

Every point records bpp of the whole file, RGB PSNR, Y-PSNR, MS-SSIM, encode
seconds and decode frames/s; each (clip, system) is written to
``<results>/rd_<plan>/<clip>/<system>.json`` (``--results``, default
``benchmarks/results``; :mod:`benchmarks.results_io`), with the commit, payload
version, machine and command that made it. Then BD-rate and BD-PSNR of every
system against x265 medium, HNeRV and nvcodec's fixed-depth encoder go to
``<results>/rd_<plan>/bd.json`` and ``bd.md``, and the curves to
``<results>/rd_<plan>/<clip>/rd.png``. ``benchmarks/results/rd_rate/`` is the
current run (``python -m benchmarks.headline`` puts its figures at the top of
``benchmarks/results/README.md``); older runs are under ``benchmarks/results/archive/``.

    python -m benchmarks.rd --quick              # 11 frames, 150-iteration fits: a smoke test, ~10 min on 2 CPU cores
    python -m benchmarks.rd --plan standard      # 31 frames, the fast preset (~20 min per clip before the 3-4x faster fit)
    python -m benchmarks.rd                      # 31 frames, the medium preset: several hours on 2 CPU cores
    python -m benchmarks.rd --quick --report-only   # redo BD tables and plots from stored results
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks import systems as registry
from benchmarks.clips import CLIPS, HELD_OUT_CLIPS, clip_info, load_clip
from benchmarks.common import RESULTS
from benchmarks.plot import plot_clip
from benchmarks.rd_metrics import bd_metric, bd_rate
from benchmarks.results_io import point_from_coded, provenance, provenance_line, read_results, write_result
from benchmarks.systems import NEURAL

ANCHORS = ("x265-medium", "hnerv", "hinerv", "hnerv-boost", "nvcodec-depths")

# Rate points. nvcodec: model widths, each coded at these depths; the baselines: their size presets.
FULL = {
    "frames": 31,
    "nvcodec_widths": (16, 24, 36, 48),
    "nvcodec_bits": (8, 6),
    "nvcodec_preset": "medium",
    "baseline_sizes": ("xs", "s", "m", "l"),
    "classical_points": None,  # each codec's default CRF sweep
}
STANDARD = {**FULL, "nvcodec_preset": "fast"}
RATE = {
    "frames": 31,
    "nvcodec_preset": "fast",
    "nvcodec_qualities": (12, 18, 24, 30, 36),
    "nvcodec_widths": (24, 36, 48),
    "nvcodec_bits": (8, 6),
    "baseline_sizes": ("xs", "s", "m", "l"),
    "classical_points": None,
    "classical_systems": ("x264-medium", "x265-medium"),
    "systems": ("nvcodec", "nvcodec-depths", "hnerv", "hinerv", "hnerv-boost", "x264-medium", "x265-medium"),
}
"""The rate issue's comparison: nvcodec with rate in the loss (a quality ladder) against the encoder before
it (widths x depths), HNeRV, HiNeRV and HNeRV-Boost trained for the median time of an nvcodec point, x264
and x265 medium."""
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


def default_systems(plan: dict) -> list[str]:
    """The neural systems (nvcodec first: its fit time is the others' budget), then every other available one.

    A plan's ``classical_systems`` narrows the others to those named.
    """
    others = [
        name
        for name in registry.names()
        if name not in NEURAL and not name.startswith("nvcodec") and registry.get(name).available()
    ]
    if "systems" in plan:
        return list(plan["systems"])
    return [*NEURAL, *[name for name in others if name in plan.get("classical_systems", others)]]


def bd_tables(clips: list[str], results: Path, anchors: tuple[str, ...] = ANCHORS) -> dict:
    """BD-rate (on RGB PSNR) and BD-PSNR of every system against each anchor, per clip."""
    table: dict = {}
    for clip in clips:
        systems = read_results(clip, results)
        for anchor in anchors:
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
        choices=("quick", "standard", "full", "rate"),
        default="full",
        help="quick: 11 frames, 150-iteration fits, four classical codecs (a smoke test, about 10 minutes); "
        "standard: 31 frames, fast preset (about 20 minutes per clip with the fit before 2026-12-02, less now); full: medium preset (hours); "
        "rate: nvcodec's quality ladder against its fixed-depth encoder, HNeRV, x264 and x265 (about 12 minutes per clip)",
    )
    parser.add_argument("--quick", action="store_const", dest="plan", const="quick", help="same as --plan quick")
    parser.add_argument("--report-only", action="store_true", help="redo BD tables and plots from stored results")
    parser.add_argument(
        "--clips",
        nargs="+",
        default=list(CLIPS),
        choices=[*CLIPS, *HELD_OUT_CLIPS],
        help="default: the four bench clips; a held-out clip (benchmarks.clips.HELD_OUT_CLIPS) checks a rule "
        "on video it was not chosen on",
    )
    parser.add_argument(
        "--systems",
        nargs="+",
        help="default: the neural systems (nvcodec, nerv, hnerv, hinerv, hnerv-boost) and every available classical codec",
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    plan = {"quick": QUICK, "standard": STANDARD, "full": FULL, "rate": RATE}[args.plan]
    systems = args.systems or default_systems(plan)
    results = args.results / f"rd_{args.plan}"
    expected = {
        "quick": "about 10 minutes",
        "standard": "about 20 minutes per clip (with the fit before 2026-12-02)",
        "full": "several hours (minutes on a GPU)",
        "rate": "about 12 minutes per clip",
    }[args.plan]
    if not args.report_only:
        print(f"{args.plan} run: {len(args.clips)} clip(s) x {len(systems)} systems; {expected} on 2 CPU cores")
    for clip in [] if args.report_only else args.clips:
        frames, fps = load_clip(clip, plan["frames"])
        info = clip_info(clip, plan["frames"])
        print(f"{clip}: {frames.shape[0]} frames {frames.shape[2]}x{frames.shape[1]}")
        budget = None
        for system in systems:
            run = registry.get(system).rate_points(frames, fps, plan, budget)
            if run.budget is not None:
                budget = run.budget
            points = [point_from_coded(frames, c) for c in run.coded]
            write_result(info, system, run.version, points, run.settings, results=results)
    for clip in args.clips:
        if (results / clip).is_dir():
            plot_clip(clip, read_results(clip, results), results / clip / "rd.png")
    table = bd_tables([c for c in args.clips if (results / c).is_dir()], results)
    stamp = provenance()  # beside the clips' tables, as in the stored files stamped afterwards
    (results / "bd.json").write_text(json.dumps({**table, **stamp}, indent=2, allow_nan=True) + "\n")
    (results / "bd.md").write_text(provenance_line(stamp) + "\n\n" + _markdown(table) + "\n")
    print(_markdown(table))


if __name__ == "__main__":
    main()
