"""Stamp result files written before results recorded their commit, from git history, saying so.

    python -m benchmarks.backfill_provenance            # stamp every result JSON that lacks "commit"
    python -m benchmarks.backfill_provenance --dry-run  # print what it would write

A run's own commit cannot be recovered: the results were committed after the
run, often together with the code they measured. What git does establish is
the first commit that stored a file's bytes, anywhere under
``benchmarks/results/`` (following copies and moves), so each file gets::

    "commit": null,
    "commit_recorded_after": "<sha>",     # first commit that stored these bytes; the run came before it
    "dirty": null,
    "payload_version_at_commit_recorded_after": 2,   # where nvcodec defined PAYLOAD_VERSION then
    "provenance": "backfilled from git history ..."

A later commit that only rewrote the ``command`` field (70d9eb3 made commands
repository-relative) is looked through to the commit that stored the run's
numbers. The keys are added at the end of the file's text; nothing else in it
changes. Files that already name a commit are left alone.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS
from benchmarks.results_io import ROOT

NOTE = (
    "backfilled from git history by python -m benchmarks.backfill_provenance: commit_recorded_after is the "
    "first commit that stored these bytes, made after the run; the run's own commit and tree state were not recorded"
)
METADATA_ONLY = ("command",)
"""Keys whose change alone does not make a new run."""


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def _blob_json(blob: str) -> Any:
    try:
        return json.loads(_git("cat-file", "-p", blob))
    except (subprocess.CalledProcessError, json.JSONDecodeError):
        return None


def _without_metadata(data: Any) -> Any:
    return {k: v for k, v in data.items() if k not in METADATA_ONLY} if isinstance(data, dict) else data


def first_stored(folder: Path = RESULTS) -> dict[str, str]:
    """For every blob ever stored under ``folder``, the first commit that stored it, looking through
    commits that only rewrote :data:`METADATA_ONLY` keys of a file's previous bytes."""
    log = _git(
        "log", "--reverse", "--format=C %H", "--raw", "--no-abbrev", "--no-renames", "--", str(folder.relative_to(ROOT))
    )
    first: dict[str, str] = {}
    came_from: dict[str, str] = {}
    commit = ""
    for line in log.splitlines():
        if line.startswith("C "):
            commit = line[2:]
        elif line.startswith(":"):
            fields, path = line.split("\t", 1)
            _, _, old, new, status = fields.split()
            if not path.endswith(".json") or status.startswith("D") or new in first:
                continue
            first[new] = commit
            if status.startswith("M"):
                came_from[new] = old
    for blob, old in came_from.items():
        if old in first and _without_metadata(_blob_json(blob)) == _without_metadata(_blob_json(old)):
            first[blob] = first[old]
    return first


def payload_version_at(commit: str) -> int | None:
    """``PAYLOAD_VERSION`` as nvcodec defined it at ``commit`` (``None`` where it did not)."""
    for path in ("nvcodec/payload.py", "nvcodec/codec.py"):
        try:
            text = _git("show", f"{commit}:{path}")
        except subprocess.CalledProcessError:
            continue
        found = re.search(r"^PAYLOAD_VERSION\s*=\s*(\d+)", text, re.M)
        if found:
            return int(found.group(1))
    return None


def stamp_text(text: str, commit: str, payload_version: int | None) -> str:
    """``text`` (a JSON object) with the backfill keys added before its closing brace."""
    body = text.rstrip()
    if not body.endswith("}"):
        raise ValueError("not a JSON object")
    keys: dict[str, Any] = {"commit": None, "commit_recorded_after": commit, "dirty": None}
    if payload_version is not None:
        keys["payload_version_at_commit_recorded_after"] = payload_version
    keys["provenance"] = NOTE
    added = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in keys.items())
    head = body[:-1].rstrip()
    separator = ",\n" if not head.endswith("{") else "\n"
    return f"{head}{separator}{added}\n}}" + text[len(body) :]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    first = first_stored(args.results.resolve())
    versions: dict[str, int | None] = {}
    stamped = skipped = 0
    for line in _git("ls-files", "-s", "--", str(args.results.resolve().relative_to(ROOT))).splitlines():
        meta, path = line.split("\t", 1)
        blob = meta.split()[1]
        if not path.endswith(".json"):
            continue
        text = (ROOT / path).read_text()
        data = json.loads(text)
        if not isinstance(data, dict) or "commit" in data or blob not in first:
            skipped += 1
            continue
        commit = first[blob]
        if commit not in versions:
            versions[commit] = payload_version_at(commit)
        stamped += 1
        print(f"{path}: recorded after {commit[:10]}")
        if not args.dry_run:
            (ROOT / path).write_text(stamp_text(text, commit, versions[commit]))
    print(f"{stamped} stamped, {skipped} left alone")


if __name__ == "__main__":
    main()
