"""The config of one input: the width its trial fits choose, then a check that the model suits its size.

Serial encodes (:mod:`nvcodec.cli.encode`) and Ray encodes (:mod:`nvcodec.cli.cluster`)
both make each input's config here, so the two write the same bytes.
"""

from __future__ import annotations

import dataclasses

from nvcodec.cli.common import info
from nvcodec.cli.jobs import PROG
from nvcodec.cli.request import EncodeRequest
from nvcodec.config import Config, QuantConfig
from nvcodec.header import stored_bits_estimate
from nvcodec.recipe.quality import config_for_quality
from nvcodec.source import FrameSource

MIN_SHRUNK_WIDTH = 4
"""Narrowest network the size check shrinks to (hidden and bias-INR widths)."""
RAW_BITS_PER_PIXEL = 24


def sized_for_video(config: Config, quant: QuantConfig, shape: tuple[int, int, int], fixed: bool) -> tuple[Config, str]:
    """``config``, narrowed where its parameters alone would outweigh the raw video; and a warning, or ``""``.

    A tiny input (a few frames of a few pixels) can be smaller than the model
    that stores it. When the widths were not given (``fixed`` false) they are
    halved until the estimate (:func:`~nvcodec.header.stored_bits_estimate`)
    is under half the raw size or reaches :data:`MIN_SHRUNK_WIDTH`.
    """
    frames, height, width = shape
    raw_bits = frames * height * width * RAW_BITS_PER_PIXEL
    estimate = stored_bits_estimate(frames, height, width, config, quant)
    if estimate <= raw_bits:
        return config, ""
    message = f"the model's parameters (about {estimate // 8:,} bytes) outweigh the raw video ({raw_bits // 8:,} bytes)"
    if fixed:
        return config, f"warning: {message}; a smaller --hidden or --patch would suit this input"
    model = config.model
    while estimate > raw_bits // 2 and max(model.hidden, model.hyper_hidden) > MIN_SHRUNK_WIDTH:
        model = dataclasses.replace(
            model,
            hidden=max(MIN_SHRUNK_WIDTH, model.hidden // 2),
            hyper_hidden=max(MIN_SHRUNK_WIDTH, model.hyper_hidden // 2),
        )
        estimate = stored_bits_estimate(frames, height, width, dataclasses.replace(config, model=model), quant)
    return dataclasses.replace(config, model=model), (
        f"warning: {message}; using --hidden {model.hidden} (bias-INR width {model.hyper_hidden}) instead"
    )


def config_for_video(request: EncodeRequest, name: str, source: FrameSource, masked: bool) -> Config:
    """The request's config made for the input ``name``: at the width its trial fits choose
    (:func:`~nvcodec.recipe.quality.config_for_quality`, when the quality chose the width and no mask is
    given), then sized for it (:func:`sized_for_video`).
    """
    config, trade = request.config, request.trade
    if trade is not None:
        given = dataclasses.replace(request.given, masked=masked)
        config, choice = config_for_quality(config, trade, source, given)
        if choice.tested:
            info(PROG, f"{name}: {choice.describe(trade.lambda_)}", request.quiet)
    config, warning = sized_for_video(config, request.quant, source.shape, fixed=request.given.width)
    if warning:
        info(PROG, warning, request.quiet)
    return config
