"""Closed segments: runs of whole groups that can be encoded anywhere, in any order.

A segment's first group is coded on its own (intra) and fitted from a cold
start, never from a neighbour, and its rate budget is its own share of the
file's. Its bytes therefore depend only on its own frames and the settings:
a Ray worker and a serial encode write the same chunks. Without segments the
whole video is one segment, and each group starts from the one before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nvcodec.config import QuantConfig
from nvcodec.errors import ArgumentError
from nvcodec.header import is_intra
from nvcodec.quant.ratecontrol import RateControl


@dataclass(frozen=True)
class SegmentPlan:
    """The groups of a video (by their boundary frames) cut into segments of ``segment_groups`` groups."""

    bounds: tuple[int, ...]
    segment_groups: int | None = None
    """Groups per closed segment; None for one segment (warm starts throughout)."""

    def __post_init__(self) -> None:
        if self.segment_groups is not None and self.segment_groups < 1:
            raise ArgumentError(f"a segment holds at least one group, got {self.segment_groups}")

    @property
    def groups(self) -> int:
        return len(self.bounds) - 1

    @property
    def length(self) -> int:
        return self.segment_groups or self.groups

    def segments(self) -> list[range]:
        """The group indices of each segment, in order."""
        return [range(first, min(first + self.length, self.groups)) for first in range(0, self.groups, self.length)]

    def starts_segment(self, index: int) -> bool:
        return index % self.length == 0

    def check(self, quant: QuantConfig) -> None:
        """Refuse a plan whose segment starts the format would code as residuals."""
        if self.segment_groups is None:
            return
        starts = [s.start for s in self.segments()]
        residual = [index for index in starts if not is_intra(index, quant)]
        if residual:
            raise ArgumentError(
                f"segments of {self.segment_groups} groups need independent groups at their starts: "
                f"make segments a multiple of the intra period ({quant.intra_period}), or turn residual coding off"
            )

    def first_new_frame(self, segment: range) -> int:
        """The first frame a segment adds: neighbouring segments share their boundary frame, counted once."""
        return 0 if segment.start == 0 else self.bounds[segment.start] + 1

    def rate_control(
        self, segment: range, max_bpp: float | None, height: int, width: int, header_bytes: int
    ) -> RateControl | None:
        """The segment's own rate budget: its frames' share of the file's, overhead included."""
        if max_bpp is None:
            return None
        first, last = self.first_new_frame(segment), self.bounds[segment.stop]
        return RateControl(
            max_bpp,
            last - first + 1,
            height,
            width,
            header_bytes,
            self.groups,
            first_frame=first,
            file_frames=self.bounds[-1] + 1,
        )

    @staticmethod
    def segment_count(groups: int, segment_groups: int | None) -> int:
        return 1 if segment_groups is None else math.ceil(groups / segment_groups)
