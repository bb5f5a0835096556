"""What NeRV and HNeRV share: input handling, the training loop, and the bitstream.

Training
    Adam (betas 0.9/0.999, no weight decay), a linear warm-up over the first
    10 % of the budget from 10 % of the peak rate, then a cosine decay to 1 % of
    it. The budget is an iteration count, a wall-clock time in seconds, or both
    (whichever runs out first); the schedule follows the fraction of the budget
    spent, so a time budget gets a complete warm-up and decay too. Each step
    takes ``batch`` frames from a seeded random permutation of the training
    frames (epochs without replacement), as the papers do.

    Loss: ``mse`` by default. NeRV's paper uses ``0.7 * L1 + 0.3 * (1 - SSIM)``
    and HNeRV's an L2 loss; we default both to MSE because every system in the
    rate-distortion benchmark is scored by PSNR and nvcodec itself minimises
    MSE. ``l1ssim`` selects the NeRV mix (SSIM: 11x11 Gaussian window, sigma
    1.5, computed here).

    With a mask (``True`` = known pixel) only known pixels enter the loss. For
    the SSIM term, unknown target pixels are replaced by the (detached)
    prediction before the windowed statistics are taken, so their values never
    reach the loss through a window either.

Bitstream (``serialise`` / ``deserialise``)
    One msgpack map: a header (``kind``, the architecture config, the bit
    depth) and the parameters coded exactly as nvcodec codes a group
    (``nvcodec/codec.py``): every tensor with two or more dimensions is
    viewed as ``[rows, -1]`` (output channels of convolutions and linear
    layers, frames of HNeRV's embeddings) and quantized by
    ``nvcodec.quant.quantize_tensor`` with one step per row at ``bits``; all
    their symbols go through one ANS stream (``nvcodec.entropy``); 1-D tensors
    (biases) get 16 bits with one step per tensor, as zstd'd int32 like
    nvcodec's vectors. Steps are float16. Tensor names and shapes are not
    stored: the decoder rebuilds the model from the header and takes the
    names (sorted) and shapes from it, as nvcodec's reader does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass

import msgpack
import numpy as np
import torch
import torch.nn.functional as F
import zstandard
from torch import nn

from nvcodec import entropy
from nvcodec.quant import QuantizedTensor, quantize_tensor

FORMAT = "nerv-baselines"
FORMAT_VERSION = 1
BITS_VECTOR = 16
"""Bits of 1-D tensors (biases), as nvcodec's ``QuantConfig.bits_vector``."""


# --------------------------------------------------------------------- inputs


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


def grid_size(height: int, width: int, strides: Sequence[int]) -> tuple[int, int]:
    """Size of the smallest feature map whose upsampling covers ``height x width``.

    Non-power-of-two frames: the network produces ``grid * prod(strides)``
    pixels per side, at least the frame, and the frame is its top-left crop
    (176x144 with strides 4,3,2,2 -> grid 3x4 -> 144x192 -> crop).
    """
    scale = math.prod(strides)
    return math.ceil(height / scale), math.ceil(width / scale)


def count_parameters(module: nn.Module) -> int:
    """Every number in the module's ``state_dict`` (what the bitstream stores)."""
    return sum(t.numel() for t in module.state_dict().values())


# ----------------------------------------------------------------------- loss


