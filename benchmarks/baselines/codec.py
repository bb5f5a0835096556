"""A fitted NeRV-family model to bytes and back (the bitstream is :mod:`benchmarks.baselines.bitstream`)."""

from __future__ import annotations

from dataclasses import asdict

import torch

from benchmarks.baselines.bitstream import Packed, deserialise, read_header, serialise
from benchmarks.baselines.blocks import FrameModel
from benchmarks.baselines.training import resolve_device


def pack(model: FrameModel, bits: int = 8) -> Packed:
    """The model's bitstream plus the state a decoder will rebuild from it.

    A model that learned its quantization steps (HNeRV-Boost) carries them as
    ``coding_steps`` (tensor name -> grid step); every other tensor gets its
    rows' peak steps.
    """
    return serialise(model.kind, asdict(model.config), model.state_dict(), bits, getattr(model, "coding_steps", None))


def code(model: FrameModel, bits: int = 8) -> bytes:
    """Quantize (``bits`` per weight and embedding value, 16 per bias) and entropy-code a fitted model."""
    return pack(model, bits).data


def decode(data: bytes, device: str | torch.device = "cpu") -> FrameModel:
    """Rebuild a model from :func:`code`'s bytes, ready to ``render``.

    The header's ``kind`` names the model class (:meth:`FrameModel.of_kind`):
    its module must have been imported, as :mod:`benchmarks.systems` does for
    every baseline.
    """
    payload = read_header(data)
    model_class = FrameModel.of_kind(payload["kind"])
    model = model_class(model_class.config_class(**payload["arch"]))
    model.load_state_dict(deserialise(payload, model.state_dict()))
    return model.to(resolve_device(device)).eval()


def quantized(model: FrameModel, bits: int = 8) -> FrameModel:
    """A copy of ``model`` with the parameters a decoder of ``code(model, bits)`` gets."""
    copy = type(model)(model.config)
    copy.load_state_dict(pack(model, bits).decoded)
    return copy.to(model.device).eval()
