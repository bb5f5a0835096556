"""The bias INR: a continuous function of time whose exact retime and hold the group chain relies on."""

from __future__ import annotations

import torch

from nvcodec.config import ModelConfig
from nvcodec.model.bias_inr import BiasINR
from nvcodec.model.frame_inr import frame_bias_widths
from tests.conftest import TINY_MODEL

CONFIG = ModelConfig(**TINY_MODEL)


def make(seed: int = 0) -> BiasINR:
    generator = torch.Generator().manual_seed(seed)
    widths = frame_bias_widths(CONFIG)
    starts = [torch.randn(w, dtype=torch.complex64 if c else torch.float32, generator=generator) for w, c in widths]
    return BiasINR(5, CONFIG, starts, generator)


def test_one_bias_per_layer_and_patch_at_any_time():
    times = torch.tensor([0.0, 0.25, 0.5001, 1.0])
    out = make()(times)
    assert len(out) == len(frame_bias_widths(CONFIG))
    for bias, (width, is_complex) in zip(out, frame_bias_widths(CONFIG)):
        assert bias.shape == (5, 4, width) and bias.is_complex() == is_complex


def test_seeded_and_continuous_in_time():
    a, b = make(3), make(3)
    assert all(torch.equal(x, y) for x, y in zip(a(torch.tensor([0.3])), b(torch.tensor([0.3]))))
    far = a(torch.tensor([0.3, 0.4]))
    near = a(torch.tensor([0.3, 0.3 + 1e-5]))  # a smaller step in time, a smaller step in every bias
    for x, y in zip(near, far):
        assert float((x[:, 1] - x[:, 0]).abs().max()) <= 0.01 * float((y[:, 1] - y[:, 0]).abs().max()) + 1e-6


def test_retime_is_a_change_of_the_time_axis():
    model = make()
    taus = torch.tensor([0.0, 0.4, 1.0])
    before = model(0.2 + 0.5 * taus)
    model.retime(0.2, 0.5)
    after = model(taus)
    assert all(torch.allclose(x, y, atol=1e-5) for x, y in zip(before, after))


def test_hold_freezes_time_at_its_value():
    model = make()
    at = model(torch.tensor([0.7]))
    model.hold(0.7)
    held = model(torch.tensor([0.0, 0.7, 1.0]))
    for frozen, value in zip(held, at):
        assert torch.allclose(frozen, value.expand_as(frozen), atol=1e-5)
