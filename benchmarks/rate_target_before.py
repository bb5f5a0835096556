"""``--max-bpp`` as the encoder before lambda followed the budget: quality 25 and coarser steps.

The comparison point of ``benchmarks/rate_target.py``. It must run against the code of commit 039002a
(the last before the change), from a worktree, with this repository's benchmarks beside it::

    git worktree add /tmp/old 039002a
    python benchmarks/rate_target_before.py carphone 0.3     # prints one line per run

It imports ``nvcodec`` from ``/tmp/old`` and refuses to run otherwise.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OLD = os.environ.get("NVCODEC_BEFORE", "/tmp/old")
sys.path.insert(0, OLD)
import nvcodec  # noqa: E402

if not nvcodec.__file__.startswith(OLD):
    raise SystemExit(f"nvcodec was imported from {nvcodec.__file__}, not from the worktree {OLD}")

from benchmarks.clips import load_clip  # noqa: E402
from benchmarks.rd_metrics import quality  # noqa: E402
from nvcodec import Config, QuantConfig, VideoReader  # noqa: E402
from nvcodec.encoder import encode  # noqa: E402
from nvcodec.options import EncodeOptions  # noqa: E402
from nvcodec.recipe.quality import RateTrade, config_for_quality  # noqa: E402
from nvcodec.recipe.shape import Given  # noqa: E402


def main() -> None:
    clip, target = sys.argv[1], float(sys.argv[2])
    frames, fps = load_clip(clip, 31)
    started = time.time()
    config, _ = config_for_quality(Config.preset("fast", device="auto"), RateTrade.for_quality(25.0), frames, Given())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.actv"
        encode(frames, path, config, QuantConfig(), fps=fps, options=EncodeOptions(quality=25.0, max_bpp=target))
        seconds = time.time() - started
        with VideoReader(path) as reader:
            decoded = np.stack([reader.frame(t) for t in range(frames.shape[0])])
        bpp = 8 * path.stat().st_size / frames[..., 0].size
    print(
        f"OLD {clip} --max-bpp {target}: {bpp:.4f} bpp, {quality(frames, decoded)['psnr_rgb']:.2f} dB, {seconds:.0f} s"
    )


if __name__ == "__main__":
    main()
