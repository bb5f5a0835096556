"""The whole-encode timer reads what actv-encode prints."""

from benchmarks.encode_wall import SUMMARY


def test_the_summary_line_of_the_tool_parses():
    line = "/tmp/x/now_bikes.actv: 31 frames 176x144, 39,669 bytes, 0.4039 bpp, PSNR vs input 28.92 dB, 53.9 s"
    found = SUMMARY.search(line)
    assert found is not None and found.group(1) == "39,669" and float(found.group(3)) == 28.92
