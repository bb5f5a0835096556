"""Fitting ActINR to a video, one group of frames at a time.

Each step draws random pixels of every patch in every frame of the group, so
memory is bounded by ``batch_pixels`` whatever the resolution. The loss on a
pixel is weighted by the patch's blending window: by convexity,
``(sum_p w_p f_p - y)^2 <= sum_p w_p (f_p - y)^2``, so patches are trained
independently (one batched matmul) while minimising a bound on the error of
the blended frame, and no patch spends capacity where its window is 0.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.func import functional_call

from nvcodec.config import Config, FitConfig
from nvcodec.device import autocast, matmul_precision, resolve_device
from nvcodec.errors import ArgumentError, InputError
from nvcodec.metrics import mse_to_psnr
from nvcodec.model.group import GroupModel
from nvcodec.model.video import VideoModel
from nvcodec.quant.rdtrain import RateTerm
from nvcodec.scenecut import bounds_with_cuts, frame_changes, scene_cuts
from nvcodec.source import FrameSource
from nvcodec.threads import follow_share
from nvcodec.tiling import PatchGrid, SamplingTable


@dataclass(frozen=True)
class FitProgress:
    """What a progress callback receives."""

    group: int
    groups: int
    iteration: int
    """1-based iteration within the group."""
    iterations: int
    loss: float
    """Window-weighted MSE of this step's mini-batch."""
    psnr: float
    """``loss`` as PSNR in dB (a mini-batch estimate, not a full-frame measurement)."""
    elapsed: float
    """Seconds since the fit started."""


@dataclass(frozen=True)
class FitResult:
    model: VideoModel
    seconds: float
    group_seconds: list[float]
    group_psnr: list[float]
    """Mini-batch PSNR at the end of each group's fit."""


ProgressCallback = Callable[[FitProgress], None]


