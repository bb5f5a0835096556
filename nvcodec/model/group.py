"""One group of frames: a frame INR and the bias INR that drives it over time."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from nvcodec.config import ModelConfig
from nvcodec.errors import ArgumentError
from nvcodec.model.activations import MAX_EXPONENT
from nvcodec.model.bias_inr import BiasINR
from nvcodec.model.frame_inr import FrameINR
from nvcodec.model.latent_grids import LatentGrids, initial_context_model
from nvcodec.model.tensors import group_tensors
from nvcodec.tiling import PatchGrid, PixelPlan

RENDER_CHUNK_POINTS = {"cpu": 1 << 13, "cuda": 1 << 21}
"""Pixel evaluations per render chunk, by device type. On CPU small chunks keep
intermediates in cache (``benchmarks/render_speed.py``); on GPU large chunks
amortize kernel launches while bounding memory at 4x of 1080p."""


CACHED_PLANS = 4
"""Output sizes whose pixel plans a group keeps (a plan at 4x of 1080p is ~1 GB)."""


def count_parameters(module: nn.Module) -> int:
    """Every stored number: parameters and buffers, complex values counting twice."""
    tensors = [*module.parameters(), *module.buffers()]
    return sum(t.numel() * (2 if t.is_complex() else 1) for t in tensors)


class GroupModel(nn.Module):
    """Frames ``start..end`` (inclusive, frame units) of a video as one continuous function."""

    frame_inr: FrameINR
    bias_inr: BiasINR

    def __init__(
        self,
        grid: PatchGrid,
        config: ModelConfig,
        start: int,
        end: int,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.grid = grid
        self.config = config
        self.start = start
        self.end = end
        self.frame_inr = FrameINR(grid.num_patches, config, generator)
        self.bias_inr = BiasINR(grid.num_patches, config, self.frame_inr.initial_biases(generator), generator)
        self.latent_grids = LatentGrids(grid.num_patches, config, grid.patch_shape)
        if config.grid_levels:
            self.context = initial_context_model(generator)
            """The context model that codes the grids (trained with the rate, used by no render)."""
        self.tensors = group_tensors(grid.num_patches, config, grid.patch_shape)
        """The stored tensors and their roles, as the codec reads them (:mod:`nvcodec.model.tensors`)."""
        self._check_tensors()
        self._plans: dict[tuple[int, int, str], PixelPlan] = {}

    def _check_tensors(self) -> None:
        # The codec trusts the table; a model that drifted from it would write files no reader can decode.
        actual = {name: (tuple(t.shape), t.is_complex()) for name, t in self.state_dict().items()}
        declared = {name: (spec.shape, spec.complex) for name, spec in self.tensors.items()}
        if actual != declared:
            raise AssertionError(f"GroupModel's tensors {actual} differ from its declared table {declared}")

    @classmethod
    def from_state(
        cls, grid: PatchGrid, config: ModelConfig, start: int, end: int, state: Mapping[str, torch.Tensor]
    ) -> GroupModel:
        """A group holding decoded parameters ``state``, on the device of ``state``'s tensors.

        Its random initialization is overwritten; a private generator keeps the global RNG untouched.
        """
        group = cls(grid, config, start, end, torch.Generator().manual_seed(0))
        group.load_state_dict(state)
        return group.to(next(iter(state.values())).device)

    @property
    def device(self) -> torch.device:
        """Where the parameters live."""
        return self.bias_inr.frequencies.device

    @property
    def frames_spanned(self) -> int:
        """Frame steps from ``start`` to ``end``; 1 for a one-frame group, so local time stays defined."""
        return max(self.end - self.start, 1)

    @property
    def frame_step(self) -> float:
        """One frame in group-local time."""
        return 1.0 / self.frames_spanned

    def local_time(self, t: torch.Tensor) -> torch.Tensor:
        """Frame times to group-local ``tau`` in [0, 1]."""
        return (t - self.start) / self.frames_spanned

    def move_to(self, start: int, end: int) -> None:
        """Span frames ``start..end`` instead, rendering the same function of frame time as before.

        A warm-started group so begins exactly where its predecessor left off
        (their shared boundary frame) and carries its motion on, instead of
        restarting from the predecessor's first frame.
        """
        span = self.frames_spanned
        self.bias_inr.retime((start - self.start) / span, max(end - start, 1) / span)
        self.start, self.end = start, end

    def hold_boundary(self, start: int, end: int) -> None:
        """Become the starting point of the next group, frames ``start..end`` (``start`` = this group's end).

        Every time then renders this group's last frame, the boundary the two
        share. Continuing the old time axis past its end (:meth:`move_to` alone)
        would ask the bias INR for times it was never fitted on, a worse start
        (measured in ``benchmarks/results/README.md``, "Warm start").
        """
        if start != self.end:
            raise ArgumentError(f"the next group must start at this group's last frame {self.end}, not {start}")
        self.move_to(start, end)
        self.bias_inr.hold(0.0)

    def inputs(self, coords: torch.Tensor) -> torch.Tensor:
        """The frame INR's inputs at ``[P, ..., 2]`` local coordinates: the coordinates, then each latent grid
        level's value there (``[P, ..., 2 + grid_levels]``)."""
        if not len(self.latent_grids):
            return coords
        return torch.cat([coords, self.latent_grids.sample(coords)], dim=-1)

    def forward(self, coords: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """``[P, F|1, N, 2]`` local coordinates at ``[F]`` local times -> ``[P, F, N, 3]`` RGB."""
        return self.frame_inr(self.inputs(coords), self.bias_inr(tau))

    def pixel_plan(self, height: int, width: int) -> PixelPlan:
        device = self.device
        key = (height, width, str(device))
        if key not in self._plans:
            if len(self._plans) >= CACHED_PLANS:  # a reader asked for many sizes: keep memory bounded
                self._plans.pop(next(iter(self._plans)))
            self._plans[key] = self.grid.pixel_plan(height, width).to(device)
        return self._plans[key]

    def render(self, t: float | Sequence[float] | torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Frames at times ``t`` (frame units, fractional allowed) at ``size = (h, w)``.

        Returns float ``[h, w, 3]`` for a scalar ``t`` and ``[F, h, w, 3]`` for
        a sequence, clamped to [0, 1], on the model's device.
        """
        times = torch.as_tensor(t, dtype=torch.float32, device=self.device)
        out = self._blend(
            times.reshape(-1), size, lambda coords, biases: self.frame_inr(self.inputs(coords[:, None]), biases)
        )
        return out[0] if times.ndim == 0 else out

    @torch.no_grad()
    def render_frames(
        self, t: Sequence[float] | torch.Tensor, size: tuple[int, int] | None = None, *, max_points: int | None = None
    ) -> torch.Tensor:
        """Frames ``[F, h, w, 3]`` at times ``t`` in one batched pass of both networks, for decoding only.

        The same function as :meth:`render` (equal within float rounding), made
        for many times at once: the bias INR runs once for all ``F`` times, each
        chunk of pixels goes through the frame INR for every time in one ``bmm``
        per layer, and the activations work in place on the pre-activations
        (no gradients are kept), which halves the memory traffic of the
        elementwise work that dominates a CPU decode. ``max_points`` bounds the
        pixel evaluations held at once (default: :data:`RENDER_CHUNK_POINTS`).
        """
        times = torch.as_tensor(t, dtype=torch.float32, device=self.device).reshape(-1)
        return self._blend(times, size, self._frame_inr_inplace, max_points)

    def _blend(
        self,
        times: torch.Tensor,
        size: tuple[int, int] | None,
        evaluate: Callable[[torch.Tensor, list[torch.Tensor]], torch.Tensor],
        max_points: int | None = None,
    ) -> torch.Tensor:
        """``[F, h, w, 3]``: ``evaluate(coords [P, n, 2], biases) -> [P, F, n, 3]`` over chunks of every patch's
        pixels, weighted by the blending windows and summed into the frames.

        Chunks of pixels across all patches keep every intermediate small enough
        to stay in cache on CPU and bounded in memory at 4x of 1080p on GPU.
        """
        device = self.device
        height, width = size or (self.grid.height, self.grid.width)
        plan = self.pixel_plan(height, width)
        biases = self.bias_inr(self.local_time(times))
        frames, patches, points = times.shape[0], plan.coords.shape[0], plan.coords.shape[1]
        out = torch.zeros(frames, height * width, 3, device=device)
        budget = max_points or RENDER_CHUNK_POINTS.get(device.type, RENDER_CHUNK_POINTS["cuda"])
        step = max(1, budget // (patches * frames))
        for first in range(0, points, step):
            chunk = slice(first, min(first + step, points))
            rgb = evaluate(plan.coords[:, chunk], biases)
            weighted = (rgb * plan.weights[:, None, chunk, None]).transpose(0, 1).reshape(frames, -1, 3)
            out.index_add_(1, plan.index[:, chunk].reshape(-1), weighted)
        return out.clamp_(0.0, 1.0).view(frames, height, width, 3)

    def _frame_inr_inplace(self, coords: torch.Tensor, biases: list[torch.Tensor]) -> torch.Tensor:
        """:meth:`FrameINR.forward` for ``[P, n, 2]`` coordinates shared by all frames, activations in place."""
        config = self.config
        activate = _INPLACE_ACTIVATIONS.get(config.activation)
        weights = list(self.frame_inr.weights)
        patches, points, frames = coords.shape[0], coords.shape[1], biases[0].shape[1]
        h = self.inputs(coords)
        for index, (weight, bias) in enumerate(zip(weights, biases)):
            if h.dtype != weight.dtype:
                h = h.to(weight.dtype)
            if index == 0:  # the coordinates are the same for every frame: one matmul serves all
                u = torch.bmm(h, weight).unsqueeze(1) + bias.unsqueeze(2)
            else:
                u = torch.bmm(h.reshape(patches, -1, h.shape[-1]), weight).view(patches, frames, points, -1)
                u.add_(bias.unsqueeze(2))
            if index == len(weights) - 1:
                return (u.real if u.is_complex() else u).contiguous()
            if activate is not None and not u.is_complex():
                h = activate(u, config.omega0, config.s0)
            else:
                h = self.frame_inr.activation(u, config.omega0, config.s0)
        raise AssertionError("unreachable: the frame INR has a linear output layer")


def _gabor_(u: torch.Tensor, omega0: float, s0: float) -> torch.Tensor:
    """:func:`nvcodec.model.activations.gabor`, the same operations in the same order, overwriting ``u``."""
    wave = torch.mul(u, omega0).cos_()
    return u.mul_(s0).square_().clamp_(max=MAX_EXPONENT).neg_().exp_().mul_(wave)


def _gauss_(u: torch.Tensor, omega0: float, s0: float) -> torch.Tensor:
    return u.mul_(s0).square_().clamp_(max=MAX_EXPONENT).neg_().exp_()


def _siren_(u: torch.Tensor, omega0: float, s0: float) -> torch.Tensor:
    return u.mul_(omega0).sin_()


_INPLACE_ACTIVATIONS = {"gabor": _gabor_, "gauss": _gauss_, "siren": _siren_}
"""Real activations rewritten in place for decoding; the others (complex ``wire``) use their own function."""
