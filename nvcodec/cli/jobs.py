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
from nvcodec.cli.request import EncodeRequest, FrameRange
from nvcodec.container import ContainerReader
from nvcodec.encoder import EncodeStats
from nvcodec.errors import ActvError, InputError
from nvcodec.fit import MASK_THRESHOLD
from nvcodec.header import layout_problems, parse_header_map
from nvcodec.metrics import mse_to_psnr
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


def writes_to_folder(request: EncodeRequest) -> bool:
    """Several inputs, or an output named like a folder (``OUT/``), write one ``.actv`` per input into it."""
    return len(request.inputs) > 1 or request.output.endswith(("/", os.sep))


def jobs_of(request: EncodeRequest) -> list[Job]:
    """The inputs and their outputs: one file, or one ``.actv`` per input in an output folder."""
    if request.sample:
        if request.inputs:
            raise UsageError("give either inputs or --sample, not both")
        names = ["the sample clip"]
    elif not request.inputs:
        raise UsageError("no input: give a video, a folder of PNG frames, - for stdin, or --sample")
    else:
        names = list(request.inputs)
    if "-" in names and len(names) > 1:
        raise UsageError("stdin (-) can only be the one input")
    output = Path(request.output)
    if not writes_to_folder(request):
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
    span = request.frames
    for name, out in zip(names, outputs):
        spec = (
            None if name in ("-", "the sample clip") else SourceSpec(name, span.start, span.stop, span.stride, span.fps)
        )
        jobs.append(Job(name, out, spec))
    return jobs


def open_input(job: Job, span: FrameRange) -> FrameSource:
    """The job's frames: read group by group from a file or folder, whole from the sample clip or stdin."""
    if job.spec is not None:
        return job.spec.open()
    if job.name == "-":
        return read_stream(sys.stdin.buffer, span.start, span.stop, span.stride, span.fps)
    clip = sample_clip()[span.start : span.stop : span.stride]
    if len(clip) == 0:
        raise InputError("the sample clip has no frames in the requested range")
    return ArraySource(clip, (span.fps or SAMPLE_FPS) / span.stride)


def open_mask(path: Path, span: FrameRange, shape: tuple[int, int, int]) -> np.ndarray | FrameSource:
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
    mask = SourceSpec(str(path), span.start, span.stop, span.stride).open()
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


def summary(stats: EncodeStats, quality: float, masked: bool, request: EncodeRequest) -> None:
    if request.quiet:
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
    max_bpp = request.options.max_bpp
    if max_bpp is not None and stats.bpp > max_bpp:
        info(
            PROG,
            f"warning: {stats.bpp:.4f} bpp is above --max-bpp {max_bpp:g} even at the coarsest steps; "
            "a smaller model (--hidden, --patch) is needed for that rate",
            False,
        )
