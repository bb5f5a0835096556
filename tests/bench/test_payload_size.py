"""The payload-size benchmark's split of a file, on a golden vector (no encode)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.payload_size import breakdown

VECTOR = Path(__file__).resolve().parents[2] / "formats" / "vectors" / "gabor8_residual.actv"


def test_the_parts_add_up_to_the_file_and_version_1_costs_more():
    """Transcoding to version 1 keeps every parameter (breakdown checks it) and only adds bytes."""
    result = breakdown(VECTOR)
    assert sum(result["parts"].values()) == result["file_bytes"] == VECTOR.stat().st_size
    parts = result["parts"]
    assert parts.pop("grid_words") == 0, "a vector without latent grids"
    assert all(value > 0 for value in parts.values()), "every other part, tensor models included (version 4)"
    assert result["version_1_file_bytes"] > result["file_bytes"]
    assert 0 < result["saved_percent"] < 100


def test_a_file_with_latent_grids_is_split_and_not_transcoded():
    """Version 1 has no latent grids: such a file gets its parts and no version-1 size."""
    grids = VECTOR.with_name("gabor8_grids.actv")
    result = breakdown(grids)
    assert sum(result["parts"].values()) == result["file_bytes"] == grids.stat().st_size
    assert result["parts"]["grid_words"] > 0
    assert result["version_1_file_bytes"] is None and result["saved_percent"] is None
