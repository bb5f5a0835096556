"""Rate control: keep a file under a bits-per-pixel budget by lowering bit depth group by group.

The model's size is fixed by its configuration, so the rate a file reaches
depends on how finely each group's parameters are quantized. Like a video
codec's rate control, each group gets a share of the budget in proportion to
the frames it adds, plus whatever earlier groups left unspent; a group is coded
at the requested bit depth when it fits its share and at fewer bits when it
does not. Chunks carry their own quantization steps, so a decoder needs no
signalling for a group coded at a lower depth.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from nvcodec.config import MIN_BITS, QuantConfig
from nvcodec.container import container_overhead
from nvcodec.errors import ArgumentError


def lower_depths(quant: QuantConfig) -> Iterator[QuantConfig]:
    """``quant``, then the same with every per-kind depth one bit lower, down to :data:`~nvcodec.config.MIN_BITS`."""
    for drop in range(max(quant.bits_frame, quant.bits_latent, quant.bits_bias) - MIN_BITS + 1):
        yield dataclasses.replace(
            quant,
            bits_frame=max(MIN_BITS, quant.bits_frame - drop),
            bits_latent=max(MIN_BITS, quant.bits_latent - drop),
            bits_bias=max(MIN_BITS, quant.bits_bias - drop),
        )


@dataclass
class RateControl:
    """Bit budget of a whole file spread over its groups."""

    max_bpp: float
    frames: int
    """Frames this budget pays for: the whole file's, or a closed segment's (from ``first_frame`` on)."""
    height: int
    width: int
    header_bytes: int
    groups: int
    """Groups of the whole file (for the container's overhead)."""
    spent_bytes: int = 0
    first_frame: int = 0
    file_frames: int | None = None
    """Frames of the whole file, when this budget is a segment's; the overhead is shared by frames."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_bpp) and self.max_bpp > 0):
            raise ArgumentError(f"the bpp target must be a positive number, got {self.max_bpp}")

    @property
    def budget_bytes(self) -> float:
        """Payload bytes these frames may hold."""
        total = self.max_bpp * self.frames * self.height * self.width / 8
        overhead = float(container_overhead(self.header_bytes, self.groups))
        if self.file_frames is not None:
            overhead *= self.frames / self.file_frames
        return total - overhead

    def allowance(self, end: int) -> float:
        """Payload bytes a group ending at frame ``end`` may use: its share so far, less what was spent."""
        return self.budget_bytes * (end + 1 - self.first_frame) / self.frames - self.spent_bytes

    def choose(self, end: int, quant: QuantConfig, size_at: Callable[[QuantConfig], int]) -> QuantConfig:
        """The finest depth (from ``quant`` down) whose payload ``size_at(q)`` fits the allowance.

        Falls back to the coarsest depth when nothing fits; the file then ends
        above target, which the caller reports.
        """
        allowance = self.allowance(end)
        chosen = quant
        for candidate in lower_depths(quant):
            chosen = candidate
            if size_at(candidate) <= allowance:
                break
        return chosen

    def spend(self, payload_bytes: int) -> None:
        self.spent_bytes += payload_bytes
