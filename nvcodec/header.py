"""The codec header: the typed fields of an ``.actv`` file's header map (ACTV.md section 4).

The container stores the header as a msgpack map and knows nothing of its
fields (:mod:`nvcodec.container`); this module builds that map for a new file
(:func:`new_header_map`) and validates a decoded one into a :class:`Header`
(:func:`parse_header_map`). Encoder and reader share it so that a file the
encoder writes is always one the reader accepts, and the limits a reader
enforces are known before anything is written.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from nvcodec.config import Config, ModelConfig, QuantConfig
from nvcodec.errors import ArgumentError, ConfigError, FormatError
from nvcodec.model.tensors import TensorSpec, group_tensors, stored_numbers
from nvcodec.tiling import PatchGrid
from nvcodec.timebase import fps_fraction, group_bounds
from nvcodec.version import __version__

FORMAT_NAME = "nvcodec-actv"
MAX_FRAMES = 10_000_000
MAX_SIDE = 1 << 15
MAX_GROUP_PARAMETERS = 1 << 26
"""Numbers one group's model may hold; a header implying more is refused before allocation."""
MIN_FPS, MAX_FPS = 0.01, 1000.0


@dataclass(frozen=True)
class Header:
    frames: int
    height: int
    width: int
    fps_fraction: tuple[int, int]
    model: ModelConfig
    quant: QuantConfig
    encoder: str
    segment_groups: int | None = None
    """Groups per closed segment, when the encoder cut the video into segments (informative)."""

    @property
    def fps(self) -> float:
        return self.fps_fraction[0] / self.fps_fraction[1]

    def grid(self) -> PatchGrid:
        return PatchGrid.build(self.height, self.width, self.model.patch, self.model.overlap)

    def tensors(self) -> dict[str, TensorSpec]:
        """The tensors every group of the file stores (ACTV.md section 12.2)."""
        return group_tensors(self.grid().num_patches, self.model, self.grid().patch_shape)


def group_parameter_count(grid: PatchGrid, model: ModelConfig) -> int:
    """Stored numbers of one group (complex counted twice), from the configuration alone."""
    return stored_numbers(group_tensors(grid.num_patches, model, grid.patch_shape))


def stored_bits_estimate(frames: int, height: int, width: int, config: Config, quant: QuantConfig) -> int:
    """What the parameters of all groups cost at most: every stored number at its kind's depth.

    Entropy coding usually saves a good part of this; raw tensors count 32 bits.
    """
    grid = PatchGrid.build(height, width, config.model.patch, config.model.overlap)
    specs = group_tensors(grid.num_patches, config.model, grid.patch_shape)
    per_group = sum(spec.real_size * (spec.bits(quant) if spec.quantized else 32) for spec in specs.values())
    return per_group * (len(group_bounds(frames, config.fit.group_size)) - 1)


def layout_problems(header: Header, spans: Sequence[tuple[int, int]]) -> list[str]:
    """Every way the groups' frame ranges fail to tile the header's frames; empty for a file that decodes.

    Groups follow each other and share their boundary frame: group ``k`` ends
    where group ``k + 1`` starts, the first starts at frame 0 and the last
    ends at the header's last frame. Only a one-group file may hold a single frame.
    """
    if not spans:
        return ["the file holds no groups"]
    problems = []
    if spans[0][0] != 0:
        problems.append(f"the first group starts at frame {spans[0][0]}, not at frame 0")
    if spans[-1][1] != header.frames - 1:
        problems.append(
            f"the groups end at frame {spans[-1][1]}, but the header declares {header.frames} frames "
            f"(last frame {header.frames - 1})"
        )
    for index, (before, after) in enumerate(itertools.pairwise(spans), start=1):
        if after[0] != before[1]:
            problems.append(
                f"group {index} starts at frame {after[0]}, not at frame {before[1]} where group {index - 1} ends"
            )
    if len(spans) > 1:
        problems.extend(f"group {i} covers no time (frames {s}..{e})" for i, (s, e) in enumerate(spans) if e <= s)
    return problems


def is_intra(index: int, quant: QuantConfig) -> bool:
    """Whether group ``index`` is coded on its own rather than as a residual."""
    return not quant.residual or index % quant.intra_period == 0


