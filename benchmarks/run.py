#!/usr/bin/env python3
"""Run deltaprop's benchmark suite (the same as ``deltaprop bench``); see README.md here.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run.py [options]

Results go to benchmarks/results/ unless ``--out`` says otherwise; ``--help`` lists the options.
"""

import sys
from pathlib import Path

try:
    from deltaprop.bench import main
except ImportError:  # a checkout that is not installed: use its src/ directory
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from deltaprop.bench import main

if __name__ == "__main__":
    results = Path(__file__).resolve().parent / "results"
    sys.exit(main(prog="python benchmarks/run.py", out=str(results)))
