"""Provenance of result files and the generated headline table, on tiny files made here."""

from __future__ import annotations

import json
import subprocess

import pytest

from benchmarks import headline
from benchmarks.results_io import (
    PROVENANCE_KEYS,
    git_commit,
    git_dirty,
    provenance,
    provenance_line,
    read_result,
    with_provenance,
    write_json,
    write_result,
)


def _git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    """A one-commit repository with code and a results folder."""
    root = tmp_path / "repo"
    (root / "nvcodec").mkdir(parents=True)
    (root / "nvcodec" / "a.py").write_text("x = 1\n")
    (root / "benchmarks" / "results").mkdir(parents=True)
    _git(root, "init", "-q")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    return root


def test_provenance_names_commit_and_dirty_code_only(repo):
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert git_commit(repo) == sha and git_dirty(repo) is False
    (repo / "benchmarks" / "results" / "new.json").write_text("{}")  # a result written earlier: not dirty
    assert git_dirty(repo) is False
    (repo / "nvcodec" / "a.py").write_text("x = 2\n")  # code changed: dirty
    assert git_dirty(repo) is True
    record = provenance({"cpu": "toy"}, "python -m benchmarks.toy", root=repo)
    assert tuple(record) == PROVENANCE_KEYS
    assert record["commit"] == sha and record["dirty"] is True and record["payload_version"] == 4
    assert record["machine"] == {"cpu": "toy"} and record["command"] == "python -m benchmarks.toy"
    assert sha[:12] in provenance_line(record) and "uncommitted" in provenance_line(record)


def test_provenance_without_git_is_null(tmp_path):
    assert git_commit(tmp_path) is None and git_dirty(tmp_path) is None
    record = provenance({}, "x", root=tmp_path)
    assert record["commit"] is None and record["dirty"] is None


def test_with_provenance_keeps_the_records_own_keys(tmp_path):
    record = with_provenance({"command": "mine", "rows": [1]}, machine_info={}, command_line="theirs")
    assert record["command"] == "mine" and record["rows"] == [1] and set(PROVENANCE_KEYS) <= set(record)
    path = write_json(tmp_path / "a" / "r.json", {**record, "nan": float("nan")})
    assert json.loads(path.read_text())["nan"] is None


def _point(bpp, psnr):
    return {"bpp": bpp, "psnr_rgb": psnr, "psnr_y": psnr, "ms_ssim": 0.9, "encode_seconds": 1.0, "decode_fps": 50.0,
            "settings": {}}  # fmt: skip


def test_rd_result_records_provenance_and_old_files_still_read(tmp_path):
    path = write_result(
        {"name": "c"}, "s", "v", [_point(0.1, 30.0)], results=tmp_path, machine_info={}, command_line="x"
    )
    data = json.loads(path.read_text())
    assert set(PROVENANCE_KEYS) <= set(data)
    result = read_result(path)
    assert result.commit == data["commit"] and result.payload_version == 4
    for key in ("commit", "dirty", "payload_version"):  # a file written before provenance was recorded
        del data[key]
    path.write_text(json.dumps(data))
    old = read_result(path)
    assert old.commit is None and old.dirty is None and old.payload_version is None and old.command == "x"


def _rd_file(results, clip, system, points, commit="abc123"):
    folder = results / clip
    folder.mkdir(parents=True, exist_ok=True)
    record = {"schema": 1, "system": system, "version": "v", "commit": commit, "clip": {"name": clip},
              "points": [_point(b, p) for b, p in points]}  # fmt: skip
    (folder / f"{system}.json").write_text(json.dumps(record))


def test_headline_table_from_tiny_results(tmp_path):
    rd = tmp_path / "rd_rate"
    anchor = [(0.1, 30.0), (0.2, 33.0), (0.4, 36.0), (0.8, 39.0)]
    for system in headline.RD_AGAINST:
        _rd_file(rd, "toy", system, anchor)
    _rd_file(rd, "toy", "nvcodec", [(b / 2, p) for b, p in anchor])  # same quality at half the rate
    (tmp_path / "sample_job.json").write_text(json.dumps({
        "commit": None, "commit_recorded_after": "def4567", "machine": {"cpu": "Toy CPU", "cores_available": 2},
        "result": {"frames": 30, "width": 176, "height": 144, "preset": "fast", "encode_seconds": 60.0,
                   "decode_fps_native": 80.0, "decode_fps_4x": 6.0}}))  # fmt: skip
    table = headline.table(tmp_path)
    row = next(line for line in table.splitlines() if line.startswith("| toy"))
    assert row.count("-50.0%") == len(headline.RD_AGAINST)
    assert "60 s" in table and "80" in table and "def4567" in table and "abc123" in table
    readme = tmp_path / "README.md"
    readme.write_text(f"# Results\n\n{headline.START}\nstale figures\n{headline.END}\n\n## A section\n")
    assert headline.rewrite(readme, table) is True
    text = readme.read_text()
    assert "stale figures" not in text and table in text and text.endswith("## A section\n")
    assert headline.rewrite(readme, table) is False  # unchanged the second time


def test_backfill_adds_keys_and_changes_nothing_else():
    from benchmarks.backfill_provenance import stamp_text

    text = '{\n  "rows": [1, 2],\n  "command": "python -m benchmarks.x"\n}\n'
    stamped = stamp_text(text, "abc123", 2)
    data = json.loads(stamped)
    assert data["rows"] == [1, 2] and data["command"] == "python -m benchmarks.x" and stamped.endswith("}\n")
    assert (
        data["commit"] is None and data["commit_recorded_after"] == "abc123" and "after the run" in data["provenance"]
    )
    assert data["payload_version_at_commit_recorded_after"] == 2 and "payload_version" not in data
    assert json.loads(stamp_text("{}", "abc", None))["commit_recorded_after"] == "abc"


def test_results_readme_headline_matches_the_json():
    """The committed table is what the committed JSON gives (rerun ``python -m benchmarks.headline`` if not)."""
    readme = headline.RESULTS / "README.md"
    assert f"{headline.START}\n{headline.table()}\n{headline.END}" in readme.read_text()
