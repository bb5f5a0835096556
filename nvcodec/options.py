"""What an encode is asked to do beyond the model and fit: one value that every encode path passes whole.

``encode()``, ``encode_segment()``, ``encode_videos()`` and the ``actv-encode``
tool all take an :class:`EncodeOptions`, so a new option is one field here and
the places that act on it, not a parameter threaded through five signatures.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nvcodec.errors import ArgumentError
from nvcodec.recipe.quality import RateTrade, rate_trade

if TYPE_CHECKING:
    from nvcodec.encoder import GroupCoded
    from nvcodec.fit import FitProgress


@dataclass(frozen=True)
class EncodeOptions:
    """The rate, the segmenting, the resume folder and the listeners of one encode.

    With neither ``quality`` nor ``lambda_``, groups are coded at the bit depths
    of the ``QuantConfig`` (the encoder before rate in the loss).
    """

    quality: float | None = None
    """Train every group with ``MSE + lambda * bpp`` at ``lambda = 10^(-quality/10)``: higher is better."""
    lambda_: float | None = None
    """Set ``lambda`` directly instead of ``quality``."""
    max_bpp: float | None = None
    """A rate target for the whole file: groups that would overrun their share are coded coarser."""
    segment_groups: int | None = None
    """Cut the video into closed segments of this many groups (:mod:`nvcodec.segments`)."""
    resume_folder: Path | None = None
    """Keep each finished group here; an encode with the same frames and settings resumes from it."""
    callback: Callable[[FitProgress], None] | None = field(default=None, compare=False)
    """Hears every fit step's progress."""
    on_group: Callable[[GroupCoded], None] | None = field(default=None, compare=False)
    """Hears each group once it is in the file."""

    def __post_init__(self) -> None:
        rate_trade(self.quality, self.lambda_)  # both at once, or a bad value, is an ArgumentError now
        if self.max_bpp is not None and not self.max_bpp > 0:
            raise ArgumentError(f"max_bpp must be positive, got {self.max_bpp!r}")
        if self.segment_groups is not None and self.segment_groups < 1:
            raise ArgumentError(f"segment_groups must be at least 1, got {self.segment_groups!r}")
        if self.resume_folder is not None and not isinstance(self.resume_folder, Path):
            object.__setattr__(self, "resume_folder", Path(os.fspath(self.resume_folder)))

    @property
    def trade(self) -> RateTrade | None:
        """Rate in the loss at ``quality`` or ``lambda_``; None for fixed-depth coding."""
        return rate_trade(self.quality, self.lambda_)

    def plain(self) -> EncodeOptions:
        """These options without listeners or resume folder: what a worker process is given (picklable)."""
        return dataclasses.replace(self, callback=None, on_group=None, resume_folder=None)


__all__ = ["EncodeOptions"]
