"""Rate in the loss: the stand-in for rounding, the rate estimate, learned steps and the quality knob."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch.func import functional_call

from nvcodec.config import Config, QuantConfig
from nvcodec.errors import ArgumentError
from nvcodec.fit import GroupFit
from nvcodec.model.tensors import Coding
from nvcodec.options import EncodeOptions
from nvcodec.payload import unpack_group
from nvcodec.quant import rdtrain
from nvcodec.quant.ratemodel import SymbolPrior
from nvcodec.quant.rdtrain import RateTerm, lambda_for_quality, new_frames, soft_round, straight_through
from nvcodec.quant.uniform import STEP_MIN, as_real, channel_peaks
from nvcodec.recipe.group_coding import code_with_rate, train_with_rate
from nvcodec.recipe.quality import RateTrade
from tests.conftest import FITTED_CONFIG, TINY, make_group, moving_square_clip


def test_quality_maps_to_lambda_on_a_decade_scale():
    assert lambda_for_quality(30) == pytest.approx(1e-3)
    assert lambda_for_quality(20) / lambda_for_quality(30) == pytest.approx(10)
    with pytest.raises(ValueError, match="finite"):
        lambda_for_quality(math.inf)


def test_rate_trade_checks_its_settings():
    assert RateTrade.for_quality(30).lambda_ == pytest.approx(1e-3)
    with pytest.raises(ArgumentError, match="lambda"):
        RateTrade(0.0)
    with pytest.raises(ArgumentError, match="share"):
        RateTrade(1e-3, share=0.0)
    with pytest.raises(ArgumentError, match="finite"):
        RateTrade.for_quality(math.nan)


def test_soft_round_goes_from_identity_to_rounding():
    y = torch.tensor([-2.4, -1.3, -0.2, 0.1, 0.7, 1.9])
    assert torch.allclose(soft_round(y, 1e-3), torch.round(y), atol=1e-3)
    assert torch.allclose(soft_round(y, 50.0), y, atol=1e-3)
    # Integers and half-integers are fixed points at every temperature.
    fixed = torch.tensor([-2.0, -1.5, 0.0, 0.5, 1.0])
    assert torch.allclose(soft_round(fixed, 0.3), fixed, atol=1e-6)


def test_straight_through_passes_the_gradient_of_the_value():
    value = torch.tensor([0.3, 1.7], requires_grad=True)
    out = straight_through(value, torch.round(value))
    assert out.tolist() == [0.0, 2.0]
    out.sum().backward()
    assert value.grad.tolist() == [1.0, 1.0]


def test_the_prior_is_a_distribution_over_integers_and_fits_its_symbols():
    prior = SymbolPrior()
    symbols = torch.from_numpy(np.random.default_rng(0).laplace(0, 3, 20000).round())
    prior.initialize(symbols)
    integers = torch.arange(-400, 401, dtype=torch.float32)
    with torch.no_grad():
        assert float(prior.probability(integers).sum()) == pytest.approx(1.0, abs=1e-4)
    optimizer = torch.optim.Adam(prior.parameters(), lr=0.05)
    for _ in range(200):
        optimizer.zero_grad()
        prior.bits(symbols).backward()
        optimizer.step()
    _, counts = np.unique(symbols.numpy(), return_counts=True)
    entropy = float(-(counts * np.log2(counts / counts.sum())).sum())
    # Cross-entropy is never below the empirical entropy, and a fitted mixture sits close above it.
    assert entropy <= float(prior.bits(symbols).detach()) <= 1.02 * entropy


def test_a_group_adds_its_span_and_the_first_also_its_first_frame():
    assert new_frames(make_group(start=0, end=4)) == 5
    assert new_frames(make_group(start=4, end=8)) == 4


def _term(group, reference=None, lambda_=1e-2):
    return RateTerm(group, QuantConfig(), reference, lambda_, torch.Generator().manual_seed(0))


def test_residual_rate_is_far_below_intra_rate_for_an_unchanged_group():
    group = make_group()
    intra = _term(group)
    residual = _term(group, reference={n: t.detach().clone() for n, t in group.state_dict().items()})
    # Every residual is 0; even the untrained prior prices a 0 at under half a bit.
    assert residual.estimated_bits() < 0.1 * intra.estimated_bits()
    assert float(residual.stand_ins(0.99)[1].detach()) < 0.1 * float(intra.stand_ins(0.99)[1].detach())


def test_the_stages_run_on_stand_ins_and_the_last_on_the_decoded_values():
    group = make_group()
    term = _term(group)
    coords = torch.rand(group.grid.num_patches, 1, 16, 2) * 2 - 1
    taus = torch.tensor([0.0, 0.5])
    with torch.no_grad():
        plain = group(coords, taus)
    noise, soft = rdtrain.NOISE_END / 2, (rdtrain.NOISE_END + rdtrain.SOFT_END) / 2
    for progress in (noise, soft):  # noise, then soft rounding with noise: not the plain output
        state, penalty = term.stand_ins(progress)
        assert not torch.allclose(functional_call(group, state, (coords, taus)), plain)
        assert penalty.requires_grad and float(penalty.detach()) > 0
    state, _ = term.stand_ins((1 + rdtrain.SOFT_END) / 2)  # hard rounding: the values the encoder writes
    decoded = copy.deepcopy(group)
    steps = term.steps()
    with torch.no_grad():
        for name, parameter in decoded.named_parameters():
            if name in steps:
                parameter.copy_(torch.round(parameter / steps[name]).clamp(-2047, 2047) * steps[name])
        assert torch.allclose(functional_call(group, state, (coords, taus)), decoded(coords, taus), atol=1e-5)


def test_steps_stay_coarse_enough_that_no_symbol_clips():
    # Clipped numbers give a step no gradient to grow back, so the rate term could drive it ever finer:
    # at high qualities the first layer's steps did, and a higher quality gave a lower PSNR.
    group = make_group()
    term = _term(group)
    with torch.no_grad():
        for log_step in term.log_steps.values():
            log_step.fill_(math.log(STEP_MIN))
    params = dict(group.named_parameters())
    steps = term.steps()
    clipped_without_floor = False
    for name, step in steps.items():
        real = as_real(params[name].detach()).float()
        assert float((real / step).abs().max()) <= term.limits[name], name
        clipped_without_floor |= float(real.abs().max()) / STEP_MIN > term.limits[name]
    assert clipped_without_floor
    assert float(term._symbols().abs().max()) < float(term.limit.max())


def test_the_flat_stand_ins_index_each_tensor_by_its_own_channels():
    # One gather gives every number its channel's step and one scatter every channel its peak: the same as
    # broadcasting each tensor's steps and reducing each tensor over its shared axes.
    group = make_group()
    reference = {n: (t.detach() * 0.5).clone() for n, t in group.state_dict().items()}
    for term in (_term(group), _term(group, reference=reference)):
        model = term.stand_in_model
        params = dict(group.named_parameters())
        with torch.no_grad():
            model.log_steps.copy_(torch.linspace(-9.0, -2.0, model.log_steps.numel()))
            coded = model.coded(term._weights())
            peaks = model.by_tensor(model.channel_peaks(coded))
            steps = model.by_tensor(model.log_steps)
            per_number = torch.split(model.log_steps[model.step_index], model.sizes)
        for index, (name, spec) in enumerate(term.specs.items()):
            real = as_real(params[name].detach()).float()
            if term.stand_in_model.reference is not None:
                real = real - as_real(reference[name]).float()
            assert torch.equal(peaks[index], channel_peaks(real, spec)), name
            assert torch.equal(per_number[index].view(spec.real_shape), steps[index].expand(spec.real_shape)), name


def test_a_spread_widens_every_scale_of_the_prior_for_its_symbol():
    prior = SymbolPrior()
    prior.initialize(torch.tensor([3.0]))
    wider = copy.deepcopy(prior)
    with torch.no_grad():
        wider.log_scales.add_(math.log(2.5))
    y = torch.tensor([-7.0, -1.0, 0.0, 0.4, 2.0, 12.0])
    with torch.no_grad():
        assert torch.allclose(prior.probability(y, torch.full_like(y, 2.5)), wider.probability(y), rtol=1e-5)
        assert float(prior.bits(y, torch.ones_like(y))) == pytest.approx(float(prior.bits(y)), rel=1e-6)


def test_each_channel_starts_at_its_own_spread_and_prices_its_symbols_by_it():
    # The chunk may give each channel its own Laplace table; the training prior follows it, so a channel of
    # small numbers makes its zeros cheap and its large numbers dear.
    group = make_group()
    term = _term(group)
    model = term.stand_in_model
    with torch.no_grad():
        coded = model.coded(term._weights())
        y = (coded / model.per_number(coded))[: model.prior_size].abs()
        index = model.step_index[: y.numel()]
        means = torch.zeros_like(model.log_spreads).index_add_(0, index, y)
        means /= torch.zeros_like(model.log_spreads).index_add_(0, index, torch.ones_like(y)).clamp(min=1)
        spreads = model.log_spreads.exp()
    coded_channels = torch.unique(index)
    assert float(spreads[coded_channels].std()) > 0  # channels differ, and so do their starts
    wide, narrow = int(means[coded_channels].argmax()), int(means[coded_channels].argmin())
    wide, narrow = int(coded_channels[wide]), int(coded_channels[narrow])
    assert float(spreads[wide]) > float(spreads[narrow])
    zero = torch.zeros(1)
    with torch.no_grad():
        assert float(model.prior.bits(zero, spreads[narrow : narrow + 1])) < float(
            model.prior.bits(zero, spreads[wide : wide + 1])
        )
    assert any(p is model.log_spreads for p in term.param_groups()[0]["params"])  # learned with the steps


@pytest.mark.slow
def test_learned_steps_and_symbols_survive_the_chunk_bit_exactly(fitted: GroupFit):
    fit = copy.deepcopy(fitted)
    packed = code_with_rate(fit, FITTED_CONFIG, QuantConfig(), None, RateTrade(3e-3, share=0.5))
    decoded = unpack_group(packed.payload, fit.group.tensors, None, intra=True)
    assert set(decoded) == set(packed.decoded)
    for name, tensor in decoded.items():
        assert torch.equal(tensor, packed.decoded[name]), name


@pytest.mark.slow
def test_the_rate_estimate_tracks_the_coded_bits(fitted: GroupFit):
    fit = copy.deepcopy(fitted)
    packed = code_with_rate(fit, FITTED_CONFIG, QuantConfig(), None, RateTrade(3e-3, share=0.5))
    assert packed.estimated_bits is not None
    # A tiny group (about 2,000 symbols) is the hard case: the estimate is within a few percent at
    # 50,000 symbols (benchmarks/results/README.md), here within 10%.
    assert abs(packed.estimated_bits - packed.coded_bits) < 0.10 * packed.coded_bits


@pytest.mark.slow
def test_a_larger_lambda_spends_fewer_bits(fitted: GroupFit):
    sizes = {}
    for lambda_ in (1e-4, 1e-1):
        fit = copy.deepcopy(fitted)
        sizes[lambda_] = code_with_rate(fit, FITTED_CONFIG, QuantConfig(), None, RateTrade(lambda_, 0.5)).coded_bits
    assert sizes[1e-1] < 0.9 * sizes[1e-4]


@pytest.mark.slow
def test_training_with_rate_learns_steps_and_keeps_weights_finite(fitted: GroupFit):
    fit = copy.deepcopy(fitted)
    term = train_with_rate(fit, FITTED_CONFIG, QuantConfig(), None, RateTrade(1e-2, share=0.25))
    assert all(bool(torch.isfinite(p).all()) for p in fit.group.parameters())
    steps = term.steps()
    assert all(bool((s > 0).all()) and torch.equal(s, s.half().float()) for s in steps.values())
    # The bias vectors learn theirs too (one each), coarser than their 16-bit peak steps.
    assert set(steps) == {n for n, spec in fit.group.tensors.items() if spec.quantized}
    vectors = [n for n, spec in fit.group.tensors.items() if spec.coding is Coding.ZSTD]
    params = dict(fit.group.named_parameters())
    assert all(float(steps[n]) > float(params[n].abs().max()) / 32767 for n in vectors)


@pytest.mark.slow
def test_a_higher_quality_gives_a_larger_file_and_a_higher_psnr(tmp_path):
    from nvcodec import VideoReader
    from nvcodec.encoder import encode
    from nvcodec.metrics import psnr

    clip = moving_square_clip(6)
    config = Config.preset("fast", **TINY, iters=150, iters_warm=100, group_size=5)
    results = {}
    for quality in (10, 40):
        path = tmp_path / f"q{quality}.actv"
        stats = encode(clip, path, config, fps=25, options=EncodeOptions(quality=quality))
        with VideoReader(path) as reader:
            decoded = np.stack([reader.frame(t) for t in range(len(clip))])
        results[quality] = (stats.file_bytes, psnr(decoded.astype(np.float32) / 255, clip))
        assert stats.group_bits == [0] * stats.groups and stats.estimated_bits is not None
    assert results[40][0] > results[10][0]
    assert results[40][1] > results[10][1]


def test_quality_and_lambda_together_are_refused(tmp_path):
    from nvcodec.encoder import encode

    with pytest.raises(ArgumentError, match="not both"):
        encode(
            moving_square_clip(3),
            tmp_path / "x.actv",
            Config.preset("fast", **TINY),
            options=EncodeOptions(quality=20, lambda_=1e-3),
        )


def test_a_fit_takes_a_forward_or_a_rate_term_not_both():
    from nvcodec.fit import FitData, fit_group

    group = make_group()
    frames = torch.rand(5, group.grid.height, group.grid.width, 3)
    with pytest.raises(ArgumentError, match="not both"):
        fit_group(
            group, FitData(frames, torch.linspace(0, 1, 5)), 1, Config.preset("fast", **TINY),
            generator=torch.Generator().manual_seed(0), forward=group, rate=_term(group),
        )  # fmt: skip
