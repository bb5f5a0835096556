"""What rounding costs in the decoded frames: measure_sensitivity()'s sensitivities and Hessians."""

import pytest
import torch

from nvcodec.model.tensors import Kind
from nvcodec.quant import sensitivity as sensitivity_module
from nvcodec.quant.sensitivity import measure_sensitivity, output_sensitivity
from nvcodec.quant.uniform import peak_steps
from tests.conftest import make_group, render_unclamped


def hessian_shape(shape: tuple[int, ...], kind: Kind) -> tuple[int, ...]:
    """One ``[in, in]`` matrix per output channel, and per patch for the frame INR's ``[P, in, out]`` weights."""
    if kind is Kind.FRAME:
        patches, inputs, outputs = shape
        return (patches, outputs, inputs, inputs)
    outputs, inputs = shape
    return (outputs, inputs, inputs)


@pytest.mark.parametrize("activation", ["gabor", "wire"])
def test_shapes_follow_the_tensor_table(activation):
    group = make_group(activation)
    cost = measure_sensitivity(group, probes=2)
    quantized = {name: spec for name, spec in group.tensors.items() if spec.quantized}
    assert sorted(cost.sensitivity) == sorted(quantized)
    for name, spec in quantized.items():
        assert cost.sensitivity[name].shape == spec.step_shape, name
        assert cost.sensitivity[name].dtype == torch.float32 and bool((cost.sensitivity[name] >= 0).all()), name
    # Every real weight matrix (one with an input axis); complex ones are rounded to nearest.
    matrices = {n: s for n, s in quantized.items() if s.in_axis is not None and not s.complex}
    assert sorted(cost.hessians) == sorted(matrices)
    for name, spec in matrices.items():
        assert cost.hessians[name].shape == hessian_shape(spec.shape, spec.kind), name


def test_the_measurement_is_deterministic_for_a_seed_and_leaves_the_group_alone():
    group = make_group()
    before = {n: t.clone() for n, t in group.state_dict().items()}
    a, b, c = (
        measure_sensitivity(group, probes=2, seed=3),
        measure_sensitivity(group, probes=2, seed=3),
        measure_sensitivity(group, probes=2, seed=4),
    )
    for name in a.sensitivity:
        assert torch.equal(a.sensitivity[name], b.sensitivity[name]), name
    for name in a.hessians:
        assert torch.equal(a.hessians[name], b.hessians[name]), name
    assert any(not torch.equal(a.sensitivity[n], c.sensitivity[n]) for n in a.sensitivity), "another seed, other probes"
    assert all(torch.equal(before[n], t) for n, t in group.state_dict().items())
    assert all(p.grad is None for p in group.parameters())
    sensitivity = output_sensitivity(group, probes=2, seed=3)
    assert all(torch.equal(sensitivity[n], a.sensitivity[n]) for n in a.sensitivity)


def test_chunked_moments_equal_one_pass(monkeypatch):
    """The Hessians are summed over chunks of samples; the chunk size changes rounding only."""
    group = make_group()
    whole = measure_sensitivity(group, probes=2)
    monkeypatch.setattr(sensitivity_module, "MOMENT_CHUNK", 1 << 10)
    chunked = measure_sensitivity(group, probes=2)
    for name in whole.hessians:
        torch.testing.assert_close(chunked.hessians[name], whole.hessians[name], rtol=1e-4, atol=1e-9)


def test_large_frames_are_measured_on_a_coarser_grid(monkeypatch):
    """Above SAMPLE_PIXELS per frame the same continuous frames are sampled more coarsely: same shapes, similar values."""
    group = make_group()
    native = measure_sensitivity(group, probes=8)
    monkeypatch.setattr(sensitivity_module, "SAMPLE_PIXELS", 40 * 56 // 4)
    coarse = measure_sensitivity(group, probes=8)
    for name, values in native.sensitivity.items():
        assert coarse.sensitivity[name].shape == values.shape
    total = sum(float(v.sum()) for v in native.sensitivity.values())
    assert 0.5 < sum(float(v.sum()) for v in coarse.sensitivity.values()) / total < 2


@pytest.mark.parametrize("name", ["frame_inr.weights.0", "bias_inr.heads.0.weight"])
def test_sensitivity_predicts_the_output_error_of_small_perturbations(name):
    group = make_group()
    sensitivity = output_sensitivity(group, probes=64)
    param = dict(group.named_parameters())[name]
    assert sensitivity[name].shape == peak_steps(param.detach(), group.tensors[name], 8).shape
    base = render_unclamped(group)
    generator = torch.Generator().manual_seed(1)
    eps = 1e-3
    measured = []
    for _ in range(8):
        noise = (torch.randint(0, 2, param.shape, generator=generator) * 2 - 1).float() * eps
        with torch.no_grad():
            param.add_(noise)
            measured.append(float((render_unclamped(group) - base).square().mean()))
            param.sub_(noise)
    predicted = float(sensitivity[name].expand(param.shape).sum()) * eps**2
    # Cross terms of random-sign noise average out: the mean of a few draws is within a factor of 2.
    assert 0.5 * predicted < sum(measured) / len(measured) < 2 * predicted


def test_hessians_cover_every_real_weight_matrix():
    group = make_group()
    cost = measure_sensitivity(group, probes=32)
    weights = {n: p for n, p in group.named_parameters() if n.endswith("weight") or ".weights." in n}
    assert sorted(cost.hessians) == sorted(weights)
    for name, h in cost.hessians.items():
        w = weights[name]
        # One [in, in] matrix per output channel (and per patch for frame-INR weights).
        expected = (
            (w.shape[0], w.shape[2], w.shape[1], w.shape[1]) if w.ndim == 3 else (w.shape[0], w.shape[1], w.shape[1])
        )
        assert h.shape == expected
        torch.testing.assert_close(h, h.transpose(-1, -2))
        # Its diagonal estimates each weight's sensitivity (another estimator of the same
        # expectation, so they agree up to probe noise).
        diagonal = torch.diagonal(h, dim1=-2, dim2=-1).mean(-1)
        channel = cost.sensitivity[name].squeeze(-2 if w.ndim == 3 else -1)
        assert 0.7 < float(diagonal.sum() / channel.sum()) < 1.4, name
    # Complex WIRE layers are rounded to nearest: no Hessian for them.
    assert "frame_inr.weights.1" not in measure_sensitivity(make_group("wire"), probes=1).hessians
