"""The latent grids' context model: the bit-exact coder (nvcodec.entropy.context) and its training twin
(nvcodec.quant.context_rate)."""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from nvcodec.entropy import context as ctx
from nvcodec.entropy.context import IntegerARM, coded_grid_bits, contexts, decode_grids, encode_grids
from nvcodec.entropy.count_table import empirical_entropy_bits
from nvcodec.errors import FormatError
from nvcodec.quant.context_rate import ARM_NAMES, context_bits, fit_arm, grid_contexts, init_arm

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parent.parent


def smooth_field(shape: tuple[int, int], spread: float, seed: int, smoothness: float = 40.0) -> np.ndarray:
    """A correlated random field (white noise low-passed in Fourier), rounded to int64 symbols of std ``spread``."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=shape)
    fy, fx = np.fft.fftfreq(shape[0])[:, None], np.fft.fftfreq(shape[1])[None, :]
    field = np.real(np.fft.ifft2(np.fft.fft2(noise) * np.exp(-(fy**2 + fx**2) * smoothness)))
    spread_now = field.std() if field.size > 1 else 1.0
    return np.rint(field / spread_now * spread).astype(np.int64)


def to_arm(weights: dict[str, torch.Tensor]) -> IntegerARM:
    return IntegerARM.from_float(*(weights[name].detach().cpu().double().numpy() for name in ARM_NAMES))


def untrained() -> dict[str, torch.Tensor]:
    return init_arm(torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def smooth() -> list[np.ndarray]:
    """A pyramid of correlated grids, about 3000 cells."""
    return [smooth_field((48, 45), 3.0, 1), smooth_field((24, 23), 3.0, 2), smooth_field((12, 12), 3.0, 3)]


@pytest.fixture(scope="module")
def fitted(smooth: list[np.ndarray]) -> dict[str, torch.Tensor]:
    return fit_arm([torch.from_numpy(grid) for grid in smooth], untrained(), steps=200)


def assert_round_trip(grids: list[np.ndarray], arm: IntegerARM) -> bytes:
    alphabet, data = encode_grids(grids, arm)
    decoded = decode_grids(alphabet, data, [grid.shape for grid in grids], arm)
    assert len(decoded) == len(grids)
    for grid, back in zip(grids, decoded):
        assert back.dtype == np.int64 and back.shape == grid.shape
        np.testing.assert_array_equal(back, grid)
    return data


# The integer model


def test_the_decay_literals_follow_their_formula():
    assert len(ctx.DECAY_Q30) == ctx.SCALE_LEVELS
    for level, stored in enumerate(ctx.DECAY_Q30):
        scale = 2 ** (ctx.LOG2_SCALE_MIN + (level + 0.5) * ctx.LOG2_SCALE_STEP)
        assert abs(stored - math.exp(-1 / (4 * scale)) * 2**30) <= 1
    assert ctx.LOG2_SCALE_MIN * 2**16 == ctx.LOG2_SCALE_MIN_Q16
    assert ctx.LOG2_SCALE_STEP * 2**16 == ctx.LOG2_SCALE_STEP_Q16


def test_contexts_are_the_clamped_causal_neighbours():
    grid = np.arange(1, 13, dtype=np.int64).reshape(3, 4)
    grid[0, 0] = 500
    found = contexts(grid).reshape(3, 4, len(ctx.CONTEXT))
    assert found[0, 0].tolist() == [0] * 6
    # (0,-1), (0,-2), (-1,-1), (-1,0), (-1,1), (-2,0) of cell (2, 1); cell (0, 0) reads as the clip
    assert found[2, 1].tolist() == [9, 0, 5, 6, 7, 2]
    assert found[1, 1].tolist() == [5, 0, ctx.CONTEXT_CLIP, 2, 3, 0]
    assert found[1, 3].tolist() == [7, 6, 3, 4, 0, 0]
    twin = grid_contexts(torch.from_numpy(grid).float()[None]).reshape(-1, len(ctx.CONTEXT))
    np.testing.assert_array_equal(twin.numpy(), contexts(grid))


def test_every_neighbour_lies_in_an_earlier_wavefront():
    for dy, dx in ctx.CONTEXT:
        assert 2 * dy + dx < 0


def test_predict_quantizes_mean_and_scale_in_integers():
    zero = np.zeros((len(ctx.CONTEXT), ctx.ARM_HIDDEN))
    hidden = np.zeros(ctx.ARM_HIDDEN)
    cases = {  # b2 -> (mu_q, level)
        (1.5, 2.0): (6, 40),  # log2 b = 2 is exactly the lower edge of level 40: (2 + 4.71875) / (43/256) = 40
        (-0.125, 2.0 - 2**-8): (0, 39),  # -0.5 quarter rounds half up
        (-0.1328125, 0.0): (-1, 28),
        (100.0, 100.0): (ctx.MU_MAX * ctx.MU_STEPS, ctx.SCALE_LEVELS - 1),
        (-100.0, -100.0): (-ctx.MU_MAX * ctx.MU_STEPS, 0),
    }
    for (mu, log2_scale), expected in cases.items():
        arm = IntegerARM.from_float(zero, hidden, np.zeros((ctx.ARM_HIDDEN, 2)), np.array([mu, log2_scale]))
        mu_q, level = arm.predict(np.zeros((1, len(ctx.CONTEXT)), dtype=np.int64))
        assert (int(mu_q[0]), int(level[0])) == expected, (mu, log2_scale)


def test_predict_is_the_float_network_on_dyadic_weights():
    rng = np.random.default_rng(0)
    weights = [np.round(rng.normal(size=shape) * 0.3 * 256) / 256 for shape in ((6, 8), (8,), (8, 2), (2,))]
    arm = IntegerARM.from_float(*weights)
    context = rng.integers(-ctx.CONTEXT_CLIP, ctx.CONTEXT_CLIP + 1, size=(500, 6))
    out = np.maximum(context @ weights[0] + weights[1], 0) @ weights[2] + weights[3]  # exact in float64
    mu_q, level = arm.predict(context)
    np.testing.assert_array_equal(mu_q, np.clip(np.floor(out[:, 0] * 4 + 0.5), -256, 256))
    expected = np.clip(np.floor((out[:, 1] * 2**16 - ctx.LOG2_SCALE_MIN_Q16) / ctx.LOG2_SCALE_STEP_Q16), 0, 63)
    np.testing.assert_array_equal(level, expected)


def test_tables_have_the_coder_total_and_every_symbol():
    alphabet = 40
    mu_q = np.array([0, 3, -7, 256, -256, 0, 17])
    level = np.array([0, 10, 30, 63, 5, 63, 0])
    weights = ctx._free_weights(alphabet, mu_q, level)
    size = 2 * alphabet + 1
    assert weights.shape == (len(mu_q), size) and weights.min() >= 0
    assert (weights.sum(axis=1) == 2**ctx.PRECISION - size).all()
    np.testing.assert_array_equal(weights[0], weights[0][::-1])  # mu 0: symmetric
    assert weights[3].argmax() == size - 1 and weights[4].argmax() == 0  # a mean beyond A: the end takes the tail
    assert weights[1].argmax() == alphabet + 1  # mu 3/4 lies in the bin of symbol 1
    np.testing.assert_array_equal(ctx._table_rows(alphabet, mu_q, level), weights)


def test_integer_arm_rejects_bad_weights():
    good = [np.zeros((6, 8)), np.zeros(8), np.zeros((8, 2)), np.zeros(2)]
    IntegerARM.from_float(*good)
    with pytest.raises(FormatError):
        IntegerARM.from_float(np.zeros((5, 8)), *good[1:])
    with pytest.raises(FormatError):
        IntegerARM.from_float(good[0], good[1], good[2], np.array([np.nan, 0.0]))
    with pytest.raises(FormatError):
        IntegerARM.from_float(good[0], good[1], good[2], np.array([200.0, 0.0]))
    with pytest.raises(FormatError):
        IntegerARM(np.zeros((6, 8)), np.zeros(8, np.int64), np.zeros((8, 2), np.int64), np.zeros(2, np.int64))
    arm = IntegerARM(*(np.zeros(shape, np.int64) for shape in ((6, 8), (8,), (8, 2), (2,))))
    assert not arm.w1.flags.writeable


# Coding


@pytest.mark.parametrize("trained", [False, True])
def test_grids_of_every_shape_round_trip(smooth, fitted, trained):
    arm = to_arm(fitted if trained else untrained())
    grids = [
        *smooth,
        smooth_field((1, 1), 2.0, 4),
        smooth_field((1, 17), 2.0, 5),
        smooth_field((19, 1), 2.0, 6),
        np.zeros((9, 7), dtype=np.int64),
        np.zeros((0, 5), dtype=np.int64),
        smooth_field((5, 30), 20.0, 7),
    ]
    assert_round_trip(grids, arm)
    assert_round_trip(grids[::-1], arm)
    assert_round_trip([grids[-1]], arm)


def test_outliers_and_extremes_round_trip():
    arm = to_arm(untrained())
    grid = smooth_field((16, 16), 1.0, 8)
    grid[3, 4], grid[0, 0], grid[15, 15] = ctx.MAX_ALPHABET_HALF, -ctx.MAX_ALPHABET_HALF, 300
    assert_round_trip([grid], arm)
    assert_round_trip([np.full((3, 3), -1, dtype=np.int64)], arm)  # every symbol the first of the alphabet
    tail = smooth_field((12, 10), 1.0, 9)
    tail[6:] = -np.abs(tail).max()  # the last symbols decode from a coder near empty
    assert_round_trip([tail], arm)


def test_nothing_to_code_is_no_data():
    arm = to_arm(untrained())
    assert encode_grids([], arm) == (0, b"")
    assert encode_grids([np.zeros((4, 5), dtype=np.int64)], arm) == (0, b"")
    assert decode_grids(0, b"", [(4, 5)], arm)[0].tolist() == [[0] * 5] * 4
    assert decode_grids(3, b"", [], arm) == []
    assert coded_grid_bits([np.zeros((4, 5), dtype=np.int64)], arm) == 0.0


def test_the_coder_spends_the_bits_of_its_tables(smooth, fitted):
    arm = to_arm(fitted)
    _, data = encode_grids(smooth, arm)
    bits = coded_grid_bits(smooth, arm)
    # constriction's model is the table itself; the end mark costs 25 bits and ANS ends in a word or two
    assert bits <= 8 * len(data) <= bits + 96


def test_encode_rejects_what_it_cannot_code():
    arm = to_arm(untrained())
    with pytest.raises(ValueError, match="clamp"):
        encode_grids([np.array([[ctx.MAX_ALPHABET_HALF + 1]], dtype=np.int64)], arm)
    with pytest.raises(ValueError, match="int64"):
        encode_grids([np.zeros((2, 2), dtype=np.int32)], arm)
    with pytest.raises(ValueError, match="2-D"):
        encode_grids([np.zeros(4, dtype=np.int64)], arm)


def test_decoding_is_the_same_at_any_thread_count(tmp_path, smooth, fitted):
    arm = to_arm(fitted)
    alphabet, data = encode_grids(smooth, arm)
    np.savez(tmp_path / "case.npz", *smooth, w1=arm.w1, b1=arm.b1, w2=arm.w2, b2=arm.b2)
    script = textwrap.dedent(
        """
        import hashlib, sys
        import numpy as np
        from nvcodec.entropy.context import IntegerARM, decode_grids, encode_grids
        case = np.load(sys.argv[1])
        grids = [case[f"arr_{i}"] for i in range(3)]
        arm = IntegerARM(case["w1"], case["b1"], case["w2"], case["b2"])
        alphabet, data = encode_grids(grids, arm)
        decoded = decode_grids(alphabet, data, [g.shape for g in grids], arm)
        assert all((a == b).all() for a, b in zip(grids, decoded))
        assert "torch" not in sys.modules
        print(alphabet, hashlib.sha256(data).hexdigest())
        """
    )
    expected = f"{alphabet} {hashlib.sha256(data).hexdigest()}"
    for threads in ("1", "2"):
        names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        env = {**os.environ, **dict.fromkeys(names, threads), "PYTHONPATH": str(ROOT)}
        run = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "case.npz")],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == expected


def test_the_coder_does_not_import_torch():
    code = "import nvcodec.entropy.context, sys; assert 'torch' not in sys.modules, 'torch imported'"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


# Damaged and hostile streams


@pytest.fixture(scope="module")
def coded(smooth, fitted) -> tuple[int, bytes, list[tuple[int, int]], IntegerARM]:
    arm = to_arm(fitted)
    alphabet, data = encode_grids(smooth, arm)
    return alphabet, data, [grid.shape for grid in smooth], arm


@pytest.mark.parametrize(
    "alphabet", [-1, ctx.MAX_ALPHABET_HALF + 1, 1 << 40, 2.0, "3", None, True], ids=lambda value: repr(value)
)
def test_a_bad_alphabet_is_a_format_error(coded, alphabet):
    _, data, shapes, arm = coded
    with pytest.raises(FormatError, match="alphabet"):
        decode_grids(alphabet, data, shapes, arm)


@pytest.mark.parametrize(
    "shapes",
    [[(1 << 12, 1 << 12)], [(1 << 40, 1)], [(-1, 3)], [(3,)], [(2.0, 3)], [(1 << 11, 1 << 11)] * 2, "ab", 7],
    ids=str,
)
def test_bad_shapes_are_a_format_error(coded, shapes):
    alphabet, data, _, arm = coded
    with pytest.raises(FormatError):
        decode_grids(alphabet, data, shapes, arm)


def test_too_much_work_is_a_format_error(coded):
    _, data, _, arm = coded
    with pytest.raises(FormatError, match="work"):
        decode_grids(ctx.MAX_ALPHABET_HALF, data, [(512, 512)], arm)


def test_damaged_data_is_a_format_error(coded):
    alphabet, data, shapes, arm = coded
    words = np.frombuffer(data, dtype="<u4")
    damaged = {
        "partial word": data[:-1],
        "no last word": words[:-1].tobytes(),
        "no first word": words[1:].tobytes(),
        "half": words[: len(words) // 2].tobytes(),
        "one more word": data + b"\x07\x00\x00\x00",
        "zero last word": data + bytes(4),
        "flipped bit": (words ^ np.uint32(1 << 7) * (np.arange(len(words)) == 5)).astype("<u4").tobytes(),
        "garbage": np.random.default_rng(0).integers(1, 2**32, size=len(words), dtype=np.uint32).tobytes(),
        "not bytes": bytearray(data),
    }
    for name, bad in damaged.items():
        with pytest.raises(FormatError):
            decode_grids(alphabet, bad, shapes, arm)  # type: ignore[arg-type]
            pytest.fail(f"{name} decoded")
    with pytest.raises(FormatError, match="nothing to decode"):
        decode_grids(0, data, shapes, arm)


# The training twin


def test_the_twin_prices_what_the_coder_spends(smooth, fitted):
    arm = to_arm(fitted)
    _, data = encode_grids(smooth, arm)
    coded = coded_grid_bits(smooth, arm)
    twin = float(context_bits([torch.from_numpy(grid).float() for grid in smooth], **fitted))
    assert abs(twin / coded - 1) < 0.05
    assert abs(twin / (8 * len(data)) - 1) < 0.05


def test_fitting_beats_the_untrained_model_and_the_histogram(smooth, fitted):
    trained = coded_grid_bits(smooth, to_arm(fitted))
    before = coded_grid_bits(smooth, to_arm(untrained()))
    histogram = empirical_entropy_bits(np.concatenate([grid.reshape(-1) for grid in smooth]))
    assert trained < 0.7 * before and trained < 0.7 * histogram
    for name, weight in fitted.items():  # on the coder's grid: from_float is exact
        np.testing.assert_array_equal(weight.numpy() * 256, np.round(weight.numpy() * 256), err_msg=name)


def test_the_twin_is_differentiable_and_batched(fitted):
    grids = torch.from_numpy(np.stack([smooth_field((10, 9), 2.0, seed) for seed in range(6)])).float()
    batched = grids.reshape(2, 3, 10, 9)
    noisy = (batched + torch.rand(batched.shape, generator=torch.Generator().manual_seed(0)) - 0.5).requires_grad_()
    weights = {name: value.clone().requires_grad_() for name, value in fitted.items()}
    bits = context_bits([noisy, noisy[0, 0] * 40], **weights)
    bits.backward()
    assert bits.ndim == 0 and torch.isfinite(bits)
    assert torch.isfinite(noisy.grad).all() and noisy.grad.abs().sum() > 0
    assert all(torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0 for w in weights.values())
    separate = sum(context_bits([grid], **fitted) for grid in grids)
    torch.testing.assert_close(context_bits([batched], **fitted), separate, rtol=1e-5, atol=1e-3)
