"""Regenerate the golden ``.actv`` vectors in ``formats/vectors/`` and their manifest.

Run from the repository root::

    python tools/make_vectors.py            # rewrite formats/vectors/
    python tools/make_vectors.py --check    # regenerate in a temp folder, compare, write nothing

Each vector is encoded from a synthetic clip generated in code (no data files),
with a tiny model, on the CPU with one thread. ``manifest.json`` records per
vector: the file's sha256, the configs, a sha256 of the decoded parameters of
all groups (bit-exact by design: any change to it is a format change), and the
sha256 of decoded frames, which are also stored in ``<name>.frames.npz``
(floating-point rendering may differ by one level across CPUs/BLAS, so tests
compare against the stored frames with a tolerance).

A chunk has payload version 4 where some tensor has its own Laplace tables, else
version 2 (no latent grids) or 3 (``gabor8_grids``: latent grids and their
context-coded stream). Regenerating fails unless every chunk of ``gabor8_grids``
has grid symbols (``A > 0``) and some chunk of ``gabor8_residual`` is version 4.

The manifest's ``legacy`` list holds vectors of earlier payload versions
(``v1_*``, made before payload version 2; ``v2_*`` and ``v3_*``, made before
version 4): they are never regenerated, and readers must go on decoding them
exactly.

``tests/test_vectors.py`` checks the committed files against the manifest; it
never regenerates them. Regenerate only after a deliberate format or encoder
change, and say so in the commit.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import platform
import sys
import tempfile
import zipfile
from pathlib import Path

import msgpack
import numpy as np

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e .`
    sys.path.insert(0, str(_ROOT))

import torch  # noqa: E402

from benchmarks.common import cpu_info  # noqa: E402
from nvcodec import __version__  # noqa: E402
from nvcodec.config import Config, FitConfig, ModelConfig, QuantConfig  # noqa: E402
from nvcodec.container import ContainerReader  # noqa: E402
from nvcodec.encoder import encode  # noqa: E402
from nvcodec.header import is_intra  # noqa: E402
from nvcodec.reader import VideoReader  # noqa: E402

VECTOR_DIR = _ROOT / "formats" / "vectors"
MANIFEST = "manifest.json"
FPS = 25.0
TORCH_THREADS = 1

TINY = dict(
    hidden=8,
    layers=2,
    patch=24,
    overlap=6,
    rff_freqs=4,
    latent_dim=4,
    hyper_hidden=8,
    batch_pixels=2048,
    iters=60,
    iters_warm=40,
    lr_final_factor=0.1,
    lr_schedule="exponential",
    lr_warmup=0.0,
    group_size=3,
    device="cpu",
    compile=False,
)

# name -> (clip arguments, config overrides, quant config)
VECTORS: dict[str, tuple[dict, dict, QuantConfig]] = {
    # (a) real Gabor, 8-bit, residual groups with an intra group every 2: I R I R.
    "gabor8_residual": (
        dict(frames=13, height=32, width=40, seed=1),
        dict(activation="gabor"),
        QuantConfig(bits_frame=8, bits_latent=8, bits_bias=8, residual=True, intra_period=2),
    ),
    # (b) complex WIRE, 6-bit, every group coded on its own.
    "wire6_intra": (
        dict(frames=7, height=32, width=32, seed=2),
        dict(activation="wire"),
        QuantConfig(bits_frame=6, bits_latent=6, bits_bias=6, residual=False),
    ),
    # (c) one frame (one group, start = end = 0), odd size; 53 = 24 + 29 puts a
    # patch start at round(14.5) = 14 (round half to even).
    "siren_single_frame": (
        dict(frames=1, height=41, width=53, seed=3),
        dict(activation="siren"),
        QuantConfig(),
    ),
    # (d) as (a) with two levels of latent grids (4 patches of 7x7 and 4x4 points): payload version 3, I R I R.
    # Coded on the bits path, which fits the grids' context model to their symbols, so every chunk's grid
    # stream holds real symbols (A > 0). grid_cell and bits_grid keep their absent values: the header omits them.
    "gabor8_grids": (
        dict(frames=13, height=32, width=40, seed=1),
        dict(activation="gabor", grid_levels=2, grid_cell=4),
        QuantConfig(bits_frame=8, bits_latent=8, bits_bias=8, bits_grid=8, residual=True, intra_period=2),
    ),
}


def synthetic_clip(frames: int, height: int, width: int, seed: int) -> np.ndarray:
    """A smooth texture with a bright square sliding across it, uint8 ``[T, H, W, 3]``."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    phases = rng.uniform(0, 2 * np.pi, size=3)
    background = np.stack(
        [0.5 + 0.25 * np.sin(x / 5.0 + phases[c]) * np.cos(y / 7.0 - phases[c]) for c in range(3)], axis=-1
    )
    clip = np.repeat(background[None], frames, axis=0)
    side = max(4, height // 4)
    for t in range(frames):
        top, left = height // 3, 4 + 2 * t
        clip[t, top : top + side, left : left + side] = (0.9, 0.2, 0.1)
    return np.round(clip * 255).astype(np.uint8)


def configs(name: str) -> tuple[Config, QuantConfig]:
    _, overrides, quant = VECTORS[name]
    return Config.preset("fast", **TINY, **overrides), quant


FIT_FIELDS_ADDED_LATER = {"lr_schedule": "exponential", "lr_warmup": 0.0}
"""Fit settings newer than some manifests, at the values that reproduce how those vectors were fitted."""


MODEL_FIELDS_ADDED_LATER = {"grid_levels": 0, "grid_cell": 4}
QUANT_FIELDS_ADDED_LATER = {"bits_grid": 8}
"""Model and quant settings newer than some manifests, at the values every vector made before them means
(no latent grids): the header's "later keys" (formats/ACTV.md section 4)."""


def configs_from_manifest(entry: dict) -> tuple[Config, QuantConfig]:
    """The configs a manifest entry records (what the vector was encoded with)."""
    config = entry["config"]
    fit = {**FIT_FIELDS_ADDED_LATER, **config["fit"]}
    model = {**MODEL_FIELDS_ADDED_LATER, **config["model"]}
    quant = {**QUANT_FIELDS_ADDED_LATER, **entry["quant"]}
    return Config(ModelConfig(**model), FitConfig(**fit)), QuantConfig(**quant)


def renders(frames: int, height: int, width: int) -> list[dict]:
    """What is decoded for the manifest: ``name``, ``times`` and output ``size`` of each render."""
    out = [{"name": "frames", "times": [float(t) for t in range(frames)], "size": [height, width]}]
    if frames > 1:
        fractional = [0.5] + ([frames - 1.5] if frames > 2 else [])
        out.append({"name": "fractional", "times": fractional, "size": [height, width]})
    last = float(frames - 1)
    out.append({"name": "double", "times": [last], "size": [2 * height, 2 * width]})
    out.append({"name": "resized", "times": [last / 2], "size": [-(-7 * height // 10), -(-13 * width // 10)]})
    return out


def parameter_bytes(reader: VideoReader) -> list[bytes]:
    """Per group: every decoded tensor in sorted state_dict name order, real view, float32 LE."""
    out = []
    for index in range(reader.num_groups):
        state = reader.group(index).state_dict()
        parts = []
        for name in sorted(state):
            tensor = state[name].detach().cpu()
            real = torch.view_as_real(tensor) if tensor.is_complex() else tensor
            parts.append(real.contiguous().numpy().astype("<f4").tobytes())
        out.append(b"".join(parts))
    return out


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but byte-stable: fixed member timestamps, sorted members."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for key in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def _check_grid_streams(path: Path) -> None:
    """A vector with latent grids must exercise their stream: every chunk payload version 3 or 4 with ``A > 0``."""
    with ContainerReader(path) as container:
        for index in range(len(container.entries)):
            payload = msgpack.unpackb(container.read_chunk(index), raw=False)
            alphabet = payload[8] if payload[0] == 3 else payload[10] if payload[0] == 4 else 0
            if alphabet <= 0:
                raise SystemExit(f"{path.name}: chunk {index} has payload version {payload[0]}, A = {alphabet}")


def _check_tensor_models(path: Path) -> None:
    """The residual vector must exercise the per-tensor Laplace stream: some chunk of payload version 4."""
    with ContainerReader(path) as container:
        versions = {msgpack.unpackb(container.read_chunk(i), raw=False)[0] for i in range(len(container.entries))}
    if 4 not in versions:
        raise SystemExit(f"{path.name}: no chunk has payload version 4 (per-tensor Laplace tables)")


def make_vector(name: str, folder: Path) -> dict:
    """Encode one vector into ``folder`` and return its manifest entry."""
    clip_args, _, _ = VECTORS[name]
    config, quant = configs(name)
    path = folder / f"{name}.actv"
    encode(synthetic_clip(**clip_args), path, config, quant, fps=FPS)
    data = path.read_bytes()
    if config.model.grid_levels:
        _check_grid_streams(path)
    if name == "gabor8_residual":
        _check_tensor_models(path)
    entry: dict = {
        "name": name,
        "file": path.name,
        "bytes": len(data),
        "sha256": sha256(data),
        "clip": clip_args,
        "fps": FPS,
        "config": config.to_dict(),
        "quant": dataclasses.asdict(quant),
    }
    arrays = {}
    with VideoReader(path) as reader:
        blobs = parameter_bytes(reader)
        entry["groups"] = []
        for index, blob in enumerate(blobs):
            group = reader.group(index)
            entry["groups"].append(
                {"start": group.start, "end": group.end, "intra": is_intra(index, quant), "params_sha256": sha256(blob)}
            )
        entry["params_sha256"] = sha256(b"".join(blobs))
        entry["renders"] = []
        for render in renders(reader.num_frames, reader.height, reader.width):
            frames = reader.frames(render["times"], size=tuple(render["size"]))
            arrays[render["name"]] = frames
            entry["renders"].append({**render, "sha256": sha256(frames.tobytes())})
    entry["frames_file"] = f"{name}.frames.npz"
    write_npz(folder / entry["frames_file"], arrays)
    return entry


def cpu_vendor() -> str:
    """The CPU's vendor string (``GenuineIntel``, ``AuthenticAMD``...), or the platform's processor name."""
    return cpu_info("vendor_id") or platform.processor()


def make_all(folder: Path) -> dict:
    torch.set_num_threads(TORCH_THREADS)
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "description": "Golden .actv vectors; regenerate with tools/make_vectors.py, check with tests/test_vectors.py",
        "parameter_hash": "sha256 over groups in order, tensors in sorted state_dict name order, "
        "each tensor's real view (complex: trailing axis re, im) as float32 little-endian",
        "frame_hash": "sha256 of the uint8 [F, h, w, 3] C-order array VideoReader.frames(times, size) returns",
        "environment": {
            "nvcodec": __version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            # torch picks float kernels by instruction set (AVX2, AVX512...) and they round
            # differently, so an encode is reproducible only on the same capability.
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            # ...and by vendor too, it seems: an AMD and an Intel AVX512 part reproduce the vectors
            # without latent grids and not gabor8_grids.
            "cpu_vendor": cpu_vendor(),
            "torch_threads": TORCH_THREADS,
        },
        "vectors": [make_vector(name, folder) for name in VECTORS],
    }


def _write_manifest(folder: Path, manifest: dict) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=VECTOR_DIR, help="output folder (default: formats/vectors)")
    parser.add_argument("--check", action="store_true", help="regenerate into a temp folder and compare; write nothing")
    args = parser.parse_args(argv)
    if not args.check:
        manifest = make_all(args.out)
        stored = args.out / MANIFEST
        # Files of earlier payload versions stay as they were made: readers must go on decoding them.
        manifest["legacy"] = json.loads(stored.read_text(encoding="utf-8")).get("legacy", []) if stored.exists() else []
        _write_manifest(args.out, manifest)
        for v in manifest["vectors"]:
            print(f"{v['file']}: {v['bytes']} bytes, {len(v['groups'])} group(s), params {v['params_sha256'][:16]}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = make_all(Path(tmp))
    stored = json.loads((args.out / MANIFEST).read_text(encoding="utf-8"))
    same = True
    for new, old in zip(fresh["vectors"], stored["vectors"]):
        for key in ("sha256", "params_sha256"):
            if new[key] != old[key]:
                same = False
                print(f"{new['name']}: {key} differs ({old[key][:16]} stored, {new[key][:16]} now)")
    print("vectors reproduce" if same else "vectors differ")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
