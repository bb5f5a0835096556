"""Choosing the compute device and the matmul precision that goes with it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from nvcodec.errors import DeviceError


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``auto`` -> CUDA when present, else CPU; a CUDA request without CUDA is an error."""
    if isinstance(name, torch.device):
        name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device {name!r} was requested but this machine has no CUDA GPU (torch {torch.__version__})"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"device {name!r} does not exist: {torch.cuda.device_count()} CUDA GPU(s) present")
    elif device.type != "cpu":
        raise DeviceError(f"unsupported device {name!r}; use auto, cpu, cuda or cuda:N")
    return device


@contextlib.contextmanager
def precision(device: torch.device, mode: str) -> Iterator[None]:
    """Matmul precision for a block: TF32 or bf16 autocast on CUDA, plain fp32 elsewhere.

    Complex layers (WIRE) are never autocast: bf16 has no complex type.
    """
    if device.type != "cuda" or mode == "fp32":
        yield
        return
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high")
    try:
        if mode == "bf16":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                yield
        else:
            yield
    finally:
        torch.set_float32_matmul_precision(previous)
