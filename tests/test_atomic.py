"""Temp-and-rename writes: the old file or the whole new one, never a part, and nothing left behind."""

from __future__ import annotations

import os
import threading

import pytest

from nvcodec import atomic
from nvcodec.atomic import create_temp_file, create_temp_folder, publish, write_atomic
from nvcodec.errors import OutputError

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


@pytest.fixture
def restore_umask():
    """Put the process umask back after a test that sets its own."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield
    os.umask(saved)


def test_writes_a_new_file_and_replaces_an_old_one(tmp_path):
    target = tmp_path / "out.bin"
    write_atomic(target, b"first")
    assert target.read_bytes() == b"first"
    write_atomic(str(target), b"second, longer than the first")
    assert target.read_bytes() == b"second, longer than the first"
    write_atomic(target, b"")
    assert target.read_bytes() == b""
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path, monkeypatch, failing):
    target = tmp_path / "out.bin"
    write_atomic(target, b"old")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, fail)
    with pytest.raises(OutputError, match=r"out\.bin.*No space left"):
        write_atomic(target, b"new" * 1000)
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]


def test_an_interrupted_write_leaves_no_temporary(tmp_path, monkeypatch):
    """Not only OSError: Ctrl-C in the middle of a write removes the temporary too."""
    target = tmp_path / "out.bin"

    def interrupt(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"new")
    assert list(tmp_path.iterdir()) == []


def test_readers_see_the_old_file_or_the_new_one(tmp_path):
    """A reader racing the writer never sees a mix or a prefix of the two versions."""
    target = tmp_path / "out.bin"
    versions = [bytes([i]) * 200_000 for i in range(2)]
    write_atomic(target, versions[0])
    seen: list[bytes] = []
    done = threading.Event()

    def read_while_writing() -> None:
        while not done.is_set():
            seen.append(target.read_bytes())

    reader = threading.Thread(target=read_while_writing)
    reader.start()
    try:
        for i in range(40):
            write_atomic(target, versions[i % 2])
    finally:
        done.set()
        reader.join()
    assert seen and all(data in versions for data in seen)
    assert list(tmp_path.iterdir()) == [target]


def test_temporaries_sit_beside_the_target_under_a_hidden_name(tmp_path):
    target = tmp_path / "clip.mp4"
    handle, temp = create_temp_file(target, ".mp4")
    os.close(handle)
    folder = create_temp_folder(tmp_path / "frames")
    assert temp.parent == tmp_path and temp.name.startswith(".clip.mp4.") and temp.name.endswith(".part.mp4")
    assert folder.parent == tmp_path and folder.name.startswith(".frames.") and folder.name.endswith(".part")
    assert folder.is_dir() and not any(folder.iterdir())
    publish(folder, tmp_path / "frames")
    assert (tmp_path / "frames").is_dir() and not folder.exists()


def test_no_free_temporary_name_is_an_output_error(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: "00" * n)
    handle, _ = create_temp_file(tmp_path / "out.bin")
    os.close(handle)
    with pytest.raises(OutputError, match="no free temporary name"):
        create_temp_file(tmp_path / "out.bin")
    create_temp_folder(tmp_path / "dir")
    with pytest.raises(OutputError, match="no free temporary name"):
        create_temp_folder(tmp_path / "dir")


def test_a_missing_folder_is_an_output_error_naming_the_target(tmp_path):
    target = tmp_path / "no" / "such" / "out.bin"
    for write in (
        lambda: write_atomic(target, b"x"),
        lambda: create_temp_file(target),
        lambda: create_temp_folder(target),
    ):
        with pytest.raises(OutputError, match=r"out\.bin"):
            write()
    assert list(tmp_path.iterdir()) == []


@posix_only
@pytest.mark.parametrize(("mask", "file_mode", "folder_mode"), [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_created_files_and_folders_honour_the_umask(tmp_path, restore_umask, mask, file_mode, folder_mode):
    os.umask(mask)
    target = tmp_path / "out.bin"
    write_atomic(target, b"data")
    assert target.stat().st_mode & 0o777 == file_mode
    write_atomic(target, b"again")  # replacing keeps the same rule
    assert target.stat().st_mode & 0o777 == file_mode
    handle, temp = create_temp_file(tmp_path / "video.mp4")
    os.close(handle)
    assert temp.stat().st_mode & 0o777 == file_mode
    assert create_temp_folder(tmp_path / "frames").stat().st_mode & 0o777 == folder_mode
