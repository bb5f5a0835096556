"""benchmarks/gpu_check.py, the script a CUDA machine runs, run here on CPU at a small size so it stays working."""

from __future__ import annotations

import json

import pytest

from benchmarks import gpu_check


@pytest.mark.slow
def test_gpu_check_runs_every_part_on_cpu(tmp_path):
    output = tmp_path / "gpu_check.json"
    gpu_check.main(["--device", "cpu", "--size", "48x64", "--steps", "3", "--skip-tests", "--output", str(output)])
    results = json.loads(output.read_text())
    parts = results["parts"]
    assert set(parts) == {"fit_fp32_eager", "fit_fp32_compiled", "decode"}
    assert not [name for name, part in parts.items() if "error" in part], parts
    for name in ("fit_fp32_eager", "fit_fp32_compiled"):
        fit = parts[name]["result"]
        assert fit["steps_per_second"] > 0 and 5 < fit["psnr_after_steps"] < 60
        assert fit["peak_memory_mib"] is None  # CPU: no GPU memory to report
    decode = parts["decode"]["result"]
    assert decode["native"]["size"] == "64x48" and decode["4x_of_360p"]["size"] == "85x64"
    assert decode["native"]["fps"] > 0 and decode["file_bytes"] > 0
