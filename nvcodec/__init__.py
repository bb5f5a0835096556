"""nvcodec: video stored as a neural representation (ActINR).

Public API: configuration (:class:`Config` and its presets), reading and
writing video, fitting, the model, and the error hierarchy.
"""

__version__ = "0.1.0"

from nvcodec.config import PRESETS, Config, FitConfig, ModelConfig, QuantConfig
from nvcodec.encoder import EncodeStats, encode
from nvcodec.errors import ActvError, ArgumentError, ConfigError, DeviceError, FormatError, InputError, OutputError
from nvcodec.fit import FitProgress, FitResult, fit_video
from nvcodec.io import Video, read_video, write_png_folder, write_video
from nvcodec.model import VideoModel
from nvcodec.reader import VideoReader

__all__ = [
    "PRESETS",
    "ActvError",
    "ArgumentError",
    "Config",
    "ConfigError",
    "DeviceError",
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
