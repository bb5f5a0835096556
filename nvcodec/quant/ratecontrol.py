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

LAMBDA_GAIN = 2.0
"""Power of a group's bytes-to-allowance ratio by which the next group's lambda moves. On the bench clips
bits go about as ``lambda^-0.4`` (``benchmarks/results/rd_rate``), so a full correction would be the power
2.5; a little less keeps the control from overshooting on groups whose cost differs by nature (intra,
residual)."""
MAX_RATIO = 4.0
"""Bound on the ratio one group may move lambda by (an empty allowance would give an infinite one)."""
LEAST_ALLOWANCE = 0.25
"""A group's allowance counts as at least this share of the budget per group, for :meth:`RateControl.lambda_after`."""
LAMBDA_SCALE_RANGE = (2.0**-8, 2.0**8)
"""Range of the lambda factor: 24 quality points either way."""


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

    lambda_scale: float = 1.0
    """Factor on the quality's lambda for the next group coded with rate in the loss (:meth:`spend`)."""
    coded_groups: int = 0

    @property
    def searching(self) -> bool:
        """Whether the next group is the first under this budget: its lambda is searched, not predicted."""
        return self.coded_groups == 0

    def lambda_after(self, lambda_scale: float, payload_bytes: int, end: int) -> float:
        """The lambda factor for the next group, after a group ending at ``end`` coded at ``lambda_scale``
        took ``payload_bytes`` (before they are spent).

        Like x264's rate control adjusting its quantizer: a group over its allowance raises lambda for the
        next, one under it lowers lambda, by :data:`LAMBDA_GAIN` powers of the ratio. The allowance carries
        what earlier groups left or overspent, so the file converges on its target.
        """
        share = self.budget_bytes * (end + 1 - self.first_frame) / self.frames / max(self.coded_groups + 1, 1)
        ratio = payload_bytes / max(self.allowance(end), LEAST_ALLOWANCE * share, 1.0)
        ratio = min(max(ratio, 1 / MAX_RATIO), MAX_RATIO)
        low, high = LAMBDA_SCALE_RANGE
        return min(max(lambda_scale * ratio**LAMBDA_GAIN, low), high)

    def spend(self, payload_bytes: int, end: int | None = None, lambda_scale: float | None = None) -> None:
        """Count a coded group's bytes; with its ``end`` and the ``lambda_scale`` it was coded at (rate in the
        loss), set the next group's lambda factor (:meth:`lambda_after`). A resumed encode replays the same
        calls from its saved groups, so it continues with the same lambdas."""
        if end is not None and lambda_scale is not None:
            self.lambda_scale = self.lambda_after(lambda_scale, payload_bytes, end)
        self.spent_bytes += payload_bytes
        self.coded_groups += 1
