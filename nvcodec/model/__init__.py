"""ActINR model: per-patch frame INRs whose biases come from a bias INR of time.

Names load on first use, so that the torch-free parts (the activation records
and the tensor table, which a header's validation reads) import alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nvcodec.lazy import lazy_exports

if TYPE_CHECKING:
    from nvcodec.model.activations import ACTIVATIONS, Activation
    from nvcodec.model.bias_inr import BiasINR
    from nvcodec.model.frame_inr import FrameINR
    from nvcodec.model.group import GroupModel
    from nvcodec.model.video import VideoModel
    from nvcodec.timebase import group_bounds

_EXPORTS = {
    "ACTIVATIONS": "nvcodec.model.activations",
    "Activation": "nvcodec.model.activations",
    "BiasINR": "nvcodec.model.bias_inr",
    "FrameINR": "nvcodec.model.frame_inr",
    "GroupModel": "nvcodec.model.group",
    "VideoModel": "nvcodec.model.video",
    "group_bounds": "nvcodec.timebase",
}
__all__ = ["ACTIVATIONS", "Activation", "BiasINR", "FrameINR", "GroupModel", "VideoModel", "group_bounds"]
__getattr__ = lazy_exports(__name__, _EXPORTS)
