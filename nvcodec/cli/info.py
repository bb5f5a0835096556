"""``actv-info``: what an ``.actv`` file holds, and whether its checksums hold.

    actv-info clip.actv
    actv-info clip.actv --json | jq .bpp

Reads the header and index, then checks every group's CRC32 (reading each
group once, without decoding it). Exits 1 when any group is damaged.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from nvcodec.cli.common import Parser, run
from nvcodec.container import ContainerReader
from nvcodec.header import group_parameter_count, is_intra, parse_header_map
from nvcodec.version import __version__

PROG = "actv-info"


def build_parser() -> Parser:
    parser = Parser(prog=PROG, description="Describe an .actv file and check its checksums.")
    parser.add_argument("input", type=Path, help="the .actv file")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def describe(path: Path) -> dict:
    """Everything ``actv-info`` reports, as plain data."""
    with ContainerReader(path) as container:
        header = parse_header_map(container.header)
        intact = container.verify()
        entries = container.entries
        file_bytes = container.file_size
        version = container.version
    pixels = header.frames * header.height * header.width
    parameters = group_parameter_count(header.grid(), header.model)
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
        "file": str(path),
        "file_bytes": file_bytes,
        "format_version": f"{version[0]}.{version[1]}",
        "encoder": header.encoder,
        "frames": header.frames,
        "width": header.width,
        "height": header.height,
        "fps": header.fps,
        "duration_seconds": header.frames / header.fps,
        "bpp": 8 * file_bytes / pixels,
        "parameters_per_group": parameters,
        "model": container.header["model"],
        "quant": container.header["quant"],
        "groups": groups,
        "checksums_ok": all(intact),
    }


def _print_text(report: dict) -> None:
    model, quant = report["model"], report["quant"]
    damaged = sum(g["checksum"] != "ok" for g in report["groups"])
    lines = [
        f"file        {report['file']} ({report['file_bytes']:,} bytes)",
        f"format      .actv {report['format_version']}, written by {report['encoder']}",
        f"video       {report['frames']} frames, {report['width']}x{report['height']}, "
        f"{report['fps']:g} fps, {report['duration_seconds']:.2f} s",
        f"rate        {report['bpp']:.4f} bpp (whole file)",
        f"model       {model['activation']}, {model['layers']} layers of {model['hidden']}, "
        f"patch {model['patch']} (overlap {model['overlap']}), {report['parameters_per_group']:,} numbers per group",
        f"quantizer   {quant['bits_frame']}/{quant['bits_latent']}/{quant['bits_bias']} bits "
        f"(frame/latent/bias), residual groups {'on, independent every ' + str(quant['intra_period']) if quant['residual'] else 'off'}",
        f"groups      {len(report['groups'])}",
    ]
    width = len(str(max(g["frames"][1] for g in report["groups"])))
    for g in report["groups"]:
        first, last = g["frames"]
        lines.append(
            f"  #{g['index']:<4} frames {first:>{width}}-{last:<{width}}  {g['bytes']:>9,} bytes  "
            f"{g['coding']:<11}  {g['checksum']}"
        )
    lines.append(f"checksums   {'all ok' if not damaged else f'{damaged} group(s) damaged'}")
    print("\n".join(lines), flush=True)


def _body(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    report = describe(args.input)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write(os.linesep)
        sys.stdout.flush()
    else:
        _print_text(report)
    if not report["checksums_ok"]:
        print(f"{PROG}: error: {args.input} is damaged (see the groups marked damaged)", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(PROG, _body, argv)


if __name__ == "__main__":
    sys.exit(main())
