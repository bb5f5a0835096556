"""threads: each nvcodec process's share of the cores, counted from lock files that live as long as it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from nvcodec.threads import REFRESH_SECONDS, CoreShare, share_of, usable_cores

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="claims are POSIX file locks")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_share_is_an_equal_part_and_never_below_one_thread():
    assert share_of(8, 1) == 8 and share_of(8, 2) == 4 and share_of(8, 3) == 2
    assert share_of(2, 2) == 1 and share_of(2, 5) == 1 and share_of(1, 0) == 1
    assert usable_cores() >= 1


def test_alone_a_process_keeps_its_threads_and_gives_them_back_when_others_come_and_go(tmp_path):
    clock = Clock()
    first = CoreShare(4, tmp_path, clock)
    assert first.threads == 4 and first.claims() == 1
    second = CoreShare(4, tmp_path, clock)
    assert second.threads == 2
    assert first.refresh() is None  # not yet time to count again
    clock.now += REFRESH_SECONDS
    assert first.refresh() == 2 and first.threads == 2
    second.close()
    assert not list(tmp_path.glob("*.lock"))[1:]
    clock.now += REFRESH_SECONDS
    assert first.refresh() == 4
    clock.now += REFRESH_SECONDS
    assert first.refresh() is None  # unchanged
    first.close()
    assert not list(tmp_path.glob("*.lock"))


def test_a_claim_left_by_a_dead_process_is_removed(tmp_path):
    (tmp_path / "12345-1.lock").write_text("")  # nobody holds its lock
    (tmp_path / "12345-2.new").write_text("")  # a claim whose process died while making it
    share = CoreShare(2, tmp_path)
    assert share.threads == 2 and not (tmp_path / "12345-1.lock").exists()
    assert not (tmp_path / "12345-2.new").exists() and share.path is not None and share.path.suffix == ".lock"
    share.close()


def test_another_process_holding_a_claim_is_counted(tmp_path):
    holder = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from nvcodec.threads import CoreShare
        share = CoreShare(2, Path({str(tmp_path)!r}))
        print(share.threads, flush=True)
        sys.stdin.read()  # hold the claim until the test closes our stdin
    """)
    process = subprocess.Popen([sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "2"
        share = CoreShare(2, tmp_path)
        assert share.threads == 1
        share.close()
    finally:
        process.communicate("", timeout=60)
    share = CoreShare(2, tmp_path)  # the other process is gone: its claim with it
    assert share.threads == 2
    share.close()


def test_threads_given_by_the_user_are_taken_as_they_are():
    import torch

    from nvcodec.cli.common import apply_threads

    before = torch.get_num_threads()
    try:
        assert apply_threads(1) is None and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_long_loop_follows_the_installed_share(tmp_path, monkeypatch):
    """What fit_group does between steps: torch takes the share's threads once the claims change."""
    import torch

    import nvcodec.threads as threads

    clock = Clock()
    mine = CoreShare(2, tmp_path, clock)
    monkeypatch.setattr(threads, "_installed", mine)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        other = CoreShare(2, tmp_path, clock)
        threads.follow_share()
        assert torch.get_num_threads() == 2  # counted again only after REFRESH_SECONDS
        clock.now += REFRESH_SECONDS
        threads.follow_share()
        assert torch.get_num_threads() == 1
        other.close()
    finally:
        mine.close()
        torch.set_num_threads(before)


def test_installing_a_share_is_undone_when_the_tool_is_done(tmp_path):
    import torch
    import torch._inductor.config as inductor_config

    from nvcodec.threads import install_share

    before = (torch.get_num_threads(), inductor_config.cpp.dynamic_threads)
    share = CoreShare(1, tmp_path)
    try:
        install_share(share)
        assert torch.get_num_threads() == 1 and inductor_config.cpp.dynamic_threads
    finally:
        install_share(None)
        share.close()
    assert (torch.get_num_threads(), inductor_config.cpp.dynamic_threads) == before
