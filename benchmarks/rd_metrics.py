"""Quality, rate and Bjøntegaard-delta measures for the rate-distortion benchmark.

Every system is scored by these same functions against the same reference
frames, so the numbers are comparable across nvcodec, the NeRV family and the
classical codecs. Clips may be given as uint8 (0..255) or float (0..1) arrays
``[T, H, W, 3]``; they are compared in float64 on the [0, 1] scale.

Choices made here, stated once:

* **PSNR** (``psnr_rgb``, the primary number) is computed from the mean
  squared error over every sample of the whole clip, then converted to dB.
  That is what :func:`nvcodec.metrics.psnr` and the rest of this repository
  report, and it does not let a few near-perfect frames (whose per-frame PSNR
  is huge) inflate the average. The mean of per-frame PSNRs, which NeRV-style
  papers and FFmpeg's ``psnr`` filter print, is reported alongside as
  ``psnr_rgb_frame_mean``; on a clip of even quality the two agree closely.
* **Y-PSNR** uses BT.601 luma weights on full-range RGB,
  ``Y = 0.299 R + 0.587 G + 0.114 B`` in [0, 1] with peak 1, computed from the
  RGB frames every system returns (not from any codec's own YUV planes, which
  the neural systems do not have). Clip-wide mean MSE, as for RGB PSNR.
* **MS-SSIM** is :func:`pytorch_msssim.ms_ssim` on RGB (mean over channels,
  then over frames) with the standard 5 scales and weights of Wang et al. but
  a 7-tap Gaussian window (sigma 1.5) instead of 11 taps. pytorch_msssim needs
  the short side to exceed ``(win_size - 1) * 16`` for its 4 down-samplings:
  160 px for 11 taps, but the QCIF clips are 144 px high. Seven taps need
  > 96 px and leave the coarsest scale 9x9 pixels (3x3 valid windows) on a
  144 px clip; fewer scales are not an option because the library checks the
  size for 5 scales whatever weights it is given. Numbers are therefore
  comparable within this benchmark, not digit for digit with papers that use
  11 taps on larger frames.
* **SSIM** (for the tasks) is scikit-image's ``structural_similarity`` with
  the Gaussian weighting of Wang et al. (sigma 1.5, population covariance),
  averaged over channels and frames.
* **BD-rate / BD-PSNR** come from the ``bjontegaard`` package with Akima
  interpolation (the recommendation of Herglotz et al., "The Bjøntegaard
  Bible"), over the overlap of the two curves.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from nvcodec.metrics import mse_to_psnr

BT601_LUMA = (0.299, 0.587, 0.114)
MS_SSIM_WIN_SIZE = 7
MS_SSIM_WIN_SIGMA = 1.5
BD_METHOD = "akima"
BD_MIN_POINTS = 4


def as_unit_float(frames: np.ndarray) -> np.ndarray:
    """A clip on the [0, 1] scale as float64: uint8 is divided by 255, floats are taken as they are."""
    frames = np.asarray(frames)
    if frames.dtype == np.uint8:
        return frames.astype(np.float64) / 255.0
    if not np.issubdtype(frames.dtype, np.floating):
        raise TypeError(f"expected uint8 or float frames, got {frames.dtype}")
    return frames.astype(np.float64, copy=False)


def _pair(reference: np.ndarray, decoded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref, dec = as_unit_float(reference), as_unit_float(decoded)
    if ref.shape != dec.shape:
        raise ValueError(f"reference and decoded clips differ in shape: {ref.shape} vs {dec.shape}")
    if ref.ndim != 4 or ref.shape[-1] != 3:
        raise ValueError(f"expected RGB clips [T, H, W, 3], got shape {ref.shape}")
    return ref, dec


def psnr_rgb(reference: np.ndarray, decoded: np.ndarray) -> float:
    """The primary PSNR: from the mean squared error over every RGB sample of the whole clip."""
    ref, dec = _pair(reference, decoded)
    return mse_to_psnr(float(np.mean((ref - dec) ** 2)))


def psnr_rgb_frame_mean(reference: np.ndarray, decoded: np.ndarray) -> float:
    """The mean of per-frame RGB PSNRs, as NeRV-style papers and FFmpeg report it (infinite if any frame is exact)."""
    ref, dec = _pair(reference, decoded)
    per_frame = np.mean((ref - dec) ** 2, axis=(1, 2, 3))
    return float(np.mean([mse_to_psnr(float(m)) for m in per_frame]))


def luma_bt601(frames: np.ndarray) -> np.ndarray:
    """Full-range BT.601 luma ``[T, H, W]`` in [0, 1] of an RGB clip."""
    return as_unit_float(frames) @ np.asarray(BT601_LUMA)


def psnr_y(reference: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR of BT.601 luma (full range, peak 1) from the clip-wide mean squared error."""
    ref, dec = _pair(reference, decoded)
    return mse_to_psnr(float(np.mean((luma_bt601(ref) - luma_bt601(dec)) ** 2)))


