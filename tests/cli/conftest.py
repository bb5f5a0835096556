"""What the command-line tests share: a tiny clip as a y4m file, and one encode of it by actv-encode.

The tools are driven through ``main(argv)``. Test modules import the constants
and ``one_line_error`` as ``from tests.cli.conftest import ...``.
"""

from __future__ import annotations

import pytest

from nvcodec.cli import encode as encode_cli
from nvcodec.io import write_video
from tests.conftest import moving_square_clip

FRAMES, HEIGHT, WIDTH = 5, 32, 40
# A tiny model and short fits: these tests check the tools, not the codec's quality. Smaller than
# tests.conftest.TINY (the options set only the width and the patch): every test here encodes.
TINY_ARGS = [
    "--preset", "fast", "--no-compile", "--device", "cpu",
    "--hidden", "8", "--patch", "16", "--group-size", "2", "--iters", "30", "--iters-warm", "15",
]  # fmt: skip


@pytest.fixture(scope="package")
def clip():
    return moving_square_clip(frames=FRAMES, height=HEIGHT, width=WIDTH)


@pytest.fixture(scope="package")
def source(tmp_path_factory, clip):
    path = tmp_path_factory.mktemp("src") / "clip.y4m"
    write_video(path, clip, fps=10)
    return path


@pytest.fixture(scope="package")
def encoded(tmp_path_factory, source):
    """``source`` encoded once with TINY_ARGS; tests read it and never change it."""
    path = tmp_path_factory.mktemp("actv") / "clip.actv"
    assert encode_cli.main([str(source), "-o", str(path), "-q", *TINY_ARGS]) == 0
    return path


def one_line_error(capsys, code: int, expected: int, needle: str) -> None:
    """The tool exited with ``expected`` and printed one line naming ``needle``, no traceback."""
    err = capsys.readouterr().err
    assert code == expected, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert needle in err, err
