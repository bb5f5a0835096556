"""The content's say in the model's latent grids and width: short trial fits of the first group.

:func:`~nvcodec.recipe.shape.width_for_quality` gives the width of least
J = D + lambda * R for typical content at each quality. Whether the next
width up pays on a given video depends on how much error the wider model
removes there: it pays where D falls by more than lambda times its extra
rate (about 0.2 bpp from width 48 to 64). The fall differs from clip to clip
by more than the error itself does (carphone gains little from width, a
textured or moving clip much), so the encoder measures it: it fits the first
group briefly at the quality's width and at the next one, and takes the wider
where its error is lower by more than :func:`least_fall` lambdas.

Each trial is :data:`TRIAL_SHARE` of the first group's fit steps (the two
together 4-7 s, about 10% of a 31-frame encode at the fast preset on 2 CPU
cores), run before the encode and thrown away. A width the user gave is never
changed. Checked by ``python -m benchmarks.width_trial`` against the width
sweeps on the bench clips and held-out ones: the least-J width in 17 of 18
measured cases (``benchmarks/results/README.md``, "Width by content").

Latent grids are decided the same way, first (:func:`grids_for_content`): a
grid holds detail that stays in place within the group, so it pays on a
still camera and costs bits for nothing under a pan. The trial fits the first
group with the quality's grids and without them, and keeps the grids where
they lower the error by at least :data:`GRIDS_PAY`. The width trial then
reuses the kept variant's fit, so the grids cost one trial fit more.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import torch

from nvcodec.config import Config
from nvcodec.fit import VideoFitter
from nvcodec.recipe.shape import WIDEST, WIDTH_STEPS
from nvcodec.source import FrameSource
from nvcodec.tiling import PatchGrid

TRIAL_SHARE = 0.1
"""Steps of the trial fit, as a share of the first group's fit steps (``FitConfig.iters``)."""
WIDTH_PAYS = 0.27
"""Least fall of the trial MSE, in lambdas, from width 48 to 64 for 64 to be taken, with four patches of
96 over a frame of 176×144.

At Q 30 the trials' MSE falls by 0.16 (carphone) and 0.21 (bunny) lambdas,
whose least-J width is 48, and by 0.33-1.79 on six clips whose least-J width
is 64 (``width_quality_q30.json``, ``width_heldout_q30.json``). Other steps of
the ladder scale it by the hidden weights they add, and other patch sizes by
the networks per pixel (:func:`least_fall`): with one patch of the frame a
step adds its weights once, not four times. Unscaled, the trial never widened
one patch on seven clips; scaled, it widens the pans at Q 12-24 and bikes at
Q 24, where the wider encodes had a 3-18% lower J ("The width trial scaled by
the patches" in ``benchmarks/results/README.md``).
"""
_REFERENCE_STEP = (48, 64)
GRIDS_PAY = 1.08
"""Least ratio of the trial MSE without latent grids to the trial MSE with them for the grids to be kept.

Grids add 9-26% to a file at Q 12-24, most often 12-20% (``benchmarks/results/grid_trial.json``). Where
distortion falls as a power of the rate, ``D ~ R^-a`` with ``a`` about 0.6 on the bench clips, 15% more
bits are worth an error lower by about 1.1 times. On the bench clips the trial ratio is 0.97-1.01 on ``motion`` (a pan,
where whole encodes without grids have the lower J) and 1.16-1.37 on carphone, bikes and bunny: 1.08 is
the geometric middle of that gap. Whole encodes and the held-out clips: ``benchmarks/results/README.md``,
"Latent grids by content".
"""
WIDTHS: tuple[int, ...] = tuple(sorted({*(width for _, width in WIDTH_STEPS), WIDEST}))
"""The ladder of widths the quality rule picks from, narrowest first."""


