"""``actv-info``: what an ``.actv`` file holds, and whether it would decode.

    actv-info clip.actv
    actv-info clip.actv --json | jq .bpp
    actv-info clip.actv --decode        # also decode every group's parameters

Reads the header and index and runs the reader's structural checks (header
fields, the groups tiling the frames), then checks every group's CRC32
(reading each group once, without decoding it). All of that needs no torch,
so it takes a fraction of a second. ``--decode`` also decodes every group's
parameters, as a reader would, which finds a damaged payload whose checksum
was rewritten to match. Every problem found is listed; the exit status is 1
when the file would not decode.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from typing import BinaryIO, cast

from nvcodec.cli.common import Parser, run
from nvcodec.container import ContainerReader
from nvcodec.errors import FormatError
from nvcodec.header import Header, group_parameter_count, is_intra, layout_problems, parse_header_map
from nvcodec.metadata import video_metadata
from nvcodec.remote import open_source
from nvcodec.version import __version__

PROG = "actv-info"


def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="Describe an .actv file and check that it would decode.")
    parser.add_argument("input", help="the .actv file: a path or a URL (http(s)://, or any fsspec scheme)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--decode", action="store_true", help="also decode every group's parameters (loads torch; slower)"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _decode_problems(container: ContainerReader, header: Header, intact: list[bool]) -> list[str]:
    """Decode every group as a reader would; a group after a broken one in its residual chain cannot decode."""
    from nvcodec.decoder import decode_group  # loads torch: only for --decode

    specs = header.tensors()
    problems: list[str] = []
    state = None
    for index, ok in enumerate(intact):
        if not ok:
            state = None
            continue
        if state is None and not is_intra(index, header.quant):
            problems.append(f"group {index} cannot decode: the group before it in its residual chain is damaged")
            continue
        try:
            state = decode_group(container.read_chunk(index), index, specs, header.quant, state)
        except FormatError as exc:
            problems.append(f"group {index} does not decode: {exc}")
            state = None
    return problems


def describe(path: str | os.PathLike[str], decode: bool = False) -> dict:
    """Everything ``actv-info`` reports, as plain data; ``problems`` lists why the file would not decode.

    The video's facts appear under torchcodec's ``VideoStreamMetadata`` names
    too (``num_frames``, ``average_fps``, ``bit_rate``...: :mod:`nvcodec.metadata`).
    """
    with open_source(path) as source, ContainerReader(cast(BinaryIO, source)) as container:
        header = parse_header_map(container.header)
        entries = container.entries
        layout = layout_problems(header, [(e.start, e.end) for e in entries])
        intact = container.verify()
        problems = layout + [f"group {i} is damaged (checksum mismatch)" for i, ok in enumerate(intact) if not ok]
        if decode and not layout:  # groups that do not tile the video are not worth decoding
            problems += _decode_problems(container, header, intact)
        file_bytes, version = container.file_size, container.version
    metadata = video_metadata(header, [(e.start, e.end) for e in entries], file_bytes, version)
    groups = [
        {
            "index": index,
            "frames": [entry.start, entry.end],
            "bytes": entry.length,
            "coding": "independent" if is_intra(index, header.quant) else "residual",
            "checksum": "ok" if ok else "damaged",
        }
        for index, (entry, ok) in enumerate(zip(entries, intact))
    ]
    return {
        "file": source.name,
        # Older names of what the metadata also says (kept for scripts): bytes, frames and frame rate.
        "file_bytes": file_bytes,
        "frames": header.frames,
        "fps": header.fps,
        "parameters_per_group": group_parameter_count(header.grid(), header.model),
        "model": dataclasses.asdict(header.model),  # later keys filled in, as a reader sees them
        "quant": dataclasses.asdict(header.quant),
        "groups": groups,
        "checksums_ok": all(intact),
        "decoded": decode,
        "problems": problems,
        "decodes": not problems,
        **metadata.as_dict(),  # format_version, encoder, width, height, duration_seconds, bpp among them
    }


def _print_text(report: dict) -> None:
    model, quant = report["model"], report["quant"]
    lines = [
        f"file        {report['file']} ({report['file_bytes']:,} bytes)",
        f"format      .actv {report['format_version']}, written by {report['encoder']}",
        f"video       {report['frames']} frames, {report['width']}x{report['height']}, "
        f"{report['fps']:g} fps, {report['duration_seconds']:.2f} s",
        f"rate        {report['bpp']:.4f} bpp, {report['bit_rate'] / 1000:,.1f} kbit/s (whole file)",
        f"model       {model['activation']}, {model['layers']} layers of {model['hidden']}, "
        f"patch {model['patch']} (overlap {model['overlap']}), "
        + (
            f"latent grids {model['grid_levels']} levels from every {model['grid_cell']} px, "
            if model["grid_levels"]
            else ""
        )
        + f"{report['parameters_per_group']:,} numbers per group",
        f"quantizer   {quant['bits_frame']}/{quant['bits_latent']}/{quant['bits_bias']} bits "
        f"(frame/latent/bias), residual groups {'on, independent every ' + str(quant['intra_period']) if quant['residual'] else 'off'}",
        f"groups      {len(report['groups'])}",
    ]
    width = len(str(max((g["frames"][1] for g in report["groups"]), default=0)))
    for g in report["groups"]:
        first, last = g["frames"]
        lines.append(
            f"  #{g['index']:<4} frames {first:>{width}}-{last:<{width}}  {g['bytes']:>9,} bytes  "
            f"{g['coding']:<11}  {g['checksum']}"
        )
    damaged = sum(g["checksum"] != "ok" for g in report["groups"])
    lines.append(f"checksums   {'all ok' if not damaged else f'{damaged} group(s) damaged'}")
    checked = "structure, checksums and every group's parameters" if report["decoded"] else "structure and checksums"
    lines.append(f"decodes     {'yes' if report['decodes'] else 'no'} ({checked} checked)")
    lines.extend(f"  problem: {problem}" for problem in report["problems"])
    print("\n".join(lines), flush=True)


def _body(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    report = describe(args.input, decode=args.decode)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write(os.linesep)
        sys.stdout.flush()
    else:
        _print_text(report)
    if report["problems"]:
        count = len(report["problems"])
        print(f"{PROG}: error: {args.input} would not decode ({count} problem{'s' * (count > 1)})", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(PROG, _body, argv)


if __name__ == "__main__":
    sys.exit(main())
