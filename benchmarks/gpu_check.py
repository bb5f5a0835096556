"""The GPU path, checked and measured in one run (under 8 minutes on one CUDA GPU).

    python -m benchmarks.gpu_check                                  # on a CUDA machine
    python -m benchmarks.gpu_check --device cpu --size 90x160 --steps 20 --skip-tests   # the same script, small, on CPU

Parts, each timed and written as it finishes (a part that fails is recorded and
the others still run):

- ``tests``: the quick test lane (``pytest -m "not slow"``); with ``auto``
  devices every fit in it runs on CUDA when CUDA is present.
- ``fit``: a 10-frame 1080p group of the built-in sample clip (rendered in
  code at that size: no download), ``medium`` model, for each precision and
  with and without ``torch.compile``: steps per second after warm-up (20
  steps, compilation included, timed apart), full-frame PSNR after the
  warm-up and ``--steps`` steps (two calls of the fit: Adam's state and the
  learning-rate schedule restart between them), and peak GPU memory.
- ``decode`` (measured first): an ``.actv`` of that group (fitted briefly, then quantized and
  written by the encoder) read with ``VideoReader``: frames per second at
  native 1080p and at 4x of 360p (1440x2560), and peak GPU memory.

Writes ``benchmarks/results/gpu_check.json`` (``--output``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import RESULTS, command, json_clean, machine
from benchmarks.results_io import with_provenance
from nvcodec import QuantConfig, VideoReader, encode
from nvcodec.config import Config
from nvcodec.device import resolve_device
from nvcodec.fit import FitData, VideoFitter, fit_group
from nvcodec.metrics import psnr, quantize_8bit
from nvcodec.sample import sample_clip

GROUP_FRAMES = 11
"""One group of 10 frame steps (its boundary frames both included)."""


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_mib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def run_tests(device: str, timeout: float) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    failures = [line for line in done.stdout.splitlines() if line.startswith("FAILED")]
    return {"returncode": done.returncode, "summary": summary, "failed": failures[:50],
            "seconds": time.perf_counter() - started, "device_seen_by_auto": device}  # fmt: skip


def fit_speed(frames: torch.Tensor, device: str, steps: int, precision: str, compile_: bool) -> dict[str, Any]:
    config = Config.preset("medium", device=device, precision=precision, compile=compile_)
    fitter = VideoFitter(frames, config)
    group = fitter.cold_start(0).to(fitter.device)
    data = fitter.frames
    assert data is not None
    data = data.to(fitter.device)
    taus = group.local_time(torch.arange(GROUP_FRAMES, dtype=torch.float32, device=fitter.device))
    generator = torch.Generator(device=fitter.device).manual_seed(0)
    reset_peak(fitter.device)
    started = time.perf_counter()
    warmup = min(20, steps)
    fit_group(group, FitData(data, taus), warmup, config, generator=generator)
    synchronize(fitter.device)
    warm_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fit_group(group, FitData(data, taus), steps, config, generator=generator)
    synchronize(fitter.device)
    seconds = time.perf_counter() - started
    with torch.no_grad():
        decoded = quantize_8bit(group.render(list(range(GROUP_FRAMES))).cpu())
    return {
        "precision": precision,
        "compile": compile_,
        "steps": steps,
        "warmup_steps": warmup,
        "warmup_seconds": warm_seconds,
        "steps_per_second": steps / seconds,
        "psnr_after_steps": psnr(decoded, frames),
        "peak_memory_mib": peak_memory_mib(fitter.device),
        "parameters": sum(p.numel() for p in group.parameters()),
    }


def decode_speed(frames: torch.Tensor, device: str, steps: int, folder: Path) -> dict[str, Any]:
    config = Config.preset("medium", device=device, iters=steps, iters_warm=steps)
    path = folder / "gpu_check.actv"
    started = time.perf_counter()
    stats = encode(frames.numpy(), path, config, QuantConfig(), fps=30)
    encode_seconds = time.perf_counter() - started
    height, width = frames.shape[1:3]
    out: dict[str, Any] = {"encode_seconds": encode_seconds, "file_bytes": stats.file_bytes}
    resolved = resolve_device(device)
    for label, size in (("native", None), ("4x_of_360p", (4 * height // 3, 4 * width // 3))):
        with VideoReader(path, device=device) as reader:
            reader.frame(0, size=size)  # warm-up: pixel plan and first group
            synchronize(resolved)
            reset_peak(resolved)
            started = time.perf_counter()
            for t in range(GROUP_FRAMES):
                reader.frame(t, size=size)
            synchronize(resolved)
            seconds = time.perf_counter() - started
        shown = size or (height, width)
        out[label] = {"size": f"{shown[1]}x{shown[0]}", "fps": GROUP_FRAMES / seconds,
                      "peak_memory_mib": peak_memory_mib(resolved)}  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cuda, cpu")
    parser.add_argument("--size", default="1080x1920", help="HEIGHTxWIDTH of the synthesized group")
    parser.add_argument("--steps", type=int, default=300, help="fit steps measured per setting")
    parser.add_argument("--precisions", nargs="+", choices=("fp32", "tf32", "bf16"),
                        help="fit precisions to measure (default: all three on CUDA, fp32 on CPU)")  # fmt: skip
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--tests-timeout", type=float, default=240)
    parser.add_argument("--output", type=Path, default=RESULTS / "gpu_check.json")
    args = parser.parse_args(argv)
    height, width = (int(v) for v in args.size.lower().split("x"))
    device = args.device
    resolved = str(resolve_device(device))
    precisions = ("fp32", "tf32", "bf16") if resolved.startswith("cuda") else ("fp32",)
    results: dict[str, Any] = {"command": command(), "machine": machine(), "device": resolved,
                               "size": f"{width}x{height}", "parts": {}}  # fmt: skip

    def part(name: str, job: Callable[[], Any]) -> None:
        started = time.perf_counter()
        try:
            results["parts"][name] = {"result": job(), "seconds": time.perf_counter() - started}
        except Exception:  # one failing part must not hide the others' numbers
            results["parts"][name] = {"error": traceback.format_exc(limit=6), "seconds": time.perf_counter() - started}
        print(f"{name}: {json.dumps(json_clean(results['parts'][name]))[:600]}", flush=True)
        args.output.write_text(json.dumps(json_clean(with_provenance(results)), indent=2))

    if not args.skip_tests:
        part("tests", lambda: run_tests(resolved, args.tests_timeout))
    frames = torch.from_numpy(sample_clip(GROUP_FRAMES, height, width))
    # Decode first: it is the one part every lease must bring back; the fit settings follow, fastest to compile first.
    with tempfile.TemporaryDirectory() as tmp:
        part("decode", lambda: decode_speed(frames, device, max(args.steps // 3, 1), Path(tmp)))
    for precision in args.precisions or precisions:
        for compile_ in (False, True):
            name = f"fit_{precision}_{'compiled' if compile_ else 'eager'}"
            part(name, lambda p=precision, c=compile_: fit_speed(frames, device, args.steps, p, c))


if __name__ == "__main__":
    main()