@dataclass(frozen=True)
class GridChoice:
    """The latent grid levels an encode takes, and the trial that chose them (``with_mse`` None: no trial)."""

    levels: int
    tried: int
    with_mse: float | None = None
    """The trial's MSE with ``tried`` levels."""
    without_mse: float | None = None
    """The trial's MSE without grids."""
    seconds: float = 0.0

    @property
    def kept_mse(self) -> float | None:
        """The trial's MSE of the variant taken: what the width trial starts from."""
        return self.with_mse if self.levels else self.without_mse

    def apply(self, config: Config) -> Config:
        """``config`` with these grid levels."""
        return with_grid_levels(config, self.levels)

    def describe(self) -> str:
        """One line for a log: what the trials found and the grids taken."""
        if self.with_mse is None or self.without_mse is None:
            return f"{self.levels} grid levels"
        verdict = f"{self.levels} grid levels" if self.levels else "no latent grids"
        return (
            f"trial fits with and without {self.tried} grid levels: the MSE without is "
            f"{self.without_mse / self.with_mse:.2f}x the MSE with, so {verdict} ({self.seconds:.1f} s)"
        )


@dataclass(frozen=True)
class WidthChoice:
    """The width an encode takes, and the trial that chose it (``trial_mse`` None: no trial was run)."""

    width: int
    tried: int
    trial_mse: float | None = None
    """The trial's MSE at ``tried``."""
    wider_mse: float | None = None
    """The trial's MSE at the next width up."""
    least_fall: float | None = None
    """The fall from ``trial_mse`` to ``wider_mse``, in lambdas, beyond which the wider is taken."""
    seconds: float = 0.0
    """Seconds of the width trial (:attr:`trial_seconds`: with the grid trial's)."""
    grids: GridChoice | None = None
    """The grid trial run before the width trial (None: none was run)."""

    @property
    def trial_seconds(self) -> float:
        """Seconds of every trial fit this choice took, the grid trial's included."""
        return self.seconds + (self.grids.seconds if self.grids is not None else 0.0)

    @property
    def widened(self) -> bool:
        return self.width != self.tried

    def apply(self, config: Config) -> Config:
        """``config`` at this width."""
        return with_width(config, self.width)

    @property
    def tested(self) -> bool:
        """Whether any trial fit ran (for width or grids)."""
        return self.trial_mse is not None or (self.grids is not None and self.grids.with_mse is not None)

    def describe(self, lambda_: float) -> str:
        """One line for a log: what the trials found and the width (and grids) taken."""
        if self.trial_mse is None or self.wider_mse is None:
            width = f"width {self.width}"
        else:
            fall = (self.trial_mse - self.wider_mse) / lambda_
            least = "" if self.least_fall is None else f" (widens beyond {self.least_fall:.2f})"
            width = (
                f"trial fits at widths {self.tried} and {next_width(self.tried)}: the wider's MSE is "
                f"{fall:.2f} lambda lower{least}, so width {self.width} ({self.seconds:.1f} s)"
            )
        return f"{self.grids.describe()}; {width}" if self.grids is not None else width


def with_width(config: Config, width: int) -> Config:
    """``config`` with the frame INR ``width`` wide (``ModelConfig.hidden``)."""
    return dataclasses.replace(config, model=dataclasses.replace(config.model, hidden=width))


def with_grid_levels(config: Config, levels: int) -> Config:
    """``config`` with ``levels`` latent grid levels (``ModelConfig.grid_levels``)."""
    return dataclasses.replace(config, model=dataclasses.replace(config.model, grid_levels=levels))


def next_width(width: int) -> int | None:
    """The ladder's next width above ``width``; None where ``width`` is the widest or not on the ladder."""
    if width not in WIDTHS or width == WIDTHS[-1]:
        return None
    return WIDTHS[WIDTHS.index(width) + 1]


_REFERENCE_PATCHES_PER_PIXEL = 4 / (176 * 144)
"""Where :data:`WIDTH_PAYS` was measured: four patches of 96 pixels over frames of 176×144."""


