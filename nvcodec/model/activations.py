"""The paper's activation set: complex WIRE, real Gabor, SIREN and Gaussian, one record each.

A record holds everything that depends on the choice: the elementwise
function of the pre-activation ``u``, whether it makes the hidden layers
complex, and the initialization that keeps units alive (see
:mod:`nvcodec.model.frame_inr`). :mod:`nvcodec.config` validates names against
:data:`ACTIVATIONS`, so adding an activation touches this file only.

The functions import torch when called, not when this module is imported: a
configuration (and so an ``.actv`` header) can be validated without loading torch.

The Gaussian envelope's exponent is clamped: ``exp`` of large negative
arguments hits denormals and runs several times slower on CPU, and the result
is 0 anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

MAX_EXPONENT = 60.0
"""Clamp of the envelope's exponent: exp(-60) ~ 1e-26, far below float32 resolution of what it multiplies."""


def _envelope_exponent(u: torch.Tensor, s0: float) -> torch.Tensor:
    import torch

    return torch.clamp((s0 * u).square(), max=MAX_EXPONENT)


def gabor(u: torch.Tensor, omega0: float, s0: float) -> torch.Tensor:
    """Real Gabor wavelet ``cos(omega0 u) exp(-(s0 u)^2)``: the real part of WIRE on real input."""
    import torch

    return torch.cos(omega0 * u) * torch.exp(-_envelope_exponent(u, s0))


def wire(u: torch.Tensor, omega0: float, s0: float) -> torch.Tensor:
    """Complex WIRE ``exp(j omega0 u - |s0 u|^2)``; real input gives complex output."""
    import torch

    if not u.is_complex():
        return torch.polar(torch.exp(-_envelope_exponent(u, s0)), omega0 * u)
    re, im = u.real, u.imag
    # exp(j w (re + j im)) = exp(-w im) * exp(j w re); |s0 u|^2 = s0^2 (re^2 + im^2)
    exponent = torch.clamp(s0 * s0 * (re.square() + im.square()) + omega0 * im, min=-MAX_EXPONENT, max=MAX_EXPONENT)
    return torch.polar(torch.exp(-exponent), omega0 * re)


def siren(u: torch.Tensor, omega0: float, s0: float) -> torch.Tensor:
    """SIREN ``sin(omega0 u)``; ``s0`` is unused."""
    import torch

    del s0
    return torch.sin(omega0 * u)


def gauss(u: torch.Tensor, omega0: float, s0: float) -> torch.Tensor:
    """Gaussian bump ``exp(-(s0 u)^2)``; ``omega0`` is unused."""
    import torch

    del omega0
    return torch.exp(-_envelope_exponent(u, s0))


@dataclass(frozen=True)
class Activation:
    """One frame-INR nonlinearity and how to initialize the layers around it.

    A Gabor unit is a wavelet at position ``-b/|w|`` (in patch coordinates
    [-1, 1]) with frequency ``omega0 |w|`` and width ``1 / (s0 |w|)``. Units
    whose envelope misses the patch never receive a gradient, so the first
    layer spreads positions over the patch with weights of at most
    ``first_layer_scale``, and hidden layers keep pre-activations inside the
    envelope, as SIREN keeps them inside one period of its sine.
    """

    function: Callable[[torch.Tensor, float, float], torch.Tensor]
    """``function(u, omega0, s0)``, elementwise."""
    complex: bool
    """Hidden layers (after the first) hold complex weights and activations."""
    first_layer_scale: float
    """Bound of the uniform first-layer weights and biases on (y, x) in [-1, 1]."""
    pre_activation_scale: Callable[[float, float], float]
    """``(omega0, s0) -> k``: hidden pre-activations start at about ``1/k``, inside the envelope or period."""
    hidden_gain: float = 2.0
    """Multiplies the hidden layers' uniform bound ``sqrt(6 / fan_in) / k``."""


def _envelope_scale(omega0: float, s0: float) -> float:
    return max(omega0, s0)


def _period_scale(omega0: float, s0: float) -> float:
    return omega0


ACTIVATIONS: dict[str, Activation] = {
    "wire": Activation(wire, complex=True, first_layer_scale=2.0, pre_activation_scale=_envelope_scale),
    "gabor": Activation(gabor, complex=False, first_layer_scale=2.0, pre_activation_scale=_envelope_scale),
    "siren": Activation(siren, complex=False, first_layer_scale=6.0, pre_activation_scale=_period_scale),
    "gauss": Activation(gauss, complex=False, first_layer_scale=2.0, pre_activation_scale=_envelope_scale),
}