def ms_ssim(reference: np.ndarray, decoded: np.ndarray, win_size: int = MS_SSIM_WIN_SIZE, batch: int = 16) -> float:
    """RGB MS-SSIM averaged over frames; 5 scales, a ``win_size``-tap window (see the module notes on why 7)."""
    import torch
    from pytorch_msssim import ms_ssim as _ms_ssim

    ref, dec = _pair(reference, decoded)
    short = min(ref.shape[1:3])
    if short <= (win_size - 1) * 16:
        raise ValueError(
            f"MS-SSIM with a {win_size}-tap window needs frames whose short side exceeds "
            f"{(win_size - 1) * 16} px (5 scales), got {ref.shape[2]}x{ref.shape[1]}"
        )
    values = []
    with torch.no_grad():
        for i in range(0, len(ref), batch):
            x = torch.from_numpy(np.ascontiguousarray(ref[i : i + batch].transpose(0, 3, 1, 2))).float()
            y = torch.from_numpy(np.ascontiguousarray(dec[i : i + batch].transpose(0, 3, 1, 2))).float()
            out = _ms_ssim(x, y, data_range=1.0, size_average=False, win_size=win_size, win_sigma=MS_SSIM_WIN_SIGMA)
            values.append(out.double().numpy())
    return float(np.mean(np.concatenate(values)))


def ssim(reference: np.ndarray, decoded: np.ndarray) -> float:
    """scikit-image SSIM with Gaussian weights (sigma 1.5) as in Wang et al., averaged over frames."""
    from skimage.metrics import structural_similarity

    ref, dec = _pair(reference, decoded)
    return float(
        np.mean(
            [
                structural_similarity(
                    r, d, channel_axis=-1, data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
                )
                for r, d in zip(ref, dec)
            ]
        )
    )


def bits_per_pixel(file_bytes: int, frames: int, height: int, width: int) -> float:
    """Rate as bits per pixel of the clip: 8 * bytes / (T * H * W); a pixel is one RGB triple."""
    if file_bytes < 0:
        raise ValueError(f"file size cannot be negative, got {file_bytes}")
    if frames < 1 or height < 1 or width < 1:
        raise ValueError(f"clip must have at least 1 frame of 1x1 pixel, got {frames}x{height}x{width}")
    return 8.0 * file_bytes / (frames * height * width)


def quality(reference: np.ndarray, decoded: np.ndarray, with_ssim: bool = False) -> dict[str, float]:
    """Every distortion measure of one rate point, named as in a result file's points.

    Keys: ``psnr_rgb`` (primary), ``psnr_rgb_frame_mean``, ``psnr_y``, ``ms_ssim``
    (omitted when the frames are too small for it) and, if ``with_ssim``, ``ssim``.
    """
    out = {
        "psnr_rgb": psnr_rgb(reference, decoded),
        "psnr_rgb_frame_mean": psnr_rgb_frame_mean(reference, decoded),
        "psnr_y": psnr_y(reference, decoded),
    }
    if min(np.shape(reference)[1:3]) > (MS_SSIM_WIN_SIZE - 1) * 16:
        out["ms_ssim"] = ms_ssim(reference, decoded)
    if with_ssim:
        out["ssim"] = ssim(reference, decoded)
    return out


@dataclass(frozen=True)
class BD:
    """A Bjøntegaard delta, or NaN with the reason it could not be computed."""

    value: float
    """BD-rate in percent (negative: the test system needs fewer bits), or BD-metric in the metric's unit."""
    reason: str | None = None
    """Why ``value`` is NaN; ``None`` when it is a number."""
    overlap: float = math.nan
    """Fraction of the union of the two curves' ranges they share (the interval averaged over)."""
    warnings: list[str] = field(default_factory=list)
    """Caveats that did not stop the computation (little overlap, dropped points)."""

    @property
    def ok(self) -> bool:
        return self.reason is None


def pareto_front(rates: list[float], metrics: list[float]) -> tuple[list[float], list[float]]:
    """The points no other point beats on both rate and quality, sorted by rate.

    A curve from a trained model can wiggle (a bigger model that happened to
    train worse); BD needs a monotone curve, so this is the honest way to get
    one: drop the points the system itself dominates.
    """
    pts = sorted(zip(rates, metrics), key=lambda p: (p[0], -p[1]))
    out: list[tuple[float, float]] = []
    for r, m in pts:
        if not out or m > out[-1][1]:
            out.append((r, m))
    return [p[0] for p in out], [p[1] for p in out]


