"""FrameINR: every patch's MLP evaluated in one batch."""

import torch

from nvcodec.model import FrameINR
from tests.conftest import make_group


def test_batched_patches_equal_one_patch_at_a_time():
    group = make_group(end=5)
    coords = torch.rand(group.grid.num_patches, 2, 7, 2) * 2 - 1
    tau = torch.tensor([0.1, 0.8])
    with torch.no_grad():
        biases = group.bias_inr(tau)
        batched = group.frame_inr(coords, biases)
        for p in range(group.grid.num_patches):
            single = FrameINR(1, group.config)
            for mine, theirs in zip(single.weights, group.frame_inr.weights):
                mine.copy_(theirs[p : p + 1])
            one = single(coords[p : p + 1], [b[p : p + 1] for b in biases])
            torch.testing.assert_close(one[0], batched[p])
