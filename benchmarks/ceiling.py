"""Why the top of the RD curve is flat: whole encodes at a high quality, one lever changed at a time.

From Q 30 to Q 36 bikes and motion gain 0.1-0.2 dB for 15% more bits. The
candidates are the fit's length, the model's width, the latent path, the
learning-rate schedule and the mini-batch's noise; each variant changes one.
Besides the decoded PSNR, each point records the mini-batch PSNR at the end
of each group's fit (``fit_psnr``), so a lever that lifts the fit but not
the file shows as a gap between the two. Run::

    python -m benchmarks.ceiling --clips carphone bikes --qualities 36 \\
        --variants base iters_scale=2 hidden=96 batch_pixels=16384 grid_levels=4 lr_final_factor=0.003

A variant is ``FIELD=VALUE[,FIELD=VALUE...]`` (:mod:`benchmarks.variants`). Writes
``benchmarks/results/ceiling.json``.
"""

from __future__ import annotations

from benchmarks.results_io import RESULTS
from benchmarks.variants import parse_variant, sweep, sweep_arguments


def main() -> None:
    args = sweep_arguments(__doc__.splitlines()[0], RESULTS / "ceiling.json", ["base", "iters_scale=2"], [36.0])
    sweep(args, parse_variant)


if __name__ == "__main__":
    main()
