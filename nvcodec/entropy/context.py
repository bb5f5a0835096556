"""A bit-exact autoregressive context model for integer latent grids, and the ANS coding under it.

Each symbol of a 2-D grid is coded under a Laplace whose mean and scale a
tiny MLP (:class:`IntegerARM`, as Cool-Chic's ARM) predicts from six already
decoded neighbours (:data:`CONTEXT`). An entropy decoder must rebuild every
probability exactly as the encoder saw it, on any machine and at any thread
count, so nothing here touches floating point on the way to a probability:
the MLP runs in int64 fixed point, its outputs are quantized to a quarter-unit
mean and one of :data:`SCALE_LEVELS` scales, and the probability tables come
from integer powers of per-scale decays stored as literals (:data:`DECAY_Q30`,
never ``exp`` at run time: libm may differ by an ulp between machines).

The tables have a total of ``2^24``, constriction's ANS precision, and are
handed to it as the integer *free* weights (each symbol's count less the 1 it
always gets): constriction then rebuilds exactly those counts (its lazy
categorical adds 1 per symbol and scales by ``(2^24 - n) / sum = 1``, exact in
float), so :func:`coded_grid_bits` is the exact cost of the coded words.

Coding runs in wavefronts: cell ``(r, c)`` belongs to wavefront ``2r + c``,
and all its neighbours to earlier ones, so the decoder predicts and decodes a
whole wavefront of every grid with one vectorised step. The differentiable
twin that training uses is :mod:`nvcodec.quant.context_rate` (this module
stays torch-free so that decoding needs numpy and constriction only).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import constriction
import numpy as np

from nvcodec.errors import FormatError

CONTEXT: tuple[tuple[int, int], ...] = ((0, -1), (0, -2), (-1, -1), (-1, 0), (-1, 1), (-2, 0))
"""Causal neighbours ``(dy, dx)`` of a cell, in the order of the ARM's inputs; cells outside the grid read 0."""
ARM_HIDDEN = 8
"""Hidden units of the ARM."""
ARM_SHIFT = 8
"""The ARM's weights and biases are integers in units of ``2^-ARM_SHIFT``."""
ARM_WEIGHT_MAX = 1 << 15
"""Largest magnitude of an integer weight: with contexts within ±:data:`CONTEXT_CLIP` no int64 sum can overflow."""
CONTEXT_CLIP = 64
"""Context symbols are clamped to ``±CONTEXT_CLIP`` before the ARM sees them."""

MU_STEPS = 4
"""The predicted mean is quantized to ``1/MU_STEPS`` of a symbol."""
MU_MAX = 64
"""Largest magnitude of the predicted mean, in symbols."""
SCALE_LEVELS = 64
"""Laplace scales the coder knows, evenly spaced in log2."""
LOG2_SCALE_MIN = -4.71875
"""log2 of the lower edge of scale level 0 (exact binary fraction; ``b`` from 0.038 to 65.4 over all levels)."""
LOG2_SCALE_STEP = 0.16796875
"""Width of one scale level in log2 (43/256, exact)."""
LOG2_SCALE_MIN_Q16 = -309248
"""``LOG2_SCALE_MIN * 2^16``: the level boundaries in the units of the ARM's output."""
LOG2_SCALE_STEP_Q16 = 11008
"""``LOG2_SCALE_STEP * 2^16``."""

# Level j stands for the scale at the centre of its log2 interval, b_j = 2^(LOG2_SCALE_MIN + (j + 1/2) LOG2_SCALE_STEP)
# (0.0403 ... 61.7), and holds its decay over a quarter of a symbol, generated once as
#     DECAY_Q30[j] = round(exp(-1 / (4 * b_j)) * 2^30).
# These literals ARE the model: never recompute them at run time.
DECAY_Q30: tuple[int, ...] = (
    2155802, 4266332, 7832845, 13451921, 21768890, 33412765, 48925791, 68700553,
    92935181, 121612537, 154504040, 191194522, 231121808, 273623902, 317987215, 363490755,
    409442942, 455209503, 500232207, 544039253, 586248630, 626566041, 664778948, 700748152,
    734398061, 765706556, 794695108, 821419574, 845961941, 868423129, 888916889, 907564754,
    924491943, 939824141, 953685017, 966194380, 977466860, 987611019, 996728807, 1004915289,
    1012258578, 1018839930, 1024733943, 1030008851, 1034726856, 1038944505, 1042713072, 1046078952,
    1049084043, 1051766121, 1054159193, 1056293834, 1058197503, 1059894835, 1061407912, 1062756510,
    1063958333, 1065029212, 1065983304, 1066833254, 1067590361, 1068264710, 1068865303, 1069400172,
)  # fmt: skip

