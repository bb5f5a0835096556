"""The model's width, latent grids, group length and fit length that a quality asks for: ladders measured on
the bench clips.

Torch-free and fit-free: the CLI's help text and the header checks read these
ladders without loading a model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TypeVar

from nvcodec.config import Config, FitConfig, ModelConfig

Value = TypeVar("Value", int, float)

WIDTH_STEPS: tuple[tuple[float, int], ...] = ((15.0, 36), (21.0, 48), (27.0, 64), (33.0, 96), (39.0, 64))
"""``(quality, width)``: below each quality, the frame-INR width of least cost; above the last, ``WIDEST``.

At one lambda the model's width is a rate-distortion choice like the steps: a
wider model costs more bits and fits better. Below Q 33 a group is one large
patch (:data:`PATCH_STEPS`), whose one network holds what four patches of 96
pixels held at 176×144, so it is wider: 36 below Q 15, 48 below Q 21, 64
below Q 27 and 96 below Q 33, the least J = MSE + lambda * bpp on carphone and
bikes of 36/48 at Q 12, 36/48 at Q 18, 36/48/64 at Q 24 and 64/96 at Q 30
(``benchmarks/results/README.md``, "One patch below Q 27" and "One patch up to
Q 33"). From Q 33, with patches of 96: per quality, the width whose whole
encode had the least J, of 48/64 at Q 36 on four clips
(``width_quality_groups.json``). Where the next width up pays on the video at
hand, short trial fits find it and the encoder takes it
(:mod:`nvcodec.recipe.trials`).

The top step is what keeps the curve climbing: with 64 the widest, Q 30 and
Q 36 were both width 64 on bikes and motion, and the lower lambda bought
0.1-0.2 dB. At Q 36 width 96 had the lower J on bikes (+2.0 dB for 0.59 bpp
more) and the higher on carphone (+0.8 dB for 0.47 bpp), and at Q 42's lambda
the lower on both (``python -m benchmarks.ceiling``, ``ceiling.json``): so
Q 36 tries 96 by content and Q 39 and above take it.
"""
WIDEST = 96


def _step_for(quality: float, steps: tuple[tuple[float, Value], ...], last: Value) -> Value:
    """The value of the first ``(below, value)`` step that ``quality`` lies below; ``last`` above them all."""
    return next((value for below, value in steps if quality < below), last)


def width_for_quality(quality: float) -> int:
    """The frame-INR width (``ModelConfig.hidden``) that ``actv-encode --quality`` uses when none is given."""
    return _step_for(quality, WIDTH_STEPS, WIDEST)


PATCH_STEPS: tuple[tuple[float, int], ...] = ((33.0, 176),)
"""``(quality, side)``: below each quality, the patch side in pixels (clipped to the frame); above the last,
:data:`SMALL_PATCH`.

Each patch has a network of its own, so at 176×144 patches of 96 pay four times for the weights that one
network of the whole frame holds once. Where latent grids carry the detail (:data:`GRID_STEPS`) one wider
network does better: it had a 4-18% lower J than four patches at Q 12, 18 and 24 on carphone and bikes,
and on the quality ladders it is -3 to -19% BD-rate on the four bench clips and -5 to -8% on three
held-out ones (``benchmarks/results/README.md``, "One patch below Q 27"). At Q 30 one patch of width 96
without grids was no better than four of 48 or 64, and with grids it had a 5-10% lower J; on the ladders
it then took 27-28% fewer bits for 0.06-0.23 dB less on bikes and motion and gave 0.6-1.1 dB for 5-9%
more on carphone and bunny: -4 to -10% BD-rate on the bench clips and -5 to -10% held out ("One patch up
to Q 33"). At Q 36 it did not pay on bikes, where one network of width 96 ran out of capacity. A side of
176 is also about C3's patch (180×240 pixels of 1080p video). On frames of about 352×288 patches of 176
were 5% lower in J than patches of 96 on one clip and level on another at Q 25 ("Frames larger than
176×144"); frames of 640×360 and more are not measured.
"""
SMALL_PATCH = 96
"""The patch side above the last step: ``ModelConfig.patch``'s default."""


def patch_for_quality(quality: float) -> int:
    """The patch side (``ModelConfig.patch``) that ``actv-encode --quality`` uses when none is given."""
    return _step_for(quality, PATCH_STEPS, SMALL_PATCH)


def overlap_for(side: int, overlap: int) -> int:
    """The overlap patches of ``side`` pixels take where ``overlap`` is asked for: at most a quarter of the
    side, so a small patch is not mostly blend band (``--patch`` and the patch by quality alike)."""
    return min(overlap, side // 4)


def with_patch(model: ModelConfig, side: int) -> ModelConfig:
    """``model`` with patches of ``side`` pixels and their overlap (:func:`overlap_for`)."""
    return dataclasses.replace(model, patch=side, overlap=overlap_for(side, model.overlap))


GROUP_STEPS: tuple[tuple[float, int], ...] = ((24.0, 30),)
"""``(quality, frames)``: below each quality, the group length of least cost; above the last, ``SHORTEST_GROUP``.

Every group pays once for its frame INR and bias INR. At a low quality few,
long groups spread that cost over more frames; at a high one shorter groups
give each frame more of a model. Measured by ``python -m benchmarks.group_quality``
(``benchmarks/results/group_quality.json``): at equal fit steps per frame, the
group length of 10, 15 or 30 frames whose whole encode has the least
J = MSE + lambda * bpp, on carphone and bikes.
"""
SHORTEST_GROUP = 15


def group_size_for_quality(quality: float) -> int:
    """Frames per group (``FitConfig.group_size``) that ``actv-encode --quality`` uses when none is given."""
    return _step_for(quality, GROUP_STEPS, SHORTEST_GROUP)


GRID_STEPS: tuple[tuple[float, int], ...] = ((39.0, 4),)
"""``(quality, levels)``: below each quality, the latent grid levels (:mod:`nvcodec.model.latent_grids`, a
point every :data:`GRID_CELL` pixels at the finest); above the last, none. The grid trial
(:func:`nvcodec.recipe.trials.grids_for_content`) drops them where they do not pay on the video.

Measured by ``python -m benchmarks.latent_grids`` (``benchmarks/results/latent_grids.json``) against the
quality ladder without grids: four levels every 4 pixels gained 0.6 and 0.3 dB at Q 18 and 24 on
carphone and 0.2 and 0.4 dB on bikes at equal rate. With one patch of the whole frame
(:data:`PATCH_STEPS`) they pay up to Q 33 ("One patch up to Q 33" in ``benchmarks/results/README.md``).
With patches of 96 at Q 36 they cost 4% of J on carphone and 1% on bunny by a quality rule alone and
saved 5-7% on bikes and motion (``latent_grids_top2.json``), so they waited for a choice by content. With
the trial, Q 36 keeps them on bikes, bunny and bunny_open (8.6%, 15.7% and 2.9% lower J) and on carphone
(2.2% more J), and drops them on motion, motion_slow and bikes_early ("Latent grids at Q 36 by content").
Above Q 39 nothing is measured.
"""
GRID_CELL = 4
"""The spacing the measurements used: ``ModelConfig.grid_cell``'s default."""


def grid_levels_for_quality(quality: float) -> int:
    """Latent grid levels (``ModelConfig.grid_levels``) that ``actv-encode --quality`` uses when none is given."""
    return _step_for(quality, GRID_STEPS, 0)


FIT_LENGTH_STEPS: tuple[tuple[float, float], ...] = ((27.0, 1.0), (33.0, 1.5))
"""``(quality, factor)``: below each quality, the factor on the preset's fit steps; above the last,
:data:`LONGEST_FIT`.

The top of the ladder is where the fit, not the bits, runs out: at Q 36 twice the steps gave +0.97 dB for
7% more bits on carphone and +0.91 dB for 5% more on bikes, where width 96 or smaller patches bought less
per bit (``python -m benchmarks.ceiling``, ``ceiling.json``). So a high quality pays in encode time, as a
slower preset would, and the default quality and those below keep the preset's time. On the quality
ladder of the four bench clips, twice the steps at Q 36 gained 0.97-1.11 dB for 0.8-3.2% more bits, at
1.3-1.6x the encode time, and then 1.5 times at Q 30 gained 0.55-0.60 dB for 0.7-4.2% more bits, at about
1.4x the time (``benchmarks/results/README.md``, "Fit length by quality"). The trial fits keep the preset's
length, which their threshold was measured at (:mod:`nvcodec.recipe.trials`).
"""
LONGEST_FIT = 2.0


def fit_length_for_quality(quality: float) -> float:
    """The factor on the preset's fit steps (``iters``, ``iters_warm``) of ``actv-encode --quality``."""
    return _step_for(quality, FIT_LENGTH_STEPS, LONGEST_FIT)


def with_fit_length(fit: FitConfig, factor: float) -> FitConfig:
    """``fit`` with ``factor`` times its steps (the first group's and the warm groups')."""
    if factor == 1.0:
        return fit
    return dataclasses.replace(
        fit, iters=max(1, round(fit.iters * factor)), iters_warm=max(1, round(fit.iters_warm * factor))
    )


@dataclass(frozen=True)
class Given:
    """What the user fixed, which the quality then leaves alone."""

    width: bool = False
    """``--hidden``: no width by quality, no trial fits."""
    patch: bool = False
    """``--patch``: no patch side by quality."""
    group_length: bool = False
    """``--group-size``: no group length by quality."""
    steps: bool = False
    """``--iters``/``--iters-warm``: a group length by quality keeps these steps instead of scaling them."""
    masked: bool = False
    """``--mask``: no trial fits (a trial cannot score unknown pixels)."""
    grids: bool = False
    """``--grid-levels``: no latent grids by quality, no grid trial."""


def shaped_for_quality(config: Config, quality: float, given: Given = Given()) -> Config:  # frozen
    """``config`` at the width, latent grids and group length of ``quality``, where ``given`` does not fix them.

    Idempotent: shaping a shaped config again changes nothing, so the CLI may shape once before it
    has frames and :func:`nvcodec.recipe.quality.config_for_quality` again per video.
    """
    model = config.model if given.width else dataclasses.replace(config.model, hidden=width_for_quality(quality))
    if not given.patch:
        model = with_patch(model, patch_for_quality(quality))
    if not given.grids:  # the grids' spacing stays the config's (ModelConfig's default is GRID_CELL)
        model = dataclasses.replace(model, grid_levels=grid_levels_for_quality(quality))
    fit = config.fit if given.group_length else fit_for_quality(quality, config.fit, keep_steps=given.steps)
    return Config(model, fit)


def fit_for_quality(quality: float, fit: FitConfig, keep_steps: bool = False) -> FitConfig:
    """``fit`` with the group length of ``quality`` (:func:`with_group_length`)."""
    return with_group_length(fit, group_size_for_quality(quality), keep_steps)


def with_group_length(fit: FitConfig, frames: int, keep_steps: bool = False) -> FitConfig:
    """``fit`` with groups of ``frames``, at the same fit steps per frame unless ``keep_steps``.

    ``fit``'s warm-group steps are taken as meant for its own group length and
    scale with the new one; the first group keeps its extra steps for starting
    cold. So a video costs about the same fit steps whatever its group length,
    and the length trades rate against distortion, not against encode time.
    ``keep_steps`` leaves the steps alone, for steps a user gave.
    """
    if keep_steps:
        return dataclasses.replace(fit, group_size=frames)
    warm = max(1, round(fit.iters_warm * frames / fit.group_size))
    return dataclasses.replace(fit, group_size=frames, iters_warm=warm, iters=max(1, fit.iters + warm - fit.iters_warm))
