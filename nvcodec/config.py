"""Validated configuration dataclasses and the named presets.

Presets trade encode *time* for quality at the same model size, like x264's
``--preset``: a codec's size knob and its speed knob must be independent.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from nvcodec.errors import ConfigError
from nvcodec.model.activations import ACTIVATIONS

PRECISIONS = ("fp32", "tf32", "bf16")
LR_SCHEDULES = ("exponential", "cosine")
MAX_WIDTH = 4096
"""Widest layer a configuration (or a file's header) may ask for: far beyond any useful per-patch MLP."""
MAX_LAYERS = 16
MAX_GRID_LEVELS, MAX_GRID_CELL = 8, 256
"""Latent grid levels and finest spacing a configuration (or a file's header) may ask for."""
MIN_BITS, MAX_BITS = 2, 16
"""Bit depths a quantized tensor may have: 2 is the coarsest that still holds a sign, 16 fits float16 steps."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class ModelConfig:
    """Shape of one group's model: the patch grid, the frame INR and the bias INR."""

    activation: str = "gabor"
    """Frame-INR nonlinearity: ``wire`` (complex Gabor), ``gabor`` (its real part), ``siren``, ``gauss``."""
    hidden: int = 36
    """Width of every hidden frame-INR layer."""
    layers: int = 3
    """Number of activated frame-INR layers; a linear RGB layer follows them."""
    omega0: float = 5.0
    """Frequency of the Gabor/SIREN oscillation."""
    s0: float = 1.5
    """Width parameter of the Gaussian envelope (larger = narrower)."""
    patch: int = 96
    """Side of a square patch in input pixels (clipped to the frame size)."""
    overlap: int = 16
    """Minimum overlap of neighbouring patches in input pixels (blended linearly)."""
    rff_freqs: int = 8
    """Number of random Fourier frequencies of group-local time (2x as many features)."""
    rff_sigma: float = 1.0
    """Standard deviation of the Fourier frequencies, in cycles per group."""
    latent_dim: int = 8
    """Size of the learnable per-patch latent fed to the bias INR."""
    hyper_hidden: int = 32
    """Width of the bias INR's shared GeLU layer."""
    grid_levels: int = 0
    """Latent grid levels per patch (:mod:`nvcodec.model.latent_grids`): 2-D grids shared by a group's
    frames, sampled at each pixel and fed to the frame INR beside its coordinates. 0: none."""
    grid_cell: int = 4
    """Spacing of the finest grid's points in input pixels; each next level doubles it."""

    def __post_init__(self) -> None:
        _check(
            isinstance(self.activation, str) and self.activation in ACTIVATIONS,
            f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}",
        )
        for name in ("hidden", "layers", "patch", "rff_freqs", "latent_dim", "hyper_hidden"):
            value = getattr(self, name)
            _check(_is_int(value) and value >= 1, f"{name} must be a positive integer, got {value!r}")
        _check(
            _is_int(self.grid_levels) and 0 <= self.grid_levels <= MAX_GRID_LEVELS,
            f"grid_levels must be an integer from 0 to {MAX_GRID_LEVELS}, got {self.grid_levels!r}",
        )
        _check(
            _is_int(self.grid_cell) and 1 <= self.grid_cell <= MAX_GRID_CELL,
            f"grid_cell must be an integer from 1 to {MAX_GRID_CELL}, got {self.grid_cell!r}",
        )
        for name in ("hidden", "hyper_hidden"):
            value = getattr(self, name)
            _check(value <= MAX_WIDTH, f"{name} must be at most {MAX_WIDTH}, got {value}")
        _check(self.layers <= MAX_LAYERS, f"layers must be at most {MAX_LAYERS}, got {self.layers}")
        _check(self.patch >= 4, f"patch must be at least 4 pixels, got {self.patch}")
        _check(
            _is_int(self.overlap) and 0 <= self.overlap <= self.patch // 2,
            f"overlap must be an integer between 0 and patch/2 = {self.patch // 2}, got {self.overlap!r}",
        )
        for name in ("omega0", "s0", "rff_sigma"):
            value = getattr(self, name)
            _check(_is_real(value) and value > 0, f"{name} must be a positive finite number, got {value!r}")


