"""Latent grids: sampled anywhere, carried through the tensor table, and coded bit-exactly in payload version 3."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys

import msgpack
import numpy as np
import pytest
import torch

from nvcodec import Config, QuantConfig, VideoReader, encode
from nvcodec.config import ModelConfig
from nvcodec.container import ContainerReader
from nvcodec.errors import FormatError
from nvcodec.header import parse_header_map
from nvcodec.model.tensors import Coding, Kind, grid_sides
from nvcodec.options import EncodeOptions
from nvcodec.payload import GRID_PAYLOAD_VERSION, unpack_group
from tests.conftest import TINY, make_group, moving_square_clip

pytestmark = pytest.mark.usefixtures("one_thread")

GRIDS = {"grid_levels": 2, "grid_cell": 4}
CONFIG = Config.preset("fast", **TINY, **GRIDS, iters=40, iters_warm=20, group_size=3, device="cpu")


def test_grid_sides_cover_the_patch_at_the_level_spacing():
    model = ModelConfig(grid_levels=3, grid_cell=4)
    assert grid_sides(24, model) == [7, 4, 3]
    assert grid_sides(1, model) == [2, 2, 2]


def test_the_table_declares_grids_and_their_context_model():
    group = make_group(**GRIDS)
    specs = group.tensors
    grids = [n for n, s in specs.items() if s.kind is Kind.GRID]
    assert grids == ["latent_grids.0", "latent_grids.1"]
    assert all(specs[n].coding is Coding.ARM for n in grids)
    assert {n for n, s in specs.items() if s.kind is Kind.ARM} == {f"context.{k}" for k in ("w1", "b1", "w2", "b2")}
    assert specs["frame_inr.weights.0"].shape[1] == 2 + GRIDS["grid_levels"]


def test_grids_are_sampled_bilinearly_at_continuous_coordinates():
    group = make_group(**GRIDS)
    with torch.no_grad():
        level = group.latent_grids[0]
        level.copy_(torch.arange(level.numel(), dtype=torch.float32).view_as(level))
    rows, cols = level.shape[1:]
    # grid point (1, 2) of patch 0, and the midpoint between it and (1, 3)
    y = -1 + 2 * 1 / (rows - 1)
    x0, x1 = -1 + 2 * 2 / (cols - 1), -1 + 2 * 3 / (cols - 1)
    coords = torch.tensor([[y, x0], [y, (x0 + x1) / 2]]).expand(group.grid.num_patches, 2, 2)
    values = group.latent_grids.sample(coords)[0, :, 0].detach()
    level = level.detach()
    assert values.tolist() == pytest.approx([float(level[0, 1, 2]), float(level[0, 1, 2:4].mean())])


def test_a_group_with_grids_renders_any_time_and_size_alike_in_both_renderers():
    group = make_group(**GRIDS)
    with torch.no_grad():
        for level in group.latent_grids:
            level.normal_()
    times = [0.0, 1.5, 3.25]
    torch.testing.assert_close(group.render(times), group.render_frames(times))
    assert group.render(2.5, size=(61, 97)).shape == (61, 97, 3)


@pytest.fixture(scope="module")
def clip():
    return moving_square_clip(frames=7, height=40, width=56)


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory, clip):
    path = tmp_path_factory.mktemp("grids") / "grids.actv"
    stats = encode(clip, path, CONFIG, QuantConfig(intra_period=2), fps=12, options=EncodeOptions(quality=28))
    return path, stats


def _chunks(path):
    reader = ContainerReader(path)
    return parse_header_map(reader.header), [reader.read_chunk(i) for i in range(len(reader.entries))]


def test_a_file_with_grids_has_version_3_chunks_and_decodes_any_time_and_size(grid_file, clip):
    path, _ = grid_file
    header, chunks = _chunks(path)
    assert header.model.grid_levels == GRIDS["grid_levels"]
    assert all(msgpack.unpackb(chunk)[0] == GRID_PAYLOAD_VERSION for chunk in chunks)
    assert any(msgpack.unpackb(chunk)[8] > 0 for chunk in chunks), "the grids hold no non-zero symbol"
    with VideoReader(path) as reader:
        assert reader.frame(3).shape == clip.shape[1:]
        assert reader.frame(2.5, size=(80, 112)).shape == (80, 112, 3)
        frames = np.stack([reader.frame(t) for t in range(clip.shape[0])])
    assert frames.shape == clip.shape


def digest(path) -> str:
    """sha256 of every group's decoded parameters, in group order and sorted name order."""
    from nvcodec.decoder import GroupDecoder

    reader = ContainerReader(path)
    header = parse_header_map(reader.header)
    decoder = GroupDecoder(header.tensors(), header.quant, reader.read_chunk)
    hasher = hashlib.sha256()
    for index in range(len(reader.entries)):
        state = decoder.state(index)
        for name in sorted(state):
            hasher.update(
                torch.view_as_real(state[name]).numpy().tobytes()
                if state[name].is_complex()
                else state[name].numpy().tobytes()
            )
    return hasher.hexdigest()


