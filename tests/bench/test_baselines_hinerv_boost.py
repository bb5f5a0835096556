"""HiNeRV and HNeRV-Boost baselines: registered by name, their compression stages, and the bitstream round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks import systems
from benchmarks.baselines.codec import code, decode, pack, quantized
from benchmarks.baselines.frame_system import FrameModelSystem
from benchmarks.baselines.hinerv import HiNeRV, fit_hinerv, pruning_masks
from benchmarks.baselines.hnerv_boost import HNeRVBoost, fit_hnerv_boost, gaussian_bits
from benchmarks.baselines.stages import bitstream_values
from benchmarks.systems import run_rd_point
from tests.conftest import moving_square_clip

# Small networks so a step takes milliseconds; 30x44 is not a multiple of the strides' products.
HINERV_SMALL = {"strides": [2, 2, 2], "depths": [1, 1, 1], "expansions": [2.0, 2.0, 1.0], "channels": 8}
BOOST_SMALL = {"strides": [2, 2, 2], "blocks": [1, 1, 2], "channels": 8, "min_channels": 4, "embed_dim": 4}
FITTERS = {
    "hinerv": lambda clip, **kw: fit_hinerv(clip, size="xs", overrides=HINERV_SMALL, **kw),
    "hnerv-boost": lambda clip, **kw: fit_hnerv_boost(
        clip, size="xs", overrides=BOOST_SMALL, encoder_dims=[8, 8, 8], **kw
    ),
}
BITS = {"hinerv": 6, "hnerv-boost": 8}

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return moving_square_clip(frames=6, height=30, width=44)


@pytest.fixture(scope="module", params=sorted(FITTERS))
def coded(request, clip):
    """A model fitted with its paper's compression stages (as a rate point is), and its bytes."""
    kind = request.param
    model = FITTERS[kind](clip, iters=40, seed=0, compress=True)
    return kind, model, code(model, BITS[kind])


@pytest.mark.parametrize("kind", ["hinerv", "hnerv-boost"])
def test_registered_by_name(kind):
    system = systems.get(kind)
    assert isinstance(system, FrameModelSystem) and system.name == kind
    assert systems.frame_model(kind) is system and kind in systems.NEURAL
    assert system.bits == BITS[kind] and system.coding_fit == {"compress": True}
    assert system.model is {"hinerv": HiNeRV, "hnerv-boost": HNeRVBoost}[kind]


@pytest.mark.parametrize("kind", ["hinerv", "hnerv-boost"])
def test_presets_grow_and_match_a_number_count(kind):
    system = systems.get(kind)
    counts = [system.numbers(size, 144, 176, 31, range(31)) for size in ("xs", "s", "m", "l")]
    assert counts == sorted(counts) and counts[0] > 8_000 and counts[-1] < 200_000
    assert system.matched_size(counts[2], 144, 176, 31, range(31)) == "m"


def test_stages_share_the_budget(coded):
    kind, model, _ = coded
    stats = model.train_stats
    # HiNeRV: 300 : 60 : 30 of 40 iterations; HNeRV-Boost: 300 : 100
    assert stats.iterations == {"hinerv": 31 + 6 + 3, "hnerv-boost": 30 + 10}[kind]
    assert len(stats.losses) == stats.iterations and all(np.isfinite(stats.losses))


def test_decode_from_the_bytes_is_what_the_encoder_scores(coded, clip):
    kind, model, data = coded
    rebuilt = decode(data)
    assert rebuilt.kind == kind and rebuilt.config == model.config
    times = [0, 1.5, 3, 5]
    assert torch.equal(rebuilt.render_frames(times), quantized(model, BITS[kind]).render_frames(times))
    frame = rebuilt.render(2.37)
    assert frame.shape == (30, 44, 3) and float(frame.min()) >= 0 and float(frame.max()) <= 1


def test_same_seed_same_bytes(coded, clip):
    kind, _, data = coded
    again = FITTERS[kind](clip, iters=40, seed=0, compress=True)
    assert code(again, BITS[kind]) == data
    other = FITTERS[kind](clip, iters=40, seed=1, compress=True)
    assert code(other, BITS[kind]) != data


def test_hinerv_prunes_and_trains_against_the_bitstream_quantizer(clip):
    model = FITTERS["hinerv"](clip, iters=20, compress=True)
    assert model.pruned_numbers >= int(0.15 * model.numbers())
    decoded = pack(model, 6).decoded
    zeros = sum(int((decoded[name] == 0).sum()) for name in pruning_masks(model))
    assert zeros >= model.pruned_numbers, "pruned weights are zero symbols in the bitstream"
    for name, tensor in model.state_dict().items():
        if tensor.ndim >= 2:
            assert torch.equal(bitstream_values(tensor, 6), decoded[name]), name


