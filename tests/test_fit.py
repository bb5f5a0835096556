import dataclasses

import numpy as np
import pytest
import torch

from nvcodec.config import Config
from nvcodec.errors import ActvError, DeviceError, InputError
from nvcodec.fit import fit_video
from nvcodec.metrics import psnr
from tests.conftest import TINY, moving_square_clip

FIT = {**TINY, "hidden": 16, "patch": 32, "overlap": 8, "hyper_hidden": 16, "batch_pixels": 4096}
"""The tiny model a little wider, with larger patches and batches: the PSNR bound below was set for it."""


def tiny_config(**overrides) -> Config:
    settings = {**FIT, "iters": 150, "iters_warm": 100, "group_size": 3, "device": "cpu", **overrides}
    return Config.preset("fast", **settings)


@pytest.mark.slow
def test_tiny_clip_reaches_stated_psnr(tiny_clip):
    """48x48x6, two groups, a few seconds of CPU: the fit must be far above a flat image (~14 dB)."""
    progress = []
    result = fit_video(tiny_clip, tiny_config(iters=300, iters_warm=200), callback=progress.append)
    with torch.no_grad():
        decoded = result.model.render(list(range(6)))
    assert psnr(decoded, tiny_clip) >= 25.0
    assert len(result.model.groups) == 2
    assert progress[-1].group == 1 and progress[-1].iteration == progress[-1].iterations == 200
    assert all(np.isfinite(p.psnr) for p in progress)


@pytest.mark.slow
def test_same_seed_same_parameters(tiny_clip):
    a = fit_video(tiny_clip, tiny_config(iters=20, iters_warm=10)).model.state_dict()
    b = fit_video(tiny_clip, tiny_config(iters=20, iters_warm=10)).model.state_dict()
    c = fit_video(tiny_clip, tiny_config(iters=20, iters_warm=10, seed=1)).model.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.slow
def test_masked_pixels_do_not_influence_the_fit(tiny_clip):
    mask = np.ones(tiny_clip.shape[:3], dtype=bool)
    mask[:, 10:30, 5:25] = False
    other = tiny_clip.copy()
    other[~mask] = np.random.default_rng(1).random((int((~mask).sum()), 3), dtype=np.float32)
    other[0, 12, 7] = np.nan  # even NaN in an unknown pixel must not leak in
    config = tiny_config(iters=30, iters_warm=20)
    a = fit_video(tiny_clip, config, mask=mask).model.state_dict()
    b = fit_video(np.nan_to_num(other), config, mask=mask).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_mask_changes_the_fit(tiny_clip):
    mask = np.ones(tiny_clip.shape[:3], dtype=bool)
    mask[:, 10:30, 5:25] = False
    config = tiny_config(iters=30, iters_warm=20)
    a = fit_video(tiny_clip, config).model.state_dict()
    b = fit_video(tiny_clip, config, mask=mask).model.state_dict()
    assert not all(torch.equal(a[k], b[k]) for k in a)


def test_training_on_even_frames_spans_the_whole_timeline(tiny_clip):
    result = fit_video(tiny_clip[::2], tiny_config(iters=20, iters_warm=10), times=[0, 2, 4])
    assert result.model.num_frames == 5
    with torch.no_grad():
        assert result.model.render(3.0).shape == (48, 48, 3)


def test_uint8_input_is_accepted(tiny_clip):
    frames = np.rint(tiny_clip * 255).astype(np.uint8)
    assert fit_video(frames, tiny_config(iters=2, iters_warm=1)).model.num_frames == 6


@pytest.mark.parametrize(
    ("frames", "kwargs"),
    [
        (np.zeros((0, 8, 8, 3), np.float32), {}),
        (np.zeros((2, 8, 8), np.float32), {}),
        (np.full((2, 8, 8, 3), np.inf, np.float32), {}),
        (np.zeros((2, 8, 8, 3), np.int32), {}),
        (np.zeros((2, 8, 8, 3), np.float32), {"mask": np.zeros((2, 8, 8), bool)}),
        (np.zeros((2, 8, 8, 3), np.float32), {"mask": np.ones((3, 8, 8), bool)}),
        (np.zeros((2, 8, 8, 3), np.float32), {"times": [0, 0]}),
        (np.zeros((2, 8, 8, 3), np.float32), {"times": [1, 2]}),
    ],
)
def test_bad_inputs_raise_input_error(frames, kwargs):
    with pytest.raises(InputError):
        fit_video(frames, tiny_config(iters=1, iters_warm=1), **kwargs)


def test_missing_cuda_is_a_device_error(tiny_clip):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DeviceError):
        fit_video(tiny_clip, tiny_config(device="cuda"))
    assert issubclass(DeviceError, ActvError)


