"""The activation records: bounded, finite, and complete."""

import dataclasses

import pytest
import torch

from nvcodec.model import ACTIVATIONS


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_are_finite_and_bounded(name):
    u = torch.linspace(-50, 50, 1001)
    y = ACTIVATIONS[name].function(u, 5.0, 3.0)
    assert torch.isfinite(torch.view_as_real(y) if y.is_complex() else y).all()
    assert y.abs().max() <= 1.0 + 1e-6


def test_wire_real_part_is_gabor():
    u = torch.linspace(-2, 2, 101)
    torch.testing.assert_close(
        ACTIVATIONS["wire"].function(u, 5.0, 3.0).real, ACTIVATIONS["gabor"].function(u, 5.0, 3.0)
    )


def test_every_activation_record_is_complete():
    for name, record in ACTIVATIONS.items():
        assert dataclasses.is_dataclass(record) and callable(record.function), name
        assert record.first_layer_scale > 0 and record.hidden_gain > 0
        assert record.pre_activation_scale(5.0, 1.5) > 0
