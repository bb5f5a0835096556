"""Per-channel uniform quantization: the step grid, the half-step bound, residuals, complex values and pruning."""

import pytest
import torch

from nvcodec.errors import ArgumentError
from nvcodec.model.tensors import Coding, Kind, TensorSpec
from nvcodec.quant.uniform import (
    EXPONENT_MAX,
    EXPONENT_MIN,
    STEP_MAX,
    STEP_MIN,
    exponent_steps,
    grid_steps,
    quantize_tensor,
    step_exponents,
)


def frame_spec(values: torch.Tensor) -> TensorSpec:
    """A per-patch weight matrix ``[P, in, out]`` like the frame INR's."""
    return TensorSpec(tuple(values.shape), values.is_complex(), Kind.FRAME, Coding.ANS, (0, 2), in_axis=1)


@pytest.mark.parametrize("bits", [4, 6, 8, 10])
def test_quantization_error_is_at_most_half_a_step_per_channel(bits):
    values = torch.randn(3, 5, 7) * torch.linspace(0.01, 3, 7)
    q = quantize_tensor(values, frame_spec(values), bits)
    assert q.steps.shape == (3, 1, 7)
    err = (q.dequantize() - values).abs()
    assert bool((err <= q.steps / 2 + 1e-6).all())
    # The peak of each channel is representable: steps round up to the grid, by less than one grid interval.
    levels = 2 ** (bits - 1) - 1
    assert levels / 2 ** (1 / 8) - 1 <= int(q.symbols.abs().max()) <= levels


def test_residual_keeps_the_step_and_shrinks_symbols():
    reference = torch.randn(4, 6, 8)
    values = reference + 0.01 * torch.randn(4, 6, 8)
    intra = quantize_tensor(values, frame_spec(values), 8)
    residual = quantize_tensor(values, frame_spec(values), 8, reference=reference)
    torch.testing.assert_close(residual.steps, intra.steps)
    assert residual.symbols.abs().max() < intra.symbols.abs().max() / 4
    assert float((residual.dequantize(reference) - values).abs().max()) <= float(intra.steps.max()) / 2 + 1e-6


def test_complex_tensors_quantize_both_parts():
    values = torch.randn(2, 3, 4, dtype=torch.complex64)
    q = quantize_tensor(values, frame_spec(values), 8)
    out = q.dequantize()
    assert out.is_complex() and out.shape == values.shape
    assert float((out - values).abs().max()) < 0.05


def test_pruning_zeroes_the_smallest_values():
    values = torch.randn(2, 10, 10)
    q = quantize_tensor(values, frame_spec(values), 8, prune=0.5)
    assert (q.symbols == 0).float().mean() >= 0.5


def test_complex_tensors_are_refused():
    with pytest.raises(ArgumentError):
        spec = TensorSpec((2, 3, 4), True, Kind.FRAME, Coding.ANS, (0, 2), in_axis=1)
        quantize_tensor(torch.randn(2, 3, 4, dtype=torch.complex64), spec, 8, hessian=torch.eye(3).expand(2, 3, 3))


def test_the_step_grid_is_exact_and_eight_per_octave():
    exponents = torch.arange(EXPONENT_MIN, EXPONENT_MAX + 1)
    steps = exponent_steps(exponents)
    assert torch.equal(steps, steps.half().float())  # every grid step is a float16 number, exact in float32
    assert torch.equal(step_exponents(steps), exponents)  # and its exponent comes back
    assert torch.equal(exponent_steps(exponents[:-8] + 8), 2 * steps[:-8])  # an octave is 8 exponents, exactly
    ratios = steps[1:] / steps[:-1]
    assert bool(((ratios - 2 ** (1 / 8)).abs() < 1e-3).all())
    assert (2.0**-14, float(steps[-1])) == (STEP_MIN, STEP_MAX)


def test_grid_steps_round_in_log_scale_and_up_when_asked():
    steps = torch.logspace(-12, 4, 997, base=2.0)
    nearest, up = grid_steps(steps), grid_steps(steps, up=True)
    assert bool((torch.log2(nearest / steps).abs() <= 1 / 16 + 1e-3).all())
    assert bool((up >= steps).all()) and bool((up / steps < 2 ** (1 / 8) + 1e-6).all())
    assert torch.equal(grid_steps(torch.tensor([1e-30, 1e30])), torch.tensor([STEP_MIN, STEP_MAX]))
