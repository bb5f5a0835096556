"""nvcodec: video stored as a neural representation (ActINR).

Public API: configuration (:class:`Config` and its presets), reading and
writing video, fitting, encoding, :class:`VideoReader`, the model, and the
error hierarchy. Names load on first use: ``import nvcodec`` is instant, and
torch loads only when something needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nvcodec.lazy import lazy_exports
from nvcodec.version import __version__

if TYPE_CHECKING:
    from nvcodec.config import PRESETS, Config, FitConfig, ModelConfig, QuantConfig
    from nvcodec.encoder import EncodeStats, encode
    from nvcodec.errors import (
        ActvError,
        ArgumentError,
        ConfigError,
        DeviceError,
        FormatError,
        InputError,
        OutputError,
    )
    from nvcodec.fit import FitProgress, FitResult, fit_video
    from nvcodec.io import Video, read_video, write_png_folder, write_video
    from nvcodec.model import VideoModel
    from nvcodec.options import EncodeOptions
    from nvcodec.reader import VideoReader

_EXPORTS = {
    **dict.fromkeys(["PRESETS", "Config", "FitConfig", "ModelConfig", "QuantConfig"], "nvcodec.config"),
    **dict.fromkeys(["EncodeStats", "encode"], "nvcodec.encoder"),
    "EncodeOptions": "nvcodec.options",
    **dict.fromkeys(
        ["ActvError", "ArgumentError", "ConfigError", "DeviceError", "FormatError", "InputError", "OutputError"],
        "nvcodec.errors",
    ),
    **dict.fromkeys(["FitProgress", "FitResult", "fit_video"], "nvcodec.fit"),
    **dict.fromkeys(["Video", "read_video", "write_png_folder", "write_video"], "nvcodec.io"),
    "VideoModel": "nvcodec.model",
    "VideoReader": "nvcodec.reader",
}
__all__ = [
    "PRESETS",
    "ActvError",
    "ArgumentError",
    "Config",
    "ConfigError",
    "DeviceError",
    "EncodeOptions",
    "EncodeStats",
    "FitConfig",
    "FitProgress",
    "FitResult",
    "FormatError",
    "InputError",
    "ModelConfig",
    "OutputError",
    "QuantConfig",
    "Video",
    "VideoModel",
    "VideoReader",
    "__version__",
    "encode",
    "fit_video",
    "read_video",
    "write_png_folder",
    "write_video",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
