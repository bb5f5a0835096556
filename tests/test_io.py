import numpy as np
import pytest

from nvcodec.errors import InputError, OutputError
from nvcodec.io import read_video, to_uint8, write_png_folder, write_video
from nvcodec.metrics import psnr


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".y4m"])
def test_round_trip_with_odd_size(tmp_path, tiny_clip, suffix):
    clip = tiny_clip[:, :47, :45]  # odd height and width
    path = tmp_path / f"clip{suffix}"
    write_video(path, clip, fps=12.5, near_lossless=True)
    video = read_video(path)
    assert video.shape == (6, 47, 45)
    assert video.frames.dtype == np.float32 and video.frames.min() >= 0 and video.frames.max() <= 1
    assert video.fps == pytest.approx(12.5, rel=1e-3)
    assert psnr(video.frames, clip) > 40


def test_lossy_mp4_keeps_quality(tmp_path, tiny_clip):
    write_video(tmp_path / "a.mp4", tiny_clip, fps=25, crf=18)
    assert psnr(read_video(tmp_path / "a.mp4").frames, tiny_clip) > 30


def test_frame_range_and_stride(tmp_path, tiny_clip):
    path = tmp_path / "clip.y4m"
    write_video(path, tiny_clip, fps=30)
    full = read_video(path).frames
    part = read_video(path, start=1, stop=6, step=2)
    assert part.shape[0] == 3
    np.testing.assert_array_equal(part.frames, full[1:6:2])
    assert part.fps == pytest.approx(15)


def test_png_folder_round_trip_is_exact(tmp_path, tiny_clip):
    files = write_png_folder(tmp_path / "frames", tiny_clip)
    assert [f.name for f in files][:2] == ["000000.png", "000001.png"]
    video = read_video(tmp_path / "frames", step=2, fps=10)
    np.testing.assert_array_equal(to_uint8(video.frames), to_uint8(tiny_clip[::2]))
    assert video.fps == 5


def test_gif_is_readable(tmp_path, tiny_clip):
    import av

    path = tmp_path / "clip.gif"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = 48, 48, "rgb8"
        for frame in to_uint8(tiny_clip):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    assert read_video(path).shape == (6, 48, 48)


def test_missing_unreadable_and_empty_inputs_name_the_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.mp4"):
        read_video(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 10)
    with pytest.raises(InputError, match=r"junk\.mp4"):
        read_video(junk)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="empty"):
        read_video(empty)


def test_range_beyond_the_end_is_an_error(tmp_path, tiny_clip):
    path = tmp_path / "clip.y4m"
    write_video(path, tiny_clip, fps=30)
    with pytest.raises(InputError, match="no frames"):
        read_video(path, start=50)
    with pytest.raises(InputError):
        read_video(path, start=3, stop=2)
    with pytest.raises(InputError):
        read_video(path, step=0)


def test_write_errors_and_no_partial_output(tmp_path, tiny_clip):
    with pytest.raises(OutputError, match="directory"):
        write_video(tmp_path, tiny_clip, fps=25)
    with pytest.raises(OutputError):
        write_video(tmp_path / "x.avi", tiny_clip, fps=25)
    with pytest.raises(OutputError):
        write_video(tmp_path / "x.mp4", tiny_clip[0], fps=25)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
