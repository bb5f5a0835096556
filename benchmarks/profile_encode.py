"""Where a whole encode's time goes: trial fits, fit (with its compilation), rate-aware phase, coding, writing.

Runs the encode ``actv-encode --preset fast`` runs at the default quality,
in this process, through the library's ``encode()`` with a config made as the
tool makes it (:func:`nvcodec.recipe.quality.config_for_quality`, trial fits
included), and times each stage by wrapping the function that does it:

- ``trials``: :func:`nvcodec.recipe.trials.width_for_content`;
- ``fit``: :meth:`nvcodec.fit.VideoFitter.fit` (each group's fit, not the trials'; includes ``compile``);
- ``compile``: what torch's dynamo reports for compiling (dynamo and inductor), inside ``fit``;
- ``rate phase``: :func:`nvcodec.recipe.group_coding.train_with_rate`;
- ``packing``: :func:`nvcodec.payload.pack_group` (quantize and entropy-code);
- ``writing``: :meth:`nvcodec.container.ContainerWriter.add_chunk` and ``close``;
- ``other``: the rest of the wall time (reading, the plan, Python).

    python -m benchmarks.profile_encode --clips carphone bikes
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.clips import load_clip
from benchmarks.common import RESULTS
from benchmarks.results_io import with_provenance, write_json

STAGES = ("trials", "fit", "rate phase", "packing", "writing")


_depth = [0]
"""Timed calls in progress: only the outermost one counts, so a trial fit's fit is the trials' time, not the fit's."""


@contextlib.contextmanager
def timed(owner: Any, name: str, stage: str, totals: dict[str, float]) -> Iterator[None]:
    """Wrap ``owner.name`` so that its time adds to ``totals[stage]`` unless another timed call holds it."""
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _depth[0] += 1
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            _depth[0] -= 1
            if _depth[0] == 0:
                totals[stage] += time.perf_counter() - started

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def profile(clip: str, frames: int, quality: float, preset: str) -> dict[str, Any]:
    import torch
    from torch._dynamo.utils import compilation_time_metrics

    import nvcodec.container as container
    import nvcodec.encoder as encoder
    import nvcodec.fit as fit
    import nvcodec.recipe.group_coding as group_coding
    import nvcodec.recipe.quality as quality_module
    from nvcodec import Config, EncodeOptions, QuantConfig
    from nvcodec.recipe.quality import RateTrade, config_for_quality

    video, fps = load_clip(clip, frames)
    totals: dict[str, float] = collections.defaultdict(float)
    torch._dynamo.reset()
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        stack.enter_context(timed(quality_module, "grids_for_content", "trials", totals))
        stack.enter_context(timed(quality_module, "width_for_content", "trials", totals))
        stack.enter_context(timed(fit.VideoFitter, "fit", "fit", totals))
        stack.enter_context(timed(group_coding, "train_with_rate", "rate phase", totals))
        stack.enter_context(timed(group_coding, "pack_group", "packing", totals))
        stack.enter_context(timed(container.ContainerWriter, "add_chunk", "writing", totals))
        stack.enter_context(timed(container.ContainerWriter, "close", "writing", totals))
        started = time.perf_counter()
        trade = RateTrade.for_quality(quality)
        config, choice = config_for_quality(Config.preset(preset), trade, video)
        path = Path(folder) / "clip.actv"
        stats = encoder.encode(video, path, config, QuantConfig(), fps=fps, options=EncodeOptions(quality=quality))
        wall = time.perf_counter() - started
    compile_seconds = _compile_seconds(compilation_time_metrics)
    stages = {stage: totals[stage] for stage in STAGES}
    stages["other"] = wall - sum(stages.values())
    return {
        "clip": clip,
        "frames": frames,
        "quality": quality,
        "preset": preset,
        "width": config.model.hidden,
        "trial_picked": choice.width,
        "grid_levels": config.model.grid_levels,
        "groups": stats.groups,
        "file_bytes": stats.file_bytes,
        "bpp": stats.bpp,
        "fit_psnr": stats.fit_psnr,
        "wall_seconds": wall,
        "seconds": stages,
        "compile_seconds": compile_seconds,
        "note": "compile_seconds is inside 'fit' (and 'rate phase' where it compiles)",
    }


def _compile_seconds(metrics: dict[str, list[float]]) -> float | None:
    """Seconds torch spent compiling: dynamo's outermost timed step, which holds inductor's (None: none seen)."""
    outer = [key for key in metrics if key.endswith("compile_inner")]
    return float(sum(sum(metrics[key]) for key in outer)) if outer else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes"])
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--quality", type=float, default=25.0)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--output", type=Path, default=RESULTS / "profile_encode.json")
    args = parser.parse_args(argv)
    runs = []
    for clip in args.clips:
        run = profile(clip, args.frames, args.quality, args.preset)
        runs.append(run)
        shares = ", ".join(f"{k} {v:.1f} s" for k, v in run["seconds"].items())
        print(f"{clip}: {run['wall_seconds']:.1f} s ({shares}; compile {run['compile_seconds'] or 0:.1f} s)")
    write_json(args.output, with_provenance({"benchmark": "profile_encode", "runs": runs}))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
