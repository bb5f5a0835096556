"""What every tool shares: a user error is one line and an exit status, and an existing output needs -y."""

from __future__ import annotations

import torch

from nvcodec.cli import decode as decode_cli
from nvcodec.cli import encode as encode_cli
from nvcodec.cli import info as info_cli
from nvcodec.io import read_video
from tests.cli.conftest import FRAMES, HEIGHT, TINY_ARGS, WIDTH, one_line_error


def test_user_errors_are_one_line(tmp_path, source, encoded, capsys):
    out = tmp_path / "x.actv"
    one_line_error(capsys, encode_cli.main([str(tmp_path / "missing.mp4"), "-o", str(out)]), 1, "does not exist")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00not a video at all" * 50)
    one_line_error(capsys, encode_cli.main([str(garbage), "-o", str(out)]), 1, "cannot open")
    one_line_error(capsys, encode_cli.main([str(source), "-o", str(out), "--bits", "40"]), 2, "--bits")
    one_line_error(capsys, encode_cli.main([str(source), "-o", str(out), "--preset", "ultra"]), 2, "--preset")
    one_line_error(capsys, encode_cli.main(["-o", str(out)]), 2, "no input")
    one_line_error(capsys, encode_cli.main([str(source), "-o", str(tmp_path)]), 1, "is a directory")
    if not torch.cuda.is_available():
        one_line_error(capsys, encode_cli.main([str(source), "-o", str(out), "--device", "cuda"]), 1, "CUDA")

    corrupt = tmp_path / "corrupt.actv"
    corrupt.write_bytes(encoded.read_bytes()[:-10])
    one_line_error(capsys, decode_cli.main([str(corrupt), "-o", str(tmp_path / "c.mp4")]), 1, "corrupt.actv")
    one_line_error(capsys, decode_cli.main([str(source), "-o", str(tmp_path / "c.mp4")]), 1, "clip.y4m")
    one_line_error(capsys, info_cli.main([str(corrupt)]), 1, "corrupt.actv")
    one_line_error(capsys, decode_cli.main([str(encoded), "-o", str(tmp_path / "c.avi")]), 2, ".avi")
    one_line_error(
        capsys, decode_cli.main([str(encoded), "-o", str(tmp_path / "c.mp4"), "--scale", "-2"]), 2, "--scale"
    )
    one_line_error(
        capsys, decode_cli.main([str(encoded), "-o", str(tmp_path / "c.mp4"), "--start", "9"]), 2, "past the end"
    )
    assert not (tmp_path / "c.mp4").exists()


def test_existing_output_needs_y(tmp_path, source, encoded, capsys):
    precious = tmp_path / "precious.mp4"
    precious.write_bytes(b"keep me")
    one_line_error(capsys, decode_cli.main([str(encoded), "-o", str(precious)]), 1, "-y")
    assert precious.read_bytes() == b"keep me"
    existing = tmp_path / "existing.actv"
    existing.write_bytes(b"keep me too")
    one_line_error(capsys, encode_cli.main([str(source), "-o", str(existing), *TINY_ARGS]), 1, "-y")
    assert existing.read_bytes() == b"keep me too"
    assert decode_cli.main([str(encoded), "-o", str(precious), "-y", "-q"]) == 0
    assert read_video(precious).frames.shape == (FRAMES, HEIGHT, WIDTH, 3)


def test_a_bad_device_name_is_a_bad_option(tmp_path, source, encoded, capsys):
    out = tmp_path / "x.actv"
    one_line_error(capsys, encode_cli.main([str(source), "-o", str(out), "--device", "tpu"]), 2, "--device")
    one_line_error(capsys, decode_cli.main([str(encoded), "-o", str(tmp_path / "x.mp4"), "--device", "tpu"]), 2, "tpu")


def test_a_read_only_folder_is_named_as_the_users_output(tmp_path, encoded, capsys):
    import os

    import pytest

    if os.name != "posix" or os.geteuid() == 0:
        pytest.skip("needs POSIX permissions that bind this user (root writes anywhere)")
    locked = tmp_path / "locked"
    locked.mkdir(0o555)
    code = decode_cli.main([str(encoded), "-o", str(locked / "out.mp4")])
    err = capsys.readouterr().err
    assert code == 1 and "out.mp4" in err and ".part" not in err


def test_the_temporary_names_the_users_output_when_creation_fails(tmp_path, monkeypatch):
    """Whatever makes creating the temporary fail, the error names the output, not the temporary."""
    import os

    import pytest

    from nvcodec.atomic import create_temp_file
    from nvcodec.errors import OutputError

    def refuse(path, flags, mode=0o777):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(OutputError) as info:
        create_temp_file(tmp_path / "out.mp4")
    assert "out.mp4" in str(info.value) and ".part" not in str(info.value)


SIGNAL_SCRIPT = """
import sys, time
from nvcodec.cli import common
def body(argv):
    from nvcodec.atomic import create_temp_file
    handle, temp = create_temp_file(sys.argv[1])
    try:
        print("ready", flush=True)
        time.sleep(60)
    finally:
        import os
        os.close(handle); os.unlink(temp)
    return 0
sys.exit(common.run("tool", body, []))
"""


def test_sigterm_and_sighup_stop_like_ctrl_c(tmp_path):
    """Exit 128 + the signal, one line, and the writer's cleanup ran (no temporary left)."""
    import signal
    import subprocess
    import sys

    import pytest

    if not hasattr(signal, "SIGHUP"):
        pytest.skip("POSIX signals")
    for number, status in ((signal.SIGTERM, 143), (signal.SIGHUP, 129)):
        process = subprocess.Popen(
            [sys.executable, "-c", SIGNAL_SCRIPT, str(tmp_path / "out.bin")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout.readline().strip() == "ready"
        process.send_signal(number)
        _, err = process.communicate(timeout=30)
        assert process.returncode == status, err
        assert f"terminated by {signal.Signals(number).name}" in err and "Traceback" not in err
        assert list(tmp_path.iterdir()) == []


def test_threads_sets_torchs_cpu_threads(tmp_path, encoded):
    before = torch.get_num_threads()
    try:
        assert decode_cli.main([str(encoded), "-o", str(tmp_path / "t.y4m"), "-q", "--threads", "1"]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_openmp_threads_spin_briefly_unless_told_otherwise():
    import subprocess
    import sys

    code = "import os, nvcodec.cli; print(os.environ.get('GOMP_SPINCOUNT'))"
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    assert (
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.strip() == "100000"
    )
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    assert (
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.strip() == "None"
    )