def _prepare(
    rates: list[float], metrics: list[float], label: str, min_points: int, front: bool
) -> tuple[np.ndarray, np.ndarray, str | None, list[str]]:
    notes: list[str] = []
    r = np.asarray(rates, dtype=np.float64)
    m = np.asarray(metrics, dtype=np.float64)
    if r.shape != m.shape or r.ndim != 1:
        return r, m, f"{label}: rates and metrics must be 1-D lists of equal length", notes
    keep = np.isfinite(r) & np.isfinite(m)
    if not keep.all():
        notes.append(f"{label}: dropped {int((~keep).sum())} non-finite point(s)")
        r, m = r[keep], m[keep]
    if (r <= 0).any():
        return r, m, f"{label}: rates must be > 0 for a log-rate curve", notes
    if front:
        fr, fm = pareto_front(list(r), list(m))
        if len(fr) < len(r):
            notes.append(f"{label}: dropped {len(r) - len(fr)} dominated point(s)")
        r, m = np.asarray(fr), np.asarray(fm)
    order = np.argsort(r)
    r, m = r[order], m[order]
    if len(r) < min_points:
        return r, m, f"{label}: {len(r)} usable point(s), need at least {min_points}", notes
    if not (np.all(np.diff(r) > 0) and np.all(np.diff(m) > 0)):
        return r, m, f"{label}: quality does not rise strictly with rate (non-monotonic curve)", notes
    return r, m, None, notes


def _bd(
    which: str,
    anchor_rate: list[float],
    anchor_metric: list[float],
    test_rate: list[float],
    test_metric: list[float],
    method: str,
    min_points: int,
    front: bool,
) -> BD:
    import bjontegaard

    ra, ma, why_a, notes_a = _prepare(anchor_rate, anchor_metric, "anchor", min_points, front)
    rt, mt, why_t, notes_t = _prepare(test_rate, test_metric, "test", min_points, front)
    notes = notes_a + notes_t
    if why_a or why_t:
        return BD(math.nan, "; ".join(w for w in (why_a, why_t) if w), warnings=notes)
    # BD-rate averages over the shared quality range, BD-metric over the shared log-rate range.
    xa, xt = (ma, mt) if which == "rate" else (np.log10(ra), np.log10(rt))
    shared = min(xa.max(), xt.max()) - max(xa.min(), xt.min())
    union = max(xa.max(), xt.max()) - min(xa.min(), xt.min())
    overlap = max(shared, 0.0) / union if union > 0 else 0.0
    if overlap <= 0:
        axis = "quality" if which == "rate" else "rate"
        return BD(math.nan, f"the curves share no {axis} range", overlap=0.0, warnings=notes)
    if overlap < 0.5:
        notes.append(f"curves overlap on only {overlap:.0%} of their range")
    func = bjontegaard.bd_rate if which == "rate" else bjontegaard.bd_psnr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = func(ra, ma, rt, mt, method=method, require_matching_points=False, min_overlap=0)
    return BD(float(value), overlap=float(overlap), warnings=notes)


def bd_rate(
    anchor_rate: list[float],
    anchor_metric: list[float],
    test_rate: list[float],
    test_metric: list[float],
    method: str = BD_METHOD,
    min_points: int = BD_MIN_POINTS,
    pareto: bool = False,
) -> BD:
    """Average rate change of ``test`` against ``anchor`` at equal quality, in percent (−20: 20 % fewer bits).

    Rates are bpp (any unit that cancels), metrics PSNR dB or MS-SSIM. Returns
    NaN with a reason instead of a number when a curve has fewer than
    ``min_points`` points, is not strictly increasing, or the curves share no
    quality range. ``pareto=True`` first drops each curve's dominated points.
    """
    return _bd("rate", anchor_rate, anchor_metric, test_rate, test_metric, method, min_points, pareto)


def bd_metric(
    anchor_rate: list[float],
    anchor_metric: list[float],
    test_rate: list[float],
    test_metric: list[float],
    method: str = BD_METHOD,
    min_points: int = BD_MIN_POINTS,
    pareto: bool = False,
) -> BD:
    """Average quality change of ``test`` against ``anchor`` at equal rate (BD-PSNR in dB for PSNR metrics).

    Same input rules and NaN reasons as :func:`bd_rate`.
    """
    return _bd("metric", anchor_rate, anchor_metric, test_rate, test_metric, method, min_points, pareto)


bd_psnr = bd_metric
"""BD-PSNR: :func:`bd_metric` on PSNR curves."""
