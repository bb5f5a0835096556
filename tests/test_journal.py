"""The resume folder: what it refuses, what it gives back, and when it exists at all."""

from __future__ import annotations

import os

import msgpack
import numpy as np
import pytest
import torch

from nvcodec.errors import ArgumentError, OutputError
from nvcodec.journal import JOURNAL_VERSION, EncodeJournal, JournalChunk, fingerprint

FRAMES = np.linspace(0, 1, 2 * 4 * 4 * 3, dtype=np.float32).reshape(2, 4, 4, 3)
MASK = np.ones((2, 4, 4), dtype=bool)
KEY = fingerprint(b"header", [FRAMES, None], "max_bpp=None")


def chunk(index: int) -> JournalChunk:
    payload = bytes(range(index, index + 40))
    return JournalChunk(index, 2 * index, 2 * index + 2, payload, {"bits": 8, "fit_psnr": 30.5 + index, "count": 3})


def filled(folder, count: int = 3) -> EncodeJournal:
    journal = EncodeJournal(folder, KEY)
    for index in range(count):
        journal.add(chunk(index))
    return journal


# ---------------------------------------------------------------- fingerprint


def test_the_fingerprint_changes_with_frames_mask_and_settings():
    other_frames = FRAMES.copy()
    other_frames[1, 2, 3, 0] += 1e-6
    other_mask = MASK.copy()
    other_mask[0, 0, 0] = False
    keys = [
        KEY,
        fingerprint(b"header", [other_frames, None], "max_bpp=None"),
        fingerprint(b"header", [FRAMES, MASK], "max_bpp=None"),
        fingerprint(b"header", [FRAMES, other_mask], "max_bpp=None"),
        fingerprint(b"other header", [FRAMES, None], "max_bpp=None"),
        fingerprint(b"header", [FRAMES, None], "max_bpp=0.5"),
        fingerprint(b"header", [FRAMES.reshape(2, 4, 12, 1), None], "max_bpp=None"),  # same bytes, other shape
        fingerprint(b"header", [FRAMES.astype(np.float64), None], "max_bpp=None"),
    ]
    assert len(set(keys)) == len(keys)


def test_the_fingerprint_is_the_same_for_the_same_inputs():
    assert fingerprint(b"header", [FRAMES.copy(), None], "max_bpp=None") == KEY
    assert fingerprint(b"header", [torch.from_numpy(FRAMES), None], "max_bpp=None") == KEY, "tensor or array alike"
    assert fingerprint(b"header", [np.asfortranarray(FRAMES), None], "max_bpp=None") == KEY, "memory layout aside"


# ---------------------------------------------------------------- the folder


def test_the_folder_appears_only_with_the_first_group(tmp_path):
    folder = tmp_path / "out.actv.partial"
    journal = EncodeJournal(folder, KEY)
    assert not folder.exists() and journal.finished() == []
    journal.add(chunk(0))
    assert sorted(p.name for p in folder.iterdir()) == ["group-000000.msgpack", "journal.msgpack"]
    meta = msgpack.unpackb((folder / "journal.msgpack").read_bytes())
    assert meta == {"version": JOURNAL_VERSION, "fingerprint": KEY}


def test_saved_groups_come_back_in_order(tmp_path):
    filled(tmp_path / "resume")
    again = EncodeJournal(tmp_path / "resume", KEY)
    assert again.finished() == [chunk(0), chunk(1), chunk(2)]


def test_remove_deletes_the_folder(tmp_path):
    journal = filled(tmp_path / "resume")
    (tmp_path / "resume" / "stray.txt").write_text("left by hand")
    journal.remove()
    assert list(tmp_path.iterdir()) == []
    journal.remove()  # already gone: fine
    EncodeJournal(tmp_path / "never-used", KEY).remove()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_the_folder_and_its_records_honour_the_umask(tmp_path):
    saved = os.umask(0o022)
    try:
        filled(tmp_path / "resume", 1)
    finally:
        os.umask(saved)
    assert (tmp_path / "resume").stat().st_mode & 0o777 == 0o755
    assert {p.stat().st_mode & 0o777 for p in (tmp_path / "resume").iterdir()} == {0o644}


