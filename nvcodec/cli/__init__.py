"""Command-line tools: actv-encode, actv-decode, actv-info.

Before any tool loads torch, OpenMP threads are told to spin only briefly at
a barrier before sleeping (``GOMP_SPINCOUNT``), unless the environment
already says how they should wait. torch's default spins long enough that on
a shared machine, with another process on the same cores, a decode ran 5-12x
and a fit 1.7x slower; the short spin costs up to a tenth when the machine is
idle (``benchmarks/threads.py``, ``benchmarks/results/README.md``).
"""

import os

SPIN_COUNT = "100000"

if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