def _as_frames(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    tensor = torch.as_tensor(frames)
    if tensor.ndim != 4 or tensor.shape[-1] != 3 or tensor.shape[0] == 0:
        raise InputError(f"frames must have shape [T, H, W, 3] with T > 0, got {tuple(tensor.shape)}")
    if tensor.dtype == torch.uint8:
        return tensor.to(torch.float32) / 255
    if not tensor.is_floating_point():
        raise InputError(f"frames must be uint8 or float in [0, 1], got {tensor.dtype}")
    tensor = tensor.to(torch.float32)
    if not bool(torch.isfinite(tensor).all()):
        raise InputError("frames contain NaN or infinity")
    return tensor


MASK_THRESHOLD = 0.5
"""A mask frame's pixel is known where its brightest channel is at least half: black marks the unknown."""


def _as_mask(mask: np.ndarray | torch.Tensor | None, shape: tuple[int, ...]) -> torch.Tensor | None:
    if mask is None:
        return None
    tensor = torch.as_tensor(mask)
    if tensor.ndim == 4 and tensor.shape[-1] in (1, 3):
        tensor = tensor.amin(dim=-1)  # a pixel is observed only if all its channels are
    if tensor.ndim == 2:
        tensor = tensor.expand(shape[0], -1, -1)
    if tuple(tensor.shape) != shape:
        raise InputError(
            f"mask must have shape [T, H, W] or [H, W] matching the frames {shape}, got {tuple(mask.shape)}"
        )
    tensor = tensor.bool()
    if not bool(tensor.any()):
        raise InputError("mask marks every pixel as unknown; nothing to fit")
    return tensor


def _as_times(times: Sequence[float] | None, count: int) -> list[int]:
    if times is None:
        return list(range(count))
    values = [int(t) for t in times]
    if len(values) != count or any(float(a) != float(b) for a, b in zip(values, times)):
        raise InputError(f"times must give one integer frame index per frame ({count})")
    if values[0] != 0 or any(b <= a for a, b in itertools.pairwise(values)):
        raise InputError("times must start at 0 and increase strictly")
    return values


class _PixelSampler:
    """Draws ``[P, F, N]`` random pixels from each patch's support, all on the device.

    With ``error_power`` above 0 (:attr:`~nvcodec.config.FitConfig.error_sampling`), each patch draws a pixel of
    a frame with probability proportional to the pixel's last seen squared error in that patch to that power
    (:meth:`observe` hears the errors of each draw; pixels not yet seen count as the worst), and its weight is
    divided by that probability relative to the mean over the patch's support, so the weighted loss still
    estimates the window-weighted MSE of every pixel.
    """

    def __init__(
        self, table: SamplingTable, frames: int, per_cell: int, generator: torch.Generator, error_power: float = 0.0
    ):
        self.table = table
        self.generator = generator
        patches = table.row_count.shape[0]
        self.shape = (patches, frames, per_cell)
        device = table.rows.device
        self.frame_index = torch.arange(frames, device=device).view(1, frames, 1).expand(self.shape)
        self.error_power = error_power
        if error_power > 0:
            ry, rx = table.rows.shape[1], table.cols.shape[1]
            self.support_cols = rx
            valid = (torch.arange(ry, device=device) < table.row_count.view(-1, 1)).view(patches, ry, 1) & (
                torch.arange(rx, device=device) < table.col_count.view(-1, 1)
            ).view(patches, 1, rx)
            self.valid = valid.view(1, patches, ry * rx).float()
            """``[1, P, S]``: which places of each patch's padded support (rows by columns, flattened) are pixels."""
            self.odds = self._odds(torch.full((frames, patches, ry * rx), UNSEEN_ERROR, device=device))
            """``[F, P, S]``: what each pixel of each patch's support weighs in a draw (its error to the power)."""
            self.draws = 0
            # A rebuild reads every pixel's odds: at large frames it waits for the steps to draw a share of them.
            self.refresh_every = max(ERROR_REFRESH, self.odds.numel() // (ERROR_REFRESH_SHARE * math.prod(self.shape)))
            self.drawn: torch.Tensor | None = None
            """``[F, P, N]``: the support places of the last draw, which :meth:`observe` hears about."""

    @property
    def observes(self) -> bool:
        """Whether the sampler wants each step's per-pixel errors (:meth:`observe`)."""
        return self.error_power > 0

    def _draw(self, count: torch.Tensor) -> torch.Tensor:
        u = torch.rand(self.shape, generator=self.generator, device=count.device)
        k = (u * count.view(-1, 1, 1)).long()
        return torch.minimum(k, (count - 1).view(-1, 1, 1)).flatten(1)

    def _draw_by_error(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.draws % self.refresh_every == 0:
            self.cdf = self.odds.new_empty(0)  # the old one freed before the new one is built
            self.cdf = (self.odds * self.valid).cumsum(-1)  # [F, P, S]
            self.mean = self.cdf[..., -1:] / self.valid.sum(-1, keepdim=True)
        self.draws += 1
        cdf = self.cdf
        u = torch.rand(self.shape, generator=self.generator, device=cdf.device).transpose(0, 1)
        k = torch.searchsorted(cdf, (u * cdf[..., -1:]).contiguous()).clamp(max=cdf.shape[-1] - 1)
        # The chance of place k is exactly the width of its step in the cumulative sum: what the draw used.
        below = torch.where(k > 0, cdf.gather(-1, (k - 1).clamp(min=0)), 0.0)
        chance = cdf.gather(-1, k) - below
        correction = torch.where(chance > 0, self.mean / chance, 0.0).transpose(0, 1)
        self.drawn = k
        k = k.transpose(0, 1)
        return (k // self.support_cols).flatten(1), (k % self.support_cols).flatten(1), correction

    def draw(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns row, col (each ``[P, F, N]``), local coords ``[P, F, N, 2]`` and weights (of frames
        :attr:`frame_index`)."""
        t = self.table
        correction = None
        if self.error_power > 0:
            kr, kc, correction = self._draw_by_error()
        else:
            kr, kc = self._draw(t.row_count), self._draw(t.col_count)
        rows = t.rows.gather(1, kr).view(self.shape)
        cols = t.cols.gather(1, kc).view(self.shape)
        coords = torch.stack([t.row_local.gather(1, kr), t.col_local.gather(1, kc)], dim=-1).view(*self.shape, 2)
        weights = (t.row_weight.gather(1, kr) * t.col_weight.gather(1, kc)).view(self.shape)
        if correction is not None:
            weights = weights * correction
        return rows, cols, coords, weights

    def observe(self, errors: torch.Tensor) -> None:
        """The squared errors ``[P, F, N]`` of the pixels :meth:`draw` gave last.

        A pixel drawn twice by one patch in one step has one error; the largest is kept all the same, so the
        result does not depend on the order of the writes (it does not on CUDA).
        """
        if self.drawn is None:
            raise RuntimeError("observe() needs a draw() before it")
        odds = self._odds(errors.detach().float().transpose(0, 1))
        self.odds.scatter_reduce_(-1, self.drawn, odds, "amax", include_self=False)

    def _odds(self, errors: torch.Tensor) -> torch.Tensor:
        return errors.clamp(min=ERROR_FLOOR).pow(self.error_power)


UNSEEN_ERROR = 3.0
"""The error a pixel counts as before it is first drawn: as large as an RGB error within [0, 1] can be."""
ERROR_FLOOR = 1e-6
"""Least error a pixel counts as when drawing: every pixel keeps some chance (at the power of 0.3, about a
tenth of a typical pixel's, so no weight grows past about ten times the mean)."""
ERROR_REFRESH = 16
"""Steps between rebuilds of the drawing distribution from the errors seen (at least)."""
ERROR_REFRESH_SHARE = 16
"""At large frames, a rebuild waits until the steps since the last have drawn 1/16 of the group's pixels: at
1080p a rebuild every 16 steps would cost more than the steps themselves."""


def learning_rate(fit: FitConfig, iteration: int, iterations: int) -> float:
    """The learning rate of step ``iteration`` (0-based) of ``iterations``: warm-up, then the decay."""
    warmup = int(fit.lr_warmup * iterations)
    if iteration < warmup:
        return fit.lr * (iteration + 1) / (warmup + 1)
    progress = (iteration - warmup) / max(iterations - warmup, 1)
    if fit.lr_schedule == "cosine":
        final = fit.lr * fit.lr_final_factor
        return final + (fit.lr - final) * 0.5 * (1 + math.cos(math.pi * progress))
    return fit.lr * fit.lr_final_factor**progress


def phase(name: str) -> torch.profiler.record_function:
    """Labels a part of a training step for :mod:`benchmarks.profile_fit` (microseconds when no profiler runs)."""
    return torch.profiler.record_function(f"fit.{name}")


CURVATURE_SAMPLES = 16


def stream_seed(seed: int, stream: str, index: int) -> int:
    """A seed of its own for each (random stream, group): groups can be fitted again alone, bit for bit."""
    digest = hashlib.blake2b(f"{seed}/{stream}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def bias_curvature(group: GroupModel, tau: torch.Tensor, step: float) -> torch.Tensor:
    """Mean squared second difference of every bias over ``step`` (one frame), at group-local times ``tau``."""
    biases = group.bias_inr(torch.cat([tau - step, tau, tau + step]))
    terms = []
    for b in biases:
        before, now, after = torch.view_as_real(b).chunk(3, dim=1) if b.is_complex() else b.chunk(3, dim=1)
        terms.append((after - 2 * now + before).square().mean())
    return sum(terms[1:], terms[0]) / len(terms)


def step_loss(  # noqa: PLR0913  # one compiled graph's inputs: a value object would be a graph input of its own
    group: GroupModel,
    coords: torch.Tensor,
    taus: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor,
    seen: torch.Tensor | None,
    curvature_taus: torch.Tensor | None,
    time_smoothness: float,
    step: float,
    forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    state: dict[str, torch.Tensor] | None = None,
    per_pixel: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """The loss of one step: the window-weighted MSE of the sampled pixels, plus the bias-smoothness penalty.

    ``seen`` marks the known pixels (None: all are); ``curvature_taus`` are the
    times of the penalty (None: no penalty), ``step`` its frame step
    (:attr:`GroupModel.frame_step`, passed in: a compiled graph that read the group's
    frame numbers would be compiled again for every group); ``forward`` replaces the group's
    own (quantization-aware fine-tuning freezes some tensors through it); ``state`` replaces some of
    the group's tensors by name (the rate-aware phase's quantized stand-ins,
    :meth:`~nvcodec.quant.rdtrain.RateTerm.stand_ins`): graph inputs, not a
    closure, so one compiled graph serves every step of the phase. With ``per_pixel``, it also
    returns each sampled pixel's squared error ``[P, F, N]`` (for error-guided sampling).
    A plain function of its arguments, the group included, so that one
    compiled graph serves every group of the same shapes (a closure over the
    group would be compiled again for each group).
    """
    if state is not None:
        pred = functional_call(group, state, (coords, taus)).float()
    else:
        pred = (forward or group)(coords, taus).float()
    err = (pred - target).square().sum(-1)
    if seen is not None:
        weights = torch.where(seen, weights, 0.0)
        err = torch.where(seen, err, 0.0)  # also keeps NaN in unknown pixels out
    value = (weights * err).sum() / (3 * weights.sum().clamp(min=1e-8))
    if curvature_taus is not None:
        value = value + time_smoothness * bias_curvature(group, curvature_taus, step)
    return (value, err.detach()) if per_pixel else value


def _loss_and_gradients(
    loss: Callable[..., torch.Tensor | tuple[torch.Tensor, torch.Tensor]],
    inputs: tuple,
    penalty: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Back-propagates ``loss(*inputs)`` (plus ``penalty``); returns the distortion part, and the sampled
    pixels' squared errors where the loss gives them (``per_pixel``)."""
    with phase("objective"):
        out = loss(*inputs)
        value, errors = out if isinstance(out, tuple) else (out, None)
        total = value + penalty if penalty is not None else value
    with phase("backward"):
        total.backward()  # compiled, the backward graph is built here, at the first call
    return value, errors


COMPILED_SHAPES = 64
"""Compiled graphs the loss may have in one process (one per frame count, patch grid, mask presence and
whether the sampler asks for per-pixel errors).

Past torch's default of 8, a process encoding many inputs of other sizes would
fall back to eager mode without a word, and a resumed encode (compiled afresh)
would then write other bytes. Past this limit, the compile fails loudly and
the fit warns and goes on in eager mode."""


@functools.cache
def compiled_step_loss() -> Callable[..., torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
    """:func:`step_loss` through ``torch.compile``: one graph for its forward and one for its backward.

    Shapes are static: with torch's default, a group whose frame count differs
    from an earlier group's in the same process gets kernels for symbolic shapes,
    and those round differently from the static kernels a fresh process compiles.
    A resumed encode (a fresh process) would then fit that group to other weights
    and write other bytes. Static shapes make every group's kernels depend on its
    own shapes only, whatever ran before.
    """
    return torch.compile(step_loss, dynamic=False)


def adam(param_groups: list[dict], lr: float) -> torch.optim.Adam:
    """Adam through torch's fused kernel where it has one for these tensors (real, on CPU or CUDA).

    The default for-each-tensor Adam costs a dozen small operations per tensor per step; a group has
    dozens of tensors, so on CPU its optimizer step cost as much as a sixth of a compiled fit step.
    """
    tensors = [p for group in param_groups for p in group["params"]]
    fused = all(not p.is_complex() and p.device.type in ("cpu", "cuda") for p in tensors)
    return (
        torch.optim.Adam(param_groups, lr=lr, fused=True)
        if fused
        else torch.optim.Adam(param_groups, lr=lr, foreach=True)
    )


@dataclass(frozen=True)
class FitData:
    """What a group is fitted to: ``frames`` ``[F, H, W, 3]`` at local times ``taus``, and the known pixels
    ``mask`` ``[F, H, W]`` (None: all are known)."""

    frames: torch.Tensor
    taus: torch.Tensor
    mask: torch.Tensor | None = None


@dataclass(frozen=True)
class LossReport:
    """Who hears a fit's mini-batch loss, ``listener(iteration, loss)``, and every how many iterations."""

    listener: Callable[[int, float], None]
    every: int = 1


def fit_group(
    group: GroupModel,
    data: FitData,
    iterations: int,
    config: Config,
    *,
    generator: torch.Generator,
    forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    report: LossReport | None = None,
    rate: RateTerm | None = None,
) -> float:
    """Adam on one group, in place, fitted to ``data``.

    ``forward`` replaces the group's own (quantization-aware fine-tuning
    freezes some tensors through it); without one, ``config.fit.compile``
    runs the loss through ``torch.compile`` (:func:`compiled_step_loss`: on
    CPU at a small batch, eager mode's per-operator overhead is much of a
    step, ``benchmarks/results/profile_fit.md``). Where compilation fails (no
    C compiler...), the first step warns and the fit goes on in eager mode.
    ``rate`` adds rate to the loss (:class:`~nvcodec.quant.rdtrain.RateTerm`):
    the forward pass then runs on quantized stand-ins and Adam trains the
    steps and the symbol prior too. The stand-ins and the rate are drawn
    eagerly (a few large operations on one flat vector); the network's
    forward and backward on them go through the same compiled loss as the
    fit, with the stand-ins as graph inputs.
    ``report`` hears the loss every ``report.every`` iterations and at the last.
    Returns the final mini-batch MSE.
    """
    frames, taus, mask = data.frames, data.taus, data.mask
    if forward is not None and rate is not None:
        raise ArgumentError("give fit_group a forward or a rate term, not both: the rate term brings its own forward")
    fit = config.fit
    device = frames.device
    sampler = _PixelSampler(
        group.grid.sampling_table().to(device),
        frames.shape[0],
        max(1, fit.batch_pixels // (group.grid.num_patches * frames.shape[0])),
        generator,
        fit.error_sampling,
    )
    own = rate.param_groups() if rate else []
    owned = {id(p) for g in own for p in g["params"]}  # the rate term trains some of the group's tensors its own way
    param_groups = [{"params": [p for p in group.parameters() if id(p) not in owned], "lr_scale": 1.0}, *own]
    optimizer = adam(param_groups, fit.lr)
    compiled = fit.compile and forward is None
    step = group.frame_step
    loss_value = math.nan
    with matmul_precision(device, fit.precision):
        for iteration in range(iterations):
            follow_share()  # another nvcodec process started or ended: take this one's share of the cores
            lr = learning_rate(fit, iteration, iterations)
            for param_group in optimizer.param_groups:
                param_group["lr"] = lr * param_group["lr_scale"]
            penalty, state = None, None
            if rate is not None:
                with phase("stand-ins"):
                    state, penalty = rate.stand_ins(iteration / iterations)
            with phase("sample"):
                rows, cols, coords, weights = sampler.draw()
                target = frames[sampler.frame_index, rows, cols]
                seen = mask[sampler.frame_index, rows, cols] if mask is not None else None
                curvature_taus = (
                    torch.rand(CURVATURE_SAMPLES, generator=generator, device=device)
                    if fit.time_smoothness > 0
                    else None
                )
            inputs = (
                group,
                coords,
                taus,
                target,
                weights,
                seen,
                curvature_taus,
                fit.time_smoothness,
                step,
                forward,
                state,
                sampler.observes,
            )
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, fit.precision):  # per step: see nvcodec.device.autocast
                if compiled:
                    try:
                        with torch._dynamo.config.patch(
                            recompile_limit=COMPILED_SHAPES, fail_on_recompile_limit_hit=True
                        ):
                            loss, errors = _loss_and_gradients(compiled_step_loss(), inputs, penalty)
                    except RuntimeError as exc:  # torch.compile's failures (no C compiler...) are RuntimeErrors
                        if iteration > 0 or isinstance(exc, torch.OutOfMemoryError):
                            raise
                        warnings.warn(
                            f"torch.compile failed ({type(exc).__name__}); fitting in eager mode", stacklevel=2
                        )
                        compiled = False
                        optimizer.zero_grad(set_to_none=True)
                        loss, errors = _loss_and_gradients(step_loss, inputs, penalty)
                else:
                    loss, errors = _loss_and_gradients(step_loss, inputs, penalty)
            if errors is not None:
                sampler.observe(errors)
            with phase("optimizer"):
                optimizer.step()
            last = iteration == iterations - 1
            if last or (report is not None and (iteration + 1) % report.every == 0):
                loss_value = float(loss.detach())  # a device sync on CUDA: only when someone reads it
                if report is not None:
                    report.listener(iteration + 1, loss_value)
    return loss_value


@dataclass(frozen=True)
class GroupFit:
    """One finished group, with the data it was fitted to (for fine-tuning after it)."""

    index: int
    count: int
    group: GroupModel
    frames: torch.Tensor
    taus: torch.Tensor
    mask: torch.Tensor | None
    seconds: float
    psnr: float
    """Mini-batch PSNR at the end of the fit."""
    iterations: int = 0
    """Adam iterations the fit took (a later phase, training with rate in the loss, takes a share of them)."""


class VideoFitter:
    """The groups of one video, fitted one at a time.

    Holds the frames (in memory, or a :class:`~nvcodec.source.FrameSource`
    read group by group, so memory does not grow with the video), the mask,
    the frame times, the patch grid and the group plan. Whoever drives it
    decides where each group starts from (:meth:`fit`): :func:`fit_groups`
    continues from the previous fitted group, the encoder from the previous
    group as the decoder will see it.

    ``mask`` is an array (``[T, H, W]`` or ``[H, W]``, true where known) or,
    with a source, a source of mask frames (a pixel is known where its
    brightest channel is at least half).

    Groups start at every scene cut (:mod:`nvcodec.scenecut`) when
    ``config.fit.scene_cuts`` is set and neither ``times`` nor a mask is given
    (their frames are not whole consecutive pictures to compare). ``cuts``
    gives the cuts instead of detecting them: a driver passes its own to its
    workers, so every process plans the same groups without reading the video again.
    """

    def __init__(
        self,
        frames: np.ndarray | torch.Tensor | FrameSource,
        config: Config | None = None,
        *,
        mask: np.ndarray | torch.Tensor | FrameSource | None = None,
        times: Sequence[float] | None = None,
        cuts: Sequence[int] | None = None,
    ):
        self.config = config or Config()
        self.source: FrameSource | None = frames if isinstance(frames, FrameSource) else None
        self.mask_source: FrameSource | None = mask if isinstance(mask, FrameSource) else None
        if self.source is None:
            self.frames: torch.Tensor | None = _as_frames(frames)  # type: ignore[arg-type]
            shape = tuple(self.frames.shape[:3])
        else:
            if times is not None:
                raise ArgumentError("fitting only some frames (times) needs the frames in memory")
            self.frames = None
            shape = self.source.shape
        if self.mask_source is not None and (
            self.mask_source.shape[1:] != shape[1:] or self.mask_source.num_frames < shape[0]
        ):
            raise InputError(
                f"the mask has {self.mask_source.num_frames} frames of {self.mask_source.width}x"
                f"{self.mask_source.height}, the video {shape[0]} of {shape[2]}x{shape[1]}"
            )
        self.mask = None if self.mask_source is not None else _as_mask(mask, shape)  # type: ignore[arg-type]
        self.frame_times = _as_times(times, shape[0])
        self.device = resolve_device(self.config.fit.device)
        if cuts is not None:
            self.cuts = [int(c) for c in cuts]
        elif self.config.fit.scene_cuts and times is None and mask is None:
            self.cuts = scene_cuts(frame_changes(self._batches(self.config.fit.group_size + 1)))
        else:
            self.cuts = []
        self.bounds = bounds_with_cuts(self.frame_times[-1] + 1, self.config.fit.group_size, self.cuts)
        self.grid = PatchGrid.build(shape[1], shape[2], self.config.model.patch, self.config.model.overlap)
        self.started = time.perf_counter()

    def _batches(self, size: int) -> Iterator[np.ndarray]:
        """The frames in consecutive runs of ``size``, as numpy arrays: one pass over a streamed source that,
        with runs of a group's length, never holds more frames at once than fitting a group does."""
        count = self.frame_times[-1] + 1
        for first in range(0, count, size):
            last = min(first + size, count) - 1
            if self.frames is not None:
                yield self.frames[first : last + 1].numpy()
            else:
                assert self.source is not None
                yield self.source.read(first, last)

    def fingerprints(self) -> list[np.ndarray | torch.Tensor | str | None]:
        """What identifies the frames and the mask, for a resume journal's fingerprint."""
        frames = self.source.fingerprint() if self.source is not None else self.frames
        mask = self.mask_source.fingerprint() if self.mask_source is not None else self.mask
        return [frames, mask]

    def _group_data(self, picked: list[int]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Frames ``[F, H, W, 3]`` and mask ``[F, H, W]`` (or None) of the given frame indices, on the device."""
        if self.frames is not None:
            frames = self.frames[picked]
        else:
            assert self.source is not None
            frames = _as_frames(self.source.read(picked[0], picked[-1]))
        if self.mask is not None:
            mask: torch.Tensor | None = self.mask[picked]
        elif self.mask_source is not None:
            known = self.mask_source.read(picked[0], picked[-1]).max(axis=-1) >= MASK_THRESHOLD
            mask = torch.from_numpy(known)
        else:
            mask = None
        return frames.to(self.device), mask.to(self.device) if mask is not None else None

    @property
    def count(self) -> int:
        """Number of groups."""
        return len(self.bounds) - 1

    @property
    def num_frames(self) -> int:
        """Frames the model spans (``0..times[-1]``), given or in between."""
        return self.bounds[-1] + 1

    def span(self, index: int) -> tuple[int, int]:
        """First and last frame of group ``index`` (inclusive; neighbours share a frame)."""
        return self.bounds[index], self.bounds[index + 1]

    def cold_start(self, index: int) -> GroupModel:
        """Group ``index`` freshly initialized (its own seeded stream), on the CPU: the start of an intra fit."""
        # Group 0 keeps the plain seed (the bytes of existing encodes); any later cold start gets its own stream.
        seed = self.config.fit.seed if index == 0 else stream_seed(self.config.fit.seed, "init", index)
        start, end = self.span(index)
        return GroupModel(self.grid, self.config.model, start, end, torch.Generator().manual_seed(seed))

    def fit(
        self,
        index: int,
        start_from: GroupModel | None,
        *,
        callback: ProgressCallback | None = None,
        report_every: int = 25,
    ) -> GroupFit:
        """Fit group ``index``, starting from a copy of ``start_from`` or, without one, from scratch.

        ``start_from`` is the previous group; the new group begins as the
        boundary frame the two share, held still (:meth:`GroupModel.hold_boundary`):
        its weights and latents carry over, its motion is learned afresh.
        Each group draws its random pixels from its own seeded generator, so
        a group fitted again alone, from the same start, reproduces the first fit.
        """
        if not 0 <= index < self.count:
            raise ArgumentError(f"group {index} does not exist: the video has {self.count} groups")
        fit = self.config.fit
        start, end = self.span(index)
        sample_generator = torch.Generator(device=self.device).manual_seed(stream_seed(fit.seed, "pixels", index))
        group_started = time.perf_counter()
        if start_from is not None:
            group = copy.deepcopy(start_from).to(self.device)
            group.hold_boundary(start, end)
            group.train()
            iterations = fit.iters_warm
        else:
            group = self.cold_start(index).to(self.device)
            iterations = fit.iters
        # A group that ends on a cut does not fit the new shot's first frame: it decodes from the next group.
        last = end - 1 if end in self.cuts else end
        picked = [i for i, t in enumerate(self.frame_times) if start <= t <= last]
        if not picked:
            raise InputError(f"no given frame falls in group {index} (frames {start}..{end}); use larger groups")
        group_frames, group_mask = self._group_data(picked)
        if group_mask is not None and not bool(group_mask.any()):
            raise InputError(f"frames {start}..{end} have no known pixel; use larger groups")
        taus = group.local_time(torch.tensor([float(self.frame_times[i]) for i in picked], device=self.device))

        def report(iteration: int, loss: float) -> None:
            if callback is not None and (iteration % report_every == 0 or iteration == iterations):
                elapsed = time.perf_counter() - self.started
                callback(FitProgress(index, self.count, iteration, iterations, loss, mse_to_psnr(loss), elapsed))

        loss = fit_group(
            group,
            FitData(group_frames, taus, group_mask),
            iterations,
            self.config,
            generator=sample_generator,
            report=LossReport(report, report_every) if callback is not None else None,
        )
        group.eval()
        seconds = time.perf_counter() - group_started
        return GroupFit(
            index, self.count, group, group_frames, taus, group_mask, seconds, mse_to_psnr(loss), iterations
        )


def fit_groups(
    frames: np.ndarray | torch.Tensor,
    config: Config | None = None,
    *,
    mask: np.ndarray | torch.Tensor | None = None,
    times: Sequence[float] | None = None,
    callback: ProgressCallback | None = None,
    report_every: int = 25,
) -> Iterator[GroupFit]:
    """Fit group after group, each continuing from the one before, yielding each as it finishes.

    See :func:`fit_video` for the arguments and :meth:`VideoFitter.fit` for how a group starts.
    """
    fitter = VideoFitter(frames, config, mask=mask, times=times)
    previous: GroupModel | None = None
    for index in range(fitter.count):
        fit = fitter.fit(index, previous, callback=callback, report_every=report_every)
        previous = fit.group
        yield fit


def fit_video(
    frames: np.ndarray | torch.Tensor,
    config: Config | None = None,
    *,
    mask: np.ndarray | torch.Tensor | None = None,
    times: Sequence[float] | None = None,
    callback: ProgressCallback | None = None,
    report_every: int = 25,
) -> FitResult:
    """Fit a video ``[T, H, W, 3]`` (uint8, or float in [0, 1]).

    mask: ``[T, H, W]`` or ``[H, W]``, true where a pixel is known; unknown pixels
        never enter the loss, so the decode fills them in (inpainting).
    times: the frame index of each given frame when only some are given (e.g.
        ``[0, 2, 4, ...]`` to train on even frames); the model then spans
        ``0..times[-1]`` and decodes the frames in between.
    callback: called every ``report_every`` iterations and at each group's end.
    """
    started = time.perf_counter()
    fits = list(fit_groups(frames, config, mask=mask, times=times, callback=callback, report_every=report_every))
    model = VideoModel([f.group for f in fits], fits[-1].group.end + 1)
    return FitResult(model, time.perf_counter() - started, [f.seconds for f in fits], [f.psnr for f in fits])
