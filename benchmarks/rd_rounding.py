"""Rounding the trained weights against ``J = D + lambda R`` instead of to nearest: does it pay?

Issue 27 asks to try rate-distortion optimised rounding of the final weights:
each weight one step up or down where that lowers ``J``. After each group's
rate-aware phase (the encoder's own, wrapped to see the trained group), the
group is coded six ways and each is decoded and scored on the group's frames
(``MSE``, bytes, ``J`` at the point's lambda):

- ``nearest``: the encoder today (the phase ends training on rounded weights);
- ``compensated``: error-compensated rounding (:mod:`nvcodec.quant.rounding`,
  GPTQ on the measured Hessians), as the fixed-depth coder rounds;
- ``toward_zero``: from the nearest symbols, each weight matrix entry moves one
  step toward zero where a second-order estimate says ``J`` falls: the true
  gradient of the group's MSE at the coded weights, the Hessian's diagonal,
  and the bits of each symbol under its tensor's histogram;
- ``toward_zero_half``, ``_tenth``, ``_2pc``: the same, only that share of those
  moves, the largest estimated gains first (:data:`MOVE_SHARES`).

Run::

    python -m benchmarks.rd_rounding --clips carphone bikes --qualities 18 24 30

Writes ``benchmarks/results/rd_rounding.json``.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import nvcodec.recipe.group_coding as group_coding
from benchmarks.clips import load_clip
from benchmarks.common import run_record
from benchmarks.results_io import RESULTS, write_json
from nvcodec import Config, QuantConfig
from nvcodec.encoder import encode
from nvcodec.fit import GroupFit
from nvcodec.model.group import GroupModel
from nvcodec.model.tensors import TensorSpec
from nvcodec.options import EncodeOptions
from nvcodec.payload import PackedGroup, pack_group
from nvcodec.quant.sensitivity import measure_sensitivity
from nvcodec.quant.uniform import QuantizedTensor, QuantPlan, as_real, quantize_state
from nvcodec.recipe.quality import RateTrade, config_for_quality
from nvcodec.recipe.shape import Given

MOVE_SHARES = {"toward_zero": 1.0, "toward_zero_half": 0.5, "toward_zero_tenth": 0.1, "toward_zero_2pc": 0.02}
"""The variants of moves toward zero: the share of the moves estimated to lower ``J`` that each makes (the
largest estimated gains first)."""


def _group_with(fit: GroupFit, decoded: Mapping[str, torch.Tensor]) -> GroupModel:
    """The fitted group with ``decoded`` in place of its tensors of those names."""
    g = fit.group
    state = {n: t.detach() for n, t in g.state_dict().items()}
    state.update({n: t.to(state[n].device, state[n].dtype) for n, t in decoded.items()})
    return GroupModel.from_state(g.grid, g.config, g.start, g.end, state)


def _frame_times(fit: GroupFit) -> torch.Tensor:
    group = fit.group
    times = torch.arange(group.start, group.end + 1, dtype=torch.float32)
    if times.numel() != fit.frames.shape[0]:
        raise AssertionError(f"{times.numel()} frame times for {fit.frames.shape[0]} frames")
    return times


def _pixels(fit: GroupFit) -> int:
    return int(fit.frames.shape[0] * fit.frames.shape[1] * fit.frames.shape[2])


def score(fit: GroupFit, packed: PackedGroup, lambda_: float) -> dict[str, float]:
    """Bytes, MSE, PSNR and ``J`` of ``packed`` decoded on the group's frames (native size)."""
    group = _group_with(fit, packed.decoded)
    with torch.no_grad():
        out = group.render_frames(_frame_times(fit))
    mse = float(((out - fit.frames.to(out.device)) ** 2).mean())
    size = len(packed.payload)
    return {"bytes": size, "mse": mse, "psnr": -10 * math.log10(mse), "J": mse + lambda_ * 8 * size / _pixels(fit)}


