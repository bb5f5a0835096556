"""What the encode tool's serial and Ray paths share: its inputs and outputs, and the report of a file.

An input is a job: a file or PNG folder read group by group (any process can
reopen it), or the sample clip or stdin, read into memory. A finished file is
checked by decoding it and comparing with the input, as the summary line says.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
from tqdm import tqdm

from nvcodec.cli.common import UsageError, human_bytes, info, progress_enabled
from nvcodec.container import ContainerReader
from nvcodec.encoder import EncodeStats
from nvcodec.encoder import rate_trade as encoder_rate_trade
from nvcodec.errors import ActvError, ArgumentError, InputError
from nvcodec.fit import MASK_THRESHOLD
from nvcodec.header import layout_problems, parse_header_map
from nvcodec.metrics import mse_to_psnr
from nvcodec.quant.policy import DEFAULT_QUALITY, RateTrade
from nvcodec.reader import VideoReader
from nvcodec.sample import sample_clip
from nvcodec.source import ArraySource, FrameSource, SourceSpec, read_stream

PROG = "actv-encode"
RESUME_SUFFIX = ".partial"
SAMPLE_FPS = 25.0


@dataclass(frozen=True)
class Job:
    """One input and the file it becomes."""

    name: str
    """The input as the user named it, for messages."""
    output: Path
    spec: SourceSpec | None
    """A file or folder any process can reopen; None for the sample clip and stdin (read into memory)."""

    @property
    def resume_folder(self) -> Path:
        return self.output.with_name(self.output.name + RESUME_SUFFIX)


def stop_frame(args) -> int | None:
    return args.start + args.frames * args.stride if args.frames else None


def writes_to_folder(args) -> bool:
    """Several inputs, or an output named like a folder (``OUT/``), write one ``.actv`` per input into it."""
    return len(args.inputs) > 1 or args.output.endswith(("/", os.sep))


def jobs_of(args) -> list[Job]:
    """The inputs and their outputs: one file, or one ``.actv`` per input in an output folder."""
    if args.sample:
        if args.inputs:
            raise UsageError("give either inputs or --sample, not both")
        names = ["the sample clip"]
    elif not args.inputs:
        raise UsageError("no input: give a video, a folder of PNG frames, - for stdin, or --sample")
    else:
        names = list(args.inputs)
    if "-" in names and len(names) > 1:
        raise UsageError("stdin (-) can only be the one input")
    output = Path(args.output)
    if not writes_to_folder(args):
        outputs = [output]
    else:
        stems = [Path(name).name if name not in ("-", "the sample clip") else "sample" for name in names]
        outputs = [output / (Path(stem).stem + ".actv") for stem in stems]
        repeated = {o.name for o in outputs if outputs.count(o) > 1}
        if repeated:
            raise UsageError(
                f"several inputs would write {', '.join(sorted(repeated))}: encode them to different folders"
            )
    jobs = []
    for name, out in zip(names, outputs):
        spec = (
            None
            if name in ("-", "the sample clip")
            else SourceSpec(name, args.start, stop_frame(args), args.stride, args.fps)
        )
        jobs.append(Job(name, out, spec))
    return jobs


def open_input(job: Job, args) -> FrameSource:
    """The job's frames: read group by group from a file or folder, whole from the sample clip or stdin."""
    if job.spec is not None:
        return job.spec.open()
    if job.name == "-":
        return read_stream(sys.stdin.buffer, args.start, stop_frame(args), args.stride, args.fps)
    clip = sample_clip()[args.start : stop_frame(args) : args.stride]
    if len(clip) == 0:
        raise InputError("the sample clip has no frames in the requested range")
    return ArraySource(clip, (args.fps or SAMPLE_FPS) / args.stride)


