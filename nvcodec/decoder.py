"""Decoded parameters of any group: the one decode path of the reader and of a resumed encode.

A residual group adds its symbols to the decoded parameters of the group
before it, so decoding group ``k`` walks forward from the nearest group that
is intra or already decoded. Both :class:`nvcodec.reader.VideoReader` and the
encoder (rebuilding the last finished group when it resumes) go through
:class:`GroupDecoder`, so they cannot disagree on what a group decodes to.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping

import torch

from nvcodec.config import QuantConfig
from nvcodec.header import is_intra
from nvcodec.model.tensors import TensorSpec
from nvcodec.payload import unpack_group

State = dict[str, torch.Tensor]


def decode_group(
    payload: bytes, index: int, specs: Mapping[str, TensorSpec], quant: QuantConfig, reference: State | None
) -> State:
    """Group ``index``'s parameters from its chunk; ``reference`` is group ``index - 1`` decoded (residual groups)."""
    intra = is_intra(index, quant)
    return unpack_group(payload, specs, None if intra else reference, intra=intra)


class GroupDecoder:
    """Decodes groups on demand from ``read_payload(index)``, keeping the last ``cached`` decoded states."""

    def __init__(
        self,
        specs: Mapping[str, TensorSpec],
        quant: QuantConfig,
        read_payload: Callable[[int], bytes],
        cached: int = 4,
    ):
        self.specs = specs
        self.quant = quant
        self.read_payload = read_payload
        self.cached = max(1, cached)
        self._states: OrderedDict[int, State] = OrderedDict()

    def state(self, index: int) -> State:
        """Decoded parameters of group ``index`` (float32/complex64 on the CPU); do not modify them."""
        first = index
        while first not in self._states and not is_intra(first, self.quant):
            first -= 1
        state: State | None = None
        for current in range(first, index + 1):
            if current in self._states:
                state = self._states[current]
                self._states.move_to_end(current)
                continue
            state = decode_group(self.read_payload(current), current, self.specs, self.quant, state)
            self._states[current] = state
            while len(self._states) > self.cached:
                self._states.popitem(last=False)
        assert state is not None  # the loop ran at least once: first <= index
        return state

    def clear(self) -> None:
        self._states.clear()
