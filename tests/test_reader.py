"""VideoReader on encoded files: frames at any time and size, reading only what a frame needs, and damaged files."""

import numpy as np
import pytest
import torch

from nvcodec import Config, QuantConfig, VideoReader, encode
from nvcodec.container import ContainerReader, ContainerWriter
from nvcodec.errors import ActvError, ArgumentError, FormatError
from nvcodec.metrics import psnr
from tests.conftest import TINY, moving_square_clip

CONFIG = Config.preset("fast", **TINY, iters=120, iters_warm=60, group_size=2, device="cpu")
QUANT = QuantConfig(intra_period=2)


@pytest.fixture(scope="module")
def clip():
    return moving_square_clip(frames=7, height=40, width=56)


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, clip):
    path = tmp_path_factory.mktemp("actv") / "clip.actv"
    stats = encode(clip, path, CONFIG, QUANT, fps=12)
    return path, stats


def test_reader_facts_and_decoding(encoded, clip):
    path, _ = encoded
    with VideoReader(path) as reader:
        assert len(reader) == 7 and reader.shape == (7, 40, 56)
        assert reader.fps == pytest.approx(12) and reader.duration == pytest.approx(7 / 12)
        frame = reader.frame(3)
        assert frame.dtype == np.uint8 and frame.shape == (40, 56, 3)
        assert reader.frame(2.5).shape == (40, 56, 3)
        assert reader.frame(1, size=(160, 224)).shape == (160, 224, 3)
        assert reader.frames([0, 6, 3.25]).shape == (3, 40, 56, 3)
        np.testing.assert_array_equal(reader[-1], reader.frame(6))
        assert reader[1:4].shape == (3, 40, 56, 3)
        decoded = np.stack(list(reader)).astype(np.float32) / 255
    assert psnr(decoded, clip) > 22


def test_tensor_output(encoded):
    path, _ = encoded
    with VideoReader(path, tensors=True) as reader:
        frame = reader.frame(0.5)
    assert isinstance(frame, torch.Tensor) and frame.dtype == torch.float32 and frame.shape == (40, 56, 3)


def test_open_reads_no_chunk_and_a_frame_reads_only_its_chain(encoded, monkeypatch):
    path, _ = encoded
    calls = []
    original = ContainerReader.read_chunk
    monkeypatch.setattr(ContainerReader, "read_chunk", lambda self, i: calls.append(i) or original(self, i))
    reader = VideoReader(path)
    assert calls == []
    reader.frame(0.5)  # group 0, independent
    assert calls == [0]
    reader.frame(4.5)  # group 2 is independent again (intra_period=2)
    assert calls == [0, 2]
    reader.frame(3)  # group 1 is a residual of group 0, which is cached
    assert calls == [0, 2, 1]
    reader.close()


def test_bad_times_and_sizes(encoded):
    path, _ = encoded
    with VideoReader(path) as reader:
        for bad in (-1, 6.5, float("nan")):
            with pytest.raises(ArgumentError):
                reader.frame(bad)
        with pytest.raises(ArgumentError):
            reader.frame(0, size=(0, 3))
        with pytest.raises(ArgumentError):
            reader[7]