def new_header_map(
    frames: int,
    height: int,
    width: int,
    fps: float,
    config: Config,
    quant: QuantConfig,
    segment_groups: int | None = None,
) -> dict:
    """The header map for a new file; refuses what a reader would refuse.

    ``segment_groups`` (closed segments of that many groups, :mod:`nvcodec.segments`)
    is recorded only when given, so files without segments keep their bytes.
    """
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and MIN_FPS <= fps <= MAX_FPS):
        raise ArgumentError(f"fps must be a frame rate from {MIN_FPS} to {MAX_FPS:g}, got {fps!r}")
    if not 1 <= frames <= MAX_FRAMES:
        raise ArgumentError(f"a file holds 1 to {MAX_FRAMES} frames, got {frames}")
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise ArgumentError(f"frame sides must be 1 to {MAX_SIDE} pixels, got {width}x{height}")
    grid = PatchGrid.build(height, width, config.model.patch, config.model.overlap)
    if group_parameter_count(grid, config.model) > MAX_GROUP_PARAMETERS:
        raise ArgumentError(f"the model would hold more than {MAX_GROUP_PARAMETERS} numbers per group")
    rate = fps_fraction(fps)
    return {
        "format": FORMAT_NAME,
        "encoder": f"nvcodec {__version__}",
        "frames": frames,
        "height": height,
        "width": width,
        "fps": [rate.numerator, rate.denominator],
        "model": _config_map(config.model),
        "quant": _config_map(quant),
        **({"segment_groups": _segment_groups(segment_groups, ArgumentError)} if segment_groups is not None else {}),
    }


def _segment_groups(value: object, error: type[Exception]) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_FRAMES:
        raise error(f"segment_groups must be a whole number of groups from 1 to {MAX_FRAMES}, got {value!r}")
    return value


def _int_field(header: dict, key: str, low: int, high: int) -> int:
    value = header.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise FormatError(f"header field {key!r} must be an integer in [{low}, {high}], got {value!r}")
    return value


LATER_KEYS: dict[type, dict[str, object]] = {
    ModelConfig: {"grid_levels": 0, "grid_cell": 4},
    QuantConfig: {"bits_grid": 8},
}
"""Config keys added after files were first written, with the value their absence stands for
(``formats/ACTV.md`` section 4): files that do not use latent grids keep their header bytes."""


def _config_map(config: ModelConfig | QuantConfig) -> dict[str, object]:
    """A config as its header map: every key, except later keys that hold the value their absence stands for."""
    later = LATER_KEYS[type(config)]
    return {k: v for k, v in dataclasses.asdict(config).items() if k not in later or later[k] != v}


def _config_field(header: dict, key: str, cls: type) -> object:
    """A config map: every field must be present, except :data:`LATER_KEYS`; unknown keys (from later minor
    versions) are ignored."""
    value = header.get(key)
    if not isinstance(value, dict):
        raise FormatError(f"header field {key!r} is missing or not a map")
    names = [f.name for f in dataclasses.fields(cls)]
    later = LATER_KEYS[cls]
    missing = [n for n in names if n not in value and n not in later]
    if missing:
        raise FormatError(f"header field {key!r} lacks {', '.join(missing)}")
    try:
        return cls(**{n: value[n] if n in value else later[n] for n in names})
    except ConfigError as exc:
        raise FormatError(f"header field {key!r} is invalid: {exc}") from None


def parse_header_map(header: dict) -> Header:
    """Validate a decoded header map; every problem is a :class:`FormatError`."""
    if header.get("format") != FORMAT_NAME:
        raise FormatError(f"not an nvcodec video (format {header.get('format')!r})")
    frames = _int_field(header, "frames", 1, MAX_FRAMES)
    height = _int_field(header, "height", 1, MAX_SIDE)
    width = _int_field(header, "width", 1, MAX_SIDE)
    fps = header.get("fps")
    if not (
        isinstance(fps, list)
        and len(fps) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) and 0 < x < 1 << 31 for x in fps)
    ):
        raise FormatError(f"header field 'fps' must be [numerator, denominator] of positive integers, got {fps!r}")
    model: ModelConfig = _config_field(header, "model", ModelConfig)  # type: ignore[assignment]
    quant: QuantConfig = _config_field(header, "quant", QuantConfig)  # type: ignore[assignment]
    encoder = header.get("encoder")
    segments = header.get("segment_groups")
    parsed = Header(
        frames,
        height,
        width,
        (fps[0], fps[1]),
        model,
        quant,
        encoder if isinstance(encoder, str) else "unknown",
        _segment_groups(segments, FormatError) if segments is not None else None,
    )
    if group_parameter_count(parsed.grid(), model) > MAX_GROUP_PARAMETERS:
        raise FormatError(f"the header describes a model of more than {MAX_GROUP_PARAMETERS} numbers per group")
    return parsed