def _mse_gradients(fit: GroupFit, decoded: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The gradient of the group's decoded MSE with respect to each parameter, at the coded weights."""
    group = _group_with(fit, decoded)
    out = group.render(_frame_times(fit).tolist())
    loss = torch.mean((out - fit.frames.to(out.device)) ** 2)
    names = [n for n, p in group.named_parameters()]
    grads = torch.autograd.grad(loss, [p for _, p in group.named_parameters()], allow_unused=True)
    return {n: g.detach().cpu() for n, g in zip(names, grads) if g is not None}


def _code_lengths(symbols: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Bits of each symbol value under the tensor's own histogram (half a count added everywhere)."""
    low, high = int(symbols.min()) - 1, int(symbols.max()) + 1
    counts = torch.bincount((symbols.flatten() - low), minlength=high - low + 1).double() + 0.5
    return -torch.log2(counts / counts.sum()), low


def _hessian_diagonal(hessian: torch.Tensor, spec: TensorSpec, ndim: int) -> torch.Tensor:
    """``[..., out, in, in]`` -> the diagonal in the weight's own layout."""
    diag = torch.diagonal(hessian, dim1=-2, dim2=-1)  # [..., out, in]
    return diag.transpose(-1, -2) if spec.in_axis == ndim - 2 else diag


@dataclass(frozen=True)
class Moves:
    """Every weight-matrix entry's one step toward zero, with its estimated change of ``J``."""

    nearest: dict[str, QuantizedTensor]
    """The nearest symbols, per tensor."""
    change: dict[str, torch.Tensor]
    """Estimated change of ``J`` of each entry's move (0 for a zero symbol, which does not move)."""
    moved: dict[str, torch.Tensor]
    """The symbols one step toward zero."""


def estimate_moves(
    fit: GroupFit, state: Mapping[str, torch.Tensor], plan: QuantPlan, hessians: Mapping[str, torch.Tensor],
    lambda_: float, quant: QuantConfig,
) -> Moves:  # fmt: skip
    """Each move's second-order estimate: the true gradient of the group's MSE at the coded weights, the
    Hessian's diagonal, and the bits of each symbol under its tensor's histogram."""
    specs = fit.group.tensors
    nearest = quantize_state({n: state[n] for n in hessians}, specs, quant, plan)
    decoded = {n: q.dequantize(plan.reference[n] if plan.reference is not None else None) for n, q in nearest.items()}
    grads = _mse_gradients(fit, decoded)
    per_bit = lambda_ / _pixels(fit)
    change, moved = {}, {}
    for name, q in nearest.items():
        symbols, steps = q.symbols, q.steps.expand_as(q.symbols)
        delta = -torch.sign(symbols).to(torch.float32) * steps  # one step toward zero; 0 stays
        table, low = _code_lengths(symbols)
        moved[name] = symbols - torch.sign(symbols)
        bits = table[(moved[name] - low).clamp(0, table.numel() - 1)] - table[symbols - low]
        grad = as_real(grads[name]).to(torch.float32)
        diag = _hessian_diagonal(hessians[name].to(torch.float32), specs[name], symbols.ndim)
        estimate = grad * delta + diag * delta.square() + per_bit * bits.to(torch.float32)
        change[name] = torch.where(symbols != 0, estimate, torch.zeros_like(estimate))
    return Moves(nearest, change, moved)


def toward_zero(
    state: Mapping[str, torch.Tensor], moves: Moves, plan: QuantPlan, keep_share: float = 1.0
) -> tuple[dict[str, torch.Tensor], int]:
    """``state`` with ``keep_share`` of the moves estimated to lower ``J`` made, the largest gains first.

    Returns the state (whose nearest rounding gives the moved symbols) and the number of moves.
    """
    gains = torch.cat([c[c < 0] for c in moves.change.values()]) if moves.change else torch.zeros(0)
    if gains.numel() == 0:
        return dict(state), 0
    threshold = torch.quantile(gains.double(), keep_share).item() if keep_share < 1 else 0.0
    out, count = dict(state), 0
    for name, change in moves.change.items():
        take = (change < 0) & (change <= threshold)
        count += int(take.sum())
        q = moves.nearest[name]
        values = torch.where(take, moves.moved[name], q.symbols).to(torch.float32) * q.steps
        if plan.reference is not None:
            values = values + as_real(plan.reference[name].detach().cpu()).to(torch.float32)
        out[name] = values.to(state[name].dtype).to(state[name].device)
    return out, count


def compare(fit: GroupFit, trade: RateTrade, term: Any, reference: Mapping[str, torch.Tensor] | None) -> dict[str, Any]:
    """Every rounding of one trained group, scored."""
    state = {n: t.detach().clone() for n, t in fit.group.state_dict().items()}
    steps = term.steps()
    hessians = measure_sensitivity(fit.group).hessians
    tensors, quant, lambda_ = fit.group.tensors, QuantConfig(), trade.lambda_
    plan = QuantPlan(reference, steps)
    row: dict[str, Any] = {"group": fit.index, "frames": int(fit.frames.shape[0])}
    row["nearest"] = score(fit, pack_group(state, tensors, quant, plan), lambda_)
    row["compensated"] = score(fit, pack_group(state, tensors, quant, QuantPlan(reference, steps, hessians)), lambda_)
    moves = estimate_moves(fit, state, plan, hessians, lambda_, quant)  # once: the shares only cut it
    for label, share in MOVE_SHARES.items():
        moved, count = toward_zero(state, moves, plan, share)
        row[label] = {**score(fit, pack_group(moved, tensors, quant, plan), lambda_), "moves": count}
    return row


def run_point(clip: str, quality: float, frames_count: int, preset: str) -> list[dict[str, Any]]:
    """One default encode of ``clip`` at ``quality``, every group's roundings compared after its rate phase."""
    frames, fps = load_clip(clip, frames_count)
    trade = RateTrade.for_quality(quality)
    config, _ = config_for_quality(Config.preset(preset, device="auto"), trade, frames, Given())
    rows: list[dict[str, Any]] = []
    original = group_coding.train_with_rate

    def observed(fit, config_, quant, reference, trade_):  # type: ignore[no-untyped-def]
        term = original(fit, config_, quant, reference, trade_)
        rows.append({"clip": clip, "quality": quality, **compare(fit, trade_, term, reference)})
        base = rows[-1]["nearest"]
        for label in ("compensated", *MOVE_SHARES):
            r = rows[-1][label]
            print(
                f"{clip} Q{quality:g} group {fit.index} {label}: {r['bytes'] / base['bytes'] - 1:+.2%} bytes, "
                f"{r['psnr'] - base['psnr']:+.3f} dB, J {r['J'] / base['J'] - 1:+.2%}",
                flush=True,
            )
        return term

    group_coding.train_with_rate = observed
    try:
        with tempfile.TemporaryDirectory() as tmp:
            encode(frames, Path(tmp) / "clip.actv", config, QuantConfig(), fps=fps,
                   options=EncodeOptions(quality=quality))  # fmt: skip
    finally:
        group_coding.train_with_rate = original
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="+", default=["carphone", "bikes"])
    parser.add_argument("--qualities", nargs="+", type=float, default=[18.0, 24.0, 30.0])
    parser.add_argument("--frames", type=int, default=31)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--output", type=Path, default=RESULTS / "rd_rounding.json")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for clip in args.clips:
        for quality in args.qualities:
            rows += run_point(clip, quality, args.frames, args.preset)
            write_json(args.output, {**run_record(), "groups": rows})


if __name__ == "__main__":
    main()