def open_mask(path: Path, args, shape: tuple[int, int, int]) -> np.ndarray | FrameSource:
    """Known pixels: one image (``[H, W]``, for every frame) or a video cut like the input (a source).

    Black (below half intensity) is unknown.
    """
    whole = SourceSpec(str(path)).open()
    try:
        if whole.num_frames == 1:
            known = whole.read(0, 0)[0].max(axis=-1) >= MASK_THRESHOLD
            if known.shape != shape[1:]:
                raise InputError(
                    f"mask {path} is {known.shape[1]}x{known.shape[0]}, the video is {shape[2]}x{shape[1]}"
                )
            return known
    finally:
        whole.close()
    mask = SourceSpec(str(path), args.start, stop_frame(args), args.stride).open()
    if mask.shape[1:] != shape[1:] or mask.num_frames < shape[0]:
        mask.close()
        raise InputError(
            f"mask {path} has {mask.num_frames} frames of {mask.width}x{mask.height} "
            f"for {shape[0]} video frames of {shape[2]}x{shape[1]}"
        )
    return mask


def decoded_psnr(path: Path, frames: FrameSource, mask: np.ndarray | FrameSource | None, device: str,
                 quiet: bool) -> float:  # fmt: skip
    """PSNR of the file as a reader decodes it, against the input (known pixels only under a mask)."""
    squared, counted = 0.0, 0
    with VideoReader(path, device=device) as reader:
        for t in tqdm(
            range(len(reader)), desc="checking", unit="frame", leave=False, disable=not progress_enabled(quiet)
        ):
            error = (cast(np.ndarray, reader.frame(t)).astype(np.float32) / 255 - frames.read(t, t)[0]) ** 2
            if isinstance(mask, FrameSource):
                error = error[mask.read(t, t)[0].max(axis=-1) >= MASK_THRESHOLD]
            elif mask is not None:
                error = error[mask]
            squared += float(error.sum(dtype=np.float64))
            counted += error.size
    return mse_to_psnr(squared / max(counted, 1))


def is_complete(path: Path) -> bool:
    """Whether ``path`` is an ``.actv`` file whose structure and checksums hold (as actv-info checks)."""
    try:
        with ContainerReader(path) as container:
            header = parse_header_map(container.header)
            entries = [(e.start, e.end) for e in container.entries]
            return not layout_problems(header, entries) and all(container.verify())
    except ActvError:
        return False


def summary(stats: EncodeStats, quality: float, masked: bool, args) -> None:
    if args.quiet:
        return
    what = "PSNR on known pixels" if masked else "PSNR vs input"
    print(
        f"{stats.path}: {stats.frames} frames {stats.width}x{stats.height}, {human_bytes(stats.file_bytes)}, "
        f"{stats.bpp:.4f} bpp, {what} {quality:.2f} dB, {stats.seconds:.1f} s",
        flush=True,
    )
    if stats.cuts:
        frames = ", ".join(str(c) for c in stats.cuts)
        info(PROG, f"{len(stats.cuts)} scene cut{'s' if len(stats.cuts) > 1 else ''} (frames {frames}) "
             f"started groups of their own; {stats.groups} groups in all", False)  # fmt: skip
    if args.max_bpp is not None and stats.bpp > args.max_bpp:
        info(
            PROG,
            f"warning: {stats.bpp:.4f} bpp is above --max-bpp {args.max_bpp:g} even at the coarsest steps; "
            "a smaller model (--hidden, --patch) is needed for that rate",
            False,
        )


def rate_trade(args) -> RateTrade | None:
    """Rate in the loss at ``--quality`` (default) or ``--lambda``; None where ``--bits`` alone asks for fixed depths."""
    if args.quality is None and args.lambda_ is None:
        if args.bits is not None or args.qat_iters is not None:
            return None
        return RateTrade.for_quality(DEFAULT_QUALITY)
    try:
        return encoder_rate_trade(args.quality, args.lambda_)
    except ArgumentError as exc:  # a usage mistake here: exit 2, like argparse's own
        raise UsageError(str(exc)) from None
