"""Which group length pays at which quality: the sweep behind ``nvcodec.recipe.shape.group_size_for_quality``.

Every group pays once for its frame INR and bias INR, so the group length is
a rate-distortion choice like the width. Each point is a whole encode at the
width ``actv-encode --quality Q`` picks, with groups of the given length and
the preset's fit steps scaled to stay the same per frame
(:func:`~nvcodec.recipe.shape.with_group_length`), so the lengths compare at
about equal encode time. The length with the least J = MSE + lambda * bpp at a
quality is the one the trade asks for there. The JSON is rewritten after
every point, so an interrupted run keeps what it measured.

    python -m benchmarks.group_quality                     # carphone and bikes; about 15 minutes
    python -m benchmarks.group_quality --clips bunny motion --output benchmarks/results/group_quality_2.json
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from benchmarks.common import RESULTS
from benchmarks.width_quality import sweep
from nvcodec import Config
from nvcodec.recipe.shape import width_for_quality, with_group_length


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes"])
    parser.add_argument("--group-sizes", nargs="+", type=int, default=[10, 15, 30])
    parser.add_argument("--qualities", nargs="+", type=float, default=[18.0, 24.0, 30.0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--output", type=Path, default=RESULTS / "group_quality.json")
    args = parser.parse_args()

    def with_groups_of(size: int, quality: float) -> Config:
        config = Config.preset(args.preset, hidden=width_for_quality(quality))
        return dataclasses.replace(config, fit=with_group_length(config.fit, size))

    sweep(args, args.group_sizes, "group_size", with_groups_of)


if __name__ == "__main__":
    main()
