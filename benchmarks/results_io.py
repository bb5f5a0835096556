"""One result file per (clip, system): ``<results>/<clip>/<system>.json``, and every result file's provenance.

:mod:`benchmarks.rd` writes them under ``benchmarks/results/rd_<plan>/``
(``rd_rate/`` is the current rate-distortion run; older runs are under
``benchmarks/results/archive/``).

Every system of the rate-distortion benchmark (nvcodec, NeRV, HNeRV, the
classical codecs) is written in the same schema, so the plotter and the
BD-rate tables read them all alike and a reader can reproduce any point from
its own ``settings``::

    {
      "schema": 1,
      "system": "x265-medium",
      "version": "x265 4.2; FFmpeg 8.1.2; PyAV 18.1.0",
      "settings": {...},            # what every point shares (preset, threads...)
      "commit": "8f0d399...", "dirty": false, "payload_version": 2,   # provenance(), below
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

Provenance: every result file names the code that made it
-----------------------------------------------------------
Every file a benchmark writes (an RD file above, or any other JSON) carries,
at its top level, the keys of :func:`provenance`::

    "commit": "8f0d399...",     # git rev-parse HEAD (null outside a git checkout)
    "dirty": false,             # uncommitted changes to code (nvcodec/, benchmarks/*.py, tools/, ...); null without git
    "payload_version": 4,       # the newest chunk payload version the tree writes
    "machine": {...},           # benchmarks.common.machine()
    "command": "python -m benchmarks.x ...",
    "created": "2026-12-06T10:00:00+00:00"

A new benchmark records them by building its record through
:func:`with_provenance` (or ``{**provenance(), ...}``) and writing it with
:func:`write_json`::

    from benchmarks.results_io import with_provenance, write_json

    write_json(args.output, with_provenance({"settings": ..., "rows": rows}))

A markdown report beside it starts with :func:`provenance_line`.
``git status`` is asked about code only, so results written earlier in the
same run (``benchmarks/results/``) do not mark the next file dirty.

Files written before this existed were stamped afterwards from git history
(``python -m benchmarks.backfill_provenance``): ``"commit": null`` and
``"commit_recorded_after"``, the commit that last changed the file, made
*after* the run; ``"provenance"`` says so.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.baselines.base import Coded
from benchmarks.common import RESULTS, command, json_clean, machine
from benchmarks.rd_metrics import bits_per_pixel, quality

SCHEMA_VERSION = 1
POINT_KEYS = ("bpp", "psnr_rgb", "psnr_y", "ms_ssim", "encode_seconds", "decode_fps", "settings")
PROVENANCE_KEYS = ("commit", "dirty", "payload_version", "machine", "command", "created")
"""The keys :func:`provenance` gives every result file."""
ROOT = Path(__file__).resolve().parent.parent
CODE_PATHS = ("nvcodec", "benchmarks/*.py", "benchmarks/baselines", "benchmarks/tasks", "tools", "pyproject.toml")
"""What ``dirty`` looks at: the code a result depends on, not results or prose."""


def _git(*args: str, root: Path = ROOT) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_commit(root: Path = ROOT) -> str | None:
    """``git rev-parse HEAD`` of ``root``, or ``None`` without git or outside a checkout."""
    out = _git("rev-parse", "HEAD", root=root)
    return (out.strip() or None) if out is not None else None


def git_dirty(root: Path = ROOT, paths: tuple[str, ...] = CODE_PATHS) -> bool | None:
    """Whether tracked code under ``paths`` differs from ``HEAD`` (``None`` without git)."""
    out = _git("status", "--porcelain", "--untracked-files=no", "--", *paths, root=root)
    return None if out is None else bool(out.strip())


def payload_version() -> int | None:
    """The newest chunk payload version this tree writes (``nvcodec.payload.WRITTEN_VERSIONS``): a file's
    chunks are of that version or of an older one it still writes."""
    try:
        from nvcodec.payload import WRITTEN_VERSIONS
    except ImportError:
        return None
    return max(WRITTEN_VERSIONS)


def now() -> str:
    """The time in UTC, ISO 8601 to the second: a result file's ``created``."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def provenance(
    machine_info: dict[str, Any] | None = None, command_line: str | None = None, root: Path = ROOT
) -> dict[str, Any]:
    """What every result file records about the code, machine and command that made it (:data:`PROVENANCE_KEYS`).

    ``machine_info``/``command_line`` default to this process's
    :func:`~benchmarks.common.machine` and :func:`~benchmarks.common.command`.
    ``commit`` and ``dirty`` are ``None`` when git or the checkout is absent.
    """
    return {
        "commit": git_commit(root),
        "dirty": git_dirty(root),
        "payload_version": payload_version(),
        "machine": machine_info if machine_info is not None else machine(),
        "command": command_line if command_line is not None else command(),
        "created": now(),
    }


def with_provenance(record: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """``record`` with :func:`provenance` first (its own keys win, so a stored ``machine`` stays)."""
    return {**provenance(**kwargs), **record}


def provenance_line(record: dict[str, Any]) -> str:
    """One markdown line naming a record's commit, payload version and command, for reports beside the JSON."""
    commit = record.get("commit") or "unknown"
    dirty = " (with uncommitted changes)" if record.get("dirty") else ""
    return (
        f"_Commit `{commit[:12]}`{dirty}, payload version {record.get('payload_version')}, "
        f"`{record.get('command', '')}`, {record.get('created', '')}._"
    )


def write_json(path: Path, record: Any, indent: int = 2) -> Path:
    """Write ``record`` as strict JSON (:func:`~benchmarks.common.json_clean`) atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(json_clean(record), indent=indent, allow_nan=False) + "\n")
    tmp.replace(path)
    return path


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
    commit: str | None = None
    """The commit the run was made at (``None`` in files written before it was recorded)."""
    dirty: bool | None = None
    payload_version: int | None = None
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
    ``settings`` too. The file records :func:`provenance`; ``machine_info``/``command_line``
    default to this process's :func:`~benchmarks.common.machine` and :func:`~benchmarks.common.command`.
    """
    if "name" not in clip:
        raise ValueError("clip info needs a 'name' (the results sub-folder)")
    for i, p in enumerate(points):
        missing = [k for k in POINT_KEYS if k not in p]
        if missing:
            raise ValueError(f"point {i} of {system} lacks {', '.join(missing)}")
    path = result_path(str(clip["name"]), system, results)
    stamp = provenance(machine_info, command_line)
    record = {
        "schema": SCHEMA_VERSION,
        "system": system,
        "version": version,
        "settings": settings or {},
        **stamp,
        "clip": clip,
        "points": sorted(points, key=lambda p: (p["bpp"] is None, p["bpp"] or 0.0)),
    }
    return write_json(path, record)


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
            commit=data.get("commit"),  # absent from files written before provenance was recorded
            dirty=data.get("dirty"),
            payload_version=data.get("payload_version"),
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
