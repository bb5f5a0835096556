"""The reconstruction loss NeRV and HNeRV minimise, with known-pixel masks.

``mse`` by default. NeRV's paper uses ``0.7 * L1 + 0.3 * (1 - SSIM)`` and
HNeRV's an L2 loss; we default both to MSE because every system in the
rate-distortion benchmark is scored by PSNR and nvcodec itself minimises MSE.
``l1ssim`` selects the NeRV mix (SSIM: 11x11 Gaussian window, sigma 1.5,
computed here).

With a mask (``True`` = known pixel) only known pixels enter the loss. For the
SSIM term, unknown target pixels are replaced by the (detached) prediction
before the windowed statistics are taken, so their values never reach the
loss through a window either.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _gaussian_window(size: int = 11, sigma: float = 1.5, device: torch.device | None = None) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim_map(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-pixel SSIM of ``[B, C, H, W]`` images in [0, 1] (valid windows only)."""
    g = _gaussian_window(device=x.device)
    channels = x.shape[1]
    gx = g.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    gy = g.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)

    def blur(z: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(z, gx, groups=channels), gy, groups=channels)

    c1, c2 = 0.01**2, 0.03**2
    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cov = blur(x * y) - mx * my
    return ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))


def reconstruction_loss(
    prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, kind: str = "mse"
) -> torch.Tensor:
    """Loss of ``[B, 3, H, W]`` frames; ``mask`` ``[B, 1, H, W]`` bool keeps only known pixels."""
    if kind not in ("mse", "l1ssim"):
        raise ValueError(f"unknown loss {kind!r}: use mse or l1ssim")
    if mask is not None:
        weight = mask.to(prediction.dtype)
        target = torch.where(mask, target, prediction.detach())
        denominator = 3 * weight.sum().clamp(min=1.0)
    error = prediction - target
    if kind == "mse":
        return (error.square() * weight).sum() / denominator if mask is not None else error.square().mean()
    l1 = (error.abs() * weight).sum() / denominator if mask is not None else error.abs().mean()
    if min(prediction.shape[-2:]) < 11:
        return l1
    similarity = ssim_map(prediction, target)
    if mask is not None:
        inner = weight[..., 5:-5, 5:-5]
        ssim = (similarity * inner).sum() / (3 * inner.sum().clamp(min=1.0))
    else:
        ssim = similarity.mean()
    return 0.7 * l1 + 0.3 * (1 - ssim)
