"""The training priors: distributions over the integers whose bits, fitted by maximum likelihood, meet the
empirical entropy; the Laplace one prices symbols as the chunk's tables do."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nvcodec.entropy.context import LOG2_SCALE_MIN, LOG2_SCALE_STEP, PRECISION, SCALE_LEVELS, laplace_counts
from nvcodec.entropy.tensor_laplace import TensorLaplaceANS
from nvcodec.quant.ratemodel import COMPONENTS, PROBABILITY_FLOOR, SPREAD, LaplacePrior, SymbolPrior


def laplacian_integers(scale: float, count: int = 10_000, seed: int = 0) -> torch.Tensor:
    """Rounded zero-mean Laplacian samples: the shape of quantized weights and residuals."""
    return torch.from_numpy(np.round(np.random.default_rng(seed).laplace(0.0, scale, count))).float()


def entropy_bits_per_symbol(symbols: torch.Tensor) -> float:
    """Shannon entropy of ``symbols`` under their own histogram: the bound a count table lets ANS reach."""
    _, counts = np.unique(symbols.numpy(), return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def fitted(symbols: torch.Tensor, steps: int = 120) -> SymbolPrior:
    """A prior initialized on ``symbols`` and fitted to them by maximum likelihood (minimising their bits)."""
    prior = SymbolPrior()
    prior.initialize(symbols)
    optimizer = torch.optim.Adam(prior.parameters(), lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        (prior.bits(symbols) / symbols.numel()).backward()
        optimizer.step()
    return prior


def scrambled(seed: int = 0) -> SymbolPrior:
    """A prior with unequal random scales and weights, so no property below holds by symmetry of the start."""
    prior = SymbolPrior()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        prior.log_scales.copy_(torch.randn(COMPONENTS, generator=generator) * 2)
        prior.logits.copy_(torch.randn(COMPONENTS, generator=generator))
    return prior


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_probabilities_over_all_integers_sum_to_one(seed):
    prior = scrambled(seed).double()  # float64: the sum then measures the distribution, not float32 rounding
    widest = float(prior.log_scales.detach().exp().max())
    reach = int(40 * widest) + 10  # a logistic's tail past 40 scales is below e^-40
    integers = torch.arange(-reach, reach + 1, dtype=torch.float64)
    with torch.no_grad():
        probabilities = prior.probability(integers)
    assert float(probabilities.min()) >= PROBABILITY_FLOOR
    # Exactly 1 but for the floor, which lifts each bin of the far tails to 1e-9.
    assert float(probabilities.sum()) == pytest.approx(1.0, abs=integers.numel() * PROBABILITY_FLOOR + 1e-9)
    assert float(probabilities[reach]) == float(probabilities.max()), "the mode is 0"


def test_symmetric_about_zero_and_peaked_there():
    prior, wide = scrambled(3), scrambled(3).double()  # in float32 the positive side loses digits (next test)
    y = torch.arange(0, 40, dtype=torch.float32)
    with torch.no_grad():
        assert torch.allclose(wide.probability(y.double()), wide.probability(-y.double()), rtol=1e-9, atol=0)
        bits = torch.stack([prior.bits(v[None]) for v in y])
        assert torch.equal(bits, torch.stack([prior.bits(-v[None]) for v in y]))
    assert bool((bits[1:] >= bits[:-1]).all()), "a symbol further from 0 never costs fewer bits"


def test_bits_are_exact_far_out_where_the_positive_side_loses_its_digits():
    """At y = 20 with unit scales both float32 sigmoids on the positive side round to 1; bits() reads the other side."""
    prior = SymbolPrior()  # every component of scale 1, equal weights: one logistic
    exact = -math.log2(1 / (1 + math.exp(19.5)) - 1 / (1 + math.exp(20.5)))  # about 28.8 bits
    assert exact < -math.log2(PROBABILITY_FLOOR)
    with torch.no_grad():
        assert float(prior.bits(torch.tensor([20.0]))) == pytest.approx(exact, abs=0.01)
        assert float(prior.bits(torch.tensor([-20.0]))) == pytest.approx(exact, abs=0.01)
        assert float(prior.bits(torch.tensor([1e6]))) == pytest.approx(-math.log2(PROBABILITY_FLOOR), rel=1e-4)


def test_bits_add_up_over_symbols():
    prior = scrambled(4)
    symbols = torch.tensor([0.0, 3.0, -7.0, 1.0, 0.0])
    with torch.no_grad():
        each = sum(float(prior.bits(s[None])) for s in symbols)
        assert float(prior.bits(symbols)) == pytest.approx(each, rel=1e-5)
        assert float(prior.bits(symbols[:0])) == 0.0


def test_initialize_centres_the_scales_on_the_symbols_spread():
    symbols = laplacian_integers(6.0)
    prior = scrambled(5)
    prior.initialize(symbols)
    scales = prior.log_scales.detach().exp()
    middle = scales[COMPONENTS // 2]
    # A logistic of scale s has mean absolute value 2 ln(2) s: the middle one matches the symbols'.
    assert float(2 * math.log(2) * middle) == pytest.approx(float(symbols.abs().mean()), rel=1e-5)
    assert torch.allclose(scales[1:] / scales[:-1], torch.full((COMPONENTS - 1,), SPREAD))
    assert torch.equal(prior.logits.detach(), torch.zeros(COMPONENTS))
    # All-zero symbols still get a usable width (the spread is floored at 1/2), and continuous values are allowed.
    prior.initialize(torch.zeros(10))
    assert float(2 * math.log(2) * prior.log_scales.detach().exp()[COMPONENTS // 2]) == pytest.approx(0.5)
    prior.initialize(torch.tensor([0.25, -0.75, 2.5]))
    assert bool(torch.isfinite(prior.log_scales).all())


@pytest.mark.parametrize("scale", [0.6, 3.0, 25.0])
def test_fitted_bits_meet_the_empirical_entropy_of_laplacian_integers(scale):
    symbols = laplacian_integers(scale)
    entropy = entropy_bits_per_symbol(symbols)
    initialized = SymbolPrior()
    initialized.initialize(symbols)
    prior = fitted(symbols)
    with torch.no_grad():
        start = float(initialized.bits(symbols)) / symbols.numel()
        bits = float(prior.bits(symbols)) / symbols.numel()
    # A model's cross-entropy is never below the data's own entropy; maximum likelihood brings it within 2 %.
    assert entropy - 1e-3 <= bits <= 1.02 * entropy
    assert bits < start <= 1.15 * entropy, "initialize() starts close, the fit closes the rest"


def test_gradients_reach_the_scales_the_weights_and_the_symbols():
    prior = scrambled(6)
    symbols = torch.tensor([-4.3, -0.2, 0.0, 0.6, 2.0, 9.5], requires_grad=True)
    prior.bits(symbols).backward()
    for gradient in (prior.log_scales.grad, prior.logits.grad, symbols.grad):
        assert gradient is not None and bool(torch.isfinite(gradient).all())
    assert float(prior.log_scales.grad.abs().sum()) > 0 and float(prior.logits.grad.abs().sum()) > 0
    # A symbol moving away from zero costs more bits: the rate term pulls every symbol towards 0.
    away = symbols.grad[symbols.detach() != 0] * symbols.detach()[symbols.detach() != 0].sign()
    assert bool((away > 0).all())


def laplace(scale: float) -> LaplacePrior:
    prior = LaplacePrior().double()
    with torch.no_grad():
        prior.log_scale.fill_(math.log(scale))
    return prior


def exact_laplace_mass(y: torch.Tensor, scale: float) -> torch.Tensor:
    """The mass of ``[y - 1/2, y + 1/2]`` under a zero-mean Laplace, from its distribution function."""

    def cdf(x: torch.Tensor) -> torch.Tensor:
        return torch.where(x < 0, 0.5 * torch.exp(x / scale), 1 - 0.5 * torch.exp(-x / scale))

    return cdf(y + 0.5) - cdf(y - 0.5)


@pytest.mark.parametrize("scale", [0.04, 0.3, 1.0, 7.0, 60.0])
def test_laplace_prior_is_the_discretized_laplace_and_sums_to_one(scale):
    integers = torch.arange(-4000, 4001, dtype=torch.float64)
    noisy = torch.linspace(-30, 30, 1201, dtype=torch.float64)  # between the integers too: noise, soft rounding
    prior = laplace(scale)
    with torch.no_grad():
        probabilities = prior.probability(integers)
        assert torch.allclose(prior.probability(noisy), exact_laplace_mass(noisy, scale).clamp(min=PROBABILITY_FLOOR))
    assert float(probabilities.min()) == pytest.approx(PROBABILITY_FLOOR)  # the floor, through exp2(log2(...))
    assert float(probabilities.sum()) == pytest.approx(1.0, abs=integers.numel() * PROBABILITY_FLOOR + 1e-9)


def test_laplace_prior_prices_integers_as_the_chunks_tables_at_the_level_of_its_scale():
    # Training and coding price a symbol alike: at the centre scale of each coder level, the bits of every
    # symbol the table holds (its mass well above the table's resolution) are the table's own.
    for level in (5, 20, 40, 60):
        scale = 2 ** (LOG2_SCALE_MIN + (level + 0.5) * LOG2_SCALE_STEP)
        counts = laplace_counts(64, level)
        table_bits = torch.from_numpy(PRECISION - np.log2(counts.astype(np.float64)))
        symbols = torch.arange(-64, 65, dtype=torch.float64)
        with torch.no_grad():
            bits = laplace(scale).bits_each(symbols)
        resolved = torch.from_numpy(counts >= 64)  # 64 counts of 2^PRECISION: rounding moves them under 1 %
        resolved[[0, -1]] = False  # the table's end symbols hold the tail beyond them too
        assert bool(resolved.any()), level
        assert torch.allclose(bits[resolved], table_bits[resolved], atol=0.02), level
    assert SCALE_LEVELS == 64
    assert isinstance(TensorLaplaceANS().rate_model(), LaplacePrior)


def test_laplace_prior_bits_are_linear_past_half_a_step_and_its_spread_scales_it():
    prior = laplace(2.0)
    y = torch.tensor([0.5, 1.0, 4.0, 9.5, 20.0], dtype=torch.float64)
    with torch.no_grad():
        bits = prior.bits_each(y)
        slopes = (bits[1:] - bits[:-1]) / (y[1:] - y[:-1])
        assert torch.allclose(slopes, torch.full_like(slopes, 1 / (2.0 * math.log(2))))
        assert torch.equal(prior.bits_each(-y), bits)
        spread = torch.full_like(y, 3.0)
        assert torch.allclose(prior.bits_each(y, spread), laplace(6.0).bits_each(y))
        assert float(prior.bits(y)) == pytest.approx(float(bits.sum()))
        assert float(prior.bits(torch.tensor([1e6], dtype=torch.float64))) == pytest.approx(
            -math.log2(PROBABILITY_FLOOR)
        )


@pytest.mark.parametrize("scale", [0.6, 3.0, 25.0])
def test_laplace_prior_fitted_meets_the_entropy_of_laplacian_integers(scale):
    symbols = laplacian_integers(scale)
    entropy = entropy_bits_per_symbol(symbols)
    prior = LaplacePrior()
    prior.initialize(symbols)
    start = float(prior.bits(symbols).detach()) / symbols.numel()
    optimizer = torch.optim.Adam(prior.parameters(), lr=0.05)
    for _ in range(60):
        optimizer.zero_grad()
        (prior.bits(symbols) / symbols.numel()).backward()
        optimizer.step()
    bits = float(prior.bits(symbols).detach()) / symbols.numel()
    assert entropy - 1e-3 <= bits <= 1.01 * entropy
    assert bits <= start + 1e-4 and start <= 1.03 * entropy, "initialize() starts at the maximum-likelihood scale"


def test_laplace_prior_gradients_are_finite_everywhere_and_pull_towards_zero():
    prior = LaplacePrior()
    symbols = torch.tensor([-1e4, -4.3, -0.5, -0.2, 0.0, 0.3, 0.5, 0.7, 9.5], requires_grad=True)
    spread = torch.full((9,), 0.7, requires_grad=True)
    prior.bits(symbols, spread).backward()
    for gradient in (prior.log_scale.grad, symbols.grad, spread.grad):
        assert gradient is not None and bool(torch.isfinite(gradient).all())
    moving = symbols.detach().abs() < 1e3  # the floored tail has no gradient
    nonzero = moving & (symbols.detach() != 0)
    assert bool((symbols.grad[nonzero] * symbols.detach()[nonzero].sign() > 0).all())
    assert float(symbols.grad[symbols.detach() == 0]) == 0.0