def test_compiled_fits_specialise_to_each_groups_shapes(tiny_clip, monkeypatch):
    """Symbolic-shape kernels (torch's default after a shape change) round unlike a fresh process's:
    a resumed encode would write other bytes. The fit's loss is compiled for static shapes."""
    from nvcodec import fit

    calls = []
    monkeypatch.setattr(torch, "compile", lambda function, **options: calls.append(options) or function)
    fit.compiled_step_loss.cache_clear()
    try:
        config = Config.preset("fast", **{**TINY, "compile": True}, iters=2, iters_warm=2, group_size=2)
        fit_video(tiny_clip[:5], config)
    finally:
        fit.compiled_step_loss.cache_clear()  # the next caller compiles with the real torch.compile
    assert calls and all(options.get("dynamic") is False for options in calls)


@pytest.mark.slow
def test_compiled_and_eager_fits_agree_and_groups_share_one_graph():
    """The compiled step is the eager one, faster: the same fit within float tolerance. Groups of one shape
    share the compiled graph (a graph per group would recompile every group, and past torch's limit of 8
    fall back to eager mode in the middle of an encode). Pixels are drawn uniformly here: drawn by their
    errors, a last-digit difference between the two losses moves a draw, and the fits part further than
    rounding (``tests/test_error_sampling.py`` compares the two losses' per-pixel errors directly)."""
    from torch._dynamo.utils import counters

    clip = moving_square_clip(13, 24, 24)
    config = Config.preset("fast", **TINY, iters=40, iters_warm=20, group_size=2, device="cpu", error_sampling=0.0)
    eager = fit_video(clip, config)
    torch._dynamo.reset()
    counters.clear()
    compiled = fit_video(clip, dataclasses.replace(config, fit=dataclasses.replace(config.fit, compile=True)))
    assert counters["stats"]["unique_graphs"] == 1, "six groups of one shape, one graph"
    with torch.no_grad():
        a, b = eager.model.render(list(range(13))), compiled.model.render(list(range(13)))
    assert (a - b).abs().max() < 2e-2
    assert abs(psnr(a.numpy(), clip) - psnr(b.numpy(), clip)) < 0.1


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("compile_", [False, True])
def test_a_cuda_fit_agrees_with_the_cpu_fit(compile_):
    clip = moving_square_clip(7, 24, 24)
    config = Config.preset("fast", **{**TINY, "compile": compile_}, iters=40, iters_warm=20, group_size=3)
    on = {device: fit_video(clip, dataclasses.replace(config, fit=dataclasses.replace(config.fit, device=device)))
          for device in ("cpu", "cuda")}  # fmt: skip
    with torch.no_grad():
        a, b = (on[d].model.render(list(range(7))).cpu() for d in ("cpu", "cuda"))
    assert abs(psnr(a.numpy(), clip) - psnr(b.numpy(), clip)) < 0.2


def test_bf16_autocast_trains_every_step(tiny_clip, monkeypatch):
    """bf16 autocast keeps its bf16 copies of the weights until its region ends: a region around the
    whole fit trained on the first step's weights for ever (an H200 fit sat at 4.8 dB). The region must
    close every step. CPU has no bf16 mode of its own, so this runs the CUDA mode's autocast on CPU."""

    from nvcodec import fit

    def cpu_bf16(device, mode):
        return torch.autocast("cpu", dtype=torch.bfloat16)

    def final_loss() -> float:
        losses: list[float] = []
        fit_video(tiny_clip[:3], tiny_config(iters=40, precision="bf16"), callback=lambda p: losses.append(p.loss))
        return losses[-1]

    plain = final_loss()
    monkeypatch.setattr(fit, "autocast", cpu_bf16)
    assert final_loss() < 1.5 * plain  # stale weights ended at 4x


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_bf16_cuda_fit_agrees_with_fp32():
    clip = moving_square_clip(7, 24, 24)
    config = Config.preset("fast", **TINY, iters=60, iters_warm=30, group_size=3, device="cuda")
    quality = {}
    for mode in ("fp32", "bf16"):
        result = fit_video(clip, dataclasses.replace(config, fit=dataclasses.replace(config.fit, precision=mode)))
        with torch.no_grad():
            quality[mode] = psnr(result.model.render(list(range(7))).cpu().numpy(), clip)
    assert quality["bf16"] > quality["fp32"] - 1.0


def test_learning_rate_schedules():
    from nvcodec.config import FitConfig
    from nvcodec.fit import learning_rate

    plain = FitConfig(lr=1e-2, lr_final_factor=0.1, lr_schedule="exponential", lr_warmup=0.0)
    assert [learning_rate(plain, i, 100) for i in (0, 50)] == [1e-2, 1e-2 * 0.1**0.5]  # the schedule of old
    cosine = FitConfig(lr=1e-2, lr_final_factor=0.1, lr_schedule="cosine", lr_warmup=0.1)
    rates = [learning_rate(cosine, i, 100) for i in range(100)]
    assert rates[:10] == sorted(rates[:10]) and rates[0] < 2e-3, "warm-up rises from near 0"
    assert rates[10] == pytest.approx(1e-2) and rates[10:] == sorted(rates[10:], reverse=True)
    assert rates[-1] == pytest.approx(1e-3, rel=0.01)
