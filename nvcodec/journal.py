"""Finished groups of an encode in progress, kept in a folder so a killed encode can resume.

The ``.actv`` file only appears when the encode finishes (atomic writes), so
without a journal a crash hours into a long GPU encode would lose everything.
The encoder saves each coded group here as it finishes; a resumed encode
replays these chunks into the new file, rebuilds the last group's decoded
parameters from them, and fits on from the next group. Because each group's
random streams have their own seeds (:func:`nvcodec.fit.stream_seed`), the
result is byte-identical to an encode that never stopped (on the same device
and software).

Layout: ``journal.msgpack`` (format version and the fingerprint of the input
and settings) and one ``group-NNNNNN.msgpack`` per finished group, each written
atomically and carrying a CRC of its payload. A group file that is missing,
torn or damaged ends the usable prefix; everything after it is fitted again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import msgpack
import numpy as np
import torch

from nvcodec.atomic import write_atomic
from nvcodec.errors import ArgumentError, OutputError

JOURNAL_VERSION = 1
_META = "journal.msgpack"
_DAMAGE = (OSError, ValueError, TypeError, KeyError, msgpack.UnpackException)
"""What reading a torn, truncated or foreign record can raise (msgpack's own errors are ValueErrors or these)."""


@dataclass(frozen=True)
class JournalChunk:
    index: int
    start: int
    end: int
    payload: bytes
    info: dict
    """What the encoder wants back on resume (fit PSNR, coded bits...)."""


def fingerprint(header_bytes: bytes, arrays: Iterable[np.ndarray | torch.Tensor | str | None], extra: str = "") -> str:
    """A hash of everything that decides the encoded bytes: header (configs, sizes), input frames, mask.

    An input may be given as its array or by a fingerprint of its own (a hex
    string, :meth:`nvcodec.source.FrameSource.fingerprint`).
    """
    digest = hashlib.blake2b(header_bytes, digest_size=16)
    for array in arrays:
        if array is None:
            digest.update(b"none")
            continue
        if isinstance(array, str):
            digest.update(array.encode())
            continue
        values = array.detach().cpu().numpy() if isinstance(array, torch.Tensor) else np.asarray(array)
        digest.update(f"{values.dtype.str}{values.shape}".encode())
        digest.update(np.ascontiguousarray(values).data)
    digest.update(extra.encode())
    return digest.hexdigest()


class EncodeJournal:
    """The resume folder of one encode (see the module docstring)."""

    def __init__(self, folder: str | os.PathLike[str], fingerprint: str):
        """Open ``folder`` if it exists; refuse one that belongs to a different input or settings."""
        self.folder = Path(folder)
        meta_path = self.folder / _META
        if self.folder.exists() and not self.folder.is_dir():
            raise OutputError(f"{self.folder} exists and is not a folder")
        if meta_path.exists():
            try:
                meta = msgpack.unpackb(meta_path.read_bytes(), raw=False)
            except _DAMAGE:  # any damage means we cannot trust it
                meta = None
            if not isinstance(meta, dict) or meta.get("version") != JOURNAL_VERSION:
                raise ArgumentError(f"{self.folder} is not a resume folder this version understands; remove it")
            if meta.get("fingerprint") != fingerprint:
                raise ArgumentError(
                    f"{self.folder} holds an interrupted encode of a different input or different settings; "
                    "remove it (or start over) to encode this one"
                )
        self.fingerprint = fingerprint

    def _group_path(self, index: int) -> Path:
        return self.folder / f"group-{index:06d}.msgpack"

    def _load(self, index: int) -> JournalChunk | None:
        """Group ``index``'s record, or None when it is missing, torn or damaged (it is fitted again)."""
        path = self._group_path(index)
        try:
            record = msgpack.unpackb(path.read_bytes(), raw=False)
            chunk = JournalChunk(
                int(record["index"]), int(record["start"]), int(record["end"]), record["payload"], dict(record["info"])
            )
            intact = (
                chunk.index == index
                and isinstance(chunk.payload, bytes)
                and zlib.crc32(chunk.payload) == record["crc32"]
            )
        except _DAMAGE:
            return None
        return chunk if intact else None

    def finished(self) -> list[JournalChunk]:
        """The groups saved so far, in order, up to the first missing or damaged one."""
        chunks: list[JournalChunk] = []
        while (chunk := self._load(len(chunks))) is not None:
            chunks.append(chunk)
        return chunks

    def intact(self) -> dict[int, JournalChunk]:
        """Every intact saved group by index, gaps allowed: closed segments may finish in any order."""
        found = {}
        for path in sorted(self.folder.glob("group-*.msgpack")) if self.folder.is_dir() else []:
            stem = path.stem.removeprefix("group-")
            if stem.isdigit() and (chunk := self._load(int(stem))) is not None:
                found[chunk.index] = chunk
        return found

    def add(self, chunk: JournalChunk) -> None:
        """Save a finished group (the folder is created with the first one, so a failed start leaves nothing)."""
        meta_path = self.folder / _META
        if not meta_path.exists():
            try:
                self.folder.mkdir(exist_ok=True)
            except OSError as exc:
                raise OutputError(f"cannot create {self.folder}: {exc.strerror or exc}") from None
            write_atomic(meta_path, msgpack.packb({"version": JOURNAL_VERSION, "fingerprint": self.fingerprint}))
        record = {
            "index": chunk.index,
            "start": chunk.start,
            "end": chunk.end,
            "crc32": zlib.crc32(chunk.payload),
            "payload": chunk.payload,
            "info": chunk.info,
        }
        write_atomic(self._group_path(chunk.index), msgpack.packb(record, use_bin_type=True))

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
