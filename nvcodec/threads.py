"""Threads on a shared machine: each nvcodec process takes its share of the cores, not all of them.

torch runs one OpenMP thread per core. Two such processes on one machine put
two threads on every core, and every parallel region of one process then ends
at a barrier that waits for a thread the other has descheduled: an eager
training step is thousands of small regions, so two encodes side by side ran
20-30x slower each instead of 2x (``benchmarks/shared_machine.py``).

A :class:`CoreShare` is a claim, by a lock file that lives as long as its
process, in one folder per user: every process that holds one counts the live
claims and runs on ``cores // claims`` threads (at least one), and counts again
now and then (:meth:`CoreShare.refresh`), so a process gives cores back when
another starts and takes them again when it ends. The lock is released by the
kernel when a process dies, however it dies, so a stale file is recognised
(its lock can be taken) and removed. Alone, a process keeps torch's default.

Torch-free: the tools decide their threads before loading the model.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no sharing, every process takes its default
    fcntl = None  # type: ignore[assignment]

REFRESH_SECONDS = 2.0
"""Least time between two counts of the claims by :meth:`CoreShare.refresh`."""


def share_folder() -> Path:
    """Where this user's claims live (one folder for every nvcodec process of the user)."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"nvcodec-cores-{uid}"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _held(path: Path) -> bool | None:
    """Whether a live process holds the lock of ``path``; None where the file vanished while we looked."""
    assert fcntl is not None
    try:
        with open(path) as other:
            fcntl.flock(other, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except FileNotFoundError:
        return None  # its process ended (or named its claim) while we looked
    except OSError:
        return True  # locked
    return False


def share_of(threads: int, claims: int) -> int:
    """Threads of one of ``claims`` processes sharing what ``threads`` threads would use alone (at least 1)."""
    return max(1, threads // max(1, claims))


class CoreShare:
    """This process's claim on the machine's cores, held until :meth:`close` (or the process ends).

    ``threads`` is what the process would use alone (torch's default, or the
    cores it may run on); :attr:`threads` is its share now.
    """

    def __init__(self, threads: int | None = None, folder: Path | None = None, clock=time.monotonic):
        self.alone = threads if threads is not None else usable_cores()
        self.folder = folder or share_folder()
        self.clock = clock
        self.file = None
        self.path: Path | None = None
        if fcntl is not None:
            try:
                self.folder.mkdir(mode=0o700, exist_ok=True)
                name = f"{os.getpid()}-{time.time_ns()}"
                pending = self.folder / f"{name}.new"
                self.file = open(pending, "w")  # noqa: SIM115  # held open for the life of the claim
                fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                # Locked before it is named as a claim: another process never finds it unlocked and takes it
                # for stale.
                self.path = self.folder / f"{name}.lock"
                os.replace(pending, self.path)
            except OSError:  # an unwritable temp folder: run as if alone
                self._release()
        self.threads = share_of(self.alone, self.claims())
        self.counted = self.clock()

    def claims(self) -> int:
        """Live claims in the folder, this one included; stale files (their process gone) are removed."""
        if self.file is None or fcntl is None:
            return 1
        count = 0
        for path in [*self.folder.glob("*.lock"), *self.folder.glob("*.new")]:
            held = True if path == self.path else _held(path)
            if held:
                count += path.suffix == ".lock"  # a ".new" file is a claim being made: it counts once named
            elif held is False:
                path.unlink(missing_ok=True)  # the lock could be taken: its process is gone
        return max(1, count)

    def refresh(self) -> int | None:
        """Count the claims again (at most every :data:`REFRESH_SECONDS`); the new share if it changed, else None."""
        now = self.clock()
        if now - self.counted < REFRESH_SECONDS:
            return None
        self.counted = now
        threads = share_of(self.alone, self.claims())
        if threads == self.threads:
            return None
        self.threads = threads
        return threads

    def _release(self) -> None:
        if self.file is not None:
            self.file.close()  # closing drops the lock
            self.file = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None

    def close(self) -> None:
        """Give the claim back: the other processes take its cores at their next refresh."""
        self._release()

    def __enter__(self) -> CoreShare:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_installed: CoreShare | None = None
_before: tuple[int, bool] | None = None
"""torch's threads and inductor's ``dynamic_threads`` before :func:`install_share`, restored by ``install_share(None)``."""


def install_share(share: CoreShare | None) -> None:
    """Make ``share`` this process's: torch runs on its threads now, and :func:`follow_share` keeps it so.

    Compiled kernels are told to read the thread count when they run rather
    than when they are generated (inductor's ``cpp.dynamic_threads``), so a
    share that changes mid-encode reaches them too; that changes their
    rounding, so a file's bytes follow the threads it was encoded on (pass
    ``--threads`` for bytes that do not depend on what else runs).
    ``None`` uninstalls and restores torch's threads and inductor's setting.
    """
    global _installed, _before
    import torch
    import torch._inductor.config as inductor_config

    if share is None:
        if _before is not None:
            torch.set_num_threads(_before[0])
            inductor_config.cpp.dynamic_threads = _before[1]
        _installed, _before = None, None
        return
    if _before is None:
        _before = (torch.get_num_threads(), inductor_config.cpp.dynamic_threads)
    _installed = share
    inductor_config.cpp.dynamic_threads = True
    torch.set_num_threads(share.threads)


def follow_share() -> None:
    """Between steps of a long loop: take the installed share's threads if the claims changed (cheap otherwise)."""
    if _installed is None:
        return
    threads = _installed.refresh()
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


__all__ = [
    "REFRESH_SECONDS",
    "CoreShare",
    "follow_share",
    "install_share",
    "share_folder",
    "share_of",
    "usable_cores",
]