def test_hnerv_boost_codes_with_its_learned_steps(clip):
    model = FITTERS["hnerv-boost"](clip, iters=20, compress=True)
    decoded = pack(model, 8).decoded
    assert set(model.coding_steps) == {n for n, t in model.state_dict().items() if t.ndim >= 2}
    for name, step in model.coding_steps.items():
        symbols = decoded[name] / step
        assert torch.equal(symbols, symbols.round()), name
    uncompressed = FITTERS["hnerv-boost"](clip, iters=2)
    assert not hasattr(uncompressed, "coding_steps"), "a task's fit skips the compression stage"


def test_gaussian_rate_counts_bits():
    code_values = torch.randn(4096) * 8
    bits = float(gaussian_bits(code_values.round(), noisy=False)) / code_values.numel()
    # a Gaussian of deviation 8 steps: about log2(8 * sqrt(2 pi e)) = 5.05 bits per value
    assert bits == pytest.approx(5.05, abs=0.1)


@pytest.mark.parametrize("kind", sorted(FITTERS))
def test_fractional_and_untrained_frames_interpolate(kind, clip):
    model = FITTERS[kind](clip, iters=3, times=[0, 2, 5])
    assert model.config.num_frames == 6 and model.config.times == [0, 2, 5]
    frames = model.render_frames([0, 1, 2.5, 4.99, 5])
    assert frames.shape == (5, 30, 44, 3)
    if kind == "hnerv-boost":
        e = model.embedding_at(torch.tensor([1.0, 3.5]))
        assert torch.allclose(e[0], 0.5 * (model.embeddings[0] + model.embeddings[1]))
        assert torch.allclose(e[1], 0.5 * (model.embeddings[1] + model.embeddings[2]))


@pytest.mark.parametrize("kind", sorted(FITTERS))
def test_masked_training_ignores_unknown_pixels(kind, clip):
    mask = np.ones(clip.shape[:3], dtype=bool)
    mask[:, 8:20, 10:30] = False
    garbage = clip.copy()
    garbage[~mask] = np.random.default_rng(1).random((int((~mask).sum()), 3), dtype=np.float32)
    a = FITTERS[kind](clip, iters=4, mask=mask, seed=3)
    b = FITTERS[kind](garbage, iters=4, mask=mask, seed=3)
    assert a.train_stats.losses == b.train_stats.losses
    assert torch.equal(a.render_frames([0, 2.5]), b.render_frames([0, 2.5]))


@pytest.mark.parametrize("kind", ["hinerv", "hnerv-boost"])
def test_rd_point_at_a_preset(kind, clip):
    """A rate point as the benchmark runs it: the preset, the paper's stages and bit depth, bpp from the bytes."""
    uint8 = np.round(clip * 255).astype(np.uint8)
    point = run_rd_point(uint8, 25.0, {"system": kind, "size": "xs", "iters": 8})
    assert point.system == kind and point.settings["bits"] == BITS[kind]
    assert point.decoded.shape == uint8.shape and point.decoded.dtype == np.uint8
    assert point.extra["bpp"] == pytest.approx(8 * point.file_bytes / uint8[..., 0].size)
    assert point.extra["train_iterations"] == 8 and point.extra["numbers"] == systems.get(kind).numbers(
        "xs", 30, 44, 6, range(6)
    )
    assert 0 < point.file_bytes < 2 * point.extra["numbers"]


@pytest.mark.parametrize("kind", ["hinerv", "hnerv-boost"])
def test_task_benchmark_fits_and_renders_between_trained_frames(kind, clip):
    """As in slow motion: fitted on some frames for a time budget at a matched preset, rendered at the others."""
    from benchmarks.tasks.neural import run_frame_model
    from benchmarks.tasks.report import markdown_table
    from benchmarks.tasks.rows import row
    from benchmarks.tasks.settings import Settings

    run = run_frame_model(kind, clip[[0, 3, 5]], [0, 3, 5], 6, 0.3, Settings(), [1, 2, 4], numbers=10_000)
    assert run.output.shape == (3, 30, 44, 3) and run.trained.shape == (3, 30, 44, 3)
    assert run.info["size"] == "xs" and run.info["iterations"] >= 1 and run.info["numbers"] > 0
    table = markdown_table(
        "slowmo", [row("slowmo", "clip", "3 trained", kind, {"psnr": 20.0}, run.seconds, settings=run.info)]
    )
    assert f"size xs, {run.info['iterations']} it., {run.info['numbers']:,} numbers" in table
