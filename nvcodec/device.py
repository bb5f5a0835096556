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
def matmul_precision(device: torch.device, mode: str) -> Iterator[None]:
    """TF32 matmuls for a block on CUDA in the ``tf32`` and ``bf16`` modes; plain fp32 elsewhere.

    Enter it once around a whole fit: it sets process-wide state, and restores it on leaving.
    """
    if device.type != "cuda" or mode == "fp32":
        yield
        return
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(previous)


def autocast(device: torch.device, mode: str) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA in the ``bf16`` mode, else nothing; complex layers (WIRE) are never autocast.

    Enter it around one step's forward and backward, never across optimizer steps: autocast keeps
    its bf16 copies of the weights until its region ends, so a region spanning steps would go on
    computing with the weights of the first.
    """
    if device.type == "cuda" and mode == "bf16":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
