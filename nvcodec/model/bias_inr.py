"""The bias INR: a continuous function of time that outputs every frame-INR bias.

Input is random Fourier features of group-local time ``tau`` in [0, 1] joined
with a learnable latent per patch. A shared GeLU layer feeds one linear head per
frame-INR layer. Being continuous in ``tau``, it decodes any fractional time;
the paper shows that interpolating per-frame biases linearly does not.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional

from nvcodec.config import ModelConfig
from nvcodec.model.tensors import frame_bias_widths

# Heads start with small weights so that all patches and times begin near the
# frame INR's initial biases, and learn their variation from there.
HEAD_WEIGHT_SCALE = 0.1
HEAD_MIN_BIAS = 1e-3
"""Floor of the typical initial bias that sizes a head's weights (the RGB head starts at grey, not 0)."""
LATENT_INIT_SCALE = 0.1
"""Latents start small and random: patches are told apart from the first step without dominating the time features."""


class BiasINR(nn.Module):
    frequencies: torch.Tensor
    trunk: nn.Linear

    def __init__(
        self,
        num_patches: int,
        config: ModelConfig,
        initial_biases: list[torch.Tensor],
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.bias_shapes = frame_bias_widths(config)
        # Fixed frequencies in cycles per group; stored (not re-drawn) so decode never depends on an RNG.
        self.register_buffer("frequencies", torch.randn(config.rff_freqs, generator=generator) * config.rff_sigma)
        self.latents = nn.Parameter(
            torch.randn(num_patches, config.latent_dim, generator=generator) * LATENT_INIT_SCALE
        )
        in_features = 2 * config.rff_freqs + config.latent_dim
        self.trunk = nn.Linear(in_features, config.hyper_hidden)
        heads = [
            nn.Linear(config.hyper_hidden, width * (2 if is_complex else 1)) for width, is_complex in self.bias_shapes
        ]
        self.heads = nn.ModuleList(heads)
        with torch.no_grad():
            bound = 1.0 / math.sqrt(in_features)
            self.trunk.weight.copy_((torch.rand(self.trunk.weight.shape, generator=generator) * 2 - 1) * bound)
            self.trunk.bias.copy_((torch.rand(self.trunk.bias.shape, generator=generator) * 2 - 1) * bound)
            for head, start in zip(heads, initial_biases):
                typical = start.abs().mean().clamp(min=HEAD_MIN_BIAS)
                scale = HEAD_WEIGHT_SCALE * typical / math.sqrt(config.hyper_hidden)
                head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * scale)
                head.bias.copy_(torch.view_as_real(start).reshape(-1) if start.is_complex() else start)

    @torch.no_grad()
    def retime(self, offset: float, scale: float) -> None:
        """Change the time axis in place: afterwards ``self(tau)`` equals the old ``self(offset + scale * tau)``.

        Exact, because a shift of time is a rotation of each (sin, cos) feature
        pair, which the trunk's weights absorb, and a change of scale is one of
        the frequencies.
        """
        count = self.frequencies.shape[0]
        angle = (2 * math.pi * offset) * self.frequencies
        cos, sin = torch.cos(angle), torch.sin(angle)
        weight = self.trunk.weight
        w_sin, w_cos = weight[:, :count].clone(), weight[:, count : 2 * count].clone()
        weight[:, :count] = w_sin * cos - w_cos * sin
        weight[:, count : 2 * count] = w_sin * sin + w_cos * cos
        self.frequencies.mul_(scale)

    @torch.no_grad()
    def hold(self, tau: float) -> None:
        """Make the output constant in time, equal to its value at ``tau``, in place.

        The trunk's response to the time features at ``tau`` moves into its bias
        and its time weights restart from zero, so training learns new motion
        from a still frame instead of inheriting how the old time axis went on.
        """
        count = 2 * self.frequencies.shape[0]
        features = self.time_features(torch.tensor([tau], device=self.frequencies.device))[0]
        self.trunk.bias.add_(self.trunk.weight[:, :count] @ features)
        self.trunk.weight[:, :count] = 0.0

    def time_features(self, tau: torch.Tensor) -> torch.Tensor:
        """``[F] -> [F, 2K]``: ``sin`` and ``cos`` of ``2 pi B tau``."""
        phase = (2 * math.pi) * tau[:, None] * self.frequencies[None, :]
        return torch.cat([torch.sin(phase), torch.cos(phase)], dim=-1)

    def forward(
        self, tau: torch.Tensor, observe: Callable[[str, torch.Tensor, torch.Tensor], None] | None = None
    ) -> list[torch.Tensor]:
        """Biases ``[P, F, width_l]`` for every layer at group-local times ``tau`` (``[F]``).

        ``observe(name, inputs, outputs)`` sees the input ``[P, F, in]`` and the
        output ``[P, F, out]`` of each linear layer by the name of its weight
        (``trunk.weight``, ``heads.l.weight``), for error-compensated rounding.
        """
        feats = self.time_features(tau)
        patches, frames = self.latents.shape[0], feats.shape[0]
        x = torch.cat(
            [feats.unsqueeze(0).expand(patches, -1, -1), self.latents.unsqueeze(1).expand(-1, frames, -1)], dim=-1
        )
        trunk = self.trunk(x)
        hidden = functional.gelu(trunk)
        if observe is not None:
            observe("trunk.weight", x, trunk)
        out = []
        for index, (head, (_, is_complex)) in enumerate(zip(self.heads, self.bias_shapes)):
            b = head(hidden)
            if observe is not None:
                observe(f"heads.{index}.weight", hidden, b)
            out.append(torch.view_as_complex(b.unflatten(-1, (-1, 2)).contiguous()) if is_complex else b)
        return out
