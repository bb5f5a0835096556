"""Closed segments: the plan, their own rate budgets, and a segment encoded alone giving the same chunks."""

import pytest

from nvcodec import Config, QuantConfig, encode
from nvcodec.container import ContainerReader
from nvcodec.encoder import EncodeJob, encode_segment
from nvcodec.errors import ArgumentError
from nvcodec.fit import VideoFitter
from nvcodec.header import parse_header_map
from nvcodec.options import EncodeOptions
from nvcodec.segments import SegmentPlan
from nvcodec.source import ArraySource
from tests.conftest import TINY, moving_square_clip

CONFIG = Config.preset("fast", **TINY, iters=30, iters_warm=15, group_size=2, device="cpu")


def test_segments_cut_the_groups_in_order():
    plan = SegmentPlan((0, 2, 4, 6, 8, 10, 12), 4)
    assert plan.segments() == [range(0, 4), range(4, 6)]
    assert [plan.starts_segment(i) for i in range(6)] == [True, False, False, False, True, False]
    assert SegmentPlan((0, 2, 4), None).segments() == [range(0, 2)]
    assert plan.first_new_frame(range(4, 6)) == 9  # frame 8 belongs to the segment before
    with pytest.raises(ArgumentError):
        SegmentPlan((0, 2), 0)


def test_segment_starts_must_be_independent_groups():
    plan = SegmentPlan((0, 2, 4, 6, 8, 10, 12), 3)
    with pytest.raises(ArgumentError, match="intra period"):
        plan.check(QuantConfig(intra_period=2))
    plan.check(QuantConfig(intra_period=3))
    plan.check(QuantConfig(residual=False))


def test_segment_budgets_add_up_to_the_files():
    plan = SegmentPlan((0, 2, 4, 6, 8, 10, 12), 2)
    rates = [plan.rate_control(s, 2.0, 32, 40, 500) for s in plan.segments()]
    whole = SegmentPlan((0, 2, 4, 6, 8, 10, 12)).rate_control(range(0, 6), 2.0, 32, 40, 500)
    assert whole is not None and all(r is not None for r in rates)
    assert sum(r.budget_bytes for r in rates) == pytest.approx(whole.budget_bytes)  # type: ignore[union-attr]
    last = rates[-1]
    assert last.allowance(12) == pytest.approx(last.budget_bytes)  # a segment may spend its budget by its end
    assert plan.rate_control(range(0, 2), None, 32, 40, 500) is None


def test_a_segment_encoded_alone_gives_the_serial_encodes_chunks(tmp_path):
    """What makes parallel encoding exact: a worker that sees only segment 1 writes what the serial encode wrote."""
    clip = moving_square_clip(frames=9, height=32, width=40)
    quant = QuantConfig(intra_period=2)
    path = tmp_path / "serial.actv"
    encode(clip, path, CONFIG, quant, fps=10, options=EncodeOptions(segment_groups=2, max_bpp=6.0))
    with ContainerReader(path) as reader:
        assert parse_header_map(reader.header).segment_groups == 2
        serial = [reader.read_chunk(i) for i in range(len(reader.entries))]
    fitter = VideoFitter(ArraySource(clip), CONFIG)
    job = EncodeJob.prepare(fitter, 10.0, quant, EncodeOptions(max_bpp=6.0, segment_groups=2))
    segment = job.plan.segments()[1]
    rate = job.plan.rate_control(segment, 6.0, 32, 40, job.header_bytes)
    alone = encode_segment(fitter, quant, job.plan, segment, rate=rate)
    assert [c.payload for c in alone] == serial[segment.start : segment.stop]
    # It began cold: not the same as the unsegmented encode's warm-started groups.
    encode(clip, tmp_path / "whole.actv", CONFIG, quant, fps=10)
    with ContainerReader(tmp_path / "whole.actv") as reader:
        assert reader.read_chunk(segment.start) != alone[0].payload