def test_a_file_in_place_of_the_folder_is_an_output_error(tmp_path):
    (tmp_path / "resume").write_bytes(b"not a folder")
    with pytest.raises(OutputError, match="not a folder"):
        EncodeJournal(tmp_path / "resume", KEY)


def test_a_folder_that_cannot_be_created_is_an_output_error(tmp_path):
    journal = EncodeJournal(tmp_path / "missing" / "resume", KEY)
    with pytest.raises(OutputError, match="cannot create"):
        journal.add(chunk(0))


# ---------------------------------------------------------------- foreign and damaged folders


def test_another_encodes_folder_is_refused(tmp_path):
    filled(tmp_path / "resume", 1)
    other = fingerprint(b"header", [FRAMES, MASK], "max_bpp=None")
    with pytest.raises(ArgumentError, match="different input or different settings"):
        EncodeJournal(tmp_path / "resume", other)


@pytest.mark.parametrize(
    "meta",
    [
        b"",
        b"\xc1garbage",
        msgpack.packb([JOURNAL_VERSION, KEY]),
        msgpack.packb({"version": JOURNAL_VERSION + 1, "fingerprint": KEY}),
        msgpack.packb({"fingerprint": KEY}),
        msgpack.packb({"version": JOURNAL_VERSION, "fingerprint": KEY})[:-3],
    ],
    ids=["empty", "not-msgpack", "a-list", "newer-version", "no-version", "torn"],
)
def test_a_foreign_or_damaged_meta_is_refused(tmp_path, meta):
    filled(tmp_path / "resume", 1)
    (tmp_path / "resume" / "journal.msgpack").write_bytes(meta)
    with pytest.raises(ArgumentError, match="resume folder"):
        EncodeJournal(tmp_path / "resume", KEY)


def damage_torn(path):
    path.write_bytes(path.read_bytes()[:-7])


def damage_payload(path):
    record = msgpack.unpackb(path.read_bytes())
    record["payload"] = b"\xff" + record["payload"][1:]  # a well-formed record whose payload fails its CRC
    path.write_bytes(msgpack.packb(record, use_bin_type=True))


def damage_foreign(path):
    path.write_bytes(msgpack.packb(["not", "a", "record"]))


def damage_renamed(path):
    path.write_bytes(path.with_name("group-000002.msgpack").read_bytes())  # another group's record


def damage_missing(path):
    path.unlink()


def damage_no_payload(path):
    record = msgpack.unpackb(path.read_bytes())
    del record["payload"]
    path.write_bytes(msgpack.packb(record))


def damage_text_payload(path):
    record = msgpack.unpackb(path.read_bytes())
    record["payload"] = "text"
    path.write_bytes(msgpack.packb(record))


@pytest.mark.parametrize(
    "damage",
    [
        damage_torn,
        damage_payload,
        damage_foreign,
        damage_renamed,
        damage_missing,
        damage_no_payload,
        damage_text_payload,
    ],
)
def test_a_damaged_group_record_ends_the_usable_prefix(tmp_path, damage):
    journal = filled(tmp_path / "resume", 3)
    damage(tmp_path / "resume" / "group-000001.msgpack")
    assert journal.finished() == [chunk(0)]
    assert EncodeJournal(tmp_path / "resume", KEY).finished() == [chunk(0)], "the meta is still good"


def test_a_damaged_first_record_leaves_nothing(tmp_path):
    journal = filled(tmp_path / "resume", 2)
    damage_torn(tmp_path / "resume" / "group-000000.msgpack")
    assert journal.finished() == []
    journal.add(chunk(0))  # fitted again: the record is replaced
    assert journal.finished() == [chunk(0), chunk(1)]