def least_fall(tried: int, wider: int, patches_per_pixel: float = _REFERENCE_PATCHES_PER_PIXEL) -> float:
    """:data:`WIDTH_PAYS` for the step from ``tried`` to ``wider``, in lambdas.

    The extra rate of a wider model follows the weights it adds, which grow
    with the square of the width (``36 -> 48`` adds 0.56 times the weights
    of ``48 -> 64``, and measured 0.5-0.6 times the bits), and with the
    patches, each of which has a network of its own: per pixel, a frame of one
    patch pays for the step a quarter of what four patches of 176×144 paid.
    """
    narrow, wide = _REFERENCE_STEP
    patches = patches_per_pixel / _REFERENCE_PATCHES_PER_PIXEL
    return WIDTH_PAYS * patches * (wider**2 - tried**2) / (wide**2 - narrow**2)


def patches_per_pixel(frames: np.ndarray | torch.Tensor | FrameSource, config: Config) -> float:
    """How many patches of ``config`` tile one pixel of the frames' size: the networks a wider step pays for.

    Read from the frames' shape (``[T, H, W, ...]``, a :class:`FrameSource`'s too), so a file is not read again.
    """
    height, width = (int(side) for side in frames.shape[1:3])
    grid = PatchGrid.build(height, width, config.model.patch, config.model.overlap)
    return grid.num_patches / (height * width)


def _first_frames(frames: np.ndarray | torch.Tensor | FrameSource, count: int) -> np.ndarray | torch.Tensor:
    if isinstance(frames, FrameSource):
        return frames.read(0, min(count, frames.num_frames) - 1)
    return frames[:count]


def trial_mse(frames: np.ndarray | torch.Tensor | FrameSource, config: Config) -> float:
    """MSE of a short cold fit of the first group of ``frames`` at ``config``'s width, over its frames.

    The fit takes :data:`TRIAL_SHARE` of ``config.fit.iters`` steps on the
    frames of one group of ``config.fit.group_size`` (no scene-cut search, no compilation).
    """
    head = _first_frames(frames, config.fit.group_size + 1)
    fit = dataclasses.replace(
        config.fit,
        iters=max(1, round(TRIAL_SHARE * config.fit.iters)),
        group_size=max(1, len(head) - 1),
        scene_cuts=False,
        compile=False,
    )
    fitted = VideoFitter(head, dataclasses.replace(config, fit=fit)).fit(0, None)
    with torch.no_grad():
        decoded = fitted.group.render(list(range(len(head))))
    return float(torch.mean((decoded - fitted.frames) ** 2))


def grids_for_content(frames: np.ndarray | torch.Tensor | FrameSource, config: Config) -> GridChoice:
    """``config``'s latent grid levels, or none where trial fits find that the grids do not pay.

    Without grids in ``config`` there is nothing to try. The verdict does not
    depend on lambda: the grids' share of a file is much the same at every
    quality they are used at (:data:`GRIDS_PAY`).
    """
    levels = config.model.grid_levels
    if not levels:
        return GridChoice(levels, levels)
    started = time.perf_counter()
    with_mse = trial_mse(frames, config)
    without_mse = trial_mse(frames, with_grid_levels(config, 0))
    kept = levels if without_mse >= GRIDS_PAY * with_mse else 0
    return GridChoice(kept, levels, with_mse, without_mse, time.perf_counter() - started)


def width_for_content(
    frames: np.ndarray | torch.Tensor | FrameSource, config: Config, lambda_: float, known_mse: float | None = None
) -> WidthChoice:
    """``config``'s width, or the ladder's next one where trial fits find that it pays at ``lambda_``.

    ``config.model.hidden`` is the width to try, normally
    :func:`~nvcodec.recipe.shape.width_for_quality`'s; a width off the ladder,
    or the widest, is kept without a trial. ``known_mse`` is the trial MSE at
    ``config`` when a trial already fitted it (the grid trial's).
    """
    tried = config.model.hidden
    wider = next_width(tried)
    if wider is None:
        return WidthChoice(tried, tried)
    started = time.perf_counter()
    narrow_mse = trial_mse(frames, config) if known_mse is None else known_mse
    wider_mse = trial_mse(frames, with_width(config, wider))
    least = least_fall(tried, wider, patches_per_pixel(frames, config))
    width = wider if narrow_mse - wider_mse > least * lambda_ else tried
    return WidthChoice(width, tried, narrow_mse, wider_mse, least, time.perf_counter() - started)
