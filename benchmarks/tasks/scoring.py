"""How the tasks score an output against the clean frames: RGB PSNR and SSIM (:mod:`benchmarks.rd_metrics`), optionally on a region."""

from __future__ import annotations

import numpy as np

from benchmarks.rd_metrics import mse_to_psnr, psnr_rgb, ssim


def region_psnr(reference: np.ndarray, output: np.ndarray, region: np.ndarray) -> float:
    """RGB PSNR over the pixels where ``region`` (bool ``[T, H, W]`` or ``[H, W]``) is True only."""
    region = np.broadcast_to(np.asarray(region, dtype=bool), reference.shape[:3])
    if not region.any():
        raise ValueError("the scoring region is empty")
    diff = reference.astype(np.float64)[region] - output.astype(np.float64)[region]
    return mse_to_psnr(float(np.mean(diff**2)))


def score(reference: np.ndarray, output: np.ndarray, region: np.ndarray | None = None) -> dict[str, float]:
    """PSNR and SSIM of whole frames, plus ``psnr_region`` when a region is given."""
    out = {"psnr": psnr_rgb(reference, output), "ssim": ssim(reference, output)}
    if region is not None:
        out["psnr_region"] = region_psnr(reference, output, region)
    return out
