"""Outputs that appear whole or not at all: write beside the target, then rename over it.

Every writer in nvcodec (the ``.actv`` container, videos, PNG folders, the
resume folder's records) creates its temporary file or folder here, named
``.<target name>.<pid>-<random>.part<suffix>`` in the target's folder, so a
rename moves it into place on the same file system. Temporaries are created
with the usual permissions less the umask, so finished outputs get the same
modes as any other tool's. A process killed outright (SIGKILL, a lost
machine) cannot clean up; the next run for the same target removes what such
a process left (:func:`remove_stale_temporaries`), recognising it by the
process id in the name.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path

from nvcodec.errors import OutputError

TEMP_TRIES = 100
"""Random names tried before giving up (a clash needs another writer with the same 32-bit token)."""


def _temp_name(target: Path, suffix: str) -> Path:
    return target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.part{suffix}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporaries of ``target`` left by processes of this machine that no longer run.

    Those of a process still running (another writer of the same target) are
    left alone. Returns what was removed.
    """
    target = Path(target)
    removed: list[Path] = []
    prefix = f".{target.name}."
    try:
        candidates = [p for p in target.parent.iterdir() if p.name.startswith(prefix) and ".part" in p.name]
    except OSError:
        return removed
    for path in candidates:
        owner = path.name[len(prefix) :].split("-", 1)[0]
        if not owner.isdigit() or int(owner) == os.getpid() or _alive(int(owner)):
            continue
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed


def _cannot_write(target: Path, exc: OSError) -> OutputError:
    return OutputError(f"cannot write {target}: {exc.strerror or exc}")


def create_temp_file(target: str | os.PathLike[str], suffix: str = "") -> tuple[int, Path]:
    """An open descriptor and the path of a new, empty temporary file beside ``target``."""
    target = Path(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(TEMP_TRIES):
        temp = _temp_name(target, suffix)
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
        except OSError as exc:
            raise _cannot_write(target, exc) from None
    raise OutputError(f"cannot write {target}: no free temporary name beside it")


def create_temp_folder(target: str | os.PathLike[str]) -> Path:
    """A new, empty temporary folder beside ``target``."""
    target = Path(target)
    for _ in range(TEMP_TRIES):
        temp = _temp_name(target, "")
        try:
            temp.mkdir(0o777)
            return temp
        except FileExistsError:
            continue
        except OSError as exc:
            raise _cannot_write(target, exc) from None
    raise OutputError(f"cannot write {target}: no free temporary name beside it")


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable where the platform allows it; best effort."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish(temp: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Move a finished temporary file or folder onto ``target`` and make the rename durable."""
    target = Path(target)
    try:
        os.replace(temp, target)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    fsync_folder(target.parent.absolute())


def remove_quietly(path: str | os.PathLike[str]) -> None:
    """Delete a temporary file if it is still there."""
    with contextlib.suppress(OSError):
        os.unlink(path)


def write_atomic(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target``: readers see the old file or the whole new one, never a part."""
    target = Path(target)
    handle, temp = create_temp_file(target)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        publish(temp, target)
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    finally:
        remove_quietly(temp)
