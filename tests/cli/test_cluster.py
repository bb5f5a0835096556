"""cli.cluster: the requests a Ray encode sends, built without starting Ray."""

from __future__ import annotations

import numpy as np
from PIL import Image

from nvcodec.cli import cluster
from nvcodec.cli import encode as encode_cli
from nvcodec.cli.jobs import jobs_of
from nvcodec.source import SourceSpec
from tests.cli.conftest import TINY_ARGS


def request(*argv: str):
    return encode_cli.request_from_args(encode_cli.build_parser().parse_args(list(argv)))


def test_each_input_becomes_a_request_read_from_its_path_and_a_bad_one_fails_alone(tmp_path, source):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    made = request(str(source), str(bad), "-o", str(tmp_path / "out/"), *TINY_ARGS, "--workers", "2", "-q")
    plan = cluster._plan(jobs_of(made), made)
    assert plan.failed == 1 and [job.name for job in plan.runnable] == [str(source)]
    (video,) = plan.requests
    assert isinstance(video.source, SourceSpec) and video.source.path == str(source)
    assert video.config is not None and video.config.model.hidden == 8
    assert plan.totals[video.output] >= 1 and not plan.in_memory


def test_the_sample_clip_travels_as_an_array_and_a_one_image_mask_as_one(tmp_path):
    mask_path = tmp_path / "mask.png"
    Image.fromarray(np.full((144, 176, 3), 255, np.uint8)).save(mask_path)
    made = request("--sample", "-o", str(tmp_path / "s.actv"), *TINY_ARGS, "--workers", "2", "--mask", str(mask_path))
    plan = cluster._plan(jobs_of(made), made)
    (video,) = plan.requests
    assert isinstance(video.source, np.ndarray) and 0 in plan.in_memory
    assert isinstance(video.mask, np.ndarray) and video.mask.all()
