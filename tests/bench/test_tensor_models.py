"""The per-tensor-model benchmark's comparison, on a golden vector (no encode)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.tensor_models import compare

VECTORS = Path(__file__).resolve().parents[2] / "formats" / "vectors"


def test_repacking_every_chunk_pooled_keeps_the_parameters_and_costs_bytes():
    """compare() checks the parameters itself; the vector's version-4 chunks are smaller than pooled ones."""
    result = compare(VECTORS / "gabor8_residual.actv")
    assert 4 in result["chunk_versions"]
    assert result["pooled_file_bytes"] > result["file_bytes"] == (VECTORS / "gabor8_residual.actv").stat().st_size
    pooled_only = compare(VECTORS / "siren_single_frame.actv")  # every tensor stays pooled: nothing to re-pack
    assert pooled_only["chunk_versions"] == [2] and pooled_only["saved_percent"] == 0
