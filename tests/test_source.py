"""Frame sources: files read group by group, the same frames as reading them whole, and bounded memory."""

import weakref

import numpy as np
import pytest

from nvcodec import Config, QuantConfig, encode
from nvcodec.errors import InputError
from nvcodec.io import read_video, write_png_folder, write_video
from nvcodec.source import ArraySource, FileSource, FrameSource, SourceSpec
from tests.conftest import TINY, moving_square_clip


@pytest.fixture(scope="module")
def y4m(tmp_path_factory):
    path = tmp_path_factory.mktemp("src") / "clip.y4m"
    write_video(path, moving_square_clip(frames=12, height=24, width=32), fps=10)
    return path


def test_a_file_read_in_ranges_gives_the_frames_read_whole(y4m):
    whole = read_video(y4m).frames
    source = SourceSpec(str(y4m)).open()
    assert source.shape == (12, 24, 32) and source.fps == pytest.approx(10)
    np.testing.assert_array_equal(source.read(0, 4), whole[0:5])
    np.testing.assert_array_equal(source.read(4, 8), whole[4:9])  # the shared boundary frame, then forward
    np.testing.assert_array_equal(source.read(2, 3), whole[2:4])  # backwards: reopens the file
    np.testing.assert_array_equal(source.read(11, 11), whole[11:12])
    with pytest.raises(InputError, match="outside"):
        source.read(10, 12)
    source.close()


def test_ranges_and_strides_match_read_video(y4m, tmp_path):
    spec = SourceSpec(str(y4m), start=1, stop=10, step=3, fps=30)
    source = spec.open()
    expected = read_video(y4m, start=1, stop=10, step=3, fps=30)
    assert source.num_frames == len(expected.frames) == 3 and source.fps == pytest.approx(expected.fps)
    np.testing.assert_array_equal(source.read(0, 2), expected.frames)
    folder = tmp_path / "frames"
    write_png_folder(folder, read_video(y4m).frames)
    pngs = SourceSpec(str(folder), start=2, stop=8, step=2).open()
    np.testing.assert_array_equal(pngs.read(0, pngs.num_frames - 1), read_video(folder, start=2, stop=8, step=2).frames)
    assert pngs.fingerprint() != SourceSpec(str(folder), start=2, stop=8, step=1).open().fingerprint()


def test_a_file_shorter_than_it_says_is_an_input_error(tmp_path, y4m):
    source = FileSource(y4m)
    source.num_frames += 3  # as if the container promised more frames than its stream holds
    with pytest.raises(InputError, match="ended before"):
        source.read(12, 14)


class CountingSource(FrameSource):
    """An in-memory source that counts the frames it has handed out and that are still alive."""

    def __init__(self, frames: np.ndarray):
        self.inner = ArraySource(frames)
        self.num_frames, self.height, self.width, self.fps = *self.inner.shape, 25.0
        self.alive = self.most_alive = 0

    def read(self, first: int, last: int) -> np.ndarray:
        frames = self.inner.read(first, last).copy()
        self.alive += len(frames)
        self.most_alive = max(self.most_alive, self.alive)
        weakref.finalize(frames, self._freed, len(frames))
        return frames

    def _freed(self, count: int) -> None:
        self.alive -= count

    def fingerprint(self) -> str:
        return self.inner.fingerprint()


@pytest.mark.slow
def test_an_encode_holds_a_few_groups_of_frames_whatever_the_length(tmp_path):
    """Counts frames, not time: a 41-frame clip in groups of 4 never has more than two groups' frames alive."""
    clip = moving_square_clip(frames=41, height=16, width=24)
    source = CountingSource(clip)
    config = Config.preset("fast", **TINY, iters=3, iters_warm=2, group_size=4, device="cpu")
    encode(source, tmp_path / "long.actv", config, QuantConfig(), fps=25)
    assert 0 < source.most_alive <= 2 * (4 + 1) < len(clip)


def test_a_far_frame_is_reached_by_seeking_not_by_decoding_all_before_it(tmp_path, monkeypatch):
    """A worker encoding a late segment of a long video must not decode the whole video first."""
    import nvcodec.source as source_module

    clip = moving_square_clip(frames=150, height=16, width=24)
    path = tmp_path / "long.y4m"
    write_video(path, clip, fps=25)
    decoded = []
    plain = source_module.FileSource._decoded

    def counting(self, container, first):
        for item in plain(self, container, first):
            decoded.append(item[0])
            yield item

    monkeypatch.setattr(source_module.FileSource, "_decoded", counting)
    whole = read_video(path).frames  # decoded in order from the first frame: no seek
    decoded.clear()
    source = FileSource(path)
    np.testing.assert_array_equal(source.read(140, 143), whole[140:144])
    assert len(decoded) < 20
    np.testing.assert_array_equal(source.read(5, 6), whole[5:7])  # and back again
