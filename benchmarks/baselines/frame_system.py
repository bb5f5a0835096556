"""NeRV-family models as benchmark systems: one rate point per size preset (fit, code, decode), found by kind.

A frame model's module (:mod:`benchmarks.baselines.nerv`, ``hnerv``) registers
a :class:`FrameModelSystem`: its model class, its fit function and its size
presets. The rate-distortion benchmark codes a clip at every preset
(:meth:`FrameModelSystem.rd_point`); the task benchmark fits it for a time budget at the
preset nearest nvcodec's number count (:meth:`FrameModelSystem.matched_size`).

A system codes at its paper's bit depth (``bits``: 8 for NeRV and HNeRV, 6
for HiNeRV) and may train a point that will be coded with more than a task's
fit does (``coding_fit``: the paper's pruning or quantization-aware stages,
which a task, scored on the float model, does not run).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from benchmarks.baselines.base import Coded
from benchmarks.baselines.blocks import FrameModel
from benchmarks.baselines.codec import decode, pack
from benchmarks.baselines.registry import RatePoints
from benchmarks.baselines.training import as_float_frames
from benchmarks.common import to_uint8
from nvcodec import __version__
from nvcodec.metrics import mse_to_psnr

DEFAULT_SECONDS = 60.0
"""Training time per rate point when no system has set a budget (nvcodec not run)."""


@dataclass(frozen=True)
class FrameModelSystem:
    """A NeRV-family baseline: a :class:`FrameModel` class, how to fit one, and its size presets."""

    model: type[FrameModel]
    fit: Callable[..., FrameModel]
    """``fit(frames, *, size, iters, seconds, times, mask, num_frames, seed, device, ...)``."""
    presets: Mapping[str, dict]
    configure: Callable[[int, int, int, Sequence[int], str], object]
    """``configure(height, width, num_frames, times, size)``: the architecture of a preset."""
    bits: int = 8
    """Bit depth of the weights in a rate point's bitstream (16 for biases), unless its setting names one."""
    coding_fit: Mapping[str, Any] = field(default_factory=dict)
    """Extra ``fit`` arguments for a point that will be coded (e.g. ``{"compress": True}``)."""

    @property
    def name(self) -> str:
        return self.model.kind

    def available(self) -> bool:
        return True

    def numbers(self, size: str, height: int, width: int, num_frames: int, times: Sequence[int]) -> int:
        """Stored numbers of a model of preset ``size`` for this clip."""
        return self.model(self.configure(height, width, num_frames, list(times), size)).numbers()

    def matched_size(self, numbers: int, height: int, width: int, num_frames: int, times: Sequence[int]) -> str:
        """The preset whose stored-number count is nearest ``numbers`` (on a log scale)."""

        def count(size: str) -> int:
            return self.numbers(size, height, width, num_frames, times)

        return min(self.presets, key=lambda size: abs(math.log(count(size) / max(numbers, 1))))

    def rate_points(self, frames: np.ndarray, fps: float, plan: Mapping[str, Any], budget: float | None) -> RatePoints:
        """One point per preset of ``plan["baseline_sizes"]``, each trained for ``budget`` seconds."""
        seconds = budget if budget is not None else DEFAULT_SECONDS
        out = []
        for size in plan["baseline_sizes"]:
            device = "cuda" if torch.cuda.is_available() else "cpu"
            coded = self.rd_point(
                frames,
                fps,
                {"system": self.name, "size": size, "seconds": seconds, "bits": self.bits, "device": device},
            )
            print(f"  {self.name} {size}: {8 * coded.file_bytes / frames[..., 0].size:.3f} bpp in {seconds:.0f} s")
            out.append(coded)
        return RatePoints(
            out,
            version=f"benchmarks.baselines.{self.name} (nvcodec {__version__})",
            settings={"seconds_per_point": seconds, "budget": "nvcodec's median fit time on this clip"},
        )

    def rd_point(self, frames: np.ndarray | torch.Tensor, fps: float, setting: Mapping[str, object]) -> Coded:
        """Fit, code and decode one clip; returns its :class:`Coded`.

        ``setting``: ``size`` (preset, default ``s``), ``iters`` and/or
        ``seconds`` (budget), ``bits`` (default: the system's), ``seed`` (0), ``device``
        (``cpu``), ``loss`` (``mse``), ``lr``, ``batch``; other keys (``system``)
        are ignored. ``file_bytes`` is the length of the real bitstream and
        ``decoded`` is rendered from a model rebuilt from those bytes.
        ``encode_seconds`` covers training and coding; ``decode_fps`` covers
        parsing the bytes and rendering every frame.
        """
        setting = dict(setting)
        system = self.name
        options = {
            k: setting[k] for k in ("size", "iters", "seconds", "seed", "device", "loss", "lr", "batch") if k in setting
        }
        if "iters" not in options and "seconds" not in options:
            raise ValueError("setting needs a budget: iters and/or seconds")
        bits = int(setting.get("bits", self.bits))
        video = as_float_frames(frames)
        count, height, width, _ = video.shape
        started = time.perf_counter()
        model = self.fit(video, **self.coding_fit, **options)
        packed = pack(model, bits)
        encode_seconds = time.perf_counter() - started
        started = time.perf_counter()
        decoder = decode(packed.data, device=options.get("device", "cpu"))
        decoded = decoder.render_frames(list(range(count)))
        if decoded.device.type == "cuda":
            torch.cuda.synchronize()
        decode_seconds = time.perf_counter() - started
        decoded_uint8 = to_uint8(decoded)
        unquantized = to_uint8(model.render_frames(list(range(count))))
        reference = to_uint8(video)

        def psnr(a: np.ndarray) -> float:
            return mse_to_psnr(float(np.mean((a.astype(np.float64) - reference.astype(np.float64)) ** 2)) / 255.0**2)

        stats = model.train_stats
        return Coded(
            system=system,
            settings={"system": system, "bits": bits, **options, "size": options.get("size", "s")},
            file_bytes=len(packed.data),
            decoded=decoded_uint8,
            encode_seconds=encode_seconds,
            decode_fps=count / decode_seconds,
            extra={
                "fps": fps,
                "numbers": packed.numbers,
                "bpp": 8 * len(packed.data) / (count * height * width),
                "ans_bytes": packed.coded_bits // 8,
                "psnr_unquantized": psnr(unquantized),
                "psnr": psnr(decoded_uint8),
                "train_iterations": stats.iterations,
                "train_seconds": stats.seconds,
                "iters_per_second": stats.iterations / stats.seconds,
                "config": asdict(model.config),
            },
        )
