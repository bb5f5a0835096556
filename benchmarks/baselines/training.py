"""What NeRV and HNeRV train on, and how: the training frames, the learning-rate schedule and the loop.

Adam (betas 0.9/0.999, no weight decay), a linear warm-up over the first 10 %
of the budget from 10 % of the peak rate, then a cosine decay to 1 % of it.
The budget is an iteration count, a wall-clock time in seconds, or both
(whichever runs out first); the schedule follows the fraction of the budget
spent, so a time budget gets a complete warm-up and decay too. Each step takes
``batch`` frames from a seeded random permutation of the training frames
(epochs without replacement), as the papers do. The loss is
:func:`benchmarks.baselines.loss.reconstruction_loss`.

A fit (:func:`benchmarks.baselines.nerv.fit_nerv`, ``hnerv.fit_hnerv``) is
:func:`prepare_fit` (the training frames on the device, the seed set), then
building its model, then :func:`fit_frames` with how the model renders a
batch of training frames.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from benchmarks.baselines.loss import reconstruction_loss


@dataclass(frozen=True)
class TrainingSet:
    frames: torch.Tensor
    """float32 ``[N, 3, H, W]`` in [0, 1], on the CPU."""
    times: list[int]
    """Frame index of each of the ``N`` frames in the clip (sorted, distinct)."""
    num_frames: int
    """Length of the clip the indices refer to."""
    mask: torch.Tensor | None
    """bool ``[N, 1, H, W]``, ``True`` where a pixel is known; None when all are."""


def as_float_frames(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``[T, H, W, 3]`` uint8 or float in [0, 1] -> float32 CPU tensor."""
    tensor = torch.as_tensor(np.asarray(frames) if not isinstance(frames, torch.Tensor) else frames)
    if tensor.ndim != 4 or tensor.shape[-1] != 3:
        raise ValueError(f"frames must be [T, H, W, 3], got {tuple(tensor.shape)}")
    if tensor.dtype == torch.uint8:
        return tensor.detach().cpu().to(torch.float32) / 255.0
    return tensor.detach().cpu().to(torch.float32)


def training_set(
    frames: np.ndarray | torch.Tensor,
    times: Sequence[int] | None = None,
    mask: np.ndarray | torch.Tensor | None = None,
    num_frames: int | None = None,
) -> TrainingSet:
    """Which frames to train on, and where they sit in the clip.

    ``times`` may either label every given frame (``len(times) == len(frames)``:
    ``frames[i]`` is clip frame ``times[i]``) or select from a whole clip
    (``len(frames) > max(times)``: train on ``frames[times]``, e.g. every 10th
    frame for slow motion). With distinct indices the two readings only
    coincide when they mean the same thing. ``mask`` has one entry per given
    frame. ``num_frames`` defaults to ``max(times) + 1`` (or the clip's length
    when selecting from a whole clip).
    """
    video = as_float_frames(frames)
    masks = None
    if mask is not None:
        masks = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask).cpu().bool()
        if masks.shape != video.shape[:3]:
            raise ValueError(f"mask must be [T, H, W] = {tuple(video.shape[:3])}, got {tuple(masks.shape)}")
    if times is None:
        indices = list(range(video.shape[0]))
        selected = indices
        clip_length = video.shape[0]
    else:
        indices = [int(t) for t in times]
        if len(set(indices)) != len(indices) or min(indices) < 0:
            raise ValueError("times must be distinct non-negative frame indices")
        if len(indices) == video.shape[0]:
            selected = list(range(video.shape[0]))
            clip_length = max(indices) + 1
        elif video.shape[0] > max(indices):
            selected = indices
            clip_length = video.shape[0]
        else:
            raise ValueError(f"{len(indices)} times for {video.shape[0]} frames: label every frame or index a clip")
    order = sorted(range(len(indices)), key=lambda i: indices[i])
    chosen = [selected[i] for i in order]
    train = video[chosen].permute(0, 3, 1, 2).contiguous()
    train_mask = masks[chosen].unsqueeze(1).contiguous() if masks is not None else None
    if train_mask is not None:
        # Unknown pixels are zeroed here, so nothing downstream can read them.
        train = train * train_mask
    length = num_frames if num_frames is not None else clip_length
    if length <= max(indices):
        raise ValueError(f"num_frames={length} does not cover frame index {max(indices)}")
    return TrainingSet(train, sorted(indices), length, train_mask)


def normalised_time(t: float, num_frames: int) -> float:
    """Frame index -> [0, 1] (a one-frame clip sits at 0)."""
    return float(t) / max(num_frames - 1, 1)


@dataclass(frozen=True)
class TrainProgress:
    """What a training callback receives."""

    iteration: int
    """1-based."""
    iterations: int | None
    elapsed: float
    """Seconds since training started."""
    loss: float
    lr: float


