"""Error-compensated rounding: pick symbols whose errors cancel in the decoded frames.

Rounding each weight to the nearest level makes every weight's error as small
as it can be, but what the decoder sees is the error of the layer's output,
``dw^T x`` for output channel ``o``, and how much that output matters at each
sample, ``s_o``. With ``H_o = E[s_o x x^T]`` the added output error of the
channel is ``dw^T H_o dw`` (see :func:`nvcodec.quant.sensitivity.measure_sensitivity`). Rounding the inputs' weights one at a time
and spreading each error onto the weights not yet rounded, in proportion to
``H^-1`` (Optimal Brain Surgeon's update; GPTQ, Frantar et al., ICLR 2023),
lowers that error at the same steps, hence at about the same rate. The
decoder is unaffected: it reads symbols and steps as always.
"""

from __future__ import annotations

import torch

DAMPING = 0.01
"""Added to ``H``'s diagonal, relative to its mean: keeps the inverse stable when inputs are collinear."""


def compensated_round(
    target: torch.Tensor,
    steps: torch.Tensor,
    limit: int,
    hessian: torch.Tensor,
    keep: torch.Tensor | None = None,
) -> torch.Tensor:
    """Integer symbols for ``target`` ``[..., in, out]`` on the grid ``steps`` ``[..., 1, out]``.

    ``hessian`` is ``[..., out, in, in]``, one matrix per output channel (or
    ``[..., in, in]`` shared by all): the cost of an error ``dw`` in output
    channel ``o``'s weights is ``dw^T H_o dw``. Symbols are clamped to
    ``±limit``. Where ``keep`` (shaped like ``target``) is false the symbol is
    forced to 0 (pruning) and its error is compensated like any other.
    Returns int64 symbols shaped like ``target``.
    """
    weights = target.to(torch.float64).clone()
    grid = steps.to(torch.float64)[..., 0, :]
    h = hessian.to(torch.float64)
    if h.ndim == target.ndim:
        h = h.unsqueeze(-3)
    diag = torch.diagonal(h, dim1=-2, dim2=-1)
    # Inputs that are always 0 carry no information: give them a unit diagonal.
    dead = diag <= 0
    damping = DAMPING * diag.mean(-1, keepdim=True).clamp(min=1e-30)
    h = h + torch.diag_embed(torch.where(dead, torch.ones_like(diag), damping.expand_as(diag)))
    # Upper Cholesky factor of H^-1: its row i spreads input i's error onto the inputs after it.
    factor = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(h)), upper=True)
    factor = factor.expand(*weights.shape[:-2], weights.shape[-1], *factor.shape[-2:])
    symbols = torch.empty_like(weights)
    for i in range(weights.shape[-2]):
        row = weights[..., i, :]
        chosen = torch.clamp(torch.round(row / grid), -limit, limit)
        if keep is not None:
            chosen = torch.where(keep[..., i, :], chosen, torch.zeros_like(chosen))
        symbols[..., i, :] = chosen
        error = (row - chosen * grid) / factor[..., i, i]  # [..., out]
        weights[..., i + 1 :, :] -= factor[..., i, i + 1 :].transpose(-1, -2) * error.unsqueeze(-2)
    return symbols.to(torch.int64)
