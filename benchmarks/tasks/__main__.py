"""``python -m benchmarks.tasks``: see :mod:`benchmarks.tasks.cli`."""

import sys

from benchmarks.tasks.cli import main

main(sys.argv[1:])
