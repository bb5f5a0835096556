"""What ``actv-encode`` was asked, as one value built once from its parser.

Past :func:`nvcodec.cli.encode.request_from_args`, nothing reads an
``argparse.Namespace``: the serial path, the Ray path and the per-input config
take an :class:`EncodeRequest`, and the library gets its
:class:`~nvcodec.options.EncodeOptions` whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nvcodec.config import Config, QuantConfig
from nvcodec.distributed import Cluster
from nvcodec.options import EncodeOptions
from nvcodec.recipe.quality import RateTrade
from nvcodec.recipe.shape import Given


@dataclass(frozen=True)
class FrameRange:
    """Which frames of each input: ``--start``, ``--frames``, ``--stride``, and the ``--fps`` to store."""

    start: int = 0
    frames: int | None = None
    stride: int = 1
    fps: float | None = None

    @property
    def stop(self) -> int | None:
        """One past the last frame read (None: to the end)."""
        return self.start + self.frames * self.stride if self.frames else None


@dataclass(frozen=True)
class EncodeRequest:
    """Everything one run of ``actv-encode`` does, for all its inputs."""

    inputs: tuple[str, ...]
    output: str
    config: Config
    """The preset with the user's settings, shaped for the quality (before any input's trial fits)."""
    quant: QuantConfig
    options: EncodeOptions
    """Rate, segments; each input adds its resume folder and listeners."""
    given: Given
    """What the user fixed that the quality leaves alone."""
    preset: str = "medium"
    sample: bool = False
    frames: FrameRange = FrameRange()
    mask: Path | None = None
    cluster: Cluster | None = None
    """Ray (``--workers``, ``--ray-address``), or None for the serial path."""
    threads: int | None = None
    overwrite: bool = False
    resume: bool = False
    quiet: bool = False

    @property
    def trade(self) -> RateTrade | None:
        return self.options.trade


__all__ = ["EncodeRequest", "FrameRange"]
