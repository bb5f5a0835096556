"""NeRV and HNeRV baselines: training, rendering at fractional t, masks, and the bitstream round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmarks.baselines.codec import code, decode, pack, quantized
from benchmarks.baselines.hnerv import fit_hnerv
from benchmarks.baselines.loss import reconstruction_loss
from benchmarks.baselines.nerv import fit_nerv
from benchmarks.baselines.training import learning_rate
from benchmarks.systems import run_rd_point
from tests.conftest import moving_square_clip

# Small networks so a step takes milliseconds; 32x48 is not a multiple of the strides' product (48).
SMALL = {"strides": [2, 2, 2], "channels": 8, "min_channels": 4}
NERV_SMALL = {**SMALL, "pe_levels": 8, "mlp_hidden": 16}
HNERV_SMALL = {**SMALL, "embed_dim": 4}
FITTERS = {
    "nerv": lambda clip, **kw: fit_nerv(clip, size="xs", lr=1e-2, overrides=NERV_SMALL, **kw),
    "hnerv": lambda clip, **kw: fit_hnerv(
        clip, size="xs", lr=1e-2, overrides=HNERV_SMALL, encoder_dims=[8, 8, 8], **kw
    ),
}

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return moving_square_clip(frames=6, height=30, width=44)


@pytest.fixture(scope="module", params=sorted(FITTERS))
def fitted(request, clip):
    return request.param, FITTERS[request.param](clip, iters=80, seed=0)


def test_loss_goes_down(fitted):
    _, model = fitted
    losses = model.train_stats.losses
    assert model.train_stats.iterations == 80
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:5])


def test_render_shapes_at_fractional_t(fitted, clip):
    _, model = fitted
    frame = model.render(2.37)
    assert frame.shape == (30, 44, 3) and frame.dtype == torch.float32
    assert float(frame.min()) >= 0 and float(frame.max()) <= 1
    frames = model.render_frames([0, 0.5, 4.99, 5])
    assert frames.shape == (4, 30, 44, 3)


def test_bytes_round_trip_bit_exact(fitted, clip):
    kind, model = fitted
    data = code(model, bits=8)
    rebuilt = decode(data)
    assert rebuilt.kind == kind and rebuilt.config == model.config
    reference = quantized(model, bits=8)
    times = [0, 1.5, 3, 5]
    assert torch.equal(rebuilt.render_frames(times), reference.render_frames(times))
    # quantization moved the weights but kept the picture
    error = (reference.render_frames(times) - model.render_frames(times)).abs().mean()
    assert 0 < float(error) < 0.02


def test_parameter_count_matches_bytes(fitted):
    _, model = fitted
    numbers = model.numbers()
    packed = pack(model, bits=8)
    assert packed.numbers == numbers
    assert sum(t.numel() for t in packed.decoded.values()) == numbers
    # 8-bit symbols, ANS-coded, plus steps and a header: within a factor of ~2 of one byte per number
    assert 0.3 * numbers < len(packed.data) < 1.6 * numbers + 600
    assert len(code(model, bits=6)) < len(packed.data)


def test_hnerv_stores_embeddings_and_interpolates(clip):
    model = FITTERS["hnerv"](clip, iters=3, times=[0, 2, 5])
    assert model.embeddings.shape[0] == 3
    assert "embeddings" in model.state_dict()
    e = model.embedding_at(torch.tensor([0.0, 1.0, 2.0, 3.5, 9.0]))
    emb = model.embeddings
    assert torch.allclose(e[0], emb[0]) and torch.allclose(e[2], emb[1]) and torch.allclose(e[4], emb[2])
    assert torch.allclose(e[1], 0.5 * (emb[0] + emb[1]))
    assert torch.allclose(e[3], 0.5 * (emb[1] + emb[2]))


@pytest.mark.parametrize("kind", sorted(FITTERS))
def test_subset_times_select_from_clip(kind, clip):
    model = FITTERS[kind](clip, iters=2, times=[0, 5])
    assert model.config.num_frames == 6
    assert model.render(2.5).shape == (30, 44, 3)


@pytest.mark.parametrize("loss", ["mse", "l1ssim"])
def test_masked_pixels_do_not_affect_loss(loss):
    torch.manual_seed(0)
    prediction = torch.rand(2, 3, 20, 24, requires_grad=True)
    target = torch.rand(2, 3, 20, 24)
    mask = torch.rand(2, 1, 20, 24) > 0.3
    other = torch.where(mask, target, torch.rand_like(target))
    a = reconstruction_loss(prediction, target, mask, loss)
    b = reconstruction_loss(prediction, other, mask, loss)
    assert torch.equal(a, b)
    assert not torch.equal(a, reconstruction_loss(prediction, target, None, loss))


@pytest.mark.parametrize("kind", sorted(FITTERS))
def test_masked_training_ignores_unknown_pixels(kind, clip):
    mask = np.ones(clip.shape[:3], dtype=bool)
    mask[:, 8:20, 10:30] = False
    garbage = clip.copy()
    garbage[~mask] = np.random.default_rng(1).random((int((~mask).sum()), 3), dtype=np.float32)
    a = FITTERS[kind](clip, iters=5, mask=mask, seed=3)
    b = FITTERS[kind](garbage, iters=5, mask=mask, seed=3)
    assert a.train_stats.losses == b.train_stats.losses
    assert torch.equal(a.render_frames([0, 2.5]), b.render_frames([0, 2.5]))


def test_learning_rate_schedule():
    assert learning_rate(0.0, 1.0) == pytest.approx(0.1)
    assert learning_rate(0.1, 1.0) == pytest.approx(1.0)
    assert learning_rate(1.0, 1.0) == pytest.approx(0.01)


def test_time_budget_stops(clip):
    """A budget in seconds, not iterations, ends the fit: it ran until the budget and recorded what it did."""
    model = FITTERS["nerv"](clip, seconds=0.3)
    assert model.train_stats.seconds >= 0.3
    assert model.train_stats.iterations >= 1 and len(model.train_stats.losses) == model.train_stats.iterations


class SteppingClock:
    """Stands in for :mod:`time` in the training loop: each reading of ``perf_counter`` is ``step`` seconds later."""

    def __init__(self, step: float):
        self.step, self.now = step, 0.0

    def perf_counter(self) -> float:
        self.now += self.step
        return self.now


def test_a_time_budget_ends_at_the_first_step_that_reaches_it(clip, monkeypatch):
    """Where the budget ends, independent of the machine's speed: the loop reads the clock once per step."""
    from benchmarks.baselines import training

    monkeypatch.setattr(training, "time", SteppingClock(0.25))  # every step "takes" 0.25 s, exact in binary
    heard = []
    stats = FITTERS["nerv"](clip, seconds=1.0, callback=heard.append).train_stats
    assert stats.iterations == 4 and len(stats.losses) == 4 and stats.final_loss == stats.losses[-1]
    assert stats.seconds >= 1.0
    assert [(p.iteration, p.iterations, p.elapsed) for p in heard] == [(4, None, 1.0)], "the last step is reported"
    assert FITTERS["nerv"](clip, iters=2, seconds=1.0).train_stats.iterations == 2, "whichever budget ends first"
    assert FITTERS["nerv"](clip, iters=9, seconds=1.0).train_stats.iterations == 4


def test_run_rd_point(clip):
    uint8 = np.round(clip * 255).astype(np.uint8)
    coded = run_rd_point(uint8, 25.0, {"system": "hnerv", "size": "xs", "iters": 3})
    assert coded.system == "hnerv" and coded.decoded.shape == uint8.shape and coded.decoded.dtype == np.uint8
    assert coded.file_bytes > 0 and coded.decode_fps > 0
    assert coded.extra["bpp"] == pytest.approx(8 * coded.file_bytes / uint8[..., 0].size)
