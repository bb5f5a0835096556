import numpy as np
import pytest
import torch

from nvcodec.errors import ConfigError
from nvcodec.tiling import AxisTiling, PatchGrid

SIDES = [1, 5, 17, 31, 48, 96, 97, 100, 144, 176, 181, 300, 1080]


@pytest.mark.parametrize("length", SIDES)
@pytest.mark.parametrize(("patch", "overlap"), [(96, 16), (32, 8), (24, 12), (16, 0)])
def test_axis_windows_sum_to_exactly_one(length, patch, overlap):
    axis = AxisTiling.build(length, patch, overlap)
    for out in (length, 3 * length, max(1, length // 2)):
        x = axis.centres(out)
        total = sum(axis.window(i, x) for i in range(axis.count))
        assert np.array_equal(total, np.ones_like(x))


@pytest.mark.parametrize(("height", "width"), [(144, 176), (48, 48), (37, 101), (1, 1), (97, 33)])
def test_grid_windows_are_partition_of_unity(height, width):
    grid = PatchGrid.build(height, width, 32, 8)
    for h, w in ((height, width), (4 * height, 4 * width), (height + 3, 2 * width + 1)):
        weights = grid.weights(h, w)
        assert weights.min() >= 0
        np.testing.assert_allclose(weights.sum(axis=0), 1.0, rtol=0, atol=1e-12)


def test_patches_cover_frame_and_stay_inside():
    grid = PatchGrid.build(181, 300, 96, 16)
    for axis in (grid.rows, grid.cols):
        assert axis.starts[0] == 0
        assert axis.starts[-1] + axis.size == axis.length
        # never more than two windows overlap: bands are disjoint and inside both patches
        for i, (lo, hi) in enumerate(zip(axis.band_lo, axis.band_hi)):
            assert axis.starts[i + 1] <= lo <= hi <= axis.starts[i] + axis.size
        assert all(a <= b for a, b in zip(axis.band_hi, axis.band_lo[1:]))


def test_pixel_plan_reassembles_weights():
    grid = PatchGrid.build(50, 70, 32, 8)
    plan = grid.pixel_plan(100, 140)
    total = torch.zeros(100 * 140, dtype=torch.float64)
    total.index_add_(0, plan.index.reshape(-1), plan.weights.reshape(-1).double())
    np.testing.assert_allclose(total.numpy(), 1.0, atol=1e-6)
    assert plan.coords.abs().max() <= 1.0


def test_coordinates_are_resolution_independent():
    """At 3x, output pixel 3j+1 has the same centre as input pixel j: same coords, same weights."""
    grid = PatchGrid.build(40, 56, 24, 8)
    native, triple = grid.pixel_plan(40, 56), grid.pixel_plan(120, 168)
    for p in range(grid.num_patches):
        lookup = {int(i): k for k, i in enumerate(triple.index[p]) if triple.weights[p, k] > 0}
        for k, flat in enumerate(native.index[p]):
            if native.weights[p, k] == 0:
                continue
            row, col = divmod(int(flat), 56)
            j = lookup[(3 * row + 1) * 168 + 3 * col + 1]
            torch.testing.assert_close(triple.coords[p, j], native.coords[p, k])
            torch.testing.assert_close(triple.weights[p, j], native.weights[p, k])


def test_sampling_table_matches_native_plan():
    grid = PatchGrid.build(48, 48, 32, 8)
    table = grid.sampling_table()
    weights = grid.weights()
    for p in range(grid.num_patches):
        rows = table.rows[p, : table.row_count[p]].numpy()
        cols = table.cols[p, : table.col_count[p]].numpy()
        assert set(zip(*np.nonzero(weights[p] > 0))) == {(r, c) for r in rows for c in cols}


def test_bad_sizes_raise_library_errors():
    with pytest.raises(ConfigError):
        AxisTiling.build(0, 32, 8)
    with pytest.raises(ConfigError):
        PatchGrid.build(10, 10, 8, 2).pixel_plan(0, 5)
