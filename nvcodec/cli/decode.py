"""``actv-decode``: render an ``.actv`` file to a video, a PNG folder or y4m on stdout.

    actv-decode clip.actv -o clip.mp4
    actv-decode clip.actv -o slow.mp4 --fps-scale 10          # 10x slow motion
    actv-decode clip.actv -o big.mkv --scale 4                # 4x super-resolution
    actv-decode clip.actv -o frames/ --start 1 --end 2        # seconds 1 to 2 as PNGs
    actv-decode clip.actv - | ffmpeg -i - out.webm            # y4m on stdout

Time is continuous: ``--fps-scale N`` renders N frames per stored frame, at
the stored frame rate unless ``--fps`` says otherwise, so the result plays N
times slower. Size is continuous too: ``--scale``/``--size`` render the same
function on a finer grid.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
from tqdm import tqdm

from nvcodec.atomic import remove_stale_temporaries
from nvcodec.cli.common import (
    Parser,
    UsageError,
    add_threads_option,
    apply_threads,
    check_output,
    device_name,
    frame_size,
    info,
    non_negative_float,
    positive_float,
    positive_int,
    progress_enabled,
    run,
)
from nvcodec.io import PngFolderWriter, VideoWriter
from nvcodec.reader import BATCH_PIXELS, VideoReader
from nvcodec.version import __version__

PROG = "actv-decode"
VIDEO_SUFFIXES = (".mp4", ".mkv", ".y4m")
DECODE_BATCH = 16
"""Frames rendered per batched pass (fewer when large: :data:`nvcodec.reader.BATCH_PIXELS` bounds the memory)."""


def build_parser() -> Parser:
    parser = Parser(
        prog=PROG,
        description="Decode an .actv file at any frame rate and resolution.",
        epilog="Exit status: 0 done, 1 error, 2 bad option, 130 interrupted.",
    )
    parser.add_argument("input", help="the .actv file: a path or a URL (http(s)://, or any fsspec scheme)")
    parser.add_argument(
        "output",
        nargs="?",
        help="(or -o) .mp4/.mkv (H.264), .y4m, a folder for PNG frames (a name without extension), or - for y4m on stdout",
    )
    parser.add_argument("-o", "--output", dest="output_option", help="same as the positional OUTPUT")
    parser.add_argument("-y", "--overwrite", action="store_true", help="overwrite the output if it exists")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")

    timing = parser.add_argument_group("time")
    timing.add_argument("--start", type=non_negative_float, default=0.0, help="first second to decode (default 0)")
    timing.add_argument("--end", type=non_negative_float, help="second to stop before (default: the end)")
    timing.add_argument(
        "--fps-scale", type=positive_int, default=1, help="frames rendered per stored frame: N gives N x slow motion"
    )
    timing.add_argument("--fps", type=positive_float, help="frame rate of the output (default: the stored rate)")

    space = parser.add_argument_group("size").add_mutually_exclusive_group()
    space.add_argument("--scale", type=positive_float, help="output size as a multiple of the stored size, e.g. 4")
    space.add_argument("--size", type=frame_size, help="output size WIDTHxHEIGHT, e.g. 704x576")

    out = parser.add_argument_group("output")
    out.add_argument("--crf", type=int, default=12, help="H.264 quality for .mp4/.mkv, 0-51 (default 12: transparent)")
    out.add_argument("--lossless", action="store_true", help="H.264 CRF 0 in 4:4:4 for .mp4/.mkv")
    parser.add_argument("--device", type=device_name, default="cpu", help="cpu (default), cuda, cuda:N or auto")
    add_threads_option(parser)
    return parser


def frame_times(frames: int, fps: float, start: float, end: float | None, per_frame: int) -> list[float]:
    """Times (in stored-frame units) to render: ``per_frame`` steps per frame over ``[start, end)`` seconds.

    The last stored frame is always included when ``end`` is not given, so a
    full decode at ``--fps-scale N`` of T frames gives ``(T - 1) * N + 1`` frames.
    """
    first = start * fps
    last = frames - 1 if end is None else min(frames - 1, end * fps)
    if first > frames - 1:
        raise UsageError(f"--start {start:g} s is past the end of the video ({(frames - 1) / fps:g} s)")
    count = math.floor((last - first) * per_frame + 1e-9) + 1
    times = [first + k / per_frame for k in range(max(count, 0))]
    if end is not None:
        times = [t for t in times if t < end * fps - 1e-9]
    if not times:
        raise UsageError(f"no frames between --start {start:g} s and --end {end:g} s")
    return times


def _output_kind(output: str) -> str:
    if output == "-":
        return "stdout"
    suffix = Path(output).suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix == "" or output.endswith(("/", "\\")):
        return "png"
    raise UsageError(f"cannot write {output}: use .mp4, .mkv, .y4m, a folder name for PNG frames, or -")


def _render_into(
    writer: PngFolderWriter | VideoWriter, reader: VideoReader, times: list[float], size: tuple[int, int], quiet: bool
) -> None:
    """Render ``times`` in batches, each batch's times of one group in one pass of the networks."""
    batch = max(1, min(DECODE_BATCH, BATCH_PIXELS // (size[0] * size[1])))
    with tqdm(total=len(times), desc="decoding", unit="frame", disable=not progress_enabled(quiet), leave=False) as bar:
        for first in range(0, len(times), batch):
            for frame in cast(np.ndarray, reader.frames_at(times[first : first + batch], size=size)):
                writer.write(frame)
                bar.update()


def _body(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    apply_threads(args.threads)
    if args.output is not None and args.output_option is not None:
        raise UsageError("give the output once, either positionally or with -o")
    output = args.output if args.output is not None else args.output_option
    if output is None:
        raise UsageError("no output: give -o OUT (.mp4, .mkv, .y4m, a folder, or - for stdout)")
    if args.end is not None and args.end <= args.start:
        raise UsageError(f"--end ({args.end:g}) must be after --start ({args.start:g})")
    if not 0 <= args.crf <= 51:
        raise UsageError(f"--crf must be between 0 and 51, got {args.crf}")
    kind = _output_kind(output)
    path = Path(output)
    if kind != "stdout":
        check_output(path, args.overwrite, folder=kind == "png")
        remove_stale_temporaries(path)
    with VideoReader(args.input, device=args.device) as reader:
        times = frame_times(len(reader), reader.fps, args.start, args.end, args.fps_scale)
        if args.size is not None:
            size = args.size
        elif args.scale is not None:
            size = (max(1, round(reader.height * args.scale)), max(1, round(reader.width * args.scale)))
        else:
            size = (reader.height, reader.width)
        fps = args.fps or reader.fps
        writer: PngFolderWriter | VideoWriter
        if kind == "png":
            writer = PngFolderWriter(path)
        else:
            target = sys.stdout.buffer if kind == "stdout" else path
            writer = VideoWriter(target, size, fps, crf=args.crf, near_lossless=args.lossless)
        info(
            PROG,
            f"{args.input}: {len(times)} frames of {size[1]}x{size[0]} at {fps:g} fps -> {output}",
            args.quiet,
        )
        try:
            _render_into(writer, reader, times, size, args.quiet)
        except BaseException:
            writer.abort()
            raise
        writer.close()
    if kind != "stdout" and not args.quiet:
        print(f"{output}: {len(times)} frames {size[1]}x{size[0]} at {fps:g} fps", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(PROG, _body, argv)


if __name__ == "__main__":
    sys.exit(main())
