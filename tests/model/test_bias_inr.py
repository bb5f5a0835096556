"""The bias INR: a continuous function of time whose exact retime and hold the group chain relies on."""

from __future__ import annotations

import math

import pytest
import torch

from nvcodec.config import ModelConfig
from nvcodec.model.bias_inr import BiasINR
from nvcodec.model.frame_inr import FrameINR, frame_bias_widths
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
    assert not torch.equal(a(torch.tensor([0.3]))[0], make(4)(torch.tensor([0.3]))[0]), "another seed, another start"
    with torch.no_grad():
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


@pytest.mark.parametrize("activation", ["gabor", "wire"])
def test_each_head_starts_at_its_layers_initial_bias(activation):
    """Small head weights: every patch at every time begins within a few percent of the frame INR's own biases."""
    config = ModelConfig(**{**TINY_MODEL, "activation": activation})
    generator = torch.Generator().manual_seed(1)
    starts = FrameINR(5, config, generator).initial_biases(generator)
    with torch.no_grad():
        out = BiasINR(5, config, starts, generator)(torch.linspace(0, 1, 7))
    for bias, start, (width, is_complex) in zip(out, starts, frame_bias_widths(config), strict=True):
        assert bias.shape == (5, 7, width) and bias.is_complex() == is_complex == start.is_complex()
        assert float((bias - start).abs().mean()) < 0.05 * float(start.abs().mean())
    assert any(b.is_complex() for b in out) == (activation == "wire")


def test_the_fourier_features_of_time():
    model = make()
    frequencies = model.frequencies
    assert frequencies.shape == (CONFIG.rff_freqs,) and not frequencies.requires_grad
    assert "frequencies" in model.state_dict() and all(p is not frequencies for p in model.parameters())
    tau = torch.tensor([0.0, 0.3, 1.0])
    features = model.time_features(tau)
    phase = 2 * math.pi * tau[:, None] * frequencies[None, :]
    assert torch.allclose(features, torch.cat([torch.sin(phase), torch.cos(phase)], dim=-1))
    count = CONFIG.rff_freqs
    assert torch.equal(features[0], torch.cat([torch.zeros(count), torch.ones(count)]))
    assert torch.allclose(features[:, :count] ** 2 + features[:, count:] ** 2, torch.ones(3, count))


def test_rff_sigma_scales_the_frequencies_drawn():
    def frequencies(sigma: float) -> torch.Tensor:
        config = ModelConfig(**{**TINY_MODEL, "rff_sigma": sigma})
        starts = [torch.zeros(w) for w, _ in frame_bias_widths(config)]
        return BiasINR(2, config, starts, torch.Generator().manual_seed(4)).frequencies

    assert torch.allclose(frequencies(2.5), 2.5 * frequencies(1.0))


def test_latents_tell_the_patches_apart():
    model = make()
    out = model(torch.tensor([0.2, 0.9]))
    assert all(not torch.allclose(b[0], b[1]) for b in out)
    with torch.no_grad():
        model.latents[1] = model.latents[0]
    out = model(torch.tensor([0.2, 0.9]))
    assert all(torch.equal(b[0], b[1]) for b in out)


def test_observe_sees_each_linear_layer_by_its_weights_name():
    model = make()
    seen = {}
    out = model(torch.tensor([0.1, 0.5, 0.8]), observe=lambda name, x, y: seen.setdefault(name, (x, y)))
    assert list(seen) == ["trunk.weight", *(f"heads.{i}.weight" for i in range(len(out)))]
    for name, (inputs, outputs) in seen.items():
        layer = model.get_submodule(name.removesuffix(".weight"))
        assert inputs.shape[:2] == outputs.shape[:2] == (5, 3)
        assert torch.allclose(outputs, inputs @ layer.weight.T + layer.bias, atol=1e-6)


def test_gradients_reach_every_parameter_and_time():
    model = make()
    tau = torch.tensor([0.25, 0.75], requires_grad=True)
    sum(b.abs().square().sum() for b in model(tau)).backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and float(parameter.grad.abs().sum()) > 0, name
    assert tau.grad is not None and bool(torch.isfinite(tau.grad).all()) and float(tau.grad.abs().sum()) > 0
