"""cli.jobs and cli.request: the inputs, outputs and frame ranges of one actv-encode run, as values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nvcodec.cli import encode as encode_cli
from nvcodec.cli.common import UsageError
from nvcodec.cli.jobs import jobs_of, open_input, writes_to_folder
from nvcodec.cli.request import FrameRange
from nvcodec.errors import InputError
from nvcodec.recipe.quality import quality_for_bpp


def request(*argv: str):
    return encode_cli.request_from_args(encode_cli.build_parser().parse_args(list(argv)))


def test_a_frame_range_stops_after_its_frames_at_its_stride():
    assert FrameRange().stop is None
    assert FrameRange(start=4, frames=3, stride=2).stop == 10


def test_one_input_writes_the_named_file_and_several_write_one_file_each_into_a_folder():
    (job,) = jobs_of(request("in.mp4", "-o", "out.actv"))
    assert job.output == Path("out.actv") and job.resume_folder == Path("out.actv.partial")
    assert job.spec is not None and job.spec.path == "in.mp4"
    several = request("a/x.mp4", "b/y.mkv", "-o", "out")
    assert writes_to_folder(several)
    assert [j.output for j in jobs_of(several)] == [Path("out/x.actv"), Path("out/y.actv")]
    assert writes_to_folder(request("in.mp4", "-o", "out/"))


def test_inputs_that_cannot_go_together_are_usage_errors():
    with pytest.raises(UsageError, match="no input"):
        jobs_of(request("-o", "x.actv"))
    with pytest.raises(UsageError, match="not both"):
        jobs_of(request("in.mp4", "--sample", "-o", "x.actv"))
    with pytest.raises(UsageError, match="stdin"):
        jobs_of(request("-", "in.mp4", "-o", "out/"))
    with pytest.raises(UsageError, match=r"x\.actv"):
        jobs_of(request("a/x.mp4", "b/x.mkv", "-o", "out/"))


def test_the_sample_clip_is_cut_by_the_frame_range():
    (job,) = jobs_of(request("--sample", "-o", "s.actv", "--start", "2", "--frames", "4", "--stride", "2"))
    source = open_input(job, FrameRange(start=2, frames=4, stride=2))
    assert source.num_frames == 4 and source.fps == pytest.approx(12.5)
    np.testing.assert_array_less(-1e-6, source.read(0, 0))
    with pytest.raises(InputError, match="no frames"):
        open_input(job, FrameRange(start=10_000))


def test_the_request_carries_the_options_whole():
    made = request("in.mp4", "-o", "x.actv", "--max-bpp", "0.3", "--segment-groups", "2", "--hidden", "20")
    # --max-bpp alone starts at the quality of its typical rate
    assert made.options.max_bpp == 0.3 and made.options.segment_groups == 2
    assert made.options.quality == quality_for_bpp(0.3)
    assert made.given.width and not made.given.group_length and made.cluster is None
    assert request("in.mp4", "-o", "x.actv", "--bits", "6").trade is None  # fixed depths alone
    assert request("in.mp4", "-o", "x.actv", "--lambda", "1e-3").options.lambda_ == 1e-3
    clustered = request("in.mp4", "-o", "x.actv", "--workers", "3", "--threads", "2")
    assert clustered.cluster is not None and clustered.cluster.workers == 3
    assert clustered.cluster.threads_per_task == 2
    with pytest.raises(UsageError, match="not both"):
        request("in.mp4", "-o", "x.actv", "--quality", "20", "--lambda", "1e-3")
