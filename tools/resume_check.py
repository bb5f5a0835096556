"""Interrupt an encode after its first group, resume it, and compare the bytes with an uninterrupted run.

    python -m tools.resume_check                        # the sample clip, --preset fast (compiled)
    python -m tools.resume_check --signal TERM -- --preset fast --no-compile

Runs ``actv-encode --sample`` three times in fresh processes: once through,
once stopped with SIGINT (Ctrl-C) or SIGTERM as soon as it reports that group
1 is finished, and once more with ``--resume``. Prints the sizes, whether the
interrupted run left its ``.partial`` folder and no stray temporary, and
whether the resumed file is byte for byte the uninterrupted one. Exits 1 if
it is not.
"""

from __future__ import annotations

import argparse
import filecmp
import signal
import subprocess
import sys
import tempfile
from pathlib import Path


def encode_command(out: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "nvcodec.cli.encode", "--sample", "-o", str(out), "-y", *extra]


def interrupted(out: Path, extra: list[str], signum: int) -> int:
    """Run the encode and send ``signum`` once group 1 is done; returns its exit status."""
    process = subprocess.Popen(
        encode_command(out, extra),
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        # A shell's background job starts with SIGINT ignored, and Python then keeps ignoring it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stderr is not None
    for line in process.stderr:
        sys.stderr.write("  | " + line)
        if line.startswith("group 1/") and "frames" in line:  # the line that reports a finished group
            process.send_signal(signum)
            break
    process.communicate()
    return process.returncode


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signal", choices=("INT", "TERM"), default="INT")
    parser.add_argument("extra", nargs="*", default=["--preset", "fast"], help="actv-encode options (after --)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        whole, resumed = folder / "whole.actv", folder / "resumed.actv"
        subprocess.run(encode_command(whole, args.extra), check=True, stderr=subprocess.DEVNULL)
        code = interrupted(resumed, args.extra, getattr(signal, f"SIG{args.signal}"))
        partial = Path(str(resumed) + ".partial")
        left = sorted(p.name for p in folder.iterdir() if p.name not in ("whole.actv", partial.name))
        print(f"interrupted with SIG{args.signal}: exit {code}, resume folder kept: {partial.is_dir()}, "
              f"other files left: {left or 'none'}")  # fmt: skip
        if code == 0 or not partial.is_dir():
            sys.exit("the encode was not interrupted after group 1 (it finished first): nothing was resumed")
        subprocess.run(encode_command(resumed, [*args.extra, "--resume"]), check=True, stderr=subprocess.DEVNULL)
        same = filecmp.cmp(whole, resumed, shallow=False)
        print(f"uninterrupted {whole.stat().st_size} bytes, resumed {resumed.stat().st_size} bytes: "
              f"{'identical' if same else 'DIFFERENT'}")  # fmt: skip
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
