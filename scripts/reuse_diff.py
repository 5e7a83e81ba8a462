"""Differential check of reuse (kvalidate/ansible/reuse.py): every cell of a matrix run with reuse on and
off in the same process, every rendering compared byte for byte (text, line map, template, host,
dest, task, item), every engine finding and every finding of the whole per-cell pipeline compared.

The cells with reuse on run in order in one process, as a worker runs them: each one reuses what the
cells before it stored. The cells with reuse off run between them (reuse is read per engine).

Usage: python scripts/reuse_diff.py CHECKOUT [--config MATRIX.yaml] [--limit N] [--pipeline]
(exit 1 on any difference; `--pipeline` also compares check_cell's findings: validation and rules.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kvalidate.ansible.templar import Templar  # noqa: E402
from kvalidate.ansible.types import RunResult  # noqa: E402
from kvalidate.api import CheckRequest, plan  # noqa: E402
from kvalidate.model import Cell, Finding  # noqa: E402
from kvalidate.run.cell import CellOptions, SchemaCache, check_cell, prepare, run_cell  # noqa: E402
from kvalidate.run.check import open_ref  # noqa: E402


@dataclass
class Report:
    cells: int = 0
    renderings: int = 0
    findings: int = 0
    done: int = 0
    reused: int = 0
    differences: list[str] = field(default_factory=list)
    cpu_on: float = 0.0
    cpu_off: float = 0.0


@contextmanager
def reuse(on: bool) -> Iterator[None]:
    saved = os.environ.get("KVALIDATE_NO_REUSE")
    if on:
        os.environ.pop("KVALIDATE_NO_REUSE", None)
    else:
        os.environ["KVALIDATE_NO_REUSE"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("KVALIDATE_NO_REUSE", None)
        else:
            os.environ["KVALIDATE_NO_REUSE"] = saved


def _rendering_rows(run: RunResult) -> list[tuple[Any, ...]]:
    return [(r.template, r.role, r.dest, r.host, r.task, repr(r.item), r.via, r.vars_host, r.text,
             (r.lines.lines, r.lines.files) if r.lines is not None else None) for r in run.renderings]


def _finding_rows(findings: Sequence[Finding]) -> list[str]:
    return [repr(f) for f in findings]


def _diff(what: str, cell: str, on: list[Any], off: list[Any], out: list[str]) -> None:
    if on == off:
        return
    if len(on) != len(off):
        out.append(f"{cell}: {what}: {len(on)} with reuse, {len(off)} without")
    for i, (a, b) in enumerate(zip(on, off, strict=False)):
        if a != b:
            out.append(f"{cell}: {what} #{i} differs:\n  with reuse:    {str(a)[:400]}\n"
                       f"  without reuse: {str(b)[:400]}")
            break


def compare(checkout: Path, cells: Sequence[Cell], pipeline: bool = False,
            progress: Any = None) -> Report:
    """Run each cell with and without reuse; the report lists every difference."""
    report = Report()
    co = open_ref(checkout, "")
    store = Templar.shared().reuse
    caches = {True: SchemaCache(), False: SchemaCache()}
    for n, cell in enumerate(cells, 1):
        runs: dict[bool, RunResult] = {}
        results = {}
        for on in (False, True):
            with reuse(on):
                t = time.process_time()
                inputs = prepare(co, cell)
                done, reused = store.done, store.reused
                runs[on] = run_cell(inputs)
                if on:
                    report.done += store.done - done
                    report.reused += store.reused - reused
                if pipeline:
                    results[on] = check_cell(co, cell, "", CellOptions(), caches[on])
                spent = time.process_time() - t
                if on:
                    report.cpu_on += spent
                else:
                    report.cpu_off += spent
        report.cells += 1
        report.renderings += len(runs[True].renderings)
        report.findings += len(runs[True].findings)
        _diff("rendering", cell.name, _rendering_rows(runs[True]), _rendering_rows(runs[False]), report.differences)
        _diff("engine finding", cell.name, _finding_rows(runs[True].findings), _finding_rows(runs[False].findings),
              report.differences)
        _diff("groups", cell.name, [runs[True].groups], [runs[False].groups], report.differences)
        if pipeline:
            _diff("finding", cell.name, _finding_rows(results[True].findings), _finding_rows(results[False].findings),
                  report.differences)
        if progress is not None:
            progress(n, len(cells), report)
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkout", type=Path)
    ap.add_argument("--config", type=Path,
                    help="matrix file (default: the checkout's kvalidate.yaml, else its scenarios)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N cells")
    ap.add_argument("--pipeline", action="store_true", help="also compare check_cell's findings")
    ns = ap.parse_args()
    options = plan(CheckRequest(checkout=ns.checkout, config=ns.config))
    cells = options.cells[:ns.limit] if ns.limit else options.cells

    def progress(n: int, total: int, r: Report) -> None:
        print(f"\r{n}/{total} cells, {len(r.differences)} differences", end="", file=sys.stderr, flush=True)

    report = compare(ns.checkout, cells, ns.pipeline, progress)
    print(file=sys.stderr)
    for d in report.differences:
        print(d)
    ratio = report.reused / report.done if report.done else 0.0
    print(f"cells {report.cells}, renderings {report.renderings}, engine findings {report.findings}, "
          f"differences {len(report.differences)}; evaluations done {report.done}, reused {report.reused} "
          f"({ratio:.1%}); CPU with reuse {report.cpu_on:.1f} s, without {report.cpu_off:.1f} s")
    return 1 if report.differences else 0


if __name__ == "__main__":
    sys.exit(main())
