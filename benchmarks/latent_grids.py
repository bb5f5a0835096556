"""Latent grids against the grid-free model: rate, PSNR and time of whole encodes, variant by variant.

Each point is ``actv-encode --preset fast --quality Q`` as the RD benchmark's
``nvcodec`` system runs it (the width and group length ``--quality`` picks,
the trial fits included), with the model's latent grid settings replaced by
the variant's, decoded through ``VideoReader``. Run::

    python -m benchmarks.latent_grids --clips carphone bikes --qualities 24 30 \\
        --variants 0 4:4 4:8

A variant is ``LEVELS[:CELL[:HIDDEN]]`` (``0``: no grids, the encoder before
them; ``HIDDEN`` replaces the width ``--quality`` picks). Writes
``benchmarks/results/latent_grids.json``.
"""

from __future__ import annotations

from benchmarks.results_io import RESULTS
from benchmarks.variants import sweep, sweep_arguments


def parse_variant(text: str) -> dict[str, int]:
    """``LEVELS[:CELL[:HIDDEN]]`` -> the config overrides of :mod:`benchmarks.variants`."""
    parts = [int(p) for p in text.split(":")]
    names = ("grid_levels", "grid_cell", "hidden")
    return dict(zip(names, parts))


def main() -> None:
    args = sweep_arguments(__doc__.splitlines()[0], RESULTS / "latent_grids.json", ["0", "4:4"], [24.0, 30.0])
    sweep(args, parse_variant)


if __name__ == "__main__":
    main()