def test_grid_symbols_decode_alike_at_any_thread_count(grid_file):
    """The context model's probabilities are integers: one thread and two decode the same parameters."""
    path, _ = grid_file
    script = (
        "import sys, torch\n"
        "from tests.model.test_latent_grids import digest\n"
        f"torch.set_num_threads(int(sys.argv[1])); print(digest({str(path)!r}))\n"
    )
    digests = {
        subprocess.run([sys.executable, "-c", script, threads], capture_output=True, text=True, check=True).stdout
        for threads in ("1", "2")
    }
    assert digests == {digest(path) + "\n"}


def test_a_damaged_grid_stream_is_a_format_error(grid_file):
    path, _ = grid_file
    header, chunks = _chunks(path)
    specs = header.tensors()
    fields = msgpack.unpackb(chunks[0])
    for damage in (
        lambda f: f.__setitem__(9, f[9][:-4]),  # truncated words
        lambda f: f.__setitem__(9, f[9] + b"\0\0\0\1"),  # a word too many
        lambda f: f.__setitem__(8, f[8] + 1),  # another alphabet
        lambda f: f.__setitem__(8, -1),
        lambda f: f.__setitem__(8, "wide"),
        lambda f: f.__setitem__(0, 2),  # a version that cannot hold grids
    ):
        broken = list(fields)
        damage(broken)
        with pytest.raises(FormatError):
            unpack_group(msgpack.packb(broken, use_bin_type=True), specs, None)


def test_the_rate_estimate_of_the_grids_tracks_their_coded_bits():
    """What training prices the grids at (the context model's twin) against the words a chunk stores for them."""
    from nvcodec.payload import pack_group
    from nvcodec.quant.rdtrain import RateTerm
    from nvcodec.quant.uniform import QuantPlan

    group = make_group(**{**GRIDS, "grid_cell": 1}, height=48, width=48)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # smooth fields, as fitted grids are
        for level in group.latent_grids:
            noise = torch.randn(level.shape, generator=generator)[:, None]
            level.copy_(torch.nn.functional.avg_pool2d(noise, 3, 1, 1, count_include_pad=False)[:, 0] * 0.5)
    term = RateTerm(group, QuantConfig(), None, 1e-3, generator)
    packed = pack_group(group.state_dict(), group.tensors, QuantConfig(), QuantPlan(None, term.steps()))
    coded = 8 * len(msgpack.unpackb(packed.payload)[9])
    assert coded > 1000
    assert abs(term.estimated_grid_bits() - coded) <= 0.05 * coded + 64


@pytest.mark.slow
def test_grids_code_without_rate_in_the_loss_too(tmp_path, clip):
    """``--bits`` never trains the context model with the grids: it is fitted to their symbols before coding."""
    path = tmp_path / "bits.actv"
    encode(clip, path, CONFIG, QuantConfig(intra_period=2), fps=12)
    with VideoReader(path) as reader:
        assert reader.frame(1).shape == clip.shape[1:]


def test_a_file_without_grids_keeps_its_header_keys(tmp_path, clip):
    config = dataclasses.replace(CONFIG, model=dataclasses.replace(CONFIG.model, grid_levels=0))
    path = tmp_path / "plain.actv"
    encode(clip[:3], path, config, QuantConfig(), fps=12, options=EncodeOptions(quality=28))
    header = ContainerReader(path).header
    assert "grid_levels" not in header["model"] and "grid_cell" not in header["model"]
    assert "bits_grid" not in header["quant"]
    assert parse_header_map(header).model.grid_levels == 0
    assert all(msgpack.unpackb(chunk)[0] == 2 for chunk in _chunks(path)[1])
