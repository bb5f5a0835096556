"""nvcodec itself as systems of the rate-distortion benchmark.

``nvcodec``: the encoder as ``actv-encode`` runs it. With a plan's
``nvcodec_qualities``, one encode per quality (rate in the loss,
``encode(quality=Q)``) at width ``nvcodec_hidden``, or without one at the
width ``actv-encode --quality Q`` picks (``width_for_quality``, widened for
hard content by the trial fit of ``width_for_content``), and at its group
length (``fit_for_quality``); each point is a whole encode, trial fit, fit and
rate-aware phase, within the preset's iterations. Without them (the plans
before the rate issue), the fixed-depth sweep below.

``nvcodec-depths``: the encoder before rate in the loss: one fit per model
width (``nvcodec_widths``), each coded at every depth of ``nvcodec_bits``
(sensitivity steps, compensated rounding; the same fit coded twice costs
seconds, a new width costs a fit).

Every point is a real ``.actv`` file decoded through ``VideoReader``. The
median per-point time of the system that runs first is the training budget of
the NeRV-family systems after it.
"""

from __future__ import annotations

import copy
import dataclasses
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.baselines.base import Coded
from benchmarks.baselines.registry import RatePoints, register
from nvcodec import Config, QuantConfig, VideoReader, __version__
from nvcodec.encoder import encode, write_groups
from nvcodec.fit import fit_groups
from nvcodec.header import new_header_map
from nvcodec.options import EncodeOptions
from nvcodec.recipe.quality import RateTrade, config_for_quality
from nvcodec.recipe.shape import Given
from nvcodec.recipe.trials import with_width


def _decode_actv(path: Path, count: int) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    with VideoReader(path) as reader:
        frames = np.stack([reader.frame(t) for t in range(count)])
    return frames, count / (time.perf_counter() - started)


def nvcodec_points(frames: np.ndarray, fps: float, plan: Mapping[str, Any]) -> list[Coded]:
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
                header = new_header_map(count, height, width, fps, config, quant)
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


def quality_points(frames: np.ndarray, fps: float, plan: Mapping[str, Any]) -> list[Coded]:
    """One encode per quality of the plan (rate in the loss), decoded through ``VideoReader``."""
    count = frames.shape[0]
    out = []
    for quality in plan["nvcodec_qualities"]:
        base = Config.preset(plan["nvcodec_preset"], device="auto")
        if "nvcodec_hidden" in plan:
            base = with_width(base, plan["nvcodec_hidden"])
        # As actv-encode: without a width in the plan, the trial fits may widen it; their time is the point's.
        given = Given(width="nvcodec_hidden" in plan)
        config, choice = config_for_quality(base, RateTrade.for_quality(quality), frames, given)
        hidden = config.model.hidden
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "clip.actv"
            stats = encode(frames, path, config, QuantConfig(), fps=fps, options=EncodeOptions(quality=quality))
            decoded, decode_fps = _decode_actv(path, count)
            size = path.stat().st_size
        settings = {
            "preset": plan["nvcodec_preset"],
            "hidden": hidden,
            "quality": quality,
            "iters": config.fit.iters,
            "iters_warm": config.fit.iters_warm,
            "group_size": config.fit.group_size,
            "patch": config.model.patch,
            "grid_levels": config.model.grid_levels,
        }
        seconds = stats.seconds + choice.trial_seconds
        grids = choice.grids
        extra = {
            "fit_seconds": seconds,
            "trial_seconds": choice.trial_seconds,
            "width_trial_mse": choice.trial_mse,
            "grid_trial_mse": None if grids is None else [grids.with_mse, grids.without_mse],
            "coded_bits": stats.coded_bits,
            "estimated_bits": stats.estimated_bits,
            "group_psnr_fit": stats.fit_psnr,
        }
        out.append(Coded("nvcodec", settings, size, decoded, seconds, decode_fps, extra))
        print(
            f"  nvcodec quality {quality:g}, width {hidden}, {config.model.grid_levels} grid levels: {8 * size / frames[..., 0].size:.3f} bpp, {seconds:.0f} s"
        )
    return out


class NvcodecSystem:
    """nvcodec's rate points; sets the budget (its median per-point time) of the neural systems after it."""

    name = "nvcodec"

    def available(self) -> bool:
        return True

    def points(self, frames: np.ndarray, fps: float, plan: Mapping[str, Any]) -> list[Coded]:
        if "nvcodec_qualities" in plan:
            return quality_points(frames, fps, plan)
        return nvcodec_points(frames, fps, plan)

    def rate_points(self, frames: np.ndarray, fps: float, plan: Mapping[str, Any], budget: float | None) -> RatePoints:
        coded = self.points(frames, fps, plan)
        return RatePoints(
            coded,
            version=f"nvcodec {__version__}",
            settings={"plan": {k: v for k, v in plan.items() if k.startswith("nvcodec")}},
            budget=float(np.median([c.extra["fit_seconds"] for c in coded])),
        )


class NvcodecDepthsSystem(NvcodecSystem):
    """The encoder before rate in the loss: widths x bit depths (``nvcodec_widths``, ``nvcodec_bits``)."""

    name = "nvcodec-depths"

    def points(self, frames: np.ndarray, fps: float, plan: Mapping[str, Any]) -> list[Coded]:
        return [dataclasses.replace(c, system=self.name) for c in nvcodec_points(frames, fps, plan)]

    def rate_points(self, frames: np.ndarray, fps: float, plan: Mapping[str, Any], budget: float | None) -> RatePoints:
        # Compared with, not a budget: the NeRV family gets the time of the encoder as it is.
        return dataclasses.replace(super().rate_points(frames, fps, plan, budget), budget=None)


SYSTEM = register(NvcodecSystem())
DEPTHS_SYSTEM = register(NvcodecDepthsSystem())
