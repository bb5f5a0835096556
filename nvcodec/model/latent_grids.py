"""Latent grids: per patch, 2-D grids of learned numbers at several resolutions, sampled at each pixel.

The frame INR alone must hold every detail of a group in its weights, which
at 176×144 are most of a file. Following C3 and Cool-Chic, a group instead
stores multi-resolution latent grids, cheap where they are zero and coded
under a context model (:mod:`nvcodec.entropy.context`), and feeds the frame
INR their values at each pixel beside its coordinates. A group's frames
share the grids; the bias INR still carries motion.

Grids are functions of the patch's continuous local coordinates (bilinear
between grid points, level ``k`` at a spacing of ``grid_cell * 2^k`` input
pixels), so any output size and any time decode as before.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from nvcodec.config import ModelConfig
from nvcodec.model.tensors import ARM_SHAPES, grid_sides

ARM_INIT_SCALE = 0.05
"""Bound of the context model's random initial weights: it starts close to one fixed distribution."""
ARM_INIT_LOG2_SCALE = 1.0
"""Initial log2 of the predicted Laplace scale (2 steps), before the model learns the grids' statistics."""


class LatentGrids(nn.ParameterList):
    """``[P, h_k, w_k]`` grids, one per level, all zero at the start (nothing is stored for them until they learn)."""

    def __init__(self, num_patches: int, config: ModelConfig, patch_shape: tuple[int, int]):
        rows, cols = grid_sides(patch_shape[0], config), grid_sides(patch_shape[1], config)
        super().__init__(nn.Parameter(torch.zeros(num_patches, h, w)) for h, w in zip(rows, cols))

    def sample(self, coords: torch.Tensor) -> torch.Tensor:
        """``[P, ..., 2]`` local (y, x) in [-1, 1] -> ``[P, ..., levels]``: every level bilinear at each point."""
        patches, lead = coords.shape[0], coords.shape[1:-1]
        points = coords.flip(-1).reshape(patches, -1, 1, 2)  # grid_sample takes (x, y)
        values = [
            functional.grid_sample(level[:, None], points, mode="bilinear", padding_mode="border", align_corners=True)
            for level in self
        ]
        return torch.cat(values, dim=1).reshape(patches, len(self), *lead).movedim(1, -1)


def initial_context_model(generator: torch.Generator | None = None) -> nn.ParameterDict:
    """The context model's float weights (``nvcodec.entropy.context.IntegerARM`` once rounded): small random
    weights and an output bias that predicts a zero-mean Laplace of scale ``2^ARM_INIT_LOG2_SCALE``."""
    weights = {}
    for name, shape in ARM_SHAPES.items():
        values = (torch.rand(shape, generator=generator) * 2 - 1) * ARM_INIT_SCALE
        if name.startswith("b"):
            values = torch.zeros(shape)
        weights[name] = nn.Parameter(values)
    with torch.no_grad():
        weights["b2"][1] = ARM_INIT_LOG2_SCALE
    return nn.ParameterDict(weights)
