"""Every tensor a group stores and how the codec treats it: the one table everything reads.

:func:`group_tensors` declares, from the configuration alone, each tensor's
name, shape and type (ACTV.md section 12.2) and its *role*: which bit depth
quantizes it, which axes keep their own step, whether it is pruned, which
axis holds a weight matrix's inputs (for error-compensated rounding) and how
its symbols are coded. The model builds its parameters from this table and
checks its ``state_dict`` against it, so renaming a model attribute fails
loudly instead of silently changing the bitstream. Quantization, the chunk
layout and the header's allocation cap read the table, never names or ranks.

Torch-free, so that a header can be validated without loading torch.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nvcodec.model.activations import ACTIVATIONS

if TYPE_CHECKING:
    from nvcodec.config import ModelConfig, QuantConfig


class Kind(enum.Enum):
    """What a tensor is, which decides its bit depth (``QuantConfig.bits_<kind>``) and pruning."""

    FRAME = "frame"
    """Per-patch frame-INR weight matrices ``[P, in, out]``: the bulk of a group, and the only ones pruned."""
    LATENT = "latent"
    """Per-patch latents ``[P, Z]`` of the bias INR."""
    BIAS = "bias"
    """Weight matrices ``[out, in]`` of the bias INR."""
    VECTOR = "vector"
    """1-D biases of the bias INR: about 1% of the numbers, but they place every Gabor atom."""
    GRID = "grid"
    """Latent grids ``[P, h, w]`` sampled at each pixel (:mod:`nvcodec.model.latent_grids`)."""
    ARM = "arm"
    """Weights of the grids' context model: integers in units of :data:`ARM_STEP`, never learned steps."""
    RAW = "raw"
    """Not learned, stored bit-exact (the random Fourier frequencies)."""


ARM_STEP = 2.0**-8
"""The one step of the context model's weights: they are fixed-point integers (``nvcodec.entropy.context``)."""
ARM_BITS = 16
"""Depth of the context model's weights: ``|w| < 2^7`` at :data:`ARM_STEP`, beyond anything training reaches."""


class Coding(enum.Enum):
    """How a tensor's symbols are stored in a group chunk (ACTV.md section 5)."""

    ANS = "ans"
    """In the chunk's one ANS stream, under a model of symbol counts."""
    ZSTD = "zstd"
    """As zstd-compressed int32: wide, rare symbols that would bloat the ANS count table."""
    ARM = "arm"
    """In the chunk's context-model stream: each symbol under a distribution predicted from its decoded
    neighbours (``nvcodec.entropy.context``)."""
    RAW = "raw"
    """The float32 values themselves."""


@dataclass(frozen=True)
class TensorSpec:
    """Shape, type and role of one stored tensor."""

    shape: tuple[int, ...]
    complex: bool
    kind: Kind
    coding: Coding
    step_axes: tuple[int, ...]
    """Axes of the tensor along which steps differ (output channels, patches); one step is shared over the rest."""
    in_axis: int | None = None
    """For a weight matrix, the axis of its inputs: rounding walks it to cancel errors (``nvcodec.quant.rounding``)."""
    fixed_step: float | None = None
    """The step every encoder must use (the context model's fixed point), instead of a chosen one."""

    @property
    def real_shape(self) -> tuple[int, ...]:
        """Shape of the real view: a complex tensor gains a trailing axis of (real, imaginary)."""
        return (*self.shape, 2) if self.complex else self.shape

    @property
    def real_size(self) -> int:
        """Stored numbers (complex values count twice)."""
        return math.prod(self.real_shape)

    @property
    def shared_axes(self) -> list[int]:
        """Axes of the real view over which one step is shared."""
        return [axis for axis in range(len(self.real_shape)) if axis not in self.step_axes]

    @property
    def step_shape(self) -> tuple[int, ...]:
        """Shape of the steps, broadcastable to the real view."""
        return tuple(n if axis in self.step_axes else 1 for axis, n in enumerate(self.real_shape))

    @property
    def pruned(self) -> bool:
        """Whether ``QuantConfig.prune`` applies: the frame INR's weights only."""
        return self.kind is Kind.FRAME

    @property
    def quantized(self) -> bool:
        return self.coding is not Coding.RAW

    def bits(self, quant: QuantConfig) -> int:
        """The configured bit depth of this tensor's kind."""
        if self.kind is Kind.RAW:
            raise ValueError("raw tensors are not quantized")
        if self.kind is Kind.ARM:
            return ARM_BITS
        return int(getattr(quant, f"bits_{self.kind.value}"))


def frame_inr_tensors(num_patches: int, model: ModelConfig) -> dict[str, TensorSpec]:
    """``weights.l``: layer ``l`` of every patch's MLP, ``2 + grid_levels -> hidden x layers -> 3``."""
    complex_hidden = ACTIVATIONS[model.activation].complex
    widths = [2 + model.grid_levels] + [model.hidden] * model.layers + [3]
    return {
        f"weights.{index}": TensorSpec(
            (num_patches, fan_in, fan_out), complex_hidden and index > 0, Kind.FRAME, Coding.ANS, (0, 2), in_axis=1
        )
        for index, (fan_in, fan_out) in enumerate(itertools.pairwise(widths))
    }


