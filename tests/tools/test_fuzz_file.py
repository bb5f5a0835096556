"""tools/fuzz_file.py: a few cases of each mode on a tiny real encode, in-process."""

from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path

import msgpack
import pytest

from tests.conftest import moving_square_clip
from tools.fuzz_file import (
    FAILURES,
    GRID_PAYLOAD_FIELDS,
    MODELS_GRID_PAYLOAD_FIELDS,
    MODELS_PAYLOAD_FIELDS,
    MODES,
    BaseFile,
    CaseResult,
    Draft,
    Fuzzer,
    checksums_valid,
    fix_checksums,
    load_bases,
    main,
    make_base_files,
    payload_fields,
    read_everything,
    run_one,
    zstd_frame_declaring,
)

CASES_PER_MODE = 30


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny renders: many times faster on one thread than on two


@pytest.fixture(scope="module")
def base_paths(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three groups (intra, residual, residual), an all-intra copy and a copy with latent grids (payload
    version 3, intra, residual, residual) of a 7-frame clip, barely fitted."""
    folder = tmp_path_factory.mktemp("fuzz-bases")
    clip = moving_square_clip(frames=7, height=32, width=40)  # not the sample clip: no scikit-image to import
    return make_base_files(folder, iters=4, iters_warm=2, group_size=2, clip=clip)


@pytest.fixture(scope="module")
def fuzzer(base_paths: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Fuzzer:
    fuzzer = Fuzzer(load_bases(base_paths), seed=0, folder=tmp_path_factory.mktemp("fuzz-cases"))
    fuzzer.run(CASES_PER_MODE * len(MODES))
    return fuzzer


def test_base_files_hold_a_residual_chain(base_paths: list[Path]) -> None:
    residual, intra, grids = (BaseFile.parse(p.read_bytes()) for p in base_paths)
    flags = [msgpack.unpackb(c.payload)[1] for c in residual.chunks]  # a version-2 payload's intra flag
    assert flags == [True, False, False]
    assert all(msgpack.unpackb(c.payload)[1] for c in intra.chunks)
    assert [msgpack.unpackb(c.payload)[1] for c in grids.chunks] == [True, False, False]


def test_a_base_file_holds_chunks_with_grid_symbols(base_paths: list[Path]) -> None:
    """The fuzzed files include a real grids' stream (payload version 3 or 4, A > 0), not only version 2."""
    grids = BaseFile.parse(base_paths[2].read_bytes())
    payloads = [msgpack.unpackb(c.payload) for c in grids.chunks]
    assert all(payload_fields(p) in (GRID_PAYLOAD_FIELDS, MODELS_GRID_PAYLOAD_FIELDS) for p in payloads)
    assert all(len(p) == len(payload_fields(p)) for p in payloads)
    alphabets = [p[payload_fields(p).index("grid_alphabet")] for p in payloads]
    assert any(a > 0 for a in alphabets), alphabets


def test_the_base_files_hold_version_4_chunks(base_paths: list[Path]) -> None:
    """The barely fitted tiny bases give some tensor its own Laplace tables: the fuzzer reaches version 4."""
    payloads = [msgpack.unpackb(c.payload) for path in base_paths for c in BaseFile.parse(path.read_bytes()).chunks]
    fours = [p for p in payloads if p[0] == 4]
    assert fours and all(payload_fields(p) in (MODELS_PAYLOAD_FIELDS, MODELS_GRID_PAYLOAD_FIELDS) for p in fours)


def test_version_3_cases_never_crash(base_paths: list[Path], tmp_path: Path) -> None:
    """Cases on the file with latent grids alone, its own mutations (grids' stream, context model) among them."""
    fuzzer = Fuzzer(load_bases(base_paths[2:]), seed=3, folder=tmp_path)
    fuzzer.run(45)
    failures = [r for r in fuzzer.results if r.outcome in FAILURES]
    assert not failures, "\n".join(f"case {r.case} {r.mode} {r.outcome}: {r.mutation}: {r.error}" for r in failures)
    structured = [r.mutation for r in fuzzer.results if r.mode == "structured"]
    assert any("grid" in m or "context" in m or "version 2" in m for m in structured), structured


def test_no_case_crashes_hangs_or_runs_out_of_memory(fuzzer: Fuzzer) -> None:
    failures = [r for r in fuzzer.results if r.outcome in FAILURES]
    assert not failures, "\n".join(f"case {r.case} {r.mode} {r.outcome}: {r.mutation}: {r.error}" for r in failures)


def test_every_mode_ran(fuzzer: Fuzzer) -> None:
    counts = fuzzer.counts()
    assert all(sum(counts[mode].values()) == CASES_PER_MODE for mode in MODES)


def test_raw_damage_is_rejected(fuzzer: Fuzzer) -> None:
    counts = fuzzer.counts()["raw"]
    assert counts["rejected"] >= 0.9 * CASES_PER_MODE, counts


def test_rechecksummed_damage_gets_past_the_checksums(fuzzer: Fuzzer) -> None:
    """With every CRC rewritten, some damaged files decode (to other pixels): the decoders saw the damage."""
    counts = fuzzer.counts()["rechecksum"]
    assert counts["decoded"] > 0 and counts["rejected"] > 0, counts


def test_structured_cases_are_rejected_or_decoded(fuzzer: Fuzzer) -> None:
    counts = fuzzer.counts()["structured"]
    assert counts["rejected"] > 0 and counts["decoded"] > 0, counts


def test_replay_gives_the_same_case_and_outcome(fuzzer: Fuzzer, base_paths: list[Path], tmp_path: Path) -> None:
    again = Fuzzer(load_bases(base_paths), seed=0, folder=tmp_path)
    picked: dict[tuple[str, str], CaseResult] = {}
    for r in fuzzer.results:
        picked.setdefault((r.mode, r.outcome), r)
    for original in picked.values():
        replayed = again.run_case(original.case)
        assert (replayed.mode, replayed.mutation, replayed.outcome) == (
            original.mode,
            original.mutation,
            original.outcome,
        )


def test_fix_checksums_makes_damage_pass_the_crcs(base_paths: list[Path]) -> None:
    base = BaseFile.parse(base_paths[0].read_bytes())
    assert checksums_valid(base.data)
    buf = bytearray(base.data)
    buf[base.entries[1].offset + 20] ^= 0xFF  # inside chunk 1's payload
    buf[20] ^= 0x01  # inside the header
    assert not checksums_valid(bytes(buf))
    fix_checksums(buf)
    assert checksums_valid(bytes(buf))
    assert struct.unpack_from("<I", buf, base.entries[1].offset + 4) != (base.entries[1].crc32,)


def test_a_case_over_the_time_limit_is_a_hang(base_paths: list[Path]) -> None:
    data = base_paths[0].read_bytes()
    assert run_one(base_paths[0], data, time_limit=60)[0] == "decoded"
    assert run_one(base_paths[0], data, time_limit=1e-3)[0] == "hang"


def test_command_line_writes_counts(base_paths: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "fuzz.json"
    args = ["--cases", "6", "--seed", "1", "--file", str(base_paths[0]), "--json", str(out)]
    status = main([*args, "--address-space-gib", "0", "--threads", "1"])  # no cap on the test process
    report = json.loads(out.read_text())
    assert sum(report["total"].values()) == 6 and report["seed"] == 1
    assert set(report["counts"]) == set(MODES)
    assert report["command"].startswith("python -m tools.fuzz_file --cases 6")
    assert status == (1 if report["failures"] else 0)


@pytest.mark.parametrize("field", ["vectors", "table", "steps"])
def test_a_zstd_frame_that_declares_a_petabyte_is_a_format_error(
    base_paths: list[Path], tmp_path: Path, field: str
) -> None:
    """What the fuzzer's "declares 2^N bytes" cases find, at a size no machine can allocate."""
    from nvcodec.errors import FormatError

    base = BaseFile.parse(base_paths[0].read_bytes())
    payload = msgpack.unpackb(base.chunks[0].payload)
    payload[payload_fields(payload).index(field)] = zstd_frame_declaring(1 << 50)
    first = dataclasses.replace(base.chunks[0], payload=msgpack.packb(payload, use_bin_type=True))
    path = tmp_path / "lie.actv"
    path.write_bytes(Draft(base.header, [first, *base.chunks[1:]]).build(tmp_path))
    with pytest.raises(FormatError):
        read_everything(path)


@pytest.mark.parametrize(
    ("change", "rejected"),
    [
        ("words short", True),
        ("words empty", True),
        ("words long", True),
        ("alphabet 0 with words", True),
        ("version 2 layout", True),
        ("no grid symbols", False),
    ],
)
def test_grid_stream_lies(base_paths: list[Path], tmp_path: Path, change: str, rejected: bool) -> None:
    """What the fuzzer's grid-stream cases do, one by one: damage is a format error; ``A = 0`` with no words is
    a valid stream (every grid symbol 0), so that file decodes."""
    from nvcodec.errors import FormatError

    base = BaseFile.parse(base_paths[2].read_bytes())
    payload = msgpack.unpackb(base.chunks[0].payload)
    fields = payload_fields(payload)
    alphabet, words = fields.index("grid_alphabet"), fields.index("grid_words")
    assert payload[alphabet] > 0
    if change == "words short":
        payload[words] = payload[words][:-4]
    elif change == "words empty":
        payload[words] = b""
    elif change == "words long":
        payload[words] += payload[words][-4:]
    elif change == "alphabet 0 with words":
        payload[alphabet] = 0
    elif change == "version 2 layout":  # the grids' stream dropped (version 4: kept at 4, two elements short)
        payload = [2 if payload[0] == 3 else payload[0], *payload[1:alphabet], payload[-1]]
    else:
        payload[alphabet], payload[words] = 0, b""
    first = dataclasses.replace(base.chunks[0], payload=msgpack.packb(payload, use_bin_type=True))
    path = tmp_path / "lie.actv"
    path.write_bytes(Draft(base.header, [first, *base.chunks[1:]]).build(tmp_path))
    if rejected:
        with pytest.raises(FormatError):
            read_everything(path)
    else:
        read_everything(path)