PRECISION = 24
"""Table total ``2^PRECISION``: constriction's ANS precision, so its quantized model is the table itself."""
MAX_ALPHABET_HALF = 1 << 12
"""Largest ``A`` of the alphabet ``[-A, A]`` (the encoder clamps its symbols within)."""
MAX_CELLS = 1 << 22
"""Cap on the cells of one call's grids (bounds decode allocation)."""
MAX_WORK = 1 << 30
"""Cap on ``cells * (2A + 1)``, the table entries one call builds (bounds the decode time of a hostile file)."""
_CHUNK = 1 << 20
"""Table entries built at once (bounds memory; chunking does not change the code)."""

_END = np.array([1, 1], dtype=np.int32)
_END_WEIGHTS = np.full((2, 2), float((1 << (PRECISION - 1)) - 1))
"""The end mark, coded after the last symbol: two fair bits, both 1 (about 25 bits a stream). Pushed first onto
the empty coder, they leave it at state ``3 * 2^23``. A decoder that runs out of words is left with a state
below ``2^24`` (and may decode ``-A`` forever from it); ANS decoding is a bijection of states, so such a state
never decodes to the mark with nothing left: truncation cannot pass for a stream that ends early."""
_Q30, _Q31 = 1 << 30, 1 << 31
_DY = np.array([dy for dy, _ in CONTEXT], dtype=np.int64)
_DX = np.array([dx for _, dx in CONTEXT], dtype=np.int64)
_PAD_TOP, _PAD_LEFT, _PAD_RIGHT = -int(_DY.min()), -int(_DX.min()), int(_DX.max())
_MU_LIMIT = MU_MAX * MU_STEPS


