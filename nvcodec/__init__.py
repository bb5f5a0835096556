"""nvcodec: video stored as a neural representation (ActINR).

Public API: configuration (:class:`Config` and its presets), reading and
writing video, fitting, the model, and the error hierarchy.
"""

from nvcodec.config import PRESETS, Config, FitConfig, ModelConfig
from nvcodec.errors import ActvError, ArgumentError, ConfigError, DeviceError, InputError, OutputError
from nvcodec.fit import FitProgress, FitResult, fit_video
from nvcodec.io import Video, read_video, write_png_folder, write_video
from nvcodec.model import VideoModel

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "ActvError",
    "ArgumentError",
    "Config",
    "ConfigError",
    "DeviceError",
    "FitConfig",
    "FitProgress",
    "FitResult",
    "InputError",
    "ModelConfig",
    "OutputError",
    "Video",
    "VideoModel",
    "__version__",
    "fit_video",
    "read_video",
    "write_png_folder",
    "write_video",
]
