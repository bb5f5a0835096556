"""ActINR model: per-patch frame INRs whose biases come from a bias INR of time."""

from nvcodec.model.activations import ACTIVATION_FUNCTIONS
from nvcodec.model.bias_inr import BiasINR
from nvcodec.model.frame_inr import FrameINR
from nvcodec.model.group import GroupModel
from nvcodec.model.video import VideoModel, group_bounds

__all__ = ["ACTIVATION_FUNCTIONS", "BiasINR", "FrameINR", "GroupModel", "VideoModel", "group_bounds"]
