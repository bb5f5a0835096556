"""Whole encodes at one quality with some config fields replaced: the experiment behind several benchmarks.

A variant is a list of ``FIELD=VALUE`` overrides of :class:`~nvcodec.config.ModelConfig` or
:class:`~nvcodec.config.FitConfig` fields, applied after ``--quality`` has shaped the config (width,
group length, latent grids, trial fits, fit length), plus ``iters_scale=K``, which multiplies both fit step
counts (on top of the quality's fit length: at Q 36 ``iters_scale=2`` is four times the preset's steps).
An empty variant is the encoder as it ships. Each point is encoded as ``actv-encode --quality Q`` would
(the rate-aware phase included), decoded through ``VideoReader`` and scored from the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.clips import load_clip
from benchmarks.common import run_record
from benchmarks.rd_metrics import quality
from benchmarks.results_io import write_json
from nvcodec import Config, QuantConfig, VideoReader
from nvcodec.config import FitConfig, ModelConfig
from nvcodec.encoder import encode
from nvcodec.options import EncodeOptions
from nvcodec.recipe.quality import RateTrade, config_for_quality
from nvcodec.recipe.shape import Given, with_fit_length
from nvcodec.recipe.trials import with_width

SCALE_STEPS = "iters_scale"
"""The one override that is not a config field: multiplies ``iters`` and ``iters_warm``."""

_MODEL_FIELDS = {f.name: f.type for f in dataclasses.fields(ModelConfig)}
_FIT_FIELDS = {f.name: f.type for f in dataclasses.fields(FitConfig)}


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_variant(text: str) -> dict[str, Any]:
    """``"hidden=96,iters_scale=2"`` -> ``{"hidden": 96, "iters_scale": 2}``; ``"base"`` or ``""`` -> ``{}``."""
    out: dict[str, Any] = {}
    for part in filter(None, text.split(",")):
        if part == "base":
            continue
        name, sep, value = part.partition("=")
        if not sep or name not in {*_MODEL_FIELDS, *_FIT_FIELDS, SCALE_STEPS}:
            raise SystemExit(
                f"bad override {part!r}: FIELD=VALUE with a ModelConfig or FitConfig field, or {SCALE_STEPS}"
            )
        out[name] = _value(value)
    return out


def with_overrides(config: Config, overrides: dict[str, Any]) -> Config:
    """``config`` with ``overrides`` (see :func:`parse_variant`) in place."""
    model = {k: v for k, v in overrides.items() if k in _MODEL_FIELDS}
    fit = {k: v for k, v in overrides.items() if k in _FIT_FIELDS}
    fitted = with_fit_length(dataclasses.replace(config.fit, **fit), overrides.get(SCALE_STEPS, 1))
    return Config(dataclasses.replace(config.model, **model), fitted)


def encode_scored(
    frames: np.ndarray, fps: float, config: Config, options: EncodeOptions, started: float
) -> dict[str, Any]:
    """Encode ``frames`` with ``config`` and ``options``, decode the file through ``VideoReader`` and score it:
    size, bpp, the quality metrics, the seconds since ``started`` (so a caller's trial fits count), decode
    frames/s, coded bits and each group's fit PSNR."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.actv"
        stats = encode(frames, path, config, QuantConfig(), fps=fps, options=options)
        seconds = time.perf_counter() - started
        began = time.perf_counter()
        with VideoReader(path) as reader:
            decoded = np.stack([reader.frame(t) for t in range(frames.shape[0])])
        decode_fps = frames.shape[0] / (time.perf_counter() - began)
        size = path.stat().st_size
    t, h, w, _ = frames.shape
    return {
        "file_bytes": size,
        "bpp": 8 * size / (t * h * w),
        **quality(frames, decoded),
        "fit_psnr": [round(p, 3) for p in stats.fit_psnr],
        "encode_seconds": seconds,
        "decode_fps": decode_fps,
        "coded_bits": stats.coded_bits,
    }


def encode_variant(
    frames: np.ndarray, fps: float, quality_: float, overrides: dict[str, Any], preset: str = "fast"
) -> dict[str, Any]:
    """One whole encode at ``quality_`` with ``overrides``, decoded and scored. A ``hidden`` override
    skips the trial fits (the width is given), as ``--hidden`` does; a ``grid_levels`` override skips the
    grid trial, as ``--grid-levels`` does."""
    base = Config.preset(preset, device="auto")
    if "hidden" in overrides:
        base = with_width(base, overrides["hidden"])
    started = time.perf_counter()
    config, choice = config_for_quality(
        base,
        RateTrade.for_quality(quality_),
        frames,
        Given(width="hidden" in overrides, grids="grid_levels" in overrides),
    )
    config = with_overrides(config, overrides)
    scored = encode_scored(frames, fps, config, EncodeOptions(quality=quality_), started)
    return {
        "quality": quality_,
        "variant": overrides,
        "hidden": config.model.hidden,
        "grid_levels": config.model.grid_levels,
        "group_size": config.fit.group_size,
        "iters": config.fit.iters,
        "iters_warm": config.fit.iters_warm,
        **scored,
        "trial_seconds": choice.trial_seconds,
    }


def sweep_arguments(description: str, output: Path, variants: list[str], qualities: list[float]) -> argparse.Namespace:
    """The command line every variant sweep shares: clips, qualities, variants, frames, preset, output."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes"])
    parser.add_argument("--qualities", nargs="+", type=float, default=qualities)
    parser.add_argument("--variants", nargs="+", default=variants)
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--output", type=Path, default=output)
    return parser.parse_args()


def sweep(args: argparse.Namespace, parse: Callable[[str], dict[str, Any]]) -> None:
    """Every clip x quality x variant of ``args`` (``parse`` turns a variant's text into overrides; bad ones
    fail before any encode), one line printed and the JSON rewritten after each point."""
    variants = {text: parse(text) for text in args.variants}
    points = []
    for clip in args.clips:
        frames, fps = load_clip(clip, args.frames)
        for quality_ in args.qualities:
            for text, overrides in variants.items():
                point = {"clip": clip, "label": text, **encode_variant(frames, fps, quality_, overrides, args.preset)}
                points.append(point)
                fit = sum(point["fit_psnr"]) / len(point["fit_psnr"])
                print(
                    f"{clip} Q{quality_:g} {text}: {point['bpp']:.4f} bpp, {point['psnr_rgb']:.2f} dB "
                    f"(fit {fit:.2f}), {point['encode_seconds']:.0f} s, decode {point['decode_fps']:.0f} fps",
                    flush=True,
                )
                write_json(args.output, {**run_record(), "points": points})