@dataclass(frozen=True)
class FitConfig:
    """How a video is fitted: grouping of frames, optimizer, batch and device."""

    group_size: int = 10
    """Frames between the boundaries of a group; neighbouring groups share a boundary frame.

    With a quality and no config, the encoder picks it by the rate it may
    spend (:func:`~nvcodec.recipe.shape.fit_for_quality`)."""
    scene_cuts: bool = True
    """Start a group at every scene cut (:mod:`nvcodec.scenecut`), so no group straddles two shots."""
    iters: int = 10000
    """Adam iterations for the first group (it starts from scratch)."""
    iters_warm: int = 3000
    """Adam iterations for each later group (warm-started from its predecessor)."""
    lr: float = 1e-2
    """Peak Adam learning rate (reached after the warm-up)."""
    lr_final_factor: float = 0.03
    """The learning rate ends at ``lr * lr_final_factor``."""
    lr_schedule: str = "cosine"
    """How it gets there: ``cosine`` (half a cosine) or ``exponential`` (``lr * factor ** (it / iters)``)."""
    lr_warmup: float = 0.02
    """Share of a group's iterations over which the learning rate first rises linearly from 0 to ``lr``."""
    time_smoothness: float = 1.0
    """Weight of a penalty on the bias INR's second difference over one frame.

    Motion is a shift of biases, so a straight bias path is steady motion; the
    penalty keeps in-between frames (slow motion, interpolation) from wandering.
    """
    batch_pixels: int = 4096
    """Pixel evaluations per step, spread evenly over patches and frames (bounds memory).

    Small batches and many steps reach a given quality soonest on CPU
    (``benchmarks/results/fit_speed.json``): at 4096, a step of carphone's
    4 patches x 11 frames takes ~3 ms compiled."""
    error_sampling: float = 0.3
    """Draw each step's pixels with probability proportional to their last seen squared error to this power
    (0: uniformly; at most 1, past which a few pixels' weights would swamp the loss), the loss reweighted
    so it still estimates the window-weighted MSE of every pixel.

    Pixels already fitted well are drawn less often, so a step's gradient spends more of its samples where
    the picture is still wrong (Kheradmand et al., "Accelerating neural field training via soft mining",
    CVPR 2024, sample by error to a power below 1 and correct by importance weights)."""
    seed: int = 0
    device: str = "auto"
    """``auto`` (CUDA when present), ``cpu``, ``cuda`` or ``cuda:N``."""
    precision: str = "tf32"
    """Matmul precision on CUDA: ``fp32``, ``tf32`` or ``bf16`` autocast. CPU always runs fp32."""
    compile: bool = False
    """Run the fit through ``torch.compile``: faster per step after a warm-up of some seconds, so
    worth it for long fits; falls back to eager mode with a warning where compilation fails."""

    def __post_init__(self) -> None:
        for name in ("group_size", "iters", "iters_warm", "batch_pixels"):
            value = getattr(self, name)
            _check(_is_int(value) and value >= 1, f"{name} must be a positive integer, got {value!r}")
        _check(isinstance(self.scene_cuts, bool), f"scene_cuts must be True or False, got {self.scene_cuts!r}")
        _check(_is_real(self.lr) and 0 < self.lr < 1, f"lr must be in (0, 1), got {self.lr!r}")
        _check(
            _is_real(self.lr_final_factor) and 0 < self.lr_final_factor <= 1,
            f"lr_final_factor must be in (0, 1], got {self.lr_final_factor!r}",
        )
        _check(
            self.lr_schedule in LR_SCHEDULES,
            f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}",
        )
        _check(
            _is_real(self.lr_warmup) and 0 <= self.lr_warmup < 1, f"lr_warmup must be in [0, 1), got {self.lr_warmup!r}"
        )
        _check(
            _is_real(self.time_smoothness) and self.time_smoothness >= 0,
            f"time_smoothness must be a non-negative number, got {self.time_smoothness!r}",
        )
        _check(
            _is_real(self.error_sampling) and 0 <= self.error_sampling <= 1,
            f"error_sampling must be in [0, 1], got {self.error_sampling!r}",
        )
        _check(_is_int(self.seed) and self.seed >= 0, f"seed must be a non-negative integer, got {self.seed!r}")
        _check(
            self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
        )
        _check(isinstance(self.compile, bool), f"compile must be True or False, got {self.compile!r}")
        _check(
            isinstance(self.device, str)
            and (
                self.device in ("auto", "cpu", "cuda")
                or (self.device.startswith("cuda:") and self.device[5:].isdigit())
            ),
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {self.device!r}",
        )