@dataclass(frozen=True)
class TrainStats:
    iterations: int
    seconds: float
    final_loss: float
    losses: list[float]
    """Loss of every step (for tests and plots)."""


def learning_rate(progress: float, peak: float, warmup: float = 0.1) -> float:
    """Linear warm-up from 10 % of ``peak``, then cosine decay to 1 % of it; ``progress`` in [0, 1]."""
    progress = min(max(progress, 0.0), 1.0)
    if progress < warmup:
        return peak * (0.1 + 0.9 * progress / warmup)
    phase = (progress - warmup) / max(1.0 - warmup, 1e-9)
    return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * phase)))


def _batches(count: int, batch: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    while True:
        order = torch.randperm(count, generator=generator)
        for start in range(0, count, batch):
            yield order[start : start + batch]


def train(
    parameters: Sequence[nn.Parameter],
    step_loss: Callable[[torch.Tensor], torch.Tensor],
    count: int,
    *,
    iters: int | None,
    seconds: float | None,
    lr: float,
    batch: int,
    seed: int,
    callback: Callable[[TrainProgress], None] | None = None,
    report_every: int = 50,
) -> TrainStats:
    """Minimise ``step_loss(indices)`` over random batches of ``count`` training frames."""
    if iters is None and seconds is None:
        raise ValueError("give an iteration budget (iters), a time budget (seconds), or both")
    if iters is not None and iters < 1:
        raise ValueError("iters must be positive")
    optimizer = torch.optim.Adam(parameters, lr=lr, betas=(0.9, 0.999))
    generator = torch.Generator().manual_seed(seed)
    batches = _batches(count, max(1, min(batch, count)), generator)
    losses: list[float] = []
    started = time.perf_counter()
    iteration = 0
    progress = 0.0
    while progress < 1.0:
        rate = learning_rate(progress, lr)
        for group in optimizer.param_groups:
            group["lr"] = rate
        optimizer.zero_grad(set_to_none=True)
        loss = step_loss(next(batches))
        loss.backward()
        optimizer.step()
        iteration += 1
        losses.append(float(loss.detach()))
        elapsed = time.perf_counter() - started
        progress = max(
            iteration / iters if iters is not None else 0.0, elapsed / seconds if seconds is not None else 0.0
        )
        if callback is not None and (iteration % report_every == 0 or progress >= 1.0):
            callback(TrainProgress(iteration, iters, elapsed, losses[-1], rate))
    return TrainStats(iteration, time.perf_counter() - started, losses[-1], losses)


def resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass(frozen=True)
class FitOptions:
    """How a NeRV-family model is trained: the keyword arguments every fit function takes besides its architecture."""

    iters: int | None = None
    """Budget in steps; ``seconds`` of wall clock, or both (whichever ends first)."""
    seconds: float | None = None
    times: Sequence[int] | None = None
    """Which frames to train on; ``times``/``mask``/``num_frames``: see :func:`training_set`."""
    mask: np.ndarray | torch.Tensor | None = None
    num_frames: int | None = None
    seed: int = 0
    device: str | torch.device = "cpu"
    callback: Callable[[TrainProgress], None] | None = None
    loss: str = "mse"
    """``mse`` or ``l1ssim`` (:func:`benchmarks.baselines.loss.reconstruction_loss`)."""
    batch: int = 1


@dataclass(frozen=True)
class Fitting:
    """A fit's options and its training frames on its device."""

    options: FitOptions
    data: TrainingSet
    device: torch.device
    targets: torch.Tensor
    """``data.frames`` on ``device``."""
    masks: torch.Tensor | None
    """``data.mask`` on ``device``."""


def prepare_fit(frames: np.ndarray | torch.Tensor, options: FitOptions) -> Fitting:
    """The training set (:func:`training_set`) on the device, with torch's seed set for the model's initialisation."""
    data = training_set(frames, options.times, options.mask, options.num_frames)
    torch.manual_seed(options.seed)
    device = resolve_device(options.device)
    masks = data.mask.to(device) if data.mask is not None else None
    return Fitting(options, data, device, data.frames.to(device), masks)


def fit_frames(
    parameters: Sequence[nn.Parameter], render: Callable[[torch.Tensor], torch.Tensor], fitting: Fitting, lr: float
) -> TrainStats:
    """:func:`train` ``parameters`` at peak rate ``lr`` so that ``render(indices)`` (``[B, 3, H, W]``) matches those frames."""
    options = fitting.options

    def step(indices: torch.Tensor) -> torch.Tensor:
        indices = indices.to(fitting.device)
        masks = fitting.masks[indices] if fitting.masks is not None else None
        return reconstruction_loss(render(indices), fitting.targets[indices], masks, options.loss)

    return train(
        parameters,
        step,
        len(fitting.data.times),
        iters=options.iters,
        seconds=options.seconds,
        lr=lr,
        batch=options.batch,
        seed=options.seed,
        callback=options.callback,
    )
