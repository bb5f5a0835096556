"""nvcodec itself as a system of the rate-distortion benchmark.

One fit per model width of the plan (``nvcodec_widths``, the preset
``nvcodec_preset``), each coded at every depth of ``nvcodec_bits`` into a real
``.actv`` file and decoded through ``VideoReader`` (the same fit coded twice
costs seconds, a new width costs a fit). Its median fit time is the training
budget of the NeRV-family systems that run after it.
"""

from __future__ import annotations

import copy
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.baselines.base import Coded
from benchmarks.baselines.registry import RatePoints, register
from nvcodec import Config, QuantConfig, VideoReader, __version__
from nvcodec.encoder import write_groups
from nvcodec.fit import fit_groups
from nvcodec.header import new_header_map


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


class NvcodecSystem:
    """nvcodec's rate points; sets the budget (its median fit time) of the neural systems after it."""

    name = "nvcodec"

    def available(self) -> bool:
        return True

    def rate_points(self, frames: np.ndarray, fps: float, plan: Mapping[str, Any], budget: float | None) -> RatePoints:
        coded = nvcodec_points(frames, fps, plan)
        return RatePoints(
            coded,
            version=f"nvcodec {__version__}",
            settings={"plan": {k: v for k, v in plan.items() if k.startswith("nvcodec")}},
            budget=float(np.median([c.extra["fit_seconds"] for c in coded])),
        )


SYSTEM = register(NvcodecSystem())