def test_truncated_files_raise_library_errors(encoded, tmp_path):
    data = encoded[0].read_bytes()
    target = tmp_path / "cut.actv"
    for length in range(0, len(data), max(1, len(data) // 300)):
        target.write_bytes(data[:length])
        with pytest.raises(ActvError), VideoReader(target) as reader:
            reader.frames(range(7))


@pytest.mark.slow
def test_flipped_bytes_raise_library_errors(encoded, tmp_path):
    data = encoded[0].read_bytes()
    target = tmp_path / "flip.actv"
    for position in range(0, len(data), max(1, len(data) // 300)):
        damaged = bytearray(data)
        damaged[position] ^= 0x5A
        target.write_bytes(bytes(damaged))
        with pytest.raises(ActvError), VideoReader(target) as reader:
            reader.frames(range(7))


def rewrite_header(source, target, **changes):
    with ContainerReader(source) as reader:
        header = {**reader.header, **changes}
        chunks = [(e.start, e.end, reader.read_chunk(i)) for i, e in enumerate(reader.entries)]
    with ContainerWriter(target, header) as writer:
        for start, end, payload in chunks:
            writer.add_chunk(start, end, payload)


def rewrite_section(source, target, section, **changes):
    """Rewrite ``source`` with some keys of one config map (``model`` or ``quant``) changed."""
    with ContainerReader(source) as reader:
        merged = {**reader.header[section], **changes}
    rewrite_header(source, target, **{section: merged})


@pytest.mark.parametrize(
    "changes",
    [
        {"format": "something-else"},
        {"frames": 8},
        {"frames": -1},
        {"height": 10**9},
        {"fps": [0, 1]},
        {"model": {"activation": "relu"}},
        {"model": "gabor"},
        {"quant": {"bits_frame": 99}},
        {"model": {**Config().model.__dict__, "hidden": 4096, "layers": 16, "patch": 4, "overlap": 0}},
        {"model": {k: v for k, v in Config().model.__dict__.items() if k != "hidden"}},
    ],
)
def test_headers_that_lie_are_rejected(encoded, tmp_path, changes):
    target = tmp_path / "lie.actv"
    rewrite_header(encoded[0], target, **changes)
    with pytest.raises(FormatError):
        VideoReader(target).frame(0)


def test_unknown_config_keys_from_later_versions_are_ignored(encoded, tmp_path):
    path, _ = encoded
    target = tmp_path / "future.actv"
    rewrite_section(path, target, "quant", some_future_setting=3)
    with VideoReader(target) as a, VideoReader(path) as b:
        np.testing.assert_array_equal(a.frame(3), b.frame(3))


def test_intra_flag_must_match_the_header(encoded, tmp_path):
    path, _ = encoded
    target = tmp_path / "intra.actv"
    rewrite_section(path, target, "quant", intra_period=1)  # claims every group is independent
    with VideoReader(target) as reader, pytest.raises(FormatError, match="intra"):
        reader.frame(3)


@pytest.mark.slow
def test_long_residual_chains_decode_without_recursion(tmp_path, clip):
    """A late frame of a file with one independent group then hundreds of residuals."""
    from nvcodec.encoder import write_groups
    from nvcodec.fit import GroupFit
    from nvcodec.header import new_header_map
    from nvcodec.model.group import GroupModel
    from nvcodec.recipe.group_coding import CodingPolicy
    from nvcodec.tiling import PatchGrid

    config = Config.preset("fast", **TINY, group_size=1)
    quant = QuantConfig(intra_period=10_000)
    grid = PatchGrid.build(8, 8, config.model.patch, config.model.overlap)
    model = GroupModel(grid, config.model, 0, 1, torch.Generator().manual_seed(0))
    fits = (GroupFit(i, 0, _moved(model, i), torch.zeros(1), torch.zeros(1), None, 0.0, 0.0) for i in range(1200))
    path = tmp_path / "long.actv"
    # Plain steps and rounding: the measurement the encoder makes per group would cost a minute here.
    header = new_header_map(1201, 8, 8, 25.0, config, quant)
    write_groups(fits, path, header, config, quant, policy=CodingPolicy("peak", "nearest"))
    with VideoReader(path) as reader:
        assert reader.frame(1199.5).shape == (8, 8, 3)


def _moved(model, index):
    import copy

    group = copy.deepcopy(model)
    group.start, group.end = index, index + 1
    return group


def test_chunk_from_a_different_model_is_rejected(encoded, tmp_path):
    path, _ = encoded
    target = tmp_path / "mismatch.actv"
    rewrite_section(path, target, "model", hidden=13)
    with VideoReader(target) as reader, pytest.raises(FormatError):
        reader.frame(0)


def test_a_header_that_declares_a_huge_frame_is_refused_before_allocating(tmp_path):
    """A well-formed file of a few kilobytes declaring one 32768x32768 frame (a 1-patch model fits the cap)."""
    from nvcodec.config import ModelConfig
    from nvcodec.header import new_header_map
    from nvcodec.model.group import GroupModel
    from nvcodec.payload import pack_group
    from nvcodec.tiling import PatchGrid

    side = 1 << 15
    model = ModelConfig(hidden=4, layers=1, patch=side, overlap=0, rff_freqs=2, latent_dim=2, hyper_hidden=4)
    config = Config(model=model)
    group = GroupModel(PatchGrid.build(side, side, side, 0), model, 0, 0, torch.Generator().manual_seed(0))
    path = tmp_path / "bomb.actv"
    with ContainerWriter(path, new_header_map(1, side, side, 25.0, config, QuantConfig())) as writer:
        writer.add_chunk(0, 0, pack_group(group.state_dict(), group.tensors, QuantConfig()).payload)
    assert path.stat().st_size < 10_000
    with VideoReader(path) as reader:
        for read in (
            lambda: reader.frame(0),
            lambda: reader.frames([0]),
            lambda: reader[0],
            lambda: next(iter(reader)),
        ):
            with pytest.raises(ArgumentError, match="cap"):
                read()
        assert reader.frame(0, size=(8, 8)).shape == (8, 8, 3)  # a smaller render of the same frame works


def test_times_that_are_not_numbers_are_type_errors(encoded):
    path, _ = encoded
    with VideoReader(path) as reader:
        for bad in ("3", True, None, [1]):
            with pytest.raises(ArgumentError, match="must be a number"):
                reader.frame(bad)
        with pytest.raises(ArgumentError, match="outside"):
            reader.frame(99)
        assert reader.frame(np.float32(2.5)).shape == (40, 56, 3)


def test_frames_at_equals_per_frame_renders(encoded, monkeypatch):
    import nvcodec.reader as reader_module

    path, _ = encoded
    times = [0, 0.5, 1, 2, 2.25, 3, 6, 4.5, 0.5]  # across groups, out of order, repeated
    with VideoReader(path, tensors=True) as reader:
        before = torch.stack([reader.group(reader.group_of(t)).render(float(t)) for t in times])
        batched = reader.frames_at(times)
        torch.testing.assert_close(batched, before, atol=1e-5, rtol=0)
        monkeypatch.setattr(reader_module, "BATCH_PIXELS", 2 * 40 * 56)  # parts of two frames: same frames
        torch.testing.assert_close(reader.frames_at(times), batched, atol=1e-6, rtol=0)
        big = reader.frames_at([1.5, 2.5], size=(80, 112))
        torch.testing.assert_close(big, torch.stack([reader.frame(1.5, (80, 112)), reader.frame(2.5, (80, 112))]))
        torch.testing.assert_close(reader[1:5], reader.frames_at([1, 2, 3, 4]))
        assert torch.stack(list(reader)).shape == (7, 40, 56, 3)
        torch.testing.assert_close(reader.frames_played_at([0.25]), reader.frames_at([3]))  # 12 fps
        with pytest.raises(ArgumentError):
            reader.frames_at([])


def test_metadata_properties(encoded):
    path, _ = encoded
    with VideoReader(path) as reader:
        assert (reader.num_frames, reader.height, reader.width, reader.num_groups) == (7, 40, 56, 3)
        assert reader.average_fps == pytest.approx(12) and reader.duration_seconds == pytest.approx(7 / 12)
        assert reader.file_size == path.stat().st_size
        assert reader.bit_rate == pytest.approx(8 * path.stat().st_size * 12 / 7)
        meta = reader.metadata
        assert meta.codec == "actv" and meta.encoder.startswith("nvcodec") and meta.fps_fraction == (12, 1)
        assert meta.end_stream_seconds == pytest.approx(reader.duration) and meta.format_version == "1.0"
        assert reader.io_stats.requests == 4  # a local file too: preamble, header, trailer, index
