"""What the three command-line tools share: argument parsing, error reporting, output checks, progress.

Every tool is ``main(argv) -> int`` so tests call it directly. A user error
(a missing input, a damaged file, a bad option...) prints one line,
``<tool>: error: <what went wrong>``, to stderr and returns a non-zero code;
tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn

from nvcodec.errors import ActvError, OutputError
from nvcodec.threads import CoreShare, install_share

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """A bad option or option value: exit status 2, like argparse."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad option as one line instead of usage text plus exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is, so it stops as after Ctrl-C: outputs are cleaned up."""

    def __init__(self, signum: int, *args: object):
        super().__init__(*args)
        self.signum = signum


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` (main thread only, as Python allows)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated(signum)

    wanted = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {number: signal.signal(number, terminate) for number in wanted}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def interruption(exc: KeyboardInterrupt) -> str:
    """What stopped the program, in words: ``interrupted`` (Ctrl-C) or ``terminated by SIGTERM``."""
    return f"terminated by {signal.Signals(exc.signum).name}" if isinstance(exc, Terminated) else "interrupted"


def interrupt_status(exc: KeyboardInterrupt) -> int:
    """130 after Ctrl-C, 128 + the signal number after SIGTERM (143) or SIGHUP (129), like a shell."""
    return 128 + exc.signum if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def run(prog: str, body: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None) -> int:
    """Run a tool's body, turning expected failures into one line on stderr and an exit status."""
    try:
        with signals_as_interrupts():
            return body(argv)
    except UsageError as exc:
        _say(prog, f"error: {exc}")
        return EXIT_USAGE
    except ActvError as exc:
        _say(prog, f"error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt as exc:
        _say(prog, str(exc) or f"{interruption(exc)}; no output was written")
        return interrupt_status(exc)
    except BrokenPipeError:
        # The reader of our stdout went away (``actv-decode x.actv - | head``): not an error of ours.
        _silence_stdout()
        return EXIT_OK
    except MemoryError:
        _say(prog, "error: out of memory; try a smaller --size, fewer frames or a GPU")
        return EXIT_ERROR
    except OSError as exc:
        _say(prog, f"error: {exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}")
        return EXIT_ERROR


def _say(prog: str, message: str) -> None:
    print(f"{prog}: {message}", file=sys.stderr, flush=True)


def _silence_stdout() -> None:
    # Point stdout at /dev/null so the interpreter's final flush does not raise again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def info(prog: str, message: str, quiet: bool) -> None:
    if not quiet:
        _say(prog, message)


def check_output(path: Path, overwrite: bool, *, folder: bool = False) -> None:
    """Refuse to clobber an existing output without ``-y`` (like ffmpeg), or to write a file over a folder."""
    if path.exists():
        if path.is_dir() and not folder:
            raise OutputError(f"{path} is a directory; give a file name")
        if not path.is_dir() and folder:
            raise OutputError(f"{path} exists and is not a folder")
        if folder and any(p.suffix.lower() != ".png" or not p.is_file() for p in path.iterdir()):
            # -y replaces the whole folder: only ever one that holds nothing but frames.
            raise OutputError(f"{path} is a directory with other files in it; give a new folder name for the frames")
        if not overwrite:
            raise OutputError(f"{path} already exists; use -y to overwrite it")
    parent = path.parent
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {parent} does not exist")


def _number(text: str, kind: type, minimum: float, strict: bool) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {'a whole number' if kind is int else 'a number'}, got {text!r}"
        ) from None
    if not (value > minimum if strict else value >= minimum) or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number {'>' if strict else '>='} {minimum:g}, got {text}")
    return value


def positive_int(text: str) -> int:
    return int(_number(text, int, 1, strict=False))


def non_negative_int(text: str) -> int:
    return int(_number(text, int, 0, strict=False))


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    return _number(text, float, 0, strict=True)


def non_negative_float(text: str) -> float:
    return _number(text, float, 0, strict=False)


def device_name(text: str) -> str:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N``; whether that device exists is checked later (exit 1, not 2)."""
    if text in ("auto", "cpu", "cuda") or (text.startswith("cuda:") and text[5:].isdigit()):
        return text
    raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {text!r}")


def add_threads_option(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--threads",
        type=positive_int,
        help="CPU threads torch may use, like ffmpeg's -threads (default: one per core, shared with the other "
        "nvcodec processes running on this machine)",
    )


def apply_threads(threads: int | None, share: bool = False) -> CoreShare | None:
    """Set torch's CPU threads: ``threads`` when asked; else, with ``share``, this process's share of the cores.

    The share (:class:`~nvcodec.threads.CoreShare`) is torch's default (one
    thread per core) when no other nvcodec process runs, and an equal part of
    it when others do; returned so the tool can give it back
    (``install_share(None)``, then ``close()``) when done.
    """
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
        return None
    if not share:
        return None
    claim = CoreShare(torch.get_num_threads())
    install_share(claim)
    return claim


def frame_size(text: str) -> tuple[int, int]:
    """``WxH`` (as ffmpeg writes sizes) -> ``(height, width)``."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 704x576, got {text!r}")
    width, height = (int(p) for p in parts)
    return height, width


def progress_enabled(quiet: bool) -> bool:
    """Live bars only on a terminal; logs get one line per finished step instead."""
    return not quiet and sys.stderr.isatty()


def human_bytes(count: int) -> str:
    """``12,345 bytes`` below 1 MiB (codec sizes are small and exact counts matter), else MiB/GiB."""
    if count < 1 << 20:
        return f"{count:,} bytes"
    if count < 1 << 30:
        return f"{count / (1 << 20):.1f} MiB"
    return f"{count / (1 << 30):.2f} GiB"