def _gaussian_window(size: int = 11, sigma: float = 1.5, device: torch.device | None = None) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim_map(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-pixel SSIM of ``[B, C, H, W]`` images in [0, 1] (valid windows only)."""
    g = _gaussian_window(device=x.device)
    channels = x.shape[1]
    gx = g.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    gy = g.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)

    def blur(z: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(z, gx, groups=channels), gy, groups=channels)

    c1, c2 = 0.01**2, 0.03**2
    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cov = blur(x * y) - mx * my
    return ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))


def reconstruction_loss(
    prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None, kind: str = "mse"
) -> torch.Tensor:
    """Loss of ``[B, 3, H, W]`` frames; ``mask`` ``[B, 1, H, W]`` bool keeps only known pixels."""
    if kind not in ("mse", "l1ssim"):
        raise ValueError(f"unknown loss {kind!r}: use mse or l1ssim")
    if mask is not None:
        weight = mask.to(prediction.dtype)
        target = torch.where(mask, target, prediction.detach())
        denominator = 3 * weight.sum().clamp(min=1.0)
    error = prediction - target
    if kind == "mse":
        return (error.square() * weight).sum() / denominator if mask is not None else error.square().mean()
    l1 = (error.abs() * weight).sum() / denominator if mask is not None else error.abs().mean()
    if min(prediction.shape[-2:]) < 11:
        return l1
    similarity = ssim_map(prediction, target)
    if mask is not None:
        inner = weight[..., 5:-5, 5:-5]
        ssim = (similarity * inner).sum() / (3 * inner.sum().clamp(min=1.0))
    else:
        ssim = similarity.mean()
    return 0.7 * l1 + 0.3 * (1 - ssim)


# ------------------------------------------------------------------- training


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


# --------------------------------------------------------------------- models


def activation(name: str) -> nn.Module:
    """GELU (the NeRV paper's best) or sine (also studied there)."""
    if name == "gelu":
        return nn.GELU()
    if name == "sin":
        return Sine()
    raise ValueError(f"unknown activation {name!r}: use gelu or sin")


class Sine(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


class UpBlock(nn.Sequential):
    """conv (k x k, ``c_in -> c_out * s^2``) -> PixelShuffle(s) -> activation: a NeRV / HNeRV block."""

    def __init__(self, c_in: int, c_out: int, stride: int, kernel: int, act: str) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out * stride * stride, kernel, padding=kernel // 2),
            nn.PixelShuffle(stride),
            activation(act),
        )


class FrameModel(nn.Module):
    """A decoder that renders frame ``t`` (any real number) of a clip; subclasses define ``frames``."""

    kind: str = ""
    config: object

    def frames(self, t: torch.Tensor) -> torch.Tensor:
        """``[N]`` float frame indices -> ``[N, 3, H, W]`` in [0, 1] (differentiable)."""
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        return next(iter(self.state_dict().values())).device

    @torch.no_grad()
    def render(self, t: float) -> torch.Tensor:
        """Frame ``t`` (fractional indices interpolate) as ``[H, W, 3]`` float in [0, 1]."""
        return self.render_frames([t])[0]

    @torch.no_grad()
    def render_frames(self, times: Sequence[float], batch: int = 4) -> torch.Tensor:
        """``[N, H, W, 3]`` float in [0, 1] on the model's device."""
        was_training = self.training
        self.eval()
        out = []
        for start in range(0, len(times), batch):
            t = torch.tensor([float(x) for x in times[start : start + batch]], device=self.device)
            out.append(self.frames(t).permute(0, 2, 3, 1))
        self.train(was_training)
        return torch.cat(out)

    def numbers(self) -> int:
        return count_parameters(self)


# ------------------------------------------------------------------ bitstream


@dataclass(frozen=True)
class Packed:
    data: bytes
    decoded: dict[str, torch.Tensor]
    """The state exactly as :func:`deserialise` rebuilds it (float32, CPU)."""
    numbers: int
    """Stored numbers (every element of the state)."""
    coded_bits: int
    """Bits of the ANS stream alone."""


def _rows_view(tensor: torch.Tensor) -> torch.Tensor:
    """``[rows, -1]``: one quantization step per output channel (or per frame of an embedding)."""
    return tensor.reshape(tensor.shape[0], -1)


def _coded_names(template: Mapping[str, torch.Tensor]) -> tuple[list[str], list[str]]:
    names = sorted(template)
    return [n for n in names if template[n].ndim >= 2], [n for n in names if template[n].ndim < 2]


def serialise(kind: str, arch: dict, state: Mapping[str, torch.Tensor], bits: int = 8) -> Packed:
    """Quantize and entropy-code ``state`` behind a header naming ``kind`` and ``arch``."""
    state = {n: t.detach().to("cpu", torch.float32) for n, t in state.items()}
    coded, vectors = _coded_names(state)
    quantized: dict[str, QuantizedTensor] = {}
    for name in coded:
        quantized[name] = quantize_tensor(_rows_view(state[name]), bits)
    for name in vectors:
        quantized[name] = quantize_tensor(state[name].reshape(-1), BITS_VECTOR)
    symbols = np.concatenate([quantized[n].symbols.reshape(-1).numpy() for n in coded] or [np.zeros(0, np.int64)])
    stream = entropy.encode(symbols)
    vector_symbols = np.concatenate([quantized[n].symbols.reshape(-1).numpy() for n in vectors] or [np.zeros(0)])
    steps = b"".join(quantized[n].steps.reshape(-1).numpy().astype("<f2").tobytes() for n in coded + vectors)
    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "kind": kind,
        "arch": arch,
        "bits": bits,
        "steps": steps,
        "symbols": stream.to_dict(),
        "vectors": zstandard.ZstdCompressor(level=19).compress(vector_symbols.astype("<i4").tobytes()),
    }
    decoded = {n: quantized[n].dequantize().reshape(state[n].shape) for n in coded + vectors}
    return Packed(
        msgpack.packb(payload, use_bin_type=True),
        decoded,
        sum(t.numel() for t in state.values()),
        entropy.coded_bits(stream),
    )


def read_header(data: bytes) -> dict:
    """The msgpack map of a bitstream, checked for format and version."""
    payload = msgpack.unpackb(data, raw=False, strict_map_key=False, max_bin_len=len(data))
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError("not a NeRV-baseline bitstream")
    if payload.get("version") != FORMAT_VERSION:
        raise ValueError(f"unsupported NeRV-baseline bitstream version {payload.get('version')!r}")
    return payload


def deserialise(payload: dict, template: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rebuild the state from a :func:`read_header` map; ``template`` gives names and shapes."""
    coded, vectors = _coded_names(template)
    stream = entropy.SymbolStream.from_dict(payload["symbols"])
    coded_count = sum(template[n].numel() for n in coded)
    vector_count = sum(template[n].numel() for n in vectors)
    if stream.size != coded_count:
        raise ValueError(f"bitstream has {stream.size} symbols, the model needs {coded_count}")
    raw = zstandard.ZstdDecompressor().decompress(payload["vectors"], max_output_size=4 * vector_count + 1)
    if len(raw) != 4 * vector_count:
        raise ValueError("vector symbols have the wrong size")
    symbols = torch.cat(
        [torch.from_numpy(entropy.decode(stream)), torch.from_numpy(np.frombuffer(raw, "<i4").astype(np.int64))]
    )
    step_values = torch.from_numpy(np.frombuffer(payload["steps"], "<f2").astype(np.float32))
    expected_steps = sum(template[n].shape[0] for n in coded) + len(vectors)
    if step_values.numel() != expected_steps:
        raise ValueError(f"bitstream has {step_values.numel()} steps, the model needs {expected_steps}")
    out: dict[str, torch.Tensor] = {}
    offset = step_offset = 0
    for name in coded + vectors:
        like = template[name]
        rows = like.shape[0] if like.ndim >= 2 else 1
        shape = (rows, like.numel() // rows) if like.ndim >= 2 else (like.numel(),)
        step = (
            step_values[step_offset : step_offset + rows].reshape(rows, 1)
            if like.ndim >= 2
            else step_values[step_offset]
        )
        tensor = QuantizedTensor(shape, False, step, symbols[offset : offset + like.numel()].reshape(shape))
        out[name] = tensor.dequantize().reshape(like.shape)
        offset += like.numel()
        step_offset += rows
    return out


# ------------------------------------------------------------- public helpers


def _model_class(kind: str) -> tuple[type, type]:
    from benchmarks.baselines.hnerv import HNeRV, HNeRVConfig
    from benchmarks.baselines.nerv import NeRV, NeRVConfig

    classes = {"nerv": (NeRV, NeRVConfig), "hnerv": (HNeRV, HNeRVConfig)}
    if kind not in classes:
        raise ValueError(f"unknown model kind {kind!r} in bitstream")
    return classes[kind]


def pack(model: FrameModel, bits: int = 8) -> Packed:
    """The model's bitstream plus the state a decoder will rebuild from it."""
    return serialise(model.kind, asdict(model.config), model.state_dict(), bits)


def code(model: FrameModel, bits: int = 8) -> bytes:
    """Quantize (``bits`` per weight and embedding value, 16 per bias) and entropy-code a fitted model."""
    return pack(model, bits).data


def decode(data: bytes, device: str | torch.device = "cpu") -> FrameModel:
    """Rebuild a model from :func:`code`'s bytes, ready to ``render``."""
    payload = read_header(data)
    model_class, config_class = _model_class(payload["kind"])
    model = model_class(config_class(**payload["arch"]))
    model.load_state_dict(deserialise(payload, model.state_dict()))
    return model.to(resolve_device(device)).eval()


def quantized(model: FrameModel, bits: int = 8) -> FrameModel:
    """A copy of ``model`` with the parameters a decoder of ``code(model, bits)`` gets."""
    copy = type(model)(model.config)
    copy.load_state_dict(pack(model, bits).decoded)
    return copy.to(model.device).eval()


def run_rd_point(frames: np.ndarray | torch.Tensor, fps: float, setting: Mapping[str, object]) -> object:
    """Fit, code and decode one clip with NeRV or HNeRV; returns a ``benchmarks.baselines.base.Coded``.

    ``setting``: ``system`` (``nerv`` or ``hnerv``), ``size`` (preset, default
    ``s``), ``iters`` and/or ``seconds`` (budget), ``bits`` (default 8),
    ``seed`` (0), ``device`` (``cpu``), ``loss`` (``mse``), ``lr``, ``batch``.
    ``file_bytes`` is the length of the real bitstream and ``decoded`` is
    rendered from a model rebuilt from those bytes. ``encode_seconds`` covers
    training and coding; ``decode_fps`` covers parsing the bytes and rendering
    every frame.
    """
    from benchmarks.baselines.base import Coded
    from benchmarks.baselines.hnerv import fit_hnerv
    from benchmarks.baselines.nerv import fit_nerv
    from benchmarks.common import to_uint8
    from nvcodec.metrics import mse_to_psnr

    setting = dict(setting)
    system = str(setting.get("system", "nerv"))
    fitters = {"nerv": fit_nerv, "hnerv": fit_hnerv}
    if system not in fitters:
        raise ValueError(f"unknown system {system!r}: use nerv or hnerv")
    options = {
        k: setting[k] for k in ("size", "iters", "seconds", "seed", "device", "loss", "lr", "batch") if k in setting
    }
    if "iters" not in options and "seconds" not in options:
        raise ValueError("setting needs a budget: iters and/or seconds")
    bits = int(setting.get("bits", 8))
    video = as_float_frames(frames)
    count, height, width, _ = video.shape
    started = time.perf_counter()
    model = fitters[system](video, **options)
    packed = pack(model, bits)
    encode_seconds = time.perf_counter() - started
    started = time.perf_counter()
    decoder = decode(packed.data, device=options.get("device", "cpu"))
    decoded = decoder.render_frames(list(range(count)))
    if decoded.device.type == "cuda":
        torch.cuda.synchronize()
    decode_seconds = time.perf_counter() - started
    decoded_uint8 = to_uint8(decoded)
    unquantized = to_uint8(model.render_frames(list(range(count))))
    reference = to_uint8(video)

    def psnr(a: np.ndarray) -> float:
        return mse_to_psnr(float(np.mean((a.astype(np.float64) - reference.astype(np.float64)) ** 2)) / 255.0**2)

    stats = model.train_stats
    return Coded(
        system=system,
        settings={"system": system, "bits": bits, **options, "size": options.get("size", "s")},
        file_bytes=len(packed.data),
        decoded=decoded_uint8,
        encode_seconds=encode_seconds,
        decode_fps=count / decode_seconds,
        extra={
            "fps": fps,
            "numbers": packed.numbers,
            "bpp": 8 * len(packed.data) / (count * height * width),
            "ans_bytes": packed.coded_bits // 8,
            "psnr_unquantized": psnr(unquantized),
            "psnr": psnr(decoded_uint8),
            "train_iterations": stats.iterations,
            "train_seconds": stats.seconds,
            "iters_per_second": stats.iterations / stats.seconds,
            "config": asdict(model.config),
        },
    )


__all__ = [
    "BITS_VECTOR",
    "Packed",
    "TrainProgress",
    "TrainStats",
    "TrainingSet",
    "as_float_frames",
    "code",
    "count_parameters",
    "decode",
    "deserialise",
    "grid_size",
    "learning_rate",
    "normalised_time",
    "pack",
    "quantized",
    "read_header",
    "reconstruction_loss",
    "run_rd_point",
    "serialise",
    "ssim_map",
    "train",
    "training_set",
]
