"""Fit and decode speed against torch's thread count and OpenMP's wait policy, on an idle and a busy machine.

On a shared machine torch's default (one thread per core, spinning at
barriers) can collapse when another process wants the same cores. This
measures, each in a fresh process so the settings apply from the start:

- fit: Adam steps per second on one carphone-sized group (176x144, 11 frames,
  the default model, eager);
- decode: milliseconds per native 176x144 frame;

for threads 1 and 2, OpenMP waiting at barriers as torch ships it (spinning
a long while), PASSIVE (sleeping at once) and GNU OpenMP's GOMP_SPINCOUNT
(spinning a little, then sleeping), with
the machine otherwise idle and with a competing process (the same fit, with
torch's defaults) on every core. Rounds interleave the settings.

    python -m benchmarks.threads                 # writes benchmarks/results/threads.json
    python -m benchmarks.threads --rounds 1 --seconds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from benchmarks.common import RESULTS, command, machine
from benchmarks.results_io import with_provenance

WORKER = "benchmarks.threads"


def worker(kind: str, seconds: float) -> float:
    """Steps per second (fit) or milliseconds per frame (decode), measured for about ``seconds``."""
    import torch

    from nvcodec.config import Config
    from nvcodec.fit import FitData, fit_group
    from nvcodec.model.group import GroupModel
    from nvcodec.tiling import PatchGrid

    config = Config.preset("medium", compile=False)
    grid = PatchGrid.build(144, 176, config.model.patch, config.model.overlap)
    group = GroupModel(grid, config.model, 0, 10, torch.Generator().manual_seed(0))
    if kind == "decode":
        with torch.no_grad():
            group.render(0.0)
            count, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                group.render(float(count % 11))
                count += 1
        return 1000 * (time.perf_counter() - started) / count
    frames = torch.rand(11, 144, 176, 3, generator=torch.Generator().manual_seed(0))
    taus = torch.linspace(0, 1, 11)
    generator = torch.Generator().manual_seed(0)
    fit_group(group, FitData(frames, taus), 3, config, generator=generator)  # warm-up
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        fit_group(group, FitData(frames, taus), 5, config, generator=generator)
        steps += 5
    return steps / (time.perf_counter() - started)


def run_worker(kind: str, threads: int, policy: str, seconds: float) -> float:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("GOMP_SPINCOUNT", None)
    if policy.startswith("SPIN="):  # GNU OpenMP: spin this many times at a barrier, then sleep
        env["GOMP_SPINCOUNT"] = policy.removeprefix("SPIN=")
    elif policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    env["OMP_NUM_THREADS"] = str(threads)
    code = f"import torch; torch.set_num_threads({threads}); from {WORKER} import worker; print(worker({kind!r}, {seconds}))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def competitor() -> subprocess.Popen:
    """Another fit with torch's defaults, running until killed."""
    code = f"from {WORKER} import worker\nwhile True: worker('fit', 60)"
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring time of each run")
    parser.add_argument("--output", default=str(RESULTS / "threads.json"))
    args = parser.parse_args(argv)
    settings = [(1, "default")] + [(2, p) for p in ("default", "PASSIVE", "SPIN=10000", "SPIN=100000")]
    results: dict[str, list[float]] = {}
    for load in ("idle", "busy"):
        rival = competitor() if load == "busy" else None
        try:
            if rival is not None:
                time.sleep(5)  # let it get going
            for _ in range(args.rounds):
                for kind in ("fit", "decode"):
                    for threads, policy in settings:
                        value = run_worker(kind, threads, policy, args.seconds)
                        key = f"{load}/{kind}/threads={threads}/{policy}"
                        results.setdefault(key, []).append(value)
                        print(f"{key}: {value:.2f} {'steps/s' if kind == 'fit' else 'ms/frame'}", flush=True)
        finally:
            if rival is not None:
                rival.kill()
                rival.wait()
    summary = {key: statistics.median(values) for key, values in results.items()}
    record = {
        "command": command(),
        "machine": machine(),
        "cpu_count": os.cpu_count(),
        "units": {
            "fit": "Adam steps per second (higher is better)",
            "decode": "ms per 176x144 frame (lower is better)",
        },
        "median": summary,
        "runs": results,
    }
    with open(args.output, "w") as file:
        json.dump(with_provenance(record), file, indent=2)
    for key, value in summary.items():
        print(f"{key:40s} {value:8.2f}")


if __name__ == "__main__":
    main()
