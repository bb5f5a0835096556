"""The decode-cost benchmark's model: the encoder's shapes, one patch of the frame or patches of 96."""

from __future__ import annotations

from benchmarks.decode_cost import macs_per_pixel, model_for


def test_one_patch_of_the_frame_counts_fewer_macs_than_four_overlapping_patches_of_the_same_width() -> None:
    one, four = model_for(144, 176, 16, patch=176), model_for(144, 176, 16)
    assert (one.grid.num_patches, four.grid.num_patches) == (1, 4)
    assert macs_per_pixel(one, (144, 176), 1) < macs_per_pixel(four, (144, 176), 1)
