"""Where a matrix cell's CPU goes once reuse (kvalidate/ansible/reuse.py) serves most evaluations.

Runs cells of a matrix in one process, as a worker does: WARM cells first (they fill the reuse
store, unmeasured), then N cells measured (`time.process_time`), under cProfile with `--profile
FILE` (read it with `python -m pstats FILE`; profiling roughly doubles the time). Only the engine's
run of each cell (`run_cell`: about 90 % of a cell) is measured, not validation.

To compare two source trees under the same load, run this script alternately with each tree first
on PYTHONPATH and compare the medians (or minimums) of the CPU per cell it prints.

Usage: python scripts/reuse_profile.py CHECKOUT --config MATRIX.yaml [--start 15] [--cells 20]
           [--warm 15] [--profile FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kvalidate.api import CheckRequest, plan  # noqa: E402
from kvalidate.run.cell import prepare, run_cell  # noqa: E402
from kvalidate.run.check import open_ref  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkout", type=Path)
    ap.add_argument("--config", type=Path, help="matrix file (default: the checkout's kvalidate.yaml)")
    ap.add_argument("--start", type=int, default=15, help="index of the first measured cell")
    ap.add_argument("--cells", type=int, default=20, help="cells measured")
    ap.add_argument("--warm", type=int, default=15, help="cells run before them, unmeasured")
    ap.add_argument("--profile", type=Path, help="write cProfile statistics of the measured cells here")
    ns = ap.parse_args()
    cells = plan(CheckRequest(checkout=ns.checkout, config=ns.config)).cells
    co = open_ref(ns.checkout, "")
    for cell in cells[max(0, ns.start - ns.warm):ns.start]:
        run_cell(prepare(co, cell))
    measured = cells[ns.start:ns.start + ns.cells]
    if not measured:
        raise SystemExit(f"no cells from index {ns.start} ({len(cells)} in the matrix)")
    profiler = cProfile.Profile() if ns.profile else None
    t0 = time.process_time()
    if profiler is not None:
        profiler.enable()
    for cell in measured:
        run_cell(prepare(co, cell))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(ns.profile))
    spent = time.process_time() - t0
    print(f"{len(measured)} cells ({measured[0].name} ...): {spent:.2f} s CPU, {spent / len(measured):.3f} s per cell")
    return 0


if __name__ == "__main__":
    sys.exit(main())
