"""Which model width pays at which quality: the sweep behind ``nvcodec.recipe.shape.width_for_quality``.

At one quality Q the encoder minimises J = D + lambda(Q) R, with D the mean
squared error of RGB on [0, 1] and R in bits per pixel. Every width is fitted
and rate-trained at every quality of the sweep; the width with the lowest J at
a quality is the one the rate-distortion trade asks for there. Each point is
a whole encode (``encode(quality=Q)``, preset ``fast``, shaped as the encoder
shapes it but for the width: the group length and latent grids of ``Q``; sweeps
before those rules used groups of 10 and no grids), decoded through
``VideoReader``; the JSON is rewritten after every point, so an interrupted
run keeps what it measured.

    python -m benchmarks.width_quality                      # carphone and bikes; about 35 minutes
    python -m benchmarks.width_quality --clips bunny --output benchmarks/results/width_quality_bunny.json
    python -m benchmarks.width_quality --bd-against benchmarks/results/rd_rate   # seconds: BD of each ladder
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.clips import load_clip
from benchmarks.common import RESULTS, command, json_clean, machine
from benchmarks.rate_estimate import encode_decoded
from benchmarks.rd_metrics import bd_rate
from benchmarks.results_io import provenance, read_results, with_provenance
from nvcodec import Config, QuantConfig
from nvcodec.metrics import psnr
from nvcodec.quant.rdtrain import lambda_for_quality
from nvcodec.recipe.shape import Given, shaped_for_quality, width_for_quality


def encode_point(frames: np.ndarray, fps: float, config: Config, quality: float) -> dict:
    """Encode with ``config`` at ``quality``; the point's rate, distortion and its cost J at that quality."""
    coded = encode_decoded(frames, fps, config, QuantConfig(), quality)
    stats = coded.stats
    quality_db = psnr(coded.decoded, frames)
    mse = 10 ** (-quality_db / 10)
    return {
        "width": config.model.hidden,
        "group_size": config.fit.group_size,
        "grid_levels": config.model.grid_levels,
        "iters": config.fit.iters,
        "iters_warm": config.fit.iters_warm,
        "group_psnr": coded.group_psnr,
        "quality": quality,
        "bpp": stats.bpp,
        "psnr": quality_db,
        "mse": mse,
        "cost": mse + lambda_for_quality(quality) * stats.bpp,
        "encode_seconds": stats.seconds,
    }


def least_cost(points: list[dict], key: str) -> dict[str, dict[str, int]]:
    """Per clip and quality, the ``key`` (e.g. ``width``) of the point of least cost J."""
    best: dict[str, dict[str, int]] = {}
    for point in points:
        rivals = [p for p in points if p["clip"] == point["clip"] and p["quality"] == point["quality"]]
        best.setdefault(point["clip"], {})[f"{point['quality']:g}"] = min(rivals, key=lambda p: p["cost"])[key]
    return best


def ladder_bd(points: list[dict], results: Path) -> list[dict]:
    """BD-rate (Pareto fronts, as ``benchmarks.rd``) of each fixed-width ladder and of the width rule's ladder.

    The anchors are the rate-distortion run's fixed-depth encoder (``nvcodec-depths``)
    and HNeRV in ``results/<clip>/``; the ladders are this sweep's points.
    """
    rows = []
    for clip in sorted({p["clip"] for p in points}):
        anchors = read_results(clip, results)
        mine = [p for p in points if p["clip"] == clip]
        ladders = {f"width {w}": [p for p in mine if p["width"] == w] for w in sorted({p["width"] for p in mine})}
        ladders["width_for_quality"] = [p for p in mine if p["width"] == width_for_quality(p["quality"])]
        ladders["every width (one front)"] = mine
        for name, ladder in ladders.items():
            row: dict = {"clip": clip, "ladder": name}
            for anchor in ("nvcodec-depths", "hnerv"):
                if anchor in anchors:
                    ladder_rd = ([p["bpp"] for p in ladder], [p["psnr"] for p in ladder])
                    rate = bd_rate(*anchors[anchor].series("psnr_rgb"), *ladder_rd, pareto=True)
                    row[f"bd_rate_vs_{anchor}"] = rate.value
            rows.append(row)
            print(", ".join(f"{k} {v:+.1f}%" if isinstance(v, float) else f"{v}" for k, v in row.items()), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes"])
    parser.add_argument("--widths", nargs="+", type=int, default=[24, 36, 48])
    parser.add_argument("--qualities", nargs="+", type=float, default=[12.0, 18.0, 24.0, 30.0, 36.0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--output", type=Path, default=RESULTS / "width_quality.json")
    parser.add_argument(
        "--bd-against",
        type=Path,
        metavar="DIR",
        help="no encodes: BD-rate of the stored sweep's ladders against the rd results in DIR "
        "(e.g. benchmarks/results/rd_rate), added to the output",
    )
    args = parser.parse_args()
    if args.bd_against is not None:
        record = json.loads(args.output.read_text())
        record["ladder_bd"] = ladder_bd(record["points"], args.bd_against)
        record["ladder_bd_command"] = command()
        record["ladder_bd_provenance"] = provenance()  # the file's own is the sweep's
        args.output.write_text(json.dumps(json_clean(record), indent=2) + "\n")
        return

    def at_width(width: int, quality: float) -> Config:
        # Shaped as the encoder shapes it (group length and latent grids of the quality), only the width fixed.
        return shaped_for_quality(Config.preset(args.preset, hidden=width), quality, Given(width=True))

    sweep(args, args.widths, "width", at_width)


def sweep(args: argparse.Namespace, choices: list[int], key: str, config_for: Callable[[int, float], Config]) -> None:
    """Encode every clip at every quality with every choice of ``key`` (``config_for(choice, quality)``);
    the JSON is rewritten after every point."""
    points: list[dict] = []
    for clip in args.clips:
        frames, fps = load_clip(clip, args.frames)
        for quality in args.qualities:
            for choice in choices:
                point = {"clip": clip, **encode_point(frames, fps, config_for(choice, quality), quality)}
                points.append(point)
                print(
                    f"{clip} Q {quality:g} {key} {choice} ({point['iters']}/{point['iters_warm']} steps): "
                    f"{point['bpp']:.4f} bpp, {point['psnr']:.2f} dB, J {point['cost']:.3e}, "
                    f"{point['encode_seconds']:.0f} s",
                    flush=True,
                )
                record = {
                    "machine": machine(),
                    "command": command(),
                    "preset": args.preset,
                    "points": points,
                    f"best_{key}": least_cost(points, key),
                }
                args.output.write_text(json.dumps(json_clean(with_provenance(record)), indent=2) + "\n")
    print(json.dumps(least_cost(points, key)))


if __name__ == "__main__":
    main()
