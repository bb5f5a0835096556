"""Rate in the loss, group by group: the rate estimate against the coded bits, and quality across groups.

For each clip, one fixed-depth encode (the encoder before ``--quality``, 8
bits) and one encode per quality. Per group it records the ANS-coded bits,
the training rate model's estimate of them, the chunk's bytes and the PSNR of
the frames the group decodes (a shared boundary frame belongs to the later
group, as in the reader). ``bikes_cut`` crosses a scene cut, so its groups
after the cut hold new content: the spread of PSNR over groups shows how a
fixed model size and one lambda treat it.

    python -m benchmarks.rate_estimate                     # carphone, bikes_cut, bunny; about 8 minutes
    python -m benchmarks.rate_estimate --clips carphone --qualities 25
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.clips import load_clip
from benchmarks.common import RESULTS, command, json_clean, machine
from benchmarks.results_io import with_provenance
from nvcodec import Config, QuantConfig, VideoReader
from nvcodec.container import ContainerReader
from nvcodec.encoder import EncodeStats, encode
from nvcodec.metrics import psnr
from nvcodec.options import EncodeOptions
from nvcodec.recipe.quality import RateTrade, config_for_quality


@dataclass(frozen=True)
class Encoded:
    """One whole encode, decoded back through ``VideoReader``."""

    stats: EncodeStats
    decoded: np.ndarray
    """float32 ``[T, H, W, 3]`` in [0, 1]."""
    spans: list[tuple[int, int]]
    """Each group's first and last frame, from the file's index."""
    group_psnr: list[float]
    """PSNR of the frames each group decodes (the boundary frame counts for the later group, as in the reader)."""


def encode_decoded(
    frames: np.ndarray,
    fps: float,
    config: Config,
    quant: QuantConfig,
    quality: float | None,
    keep: Path | None = None,
) -> Encoded:
    """Encode ``frames`` to a temporary file (or to ``keep``, left in place) and decode every frame of it:
    what the benchmarks score."""
    with tempfile.TemporaryDirectory() as tmp:
        path = keep or Path(tmp) / "clip.actv"
        stats = encode(frames, path, config, quant, fps=fps, options=EncodeOptions(quality=quality))
        with VideoReader(path) as reader:
            decoded = np.stack([reader.frame(t) for t in range(len(frames))]).astype(np.float32) / 255
        with ContainerReader(path) as container:
            spans = [(e.start, e.end) for e in container.entries]
    per_group = []
    for index, (start, end) in enumerate(spans):
        last = end if index == len(spans) - 1 else end - 1
        per_group.append(psnr(decoded[start : last + 1], frames[start : last + 1]))
    return Encoded(stats, decoded, spans, per_group)


@dataclass(frozen=True)
class CliEncode:
    """One clip at one quality, encoded as ``actv-encode --quality`` encodes it, and where the file is."""

    clip: str
    quality: float
    config: Config
    """The config the quality and the trial fits shaped: width, group length, latent grids."""
    path: Path
    """The file, which lives until the next encode is asked for."""
    coded: Encoded
    psnr: float
    """RGB PSNR of the decoded frames against the clip."""

    def shape(self) -> dict:
        """The shape columns a result row records."""
        return {"width": self.config.model.hidden, "grid_levels": self.config.model.grid_levels,
                "group_size": self.config.fit.group_size}  # fmt: skip


def cli_encodes(clips: Sequence[str], qualities: Sequence[float], preset: str = "fast") -> Iterator[CliEncode]:
    """Every clip at every quality, shaped as ``actv-encode --preset P --quality Q`` shapes it (trial fits
    included), each file in a temporary folder kept until the next one: for benchmarks that read files."""
    for clip in clips:
        frames, fps = load_clip(clip)
        for quality in qualities:
            config, _ = config_for_quality(Config.preset(preset), RateTrade.for_quality(quality), frames)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "clip.actv"
                coded = encode_decoded(frames, fps, config, QuantConfig(), quality, path)
                yield CliEncode(clip, quality, config, path, coded, psnr(coded.decoded, frames))


def run(clip: str, frames: np.ndarray, fps: float, preset: str, quality: float | None, bits: int) -> dict:
    config = Config.preset(preset)
    quant = QuantConfig(bits_frame=bits, bits_latent=bits, bits_bias=bits)
    coded = encode_decoded(frames, fps, config, quant, quality)
    stats, decoded, per_group = coded.stats, coded.decoded, coded.group_psnr
    estimated = stats.estimated_bits
    point = {
        "clip": clip,
        "coding": f"quality {quality:g}" if quality is not None else f"{bits} bits",
        "bpp": stats.bpp,
        "psnr": psnr(decoded, frames),
        "encode_seconds": stats.seconds,
        "coded_bits": stats.coded_bits,
        "estimated_bits": estimated,
        "estimate_error_percent": 100 * (estimated / stats.coded_bits - 1) if estimated is not None else None,
        "group_coded_bits": stats.group_coded_bits,
        "group_estimated_bits": stats.group_estimated_bits,
        "group_psnr": per_group,
        "group_psnr_spread_db": max(per_group) - min(per_group),
    }
    print(
        f"{clip} {point['coding']}: {stats.bpp:.4f} bpp, {point['psnr']:.2f} dB, {stats.seconds:.0f} s; groups "
        + ", ".join(f"{p:.2f}" for p in per_group)
        + (f"; estimate {point['estimate_error_percent']:+.2f}% of the coded bits" if estimated is not None else ""),
        flush=True,
    )
    return point


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes_cut", "bunny"])
    parser.add_argument("--qualities", nargs="+", type=float, default=[18.0, 24.0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--output", type=Path, default=RESULTS / "rate_estimate.json")
    args = parser.parse_args()
    points = []
    for clip in args.clips:
        frames, fps = load_clip(clip, args.frames)
        points.append(run(clip, frames, fps, args.preset, None, 8))
        points.extend(run(clip, frames, fps, args.preset, q, 8) for q in args.qualities)
    record = {"machine": machine(), "command": command(), "preset": args.preset, "points": points}
    args.output.write_text(json.dumps(json_clean(with_provenance(record)), indent=2) + "\n")


if __name__ == "__main__":
    main()