@dataclass(frozen=True, eq=False)
class IntegerARM:
    """The context model's integer weights, in units of ``2^-ARM_SHIFT``: ``h = relu(ctx @ w1 + b1)``,
    ``(mu, log2 b) = h @ w2 + b2``."""

    w1: np.ndarray
    """``[len(CONTEXT), ARM_HIDDEN]`` int64."""
    b1: np.ndarray
    """``[ARM_HIDDEN]`` int64."""
    w2: np.ndarray
    """``[ARM_HIDDEN, 2]`` int64: the outputs are the mean in symbols and the log2 of the Laplace scale."""
    b2: np.ndarray
    """``[2]`` int64."""

    def __post_init__(self) -> None:
        shapes = {"w1": (len(CONTEXT), ARM_HIDDEN), "b1": (ARM_HIDDEN,), "w2": (ARM_HIDDEN, 2), "b2": (2,)}
        for name, shape in shapes.items():
            value = np.asarray(getattr(self, name))
            if value.shape != shape or value.dtype.kind not in "iu":
                raise FormatError(
                    f"context model weight {name} must be {shape} integers, not {value.shape} {value.dtype}"
                )
            if value.size and int(np.abs(value.astype(np.int64)).max()) > ARM_WEIGHT_MAX:
                raise FormatError(f"context model weight {name} exceeds ±{ARM_WEIGHT_MAX} (units of 2^-{ARM_SHIFT})")
            value = value.astype(np.int64)  # a copy: the caller's array cannot change the model
            value.flags.writeable = False
            object.__setattr__(self, name, value)

    @classmethod
    def from_float(cls, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> IntegerARM:
        """The model of float weights, each rounded to the nearest multiple of ``2^-ARM_SHIFT`` (exact on that grid)."""
        values = []
        for name, value in zip(("w1", "b1", "w2", "b2"), (w1, b1, w2, b2)):
            value = np.asarray(value, dtype=np.float64) * (1 << ARM_SHIFT)
            if not np.all(np.abs(value) <= ARM_WEIGHT_MAX + 0.5):  # also catches NaN
                raise FormatError(
                    f"context model weight {name} is not finite or exceeds ±{ARM_WEIGHT_MAX >> ARM_SHIFT}"
                )
            values.append(np.rint(value).astype(np.int64))
        return cls(*values)

    def predict(self, context: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[n, 6]`` clamped int64 contexts -> ``(mu_q, scale_index)``, each int64 ``[n]``.

        ``mu_q`` is the mean in units of ``1/MU_STEPS`` (within ``±MU_MAX * MU_STEPS``), ``scale_index``
        the level in ``[0, SCALE_LEVELS)``: integer arithmetic only (int64 matmul has no BLAS, no rounding).
        """
        hidden = np.maximum(context @ self.w1 + self.b1, 0)  # units 2^-8
        out = hidden @ self.w2 + (self.b2 << ARM_SHIFT)  # units 2^-16
        half = 1 << (2 * ARM_SHIFT - 3)  # round half up of out * MU_STEPS / 2^16 = out / 2^14
        mu_q = np.clip((out[:, 0] + half) >> (2 * ARM_SHIFT - 2), -_MU_LIMIT, _MU_LIMIT)
        scale_index = np.clip((out[:, 1] - LOG2_SCALE_MIN_Q16) // LOG2_SCALE_STEP_Q16, 0, SCALE_LEVELS - 1)
        return mu_q, scale_index


def contexts(grid: np.ndarray) -> np.ndarray:
    """The clamped causal context of every cell of a 2-D int64 grid, ``[H * W, len(CONTEXT)]`` in raster order."""
    grid = np.clip(np.asarray(grid, dtype=np.int64), -CONTEXT_CLIP, CONTEXT_CLIP)
    rows, cols = grid.shape
    padded = np.pad(grid, ((_PAD_TOP, 0), (_PAD_LEFT, _PAD_RIGHT)))
    shifted = [
        padded[_PAD_TOP + dy : _PAD_TOP + dy + rows, _PAD_LEFT + dx : _PAD_LEFT + dx + cols] for dy, dx in CONTEXT
    ]
    return np.stack(shifted, axis=-1).reshape(rows * cols, len(CONTEXT))


@functools.lru_cache(maxsize=8)
def _decay_powers(alphabet_half: int) -> np.ndarray:
    """``q_j^d`` in Q30 for every level ``j`` and ``d`` up to the largest quarter-unit distance a table of ``A`` needs.

    Built by repeated ``(p * q + 2^29) >> 30``: this recurrence, not ``q^d`` itself, defines the tables.
    """
    length = 4 * alphabet_half + 2 + _MU_LIMIT + 1
    decay = np.array(DECAY_Q30, dtype=np.int64)
    powers = np.empty((length, SCALE_LEVELS), dtype=np.int64)
    powers[0] = _Q30
    for distance in range(1, length):
        powers[distance] = (powers[distance - 1] * decay + (_Q30 >> 1)) >> 30
    out = np.ascontiguousarray(powers.T)
    out.flags.writeable = False
    return out


def _free_weights(alphabet_half: int, mu_q: np.ndarray, scale_index: np.ndarray) -> np.ndarray:
    """``[m, 2A + 1]`` int64: each symbol's count less 1 under ``(mu_q, scale_index)``; every row sums to ``2^24 - n``.

    The count of ``k`` is 1 plus its share of ``2^24 - n`` by the Laplace mass of ``[k - 1/2, k + 1/2]`` (the two
    end symbols take the tails), the mass from the CDF at the bin edges in Q31: ``q^d / 2`` below the mean and
    ``1 - q^d / 2`` above it, ``d`` the edge's distance to the mean in quarter units. What the floors leave goes
    to the most likely symbol.
    """
    size = 2 * alphabet_half + 1
    powers = _decay_powers(alphabet_half)
    edges = 4 * np.arange(-alphabet_half, alphabet_half + 2, dtype=np.int64) - 2  # n + 1 edges, quarter units
    distance = edges[None, :] - mu_q[:, None]
    tail = powers[scale_index[:, None], np.abs(distance)]
    cdf = np.where(distance >= 0, _Q31 - tail, tail)
    cdf[:, 0], cdf[:, -1] = 0, _Q31
    mass = np.diff(cdf, axis=1)  # sums to 2^31
    free = (1 << PRECISION) - size
    weights = (mass * free) >> 31
    rows = np.arange(len(weights))
    weights[rows, np.argmax(mass, axis=1)] += free - weights.sum(axis=1)
    return weights


def laplace_counts(alphabet_half: int, level: int) -> np.ndarray:
    """``[2A + 1]`` int64 counts of a zero-mean Laplace of scale level ``level`` over ``[-A, A]``, total
    ``2^PRECISION``, every one at least 1: the table the grids' coder uses at ``mu = 0``, for other streams."""
    return _free_weights(alphabet_half, np.zeros(1, np.int64), np.array([level], np.int64))[0] + 1


def _table_rows(alphabet_half: int, mu_q: np.ndarray, scale_index: np.ndarray) -> np.ndarray:
    """:func:`_free_weights` of each ``(mu_q, scale_index)``, built once per distinct pair."""
    key = scale_index * (2 * _MU_LIMIT + 1) + (mu_q + _MU_LIMIT)
    unique, inverse = np.unique(key, return_inverse=True)
    rows = _free_weights(alphabet_half, unique % (2 * _MU_LIMIT + 1) - _MU_LIMIT, unique // (2 * _MU_LIMIT + 1))
    return rows[inverse.reshape(-1)]


@dataclass(frozen=True)
class _Order:
    """The cells of a list of grids in coding order, as positions in one flat zero-padded buffer."""

    position: np.ndarray
    """Flat buffer index of each cell, in coding order."""
    stride: np.ndarray
    """Padded row length of each cell's grid."""
    starts: np.ndarray
    """Wavefront ``w``'s cells are ``starts[w]:starts[w + 1]``."""
    origins: list[tuple[int, int, int]]
    """``(buffer offset of cell (0, 0), rows, padded row length)`` of each grid."""
    size: int
    """Length of the buffer."""

    def neighbours(self, part: slice) -> np.ndarray:
        """``[m, len(CONTEXT)]`` buffer indices of the context of the cells in ``part``."""
        return self.position[part, None] + _DY[None, :] * self.stride[part, None] + _DX[None, :]

    def grids(self, buffer: np.ndarray) -> list[np.ndarray]:
        """The grids' values in ``buffer``."""
        return [self.block(buffer, index).copy() for index in range(len(self.origins))]

    def block(self, buffer: np.ndarray, index: int) -> np.ndarray:
        """A view of grid ``index``'s cells in ``buffer``."""
        origin, rows, stride = self.origins[index]
        start = origin - _PAD_LEFT
        return buffer[start : start + rows * stride].reshape(rows, stride)[:, _PAD_LEFT : stride - _PAD_RIGHT]


def _order(shapes: Sequence[tuple[int, int]]) -> _Order:
    """The coding order of grids of ``shapes``: wavefront by wavefront, grid by grid within one, row by row."""
    origins, position, stride, wave, grid_id, row = [], [], [], [], [], []
    offset = 0
    for index, (rows, cols) in enumerate(shapes):
        padded = cols + _PAD_LEFT + _PAD_RIGHT
        origin = offset + _PAD_TOP * padded + _PAD_LEFT
        origins.append((origin, rows, padded))
        offset += (rows + _PAD_TOP) * padded
        r, c = np.divmod(np.arange(rows * cols, dtype=np.int64), max(cols, 1))
        position.append(origin + r * padded + c)
        stride.append(np.full(rows * cols, padded, dtype=np.int64))
        wave.append(2 * r + c)
        grid_id.append(np.full(rows * cols, index, dtype=np.int64))
        row.append(r)
    if not position:
        empty = np.zeros(0, dtype=np.int64)
        return _Order(empty, empty, np.zeros(1, dtype=np.int64), [], 0)
    waves = np.concatenate(wave)
    order = np.lexsort((np.concatenate(row), np.concatenate(grid_id), waves))
    waves = waves[order]
    last = int(waves[-1]) if waves.size else -1
    starts = np.searchsorted(waves, np.arange(last + 2))
    return _Order(np.concatenate(position)[order], np.concatenate(stride)[order], starts, origins, offset)


def _check_grids(grids: Sequence[np.ndarray], arm: IntegerARM) -> int:
    """The alphabet half-width of the grids; a grid that is not 2-D int64 or out of bounds is a ``ValueError``."""
    if not isinstance(arm, IntegerARM):
        raise TypeError(f"arm must be an IntegerARM, not {type(arm).__name__}")
    alphabet_half, cells = 0, 0
    for grid in grids:
        if not isinstance(grid, np.ndarray) or grid.dtype != np.int64 or grid.ndim != 2:
            raise ValueError("grids must be 2-D int64 arrays")
        cells += grid.size
        if grid.size:
            alphabet_half = max(alphabet_half, int(grid.max()), -int(grid.min()))  # no np.abs: -2^63 overflows
    if alphabet_half > MAX_ALPHABET_HALF:
        raise ValueError(f"grid symbol magnitude {alphabet_half} exceeds {MAX_ALPHABET_HALF}: clamp before coding")
    _check_size(cells, alphabet_half, ValueError)
    return alphabet_half


def push_end_mark(coder: constriction.stream.stack.AnsCoder) -> None:
    """Push :data:`_END` onto an empty coder, before any symbol: the bottom of the stack, decoded last."""
    coder.encode_reverse(_END, constriction.stream.model.Categorical(perfect=False), _END_WEIGHTS)


def read_end_mark(coder: constriction.stream.stack.AnsCoder, what: str) -> None:
    """Decode the end mark after the last symbol; a stream that lacks it or goes on after it is a
    :class:`FormatError` naming ``what``."""
    try:
        end = coder.decode(constriction.stream.model.Categorical(perfect=False), _END_WEIGHTS)
    except Exception as exc:  # constriction reports damaged data with various exception types
        raise FormatError(f"{what} is damaged: {exc}") from None
    if not np.array_equal(end, _END):
        raise FormatError(f"{what} runs out before its symbols do: damaged or truncated")
    if not coder.is_empty():
        raise FormatError(f"{what} goes on after its symbols: damaged")


def _check_size(cells: int, alphabet_half: int, error: type[Exception]) -> None:
    if cells > MAX_CELLS:
        raise error(f"latent grids of {cells} cells exceed the cap of {MAX_CELLS}")
    if cells * (2 * alphabet_half + 1) > MAX_WORK:
        raise error(f"{cells} grid cells over an alphabet of {2 * alphabet_half + 1} symbols exceed the work cap")


def _coding_plan(grids: Sequence[np.ndarray], arm: IntegerARM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each cell's symbol, ``mu_q`` and scale level, in coding order."""
    order = _order([grid.shape for grid in grids])
    buffer = np.zeros(order.size, dtype=np.int64)
    for index, grid in enumerate(grids):
        order.block(buffer, index)[...] = grid
    symbols = buffer[order.position]
    clamped = np.clip(buffer, -CONTEXT_CLIP, CONTEXT_CLIP)
    mu_q, scale_index = arm.predict(clamped[order.neighbours(slice(None))])
    return symbols, mu_q, scale_index


def _chunks(count: int, alphabet_half: int) -> list[slice]:
    rows = max(1, _CHUNK // (2 * alphabet_half + 1))
    return [slice(start, min(start + rows, count)) for start in range(0, count, rows)]


def encode_grids(grids: Sequence[np.ndarray], arm: IntegerARM) -> tuple[int, bytes]:
    """ANS-code 2-D int64 grids under ``arm``: ``(A, words)``, the alphabet ``[-A, A]`` and little-endian uint32s.

    ``A`` is the largest symbol magnitude (0 codes nothing: every symbol is 0). Grids may differ in shape.
    """
    alphabet_half = _check_grids(grids, arm)
    if alphabet_half == 0:
        return 0, b""
    symbols, mu_q, scale_index = _coding_plan(grids, arm)
    family = constriction.stream.model.Categorical(perfect=False)
    coder = constriction.stream.stack.AnsCoder()
    push_end_mark(coder)
    for part in reversed(_chunks(len(symbols), alphabet_half)):  # last symbols first: the decoder pops them last
        rows = _table_rows(alphabet_half, mu_q[part], scale_index[part]).astype(np.float64)
        coder.encode_reverse((symbols[part] + alphabet_half).astype(np.int32), family, rows)
    return alphabet_half, coder.get_compressed().astype("<u4").tobytes()


def coded_grid_bits(grids: Sequence[np.ndarray], arm: IntegerARM) -> float:
    """Ideal bits ``-sum log2 p`` of the grids under the integer tables (what :func:`encode_grids` spends, to
    within the ANS coder's final word or two)."""
    alphabet_half = _check_grids(grids, arm)
    if alphabet_half == 0:
        return 0.0
    symbols, mu_q, scale_index = _coding_plan(grids, arm)
    total = 0.0
    for part in _chunks(len(symbols), alphabet_half):
        rows = _table_rows(alphabet_half, mu_q[part], scale_index[part])
        counts = rows[np.arange(len(rows)), symbols[part] + alphabet_half] + 1
        total += float(np.sum(PRECISION - np.log2(counts.astype(np.float64))))
    return total


def _check_stream(alphabet_half: object, data: object, shapes: object) -> list[tuple[int, int]]:
    """The shapes as int pairs; anything malformed is a :class:`FormatError`."""
    if not isinstance(alphabet_half, (int, np.integer)) or isinstance(alphabet_half, bool):
        raise FormatError(f"latent grid alphabet must be an integer, not {type(alphabet_half).__name__}")
    if not 0 <= alphabet_half <= MAX_ALPHABET_HALF:
        raise FormatError(f"latent grid alphabet half-width {alphabet_half} is outside [0, {MAX_ALPHABET_HALF}]")
    if not isinstance(data, bytes) or len(data) % 4:
        raise FormatError("latent grid data must be bytes, a whole number of 32-bit words")
    if not isinstance(shapes, Sequence):
        raise FormatError("latent grid shapes must be a sequence of (rows, columns)")
    checked, cells = [], 0
    for shape in shapes:
        if (
            not isinstance(shape, Sequence)
            or len(shape) != 2
            or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= MAX_CELLS for v in shape
            )
        ):
            raise FormatError(f"latent grid shape {shape!r} is not two sizes within [0, {MAX_CELLS}]")
        cells += int(shape[0]) * int(shape[1])
        if cells > MAX_CELLS:
            break
        checked.append((int(shape[0]), int(shape[1])))
    _check_size(cells, int(alphabet_half), FormatError)
    return checked


def decode_grids(
    alphabet_half: int, data: bytes, shapes: Sequence[tuple[int, int]], arm: IntegerARM
) -> list[np.ndarray]:
    """Inverse of :func:`encode_grids`: the int64 grids of ``shapes``, each symbol in ``[-A, A]``.

    Damaged or hostile input raises :class:`FormatError`; the work is bounded by :data:`MAX_WORK`.
    """
    checked = _check_stream(alphabet_half, data, shapes)
    if not isinstance(arm, IntegerARM):
        raise TypeError(f"arm must be an IntegerARM, not {type(arm).__name__}")
    alphabet_half = int(alphabet_half)
    order = _order(checked)
    buffer = np.zeros(order.size, dtype=np.int64)
    if alphabet_half == 0 or not len(order.position):
        if data:
            raise FormatError("latent grid data present where there is nothing to decode")
        return order.grids(buffer)
    try:
        coder = constriction.stream.stack.AnsCoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))
    except Exception as exc:  # constriction rejects some damaged data up front (a zero last word)
        raise FormatError(f"latent grid data is damaged: {exc}") from None
    family = constriction.stream.model.Categorical(perfect=False)
    rows_per_chunk = max(1, _CHUNK // (2 * alphabet_half + 1))
    for wave in range(len(order.starts) - 1):
        for start in range(int(order.starts[wave]), int(order.starts[wave + 1]), rows_per_chunk):
            part = slice(start, min(start + rows_per_chunk, int(order.starts[wave + 1])))
            context = np.clip(buffer[order.neighbours(part)], -CONTEXT_CLIP, CONTEXT_CLIP)
            mu_q, scale_index = arm.predict(context)
            rows = _table_rows(alphabet_half, mu_q, scale_index).astype(np.float64)
            try:
                values = coder.decode(family, rows)
            except Exception as exc:  # constriction reports damaged data with various exception types
                raise FormatError(f"latent grid data is damaged: {exc}") from None
            buffer[order.position[part]] = np.asarray(values, dtype=np.int64) - alphabet_half
    read_end_mark(coder, "latent grid data")
    return order.grids(buffer)


__all__ = [
    "ARM_HIDDEN",
    "ARM_SHIFT",
    "ARM_WEIGHT_MAX",
    "CONTEXT",
    "CONTEXT_CLIP",
    "DECAY_Q30",
    "LOG2_SCALE_MIN",
    "LOG2_SCALE_MIN_Q16",
    "LOG2_SCALE_STEP",
    "LOG2_SCALE_STEP_Q16",
    "MAX_ALPHABET_HALF",
    "MAX_CELLS",
    "MAX_WORK",
    "MU_MAX",
    "MU_STEPS",
    "PRECISION",
    "SCALE_LEVELS",
    "IntegerARM",
    "coded_grid_bits",
    "contexts",
    "decode_grids",
    "encode_grids",
    "laplace_counts",
    "push_end_mark",
    "read_end_mark",
]