def frame_bias_widths(model: ModelConfig) -> list[tuple[int, bool]]:
    """``(width, is_complex)`` of the bias each frame-INR layer takes; the RGB layer's is real."""
    complex_hidden = ACTIVATIONS[model.activation].complex
    hidden = [(model.hidden, index > 0 and complex_hidden) for index in range(model.layers)]
    return [*hidden, (3, False)]


def bias_inr_tensors(num_patches: int, model: ModelConfig) -> dict[str, TensorSpec]:
    """The bias INR: Fourier frequencies, latents, a shared trunk and one head per frame-INR layer."""
    inputs = 2 * model.rff_freqs + model.latent_dim
    specs = {
        "frequencies": TensorSpec((model.rff_freqs,), False, Kind.RAW, Coding.RAW, ()),
        "latents": TensorSpec((num_patches, model.latent_dim), False, Kind.LATENT, Coding.ANS, (0,)),
        "trunk.weight": TensorSpec((model.hyper_hidden, inputs), False, Kind.BIAS, Coding.ANS, (0,), in_axis=1),
        "trunk.bias": TensorSpec((model.hyper_hidden,), False, Kind.VECTOR, Coding.ZSTD, ()),
    }
    for index, (width, is_complex) in enumerate(frame_bias_widths(model)):
        outputs = width * (2 if is_complex else 1)  # complex biases as (real, imaginary) pairs
        specs[f"heads.{index}.weight"] = TensorSpec(
            (outputs, model.hyper_hidden), False, Kind.BIAS, Coding.ANS, (0,), in_axis=1
        )
        specs[f"heads.{index}.bias"] = TensorSpec((outputs,), False, Kind.VECTOR, Coding.ZSTD, ())
    return specs


def grid_sides(patch_side: int, model: ModelConfig) -> list[int]:
    """Points along one patch side of each latent grid level, finest first.

    Level ``k``'s points span the patch's local ``[-1, 1]`` at a spacing of at
    most ``grid_cell * 2^k`` input pixels, ends included: at least 2 points.
    """
    return [math.ceil(patch_side / (model.grid_cell * 2**level)) + 1 for level in range(model.grid_levels)]


ARM_SHAPES = {"w1": (6, 8), "b1": (8,), "w2": (8, 2), "b2": (2,)}
"""The context model's weights (``nvcodec.entropy.context.IntegerARM``): 6 causal neighbours, 8 hidden, 2 outputs."""


def latent_grid_tensors(num_patches: int, model: ModelConfig, patch_shape: tuple[int, int]) -> dict[str, TensorSpec]:
    """``latent_grids.k``: level ``k`` of every patch's latent grid; ``context.*``: the model that codes them."""
    if not model.grid_levels:
        return {}
    rows, cols = grid_sides(patch_shape[0], model), grid_sides(patch_shape[1], model)
    specs = {
        f"latent_grids.{level}": TensorSpec((num_patches, h, w), False, Kind.GRID, Coding.ARM, ())
        for level, (h, w) in enumerate(zip(rows, cols))
    }
    for name, shape in ARM_SHAPES.items():
        specs[f"context.{name}"] = TensorSpec(shape, False, Kind.ARM, Coding.ZSTD, (), fixed_step=ARM_STEP)
    return specs


FRAME_PREFIX, BIAS_PREFIX = "frame_inr.", "bias_inr."


def group_tensors(
    num_patches: int, model: ModelConfig, patch_shape: tuple[int, int] | None = None
) -> dict[str, TensorSpec]:
    """Every tensor of one group by its ``state_dict`` name, from the configuration alone.

    ``patch_shape`` (a patch's rows and columns, ``PatchGrid.patch_shape``) sizes the latent grids; a model
    without them needs none.
    """
    if model.grid_levels and patch_shape is None:
        raise ValueError("a model with latent grids needs the patch shape to size them")
    return {
        **{FRAME_PREFIX + name: spec for name, spec in frame_inr_tensors(num_patches, model).items()},
        **{BIAS_PREFIX + name: spec for name, spec in bias_inr_tensors(num_patches, model).items()},
        **latent_grid_tensors(num_patches, model, patch_shape or (0, 0)),
    }


def symbol_order(specs: Mapping[str, TensorSpec]) -> list[str]:
    """The quantized tensors in the order a chunk stores their symbols and steps: the ANS-coded ones by name,
    then the zstd-coded ones, then the context-coded ones (``formats/ACTV.md`` section 5)."""
    return [
        name
        for coding in (Coding.ANS, Coding.ZSTD, Coding.ARM)
        for name in sorted(n for n, spec in specs.items() if spec.coding is coding)
    ]


def stored_numbers(specs: dict[str, TensorSpec]) -> int:
    """Numbers a group stores (complex values count twice): what the header's allocation cap bounds."""
    return sum(spec.real_size for spec in specs.values())
