"""Classical codec baselines through PyAV, on a tiny generated clip."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.baselines.classical import (
    CLASSICAL_SYSTEMS,
    ClassicalSystem,
    EncoderMissing,
    check_available,
    codec_version,
    default_crfs,
    encode_classical,
)
from benchmarks.rd_metrics import psnr_rgb
from tests.conftest import moving_square_clip


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return moving_square_clip(frames=8, height=48, width=64)


def test_x264_codes_and_decodes_a_clip(clip):
    high = encode_classical(clip, "x264-medium", crf=18, fps=25)
    low = encode_classical(clip, "x264-medium", crf=40, fps=25)
    assert high.system == "x264-medium" and high.settings["crf"] == 18
    assert high.decoded.shape == clip.shape and high.decoded.dtype == np.uint8
    assert 0 < low.file_bytes < high.file_bytes
    assert 30 < psnr_rgb(clip, high.decoded) < 50
    assert psnr_rgb(clip, low.decoded) < psnr_rgb(clip, high.decoded)
    assert high.encode_seconds > 0 and high.decode_fps > 0
    assert high.extra["keyframes"] >= 1 and "x264" in high.extra["version"]


def test_removing_the_x264_banner_leaves_the_pictures_unchanged(clip):
    stripped = encode_classical(clip, "x264-medium", crf=30)
    spec = CLASSICAL_SYSTEMS["x264-medium"]
    kept = encode_classical(clip, ClassicalSystem(**{**spec.__dict__, "strip_sei": False}), crf=30)
    assert kept.file_bytes - stripped.file_bytes > 300  # the banner is several hundred bytes
    np.testing.assert_array_equal(stripped.decoded, kept.decoded)


def test_odd_sizes_are_padded_and_cropped_back():
    odd = moving_square_clip(frames=3, height=33, width=41)
    coded = encode_classical((odd * 255).round().astype(np.uint8), "x264-medium-nob", crf=20)
    assert coded.decoded.shape == odd.shape and coded.settings["padded_to"] == [34, 42]
    assert psnr_rgb(odd, coded.decoded) > 28


def test_full_chroma_beats_420_on_a_saturated_clip(clip):
    sub = encode_classical(clip, "x264-medium", crf=10)
    full = encode_classical(clip, "x264-medium", crf=10, pix_fmt="yuv444p")
    assert full.settings["pix_fmt"] == "yuv444p" and full.decoded.shape == clip.shape
    assert psnr_rgb(clip, full.decoded) > psnr_rgb(clip, sub.decoded)
    with pytest.raises(ValueError, match="pix_fmt"):
        encode_classical(clip, "svtav1", crf=30, pix_fmt="yuv444p")


def test_bad_arguments_are_clear_errors(clip):
    with pytest.raises(KeyError, match="known"):
        encode_classical(clip, "x266", crf=30)
    with pytest.raises(ValueError, match="CRF"):
        encode_classical(clip, "x264-medium", crf=70)
    missing = ClassicalSystem("nope", "no-such-encoder", "h264", "h264", ".h264", {}, (30,), (0, 51))
    with pytest.raises(EncoderMissing, match="no-such-encoder"):
        check_available(missing)


def test_every_system_is_described_and_available():
    for name, spec in CLASSICAL_SYSTEMS.items():
        check_available(name)  # the PyPI PyAV wheels carry all of these
        crfs = default_crfs(name)
        assert len(crfs) >= 4 and list(crfs) == sorted(crfs), name
        assert spec.crf_range[0] <= crfs[0] and crfs[-1] <= spec.crf_range[1]
    assert "x265" in codec_version("x265-medium")
