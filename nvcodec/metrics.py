"""Quality metrics on frames in [0, 1]."""

from __future__ import annotations

import math

import numpy as np
import torch


def mse_to_psnr(mse: float, peak: float = 1.0) -> float:
    """PSNR in dB; an exact match reports infinity rather than dividing by zero."""
    return math.inf if mse <= 0 else 10.0 * math.log10(peak * peak / mse)


def psnr(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """RGB PSNR over all samples of two same-shaped float arrays in [0, 1]."""
    a = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a, dtype=torch.float64)
    b = torch.as_tensor(np.asarray(b) if not isinstance(b, torch.Tensor) else b, dtype=torch.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    return mse_to_psnr(float(torch.mean((a - b.to(a.device)) ** 2)))


def quantize_8bit(frames: torch.Tensor) -> torch.Tensor:
    """Round to the 8-bit levels a decoded video actually has, kept as float in [0, 1]."""
    return torch.round(frames.clamp(0, 1) * 255) / 255