@dataclass(frozen=True)
class QuantConfig:
    """How fitted parameters become integers: bit depths, pruning, fine-tuning, residuals."""

    bits_frame: int = 8
    """Bits per frame-INR weight."""
    bits_latent: int = 8
    """Bits per per-patch latent value."""
    bits_bias: int = 8
    """Bits per bias-INR weight."""
    bits_grid: int = 8
    """Bits per latent grid value (before the learned steps refine them)."""
    bits_vector: int = 16
    """Bits per element of 1-D tensors (the bias INR's biases: ~1% of the numbers).

    The first head's biases place every Gabor atom, so they get a deeper depth
    than the weights (``benchmarks/results/README.md``)."""
    prune: float = 0.0
    """Fraction of the smallest frame-INR weights (or residuals) set to 0 before quantization."""
    qat_iters: int = 0
    """Fine-tuning steps per group after its fit: the frame INR is rounded in stages, the rest refitted (``nvcodec.qat``)."""
    qat_lr: float = 3e-4
    residual: bool = True
    """Code a group as the difference from the previous group's decoded parameters."""
    intra_period: int = 4
    """Every ``intra_period``-th group is coded on its own (random access, like an I-frame)."""

    def __post_init__(self) -> None:
        for name in ("bits_frame", "bits_latent", "bits_bias", "bits_grid", "bits_vector"):
            value = getattr(self, name)
            _check(
                _is_int(value) and MIN_BITS <= value <= MAX_BITS,
                f"{name} must be an integer from {MIN_BITS} to {MAX_BITS}, got {value!r}",
            )
        _check(_is_real(self.prune) and 0 <= self.prune < 1, f"prune must be in [0, 1), got {self.prune!r}")
        _check(_is_int(self.qat_iters) and self.qat_iters >= 0, f"qat_iters must be >= 0, got {self.qat_iters!r}")
        _check(_is_real(self.qat_lr) and 0 < self.qat_lr < 1, f"qat_lr must be in (0, 1), got {self.qat_lr!r}")
        _check(isinstance(self.residual, bool), f"residual must be True or False, got {self.residual!r}")
        _check(
            _is_int(self.intra_period) and self.intra_period >= 1,
            f"intra_period must be a positive integer, got {self.intra_period!r}",
        )


@dataclass(frozen=True)
class Config:
    """Everything that decides an encode: the model shape and the fit procedure."""

    model: ModelConfig = field(default_factory=ModelConfig)
    fit: FitConfig = field(default_factory=FitConfig)

    def __post_init__(self) -> None:
        _check(isinstance(self.model, ModelConfig), "model must be a ModelConfig")
        _check(isinstance(self.fit, FitConfig), "fit must be a FitConfig")

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> Config:
        """A named preset with optional field overrides, e.g. ``preset("fast", iters=200)``.

        Override names are looked up in ``ModelConfig`` and ``FitConfig``.
        """
        if name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        base = PRESETS[name]
        model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
        fit_fields = {f.name for f in dataclasses.fields(FitConfig)}
        unknown = set(overrides) - model_fields - fit_fields
        if unknown:
            raise ConfigError(f"unknown configuration field(s): {', '.join(sorted(unknown))}")
        model = dataclasses.replace(base.model, **{k: v for k, v in overrides.items() if k in model_fields})
        fit = dataclasses.replace(base.fit, **{k: v for k, v in overrides.items() if k in fit_fields})
        return cls(model=model, fit=fit)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {"model": dataclasses.asdict(self.model), "fit": dataclasses.asdict(self.fit)}


PRESETS: dict[str, Config] = {
    "fast": Config(fit=FitConfig(iters=3000, iters_warm=1000, compile=True)),
    "medium": Config(fit=FitConfig(compile=True)),
    "slow": Config(fit=FitConfig(iters=25000, iters_warm=8000, compile=True)),
}
