"""The frame INR: one small coordinate MLP per patch, all patches in one batched matmul.

Layer ``l`` computes ``act(W_l y + b_l(t))``. The weights ``W_l`` are per patch
and shared by every frame of a group; the biases are per patch *and* per frame
and come from outside (the bias INR). With ``wire`` the hidden layers are
complex, as in WIRE; the output is the real part of a final linear layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from nvcodec.config import ModelConfig
from nvcodec.model.activations import ACTIVATIONS
from nvcodec.model.tensors import frame_bias_widths, frame_inr_tensors

OUTPUT_BIAS = 0.5
"""Initial bias of the RGB layer: mid-grey, so training starts from a sensible image."""
OUTPUT_GAIN = 0.1
"""The RGB layer starts small (a tenth of its uniform bound), so the first frames are near-flat grey."""


def hidden_bound(config: ModelConfig, fan_in: int) -> float:
    """Uniform-init bound of a hidden layer: unit variance inputs -> pre-activations inside the envelope."""
    activation = ACTIVATIONS[config.activation]
    scale = activation.pre_activation_scale(config.omega0, config.s0)
    return activation.hidden_gain * math.sqrt(6.0 / fan_in) / scale


class FrameINR(nn.Module):
    """Per-patch MLPs ``2 -> hidden x layers -> 3``, evaluated for all patches at once."""

    def __init__(self, num_patches: int, config: ModelConfig, generator: torch.Generator | None = None):
        super().__init__()
        self.config = config
        self.num_patches = num_patches
        self.activation = ACTIVATIONS[config.activation].function
        specs = frame_inr_tensors(num_patches, config)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.zeros(spec.shape, dtype=torch.complex64 if spec.complex else torch.float32))
            for spec in specs.values()
        )
        self.reset_parameters(generator)

    def initial_biases(self, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Biases to start from (per layer, shared by patches); the bias INR learns around them."""
        first = ACTIVATIONS[self.config.activation].first_layer_scale
        out = []
        for index, (width, is_complex) in enumerate(frame_bias_widths(self.config)):
            if index == 0:
                bound = first
            elif index == len(self.weights) - 1:
                out.append(torch.full((width,), OUTPUT_BIAS))
                continue
            else:
                bound = hidden_bound(self.config, self.config.hidden)
            size = (width, 2) if is_complex else (width,)
            values = (torch.rand(size, generator=generator) * 2 - 1) * bound
            out.append(torch.view_as_complex(values) if is_complex else values)
        return out

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        first = ACTIVATIONS[self.config.activation].first_layer_scale
        last = len(self.weights) - 1
        for index, weight in enumerate(self.weights):
            fan_in = weight.shape[1]
            bound = first if index == 0 else hidden_bound(self.config, fan_in)
            if index == last:
                bound = math.sqrt(6.0 / fan_in) * OUTPUT_GAIN
            shape = (*weight.shape, 2) if weight.is_complex() else weight.shape
            values = (torch.rand(shape, generator=generator) * 2 - 1) * bound
            weight.copy_(torch.view_as_complex(values) if weight.is_complex() else values)

    def forward(
        self,
        coords: torch.Tensor,
        biases: list[torch.Tensor],
        observe: Callable[[str, torch.Tensor, torch.Tensor], None] | None = None,
    ) -> torch.Tensor:
        """RGB at ``coords`` for every patch and frame.

        coords: ``[P, Fc, N, 2]`` local (y, x), with ``Fc`` equal to the frame
        count or 1 (the same pixels for every frame); biases[l]: ``[P, F, width_l]``.
        Returns ``[P, F, N, 3]``. ``observe(name, inputs, outputs)`` sees each
        layer's input ``[P, F|Fc, N, in]`` and pre-activation ``[P, F, N, out]``
        by the name of its weight (``weights.l``), for error-compensated rounding.
        """
        count, _, points, _ = coords.shape
        frames = biases[0].shape[1]
        h = coords
        omega0, s0 = self.config.omega0, self.config.s0
        last = len(self.weights) - 1
        for index, (weight, bias) in enumerate(zip(self.weights, biases)):
            if h.dtype != weight.dtype:
                h = h.to(weight.dtype)
            flat = h.reshape(count, -1, h.shape[-1])
            u = torch.bmm(flat, weight).view(count, h.shape[1], points, -1) + bias.unsqueeze(2)
            if observe is not None:
                observe(f"weights.{index}", h, u)
            if index == last:
                out = u.real if u.is_complex() else u
                return out.expand(count, frames, points, out.shape[-1])
            h = self.activation(u, omega0, s0)
        raise AssertionError("unreachable")
