"""The paper's activation set: complex WIRE, real Gabor, SIREN and Gaussian.

Each is an elementwise function of the pre-activation ``u``. The Gaussian
envelope's exponent is clamped: ``exp`` of large negative arguments hits
denormals and runs several times slower on CPU, and the result is 0 anyway.
"""

from __future__ import annotations

import torch

# exp(-60) ~ 1e-26: far below float32 resolution of anything it multiplies.
_MAX_EXPONENT = 60.0


def _envelope_exponent(u: torch.Tensor, s0: float) -> torch.Tensor:
    return torch.clamp((s0 * u).square(), max=_MAX_EXPONENT)


def gabor(u: torch.Tensor, omega0: float, s0: float) -> torch.Tensor:
    """Real Gabor wavelet ``cos(omega0 u) exp(-(s0 u)^2)``: the real part of WIRE on real input."""
    return torch.cos(omega0 * u) * torch.exp(-_envelope_exponent(u, s0))


def wire(u: torch.Tensor, omega0: float, s0: float) -> torch.Tensor:
    """Complex WIRE ``exp(j omega0 u - |s0 u|^2)``; real input gives complex output."""
    if not u.is_complex():
        return torch.polar(torch.exp(-_envelope_exponent(u, s0)), omega0 * u)
    re, im = u.real, u.imag
    # exp(j w (re + j im)) = exp(-w im) * exp(j w re); |s0 u|^2 = s0^2 (re^2 + im^2)
    exponent = torch.clamp(s0 * s0 * (re.square() + im.square()) + omega0 * im, min=-_MAX_EXPONENT, max=_MAX_EXPONENT)
    return torch.polar(torch.exp(-exponent), omega0 * re)


def siren(u: torch.Tensor, omega0: float, s0: float) -> torch.Tensor:
    """SIREN ``sin(omega0 u)``; ``s0`` is unused."""
    del s0
    return torch.sin(omega0 * u)


def gauss(u: torch.Tensor, omega0: float, s0: float) -> torch.Tensor:
    """Gaussian bump ``exp(-(s0 u)^2)``; ``omega0`` is unused."""
    del omega0
    return torch.exp(-_envelope_exponent(u, s0))


ACTIVATION_FUNCTIONS = {"wire": wire, "gabor": gabor, "siren": siren, "gauss": gauss}
