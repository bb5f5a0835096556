"""Whole encodes at one quality with some config fields replaced: the experiment behind several benchmarks.

A variant is a list of ``FIELD=VALUE`` overrides of :class:`~nvcodec.config.ModelConfig` or
:class:`~nvcodec.config.FitConfig` fields, applied after ``--quality`` has shaped the config (width,
group length, latent grids, trial fits), plus ``iters_scale=K``, which multiplies both fit step counts.
An empty variant is the encoder as it ships. Each point is encoded as ``actv-encode --quality Q`` would
(the rate-aware phase included), decoded through ``VideoReader`` and scored from the file.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.rd_metrics import quality
from nvcodec import Config, QuantConfig, VideoReader
from nvcodec.config import FitConfig, ModelConfig
from nvcodec.encoder import encode
from nvcodec.options import EncodeOptions
from nvcodec.recipe.quality import RateTrade, config_for_quality
from nvcodec.recipe.shape import Given
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
    scale = overrides.get(SCALE_STEPS, 1)
    fitted = dataclasses.replace(config.fit, **fit)
    fitted = dataclasses.replace(
        fitted, iters=round(fitted.iters * scale), iters_warm=max(1, round(fitted.iters_warm * scale))
    )
    return Config(dataclasses.replace(config.model, **model), fitted)


def encode_variant(
    frames: np.ndarray, fps: float, quality_: float, overrides: dict[str, Any], preset: str = "fast"
) -> dict[str, Any]:
    """One whole encode at ``quality_`` with ``overrides``, decoded and scored. A ``hidden`` override
    skips the trial fits (the width is given), as ``--hidden`` does."""
    base = Config.preset(preset, device="auto")
    if "hidden" in overrides:
        base = with_width(base, overrides["hidden"])
    started = time.perf_counter()
    config, choice = config_for_quality(
        base, RateTrade.for_quality(quality_), frames, Given(width="hidden" in overrides)
    )
    config = with_overrides(config, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.actv"
        stats = encode(frames, path, config, QuantConfig(), fps=fps, options=EncodeOptions(quality=quality_))
        seconds = time.perf_counter() - started
        began = time.perf_counter()
        with VideoReader(path) as reader:
            decoded = np.stack([reader.frame(t) for t in range(frames.shape[0])])
        decode_fps = frames.shape[0] / (time.perf_counter() - began)
        size = path.stat().st_size
    t, h, w, _ = frames.shape
    return {
        "quality": quality_,
        "variant": overrides,
        "hidden": config.model.hidden,
        "grid_levels": config.model.grid_levels,
        "group_size": config.fit.group_size,
        "iters": config.fit.iters,
        "iters_warm": config.fit.iters_warm,
        "file_bytes": size,
        "bpp": 8 * size / (t * h * w),
        **quality(frames, decoded),
        "fit_psnr": [round(p, 3) for p in stats.fit_psnr],
        "encode_seconds": seconds,
        "width_trial_seconds": choice.seconds,
        "decode_fps": decode_fps,
        "coded_bits": stats.coded_bits,
    }
