"""Draw the rate-distortion curves of every system on every clip.

Reads ``<results>/<clip>/*.json`` (see :mod:`benchmarks.results_io`) and
writes ``<results>/<clip>/rd.png``: RGB PSNR and MS-SSIM against bits per
pixel (log scale, since the benchmark's rates span more than a decade), one
line per system. Neural systems are drawn solid, classical codecs dashed, so
the two families read apart at a glance.

    python -m benchmarks.plot [--results DIR] [--clip NAME ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks.common import RESULTS
from benchmarks.results_io import RDResult, read_results, result_clips

PANELS = (("psnr_rgb", "RGB PSNR (dB)"), ("ms_ssim", "MS-SSIM"))
CLASSICAL_PREFIXES = ("x264", "x265", "svtav1", "vp9")


def _style(system: str) -> dict[str, object]:
    classical = system.startswith(CLASSICAL_PREFIXES)
    return {"linestyle": "--" if classical else "-", "marker": "o" if not classical else ".", "linewidth": 1.4}


def _order(systems: list[str]) -> list[str]:
    """nvcodec first, then the other neural systems, then the classical codecs, each group alphabetically."""
    return sorted(systems, key=lambda s: (s != "nvcodec", s.startswith(CLASSICAL_PREFIXES), s))


def plot_clip(clip: str, results: dict[str, RDResult], out: Path) -> Path:
    """Draw one clip's curves (PSNR and MS-SSIM panels side by side) into ``out``; returns ``out``."""
    fig, axes = plt.subplots(1, len(PANELS), figsize=(11, 4.4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    frames = next(iter(results.values())).clip.get("frames") if results else None
    for index, system in enumerate(_order(list(results))):
        result = results[system]
        for ax, (metric, _) in zip(axes, PANELS):
            bpp, values = result.series(metric)
            if bpp:
                ax.plot(bpp, values, label=system, color=colours[index % len(colours)], **_style(system))
    for ax, (_, label) in zip(axes, PANELS):
        ax.set_xscale("log")
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_title(f"{clip}{f' ({frames} frames)' if frames else ''}: {label.split(' (')[0]}")
    axes[0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def plot_all(results_dir: Path = RESULTS, clips: list[str] | None = None) -> list[Path]:
    """Draw ``rd.png`` for each clip folder under ``results_dir`` (or just ``clips``); returns the images written."""
    written = []
    for clip in clips or result_clips(results_dir):
        results = read_results(clip, results_dir)
        if results:
            written.append(plot_clip(clip, results, results_dir / clip / "rd.png"))
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder holding <clip>/<system>.json")
    parser.add_argument("--clip", action="append", help="only this clip (repeatable)")
    args = parser.parse_args(argv)
    written = plot_all(args.results, args.clip)
    if not written:
        raise SystemExit(f"no result files under {args.results}/<clip>/*.json")
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
