"""One result file per (clip, system): ``benchmarks/results/<clip>/<system>.json``.

Every system of the rate-distortion benchmark (nvcodec, NeRV, HNeRV, the
classical codecs) is written in the same schema, so the plotter and the
BD-rate tables read them all alike and a reader can reproduce any point from
its own ``settings``::

    {
      "schema": 1,
      "system": "x265-medium",
      "version": "x265 4.2; FFmpeg 8.1.2; PyAV 18.1.0",
      "settings": {...},            # what every point shares (preset, threads...)
      "machine": {...},             # benchmarks.common.machine()
      "command": "python -m benchmarks.rd ...",
      "created": "2025-01-01T12:00:00+00:00",
      "clip": {"name": "carphone", "frames": 31, "height": 144, "width": 176, "fps": 29.97, ...},
      "points": [
        {"bpp": 0.12, "file_bytes": 11800, "psnr_rgb": 33.1, "psnr_y": 34.5, "ms_ssim": 0.985,
         "encode_seconds": 0.3, "decode_fps": 900.0, "settings": {"crf": 30, ...}, ...},
        ...
      ]
    }

Points are sorted by ``bpp``. Required point keys are in :data:`POINT_KEYS`;
systems may add more (``psnr_rgb_frame_mean``, ``ssim``, ``stream_bytes``).
Infinite or NaN numbers are stored as ``null`` (strict JSON) and read back as NaN.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.baselines.base import Coded
from benchmarks.common import RESULTS, command, json_clean, machine
from benchmarks.rd_metrics import bits_per_pixel, quality

SCHEMA_VERSION = 1
POINT_KEYS = ("bpp", "psnr_rgb", "psnr_y", "ms_ssim", "encode_seconds", "decode_fps", "settings")


@dataclass
class RDResult:
    """All rate points of one system on one clip, as stored in one JSON file."""

    system: str
    version: str
    clip: dict[str, Any]
    points: list[dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    created: str = ""
    path: Path | None = None
    """Where it was read from or written to."""

    def series(self, metric: str) -> tuple[list[float], list[float]]:
        """(bpp, metric) of the points that have a finite value of ``metric``, sorted by bpp: ready for BD or a plot."""
        pts = [
            (p["bpp"], p[metric])
            for p in self.points
            if p.get(metric) is not None and math.isfinite(p[metric]) and math.isfinite(p["bpp"])
        ]
        pts.sort()
        return [p[0] for p in pts], [p[1] for p in pts]


def point_from_coded(reference: np.ndarray, coded: Coded, with_ssim: bool = False, **extra: Any) -> dict[str, Any]:
    """Measure one coded clip against its reference and return the result-file point for it.

    The rate is ``coded.file_bytes`` over the reference's pixels; the quality
    measures are those of :func:`benchmarks.rd_metrics.quality`. ``extra``
    keys are added to the point as they are.
    """
    t, h, w, _ = np.shape(reference)
    point: dict[str, Any] = {"bpp": bits_per_pixel(coded.file_bytes, t, h, w), "file_bytes": coded.file_bytes}
    point.update(quality(reference, coded.decoded, with_ssim=with_ssim))
    point["encode_seconds"] = coded.encode_seconds
    point["decode_fps"] = coded.decode_fps
    point["settings"] = coded.settings
    for key in ("stream_bytes", "keyframes"):  # classical codecs: bytes before banner removal, intra frames
        if key in coded.extra:
            point[key] = coded.extra[key]
    point.update(extra)
    return point


def result_path(clip: str, system: str, results: Path = RESULTS) -> Path:
    """``<results>/<clip>/<system>.json``."""
    for part, what in ((clip, "clip"), (system, "system")):
        if not part or "/" in part or "\\" in part or part.startswith("."):
            raise ValueError(f"{what} name {part!r} cannot be a file name")
    return results / clip / f"{system}.json"


def write_result(
    clip: dict[str, Any],
    system: str,
    version: str,
    points: list[dict[str, Any]],
    settings: dict[str, Any] | None = None,
    results: Path = RESULTS,
    machine_info: dict[str, Any] | None = None,
    command_line: str | None = None,
) -> Path:
    """Write one system's points on one clip (``clip["name"]`` names the folder); returns the file path.

    ``settings`` holds what all points share; each point keeps its own
    ``settings`` too. ``machine_info``/``command_line`` default to this
    process's :func:`~benchmarks.common.machine` and :func:`~benchmarks.common.command`.
    """
    if "name" not in clip:
        raise ValueError("clip info needs a 'name' (the results sub-folder)")
    for i, p in enumerate(points):
        missing = [k for k in POINT_KEYS if k not in p]
        if missing:
            raise ValueError(f"point {i} of {system} lacks {', '.join(missing)}")
    path = result_path(str(clip["name"]), system, results)
    record = {
        "schema": SCHEMA_VERSION,
        "system": system,
        "version": version,
        "settings": settings or {},
        "machine": machine_info if machine_info is not None else machine(),
        "command": command_line if command_line is not None else command(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "clip": clip,
        "points": sorted(points, key=lambda p: (p["bpp"] is None, p["bpp"] or 0.0)),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(json_clean(record), indent=2, allow_nan=False) + "\n")
    tmp.replace(path)
    return path


def _nan_for_null(point: dict[str, Any]) -> dict[str, Any]:
    return {k: (math.nan if v is None and k != "settings" else v) for k, v in point.items()}


def read_result(path: Path) -> RDResult:
    """Read one result file (``ValueError`` naming the file if it does not follow the schema)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read result file {path}: {exc}") from None
    try:
        if data.get("schema", SCHEMA_VERSION) > SCHEMA_VERSION:
            raise ValueError(f"schema {data['schema']} is newer than this reader ({SCHEMA_VERSION})")
        return RDResult(
            system=data["system"],
            version=data.get("version", ""),
            clip=data["clip"],
            points=[_nan_for_null(p) for p in data["points"]],
            settings=data.get("settings", {}),
            machine=data.get("machine", {}),
            command=data.get("command", ""),
            created=data.get("created", ""),
            path=path,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"{path} is not a rate-distortion result file: {exc!r}") from None


def read_results(clip: str, results: Path = RESULTS) -> dict[str, RDResult]:
    """Every system's result on one clip, by system name (empty if the clip has no results yet)."""
    folder = results / clip
    out: dict[str, RDResult] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        result = read_result(path)
        out[result.system] = result
    return out


def result_clips(results: Path = RESULTS) -> list[str]:
    """Names of the clip folders under ``results`` that hold at least one result file."""
    if not results.is_dir():
        return []
    return sorted(p.name for p in results.iterdir() if p.is_dir() and any(p.glob("*.json")))
