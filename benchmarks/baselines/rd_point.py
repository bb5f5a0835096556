"""One rate point of NeRV or HNeRV: fit a clip, code the model to bytes, decode those bytes and render every frame."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict

import numpy as np
import torch

from benchmarks.baselines.base import Coded
from benchmarks.baselines.codec import decode, pack
from benchmarks.baselines.hnerv import fit_hnerv
from benchmarks.baselines.nerv import fit_nerv
from benchmarks.baselines.training import as_float_frames
from benchmarks.common import to_uint8
from nvcodec.metrics import mse_to_psnr


def run_rd_point(frames: np.ndarray | torch.Tensor, fps: float, setting: Mapping[str, object]) -> Coded:
    """Fit, code and decode one clip with NeRV or HNeRV; returns its :class:`Coded`.

    ``setting``: ``system`` (``nerv`` or ``hnerv``), ``size`` (preset, default
    ``s``), ``iters`` and/or ``seconds`` (budget), ``bits`` (default 8),
    ``seed`` (0), ``device`` (``cpu``), ``loss`` (``mse``), ``lr``, ``batch``.
    ``file_bytes`` is the length of the real bitstream and ``decoded`` is
    rendered from a model rebuilt from those bytes. ``encode_seconds`` covers
    training and coding; ``decode_fps`` covers parsing the bytes and rendering
    every frame.
    """
    setting = dict(setting)
    system = str(setting.get("system", "nerv"))
    fitters = {"nerv": fit_nerv, "hnerv": fit_hnerv}
    if system not in fitters:
        raise ValueError(f"unknown system {system!r}: use nerv or hnerv")
    options = {
        k: setting[k] for k in ("size", "iters", "seconds", "seed", "device", "loss", "lr", "batch") if k in setting
    }
    if "iters" not in options and "seconds" not in options:
        raise ValueError("setting needs a budget: iters and/or seconds")
    bits = int(setting.get("bits", 8))
    video = as_float_frames(frames)
    count, height, width, _ = video.shape
    started = time.perf_counter()
    model = fitters[system](video, **options)
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
