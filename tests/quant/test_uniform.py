"""Per-channel uniform quantization: the half-step bound, residuals, complex values and pruning."""

import pytest
import torch

from nvcodec.errors import ArgumentError
from nvcodec.model.tensors import Coding, Kind, TensorSpec
from nvcodec.quant.uniform import quantize_tensor


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
