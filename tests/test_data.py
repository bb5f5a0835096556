"""ClipDataset and ClipSampler: shapes, dtypes, fractional times, seeds, and readers that stay out of pickles."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from nvcodec import Config, QuantConfig, VideoReader, encode
from nvcodec.data import ClipDataset, ClipSampler
from nvcodec.errors import ArgumentError
from tests.conftest import TINY, moving_square_clip

CONFIG = Config.preset("fast", **TINY, iters=40, iters_warm=20, group_size=3, device="cpu")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    paths = []
    for name, frames, seed in (("a", 10, 0), ("b", 7, 1)):
        path = folder / f"{name}.actv"
        encode(moving_square_clip(frames=frames, height=40, width=56, seed=seed), path, CONFIG, QuantConfig(), fps=12)
        paths.append(path)
    return paths


def test_clips_shapes_and_dtypes(files):
    data = ClipDataset(files, clip_frames=3)
    assert len(data) == 3 + 2  # clips of 3 frames do not overlap: 10 frames hold 3, 7 hold 2
    clip = data[0]
    assert clip.dtype == torch.float32 and clip.shape == (3, 3, 40, 56)
    assert float(clip.min()) >= 0 and float(clip.max()) <= 1
    assert data.clip(4).video == 1 and data.clip(4).times == (3.0, 4.0, 5.0)
    small = ClipDataset(files, clip_frames=4, stride=2, step=1, size=(20, 28), dtype=torch.uint8)
    assert small[len(small) - 1].shape == (4, 3, 20, 28) and small[0].dtype == torch.uint8
    assert len(small) == 4 + 1  # a 4-frame clip at stride 2 spans 7 frames: starts 0..3 in a, 0 in b
    flipped = ClipDataset(files, clip_frames=2, transform=lambda x: x.flip(-1))
    torch.testing.assert_close(flipped[1], ClipDataset(files, clip_frames=2)[1].flip(-1))
    with pytest.raises(IndexError):
        data[len(data)]


def test_fractional_frame_rates_render_the_times_in_between(files):
    data = ClipDataset(files, clip_frames=4, fps=8)  # stored at 12 fps: 1.5 stored frames per clip frame
    clip = data.clip(1)
    assert clip.video == 1 and clip.times == (0.0, 1.5, 3.0, 4.5)  # a holds one such clip (span 4.5, step 6)
    with VideoReader(clip.source, tensors=True) as reader:
        expected = torch.stack([reader.frame(t) for t in clip.times]).permute(0, 3, 1, 2)
        old = torch.stack([reader.group(reader.group_of(t)).render(t) for t in clip.times]).permute(0, 3, 1, 2)
    torch.testing.assert_close(data[1], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(data[1], old, atol=1e-5, rtol=0)  # the batched pass equals the per-frame render


def test_uint8_rounds_as_the_reader_does(files):
    data = ClipDataset(files[:1], clip_frames=2, dtype=torch.uint8)
    with VideoReader(files[0]) as reader:
        expected = np.stack([reader.frame(t) for t in data.clip(0).times]).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(data[0].numpy(), expected)


def test_the_sampler_is_seeded(files):
    data = ClipDataset(files, clip_frames=2)
    first = list(ClipSampler(data, seed=3))
    assert sorted(first) == list(range(len(data))) and first == list(ClipSampler(data, seed=3))
    sampler = ClipSampler(data, seed=3)
    orders = set()
    for epoch in range(4):
        sampler.set_epoch(epoch)
        orders.add(tuple(sampler))
    assert len(orders) > 1
    picked = list(ClipSampler(data, clips_per_video=2, seed=1))
    assert len(picked) == len(ClipSampler(data, clips_per_video=2)) == 4
    assert sum(i in data.clips_of(0) for i in picked) == 2
    assert list(ClipSampler(data, shuffle=False)) == list(range(len(data)))


def test_readers_never_cross_into_pickles(files):
    data = ClipDataset(files, clip_frames=2)
    _ = data[0]
    assert len(data._readers) == 1
    clone = pickle.loads(pickle.dumps(data))
    assert len(clone._readers) == 0
    torch.testing.assert_close(clone[0], data[0])
    data.close()


def test_a_data_loader_with_workers_gives_what_the_main_process_gives(files):
    data = ClipDataset(files, clip_frames=2, size=(20, 28))
    serial = torch.cat(list(DataLoader(data, batch_size=2, sampler=ClipSampler(data, seed=5))))
    parallel = torch.cat(list(DataLoader(data, batch_size=2, sampler=ClipSampler(data, seed=5), num_workers=2)))
    torch.testing.assert_close(parallel, serial)


@pytest.mark.slow
def test_spawned_workers_receive_only_picklable_state(files):
    data = ClipDataset(files, clip_frames=2, size=(20, 28))
    _ = data[0]  # a reader is open in this process: it must not travel
    loader = DataLoader(data, batch_size=3, num_workers=2, multiprocessing_context="spawn")
    torch.testing.assert_close(torch.cat(list(loader)), torch.stack([data[i] for i in range(len(data))]))


def test_remote_sources(files):
    fsspec = pytest.importorskip("fsspec")
    url = "memory://nvcodec-data/a.actv"
    with fsspec.open(url, "wb") as f:
        f.write(files[0].read_bytes())
    torch.testing.assert_close(ClipDataset([url], clip_frames=2)[2], ClipDataset(files[:1], clip_frames=2)[2])


def test_bad_arguments(files):
    for kwargs in ({"clip_frames": 0}, {"stride": 0}, {"fps": -1}, {"dtype": torch.float16}, {"size": (0, 4)}):
        with pytest.raises(ArgumentError):
            ClipDataset(files, **kwargs)
    with pytest.raises(ArgumentError):
        ClipDataset([])
    assert len(ClipDataset(files, clip_frames=9)) == 1  # only the 10-frame file holds a 9-frame clip
