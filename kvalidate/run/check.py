"""`kvalidate check`: a Kubespray checkout x cells (x git refs) -> one Result.

Each (ref, cell) is checked by `run.cell.check_cell` in a worker process (fork); every worker keeps its
trees, opened checkouts, compiled templates and schema validators between cells. The checkout is only read.

The workers are supervised by the parent (`run.workers`: dead workers, the per-cell deadline, the memory
cap, signals; README "Resource limits").

Cells run in the calling process only when both limits are off (`Limits.NONE`: tests, debugging).
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kvalidate.ansible.codecache import CODE_CACHE
from kvalidate.ansible.errors import debug, internal_finding
from kvalidate.kubespray.checkout import Checkout, open_checkout
from kvalidate.kubespray.facts import load_overlay
from kvalidate.model import Cell, Result, SetupError
from kvalidate.run.cell import CellOptions, SchemaCache, check_cell
from kvalidate.run.workers import Limits, cell_finding, size, supervised
from kvalidate.trees.directory import DirTree, Tree
from kvalidate.trees.git import GitTree
from kvalidate.validation.validate import tune_gc


@dataclass(frozen=True)
class CheckOptions:
    """A `kvalidate check` request: the checkout, its cells and refs, and what applies to every cell."""

    checkout: Path
    cells: tuple[Cell, ...] = (Cell("default"),)
    refs: tuple[str, ...] = ()  # empty: the work tree as it is
    hosts: tuple[str, ...] = ()  # report only these hosts ("" = all)
    schema_version: str | None = None  # `--schema-version`: the schemas' minor (default: each cell's rendered minor)
    facts_files: tuple[Path, ...] = ()
    emit_dir: Path | None = None
    jobs: int = 1
    limits: Limits | None = None  # None: Limits.from_env() when the run starts


def open_ref(checkout: Path, ref: str) -> Checkout:
    """The checkout at `ref` (read from git objects), or its work tree for ""."""
    tree: Tree = GitTree(checkout, ref) if ref else DirTree(checkout)
    return open_checkout(tree)


@dataclass
class Worker:
    """Per-process state: checkouts per ref, schema stores and validated texts."""

    options: CheckOptions
    checkouts: dict[str, Checkout] = field(default_factory=dict)
    cache: SchemaCache = field(default_factory=SchemaCache)

    def checkout(self, ref: str) -> Checkout:
        if ref not in self.checkouts:
            self.checkouts[ref] = open_ref(self.options.checkout, ref)
        return self.checkouts[ref]

    def run(self, ref: str, cell: Cell) -> Result:
        o = self.options
        cell_options = CellOptions(hosts=o.hosts, schema_version=o.schema_version,
                                   facts_overlays=tuple(load_overlay(p) for p in o.facts_files),
                                   emit_root=_emit_root(o, ref, cell) if o.emit_dir is not None else None)
        result = check_cell(self.checkout(ref), cell, ref, cell_options, self.cache)
        CODE_CACHE.flush()  # workers exit without atexit handlers; compiled code is kept for the next run
        return result


def _emit_root(options: CheckOptions, ref: str, cell: Cell) -> Path:
    assert options.emit_dir is not None
    root = options.emit_dir
    if len(options.refs) > 1:
        root = root / ref.replace("/", "_")
    if len(options.cells) > 1:
        root = root / cell.name.replace("/", "_")
    return root


_WORKER: Worker | None = None


def _task(args: tuple[str, Cell]) -> Result:
    assert _WORKER is not None
    ref, cell = args
    try:
        return _WORKER.run(ref, cell)
    except SetupError:
        raise
    except MemoryError:
        # outside a template (which reports it at its line): the cell as a whole was too big
        return Result(findings=[cell_finding(
            "sandbox", ref, cell, f"cell {cell.name} ran out of memory ({_memory_note()}): a template or "
            "document too big to check")])
    except Exception as e:  # noqa: BLE001 - a bug of ours in one cell must not end the run; it is a finding
        if debug():
            raise
        return Result(findings=[internal_finding(e, f"running cell {cell.name}", cell=cell.name, ref=ref)])


def _memory_note() -> str:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return "no memory limit set"
    return f"limit {size(soft)} of address space per worker, KVALIDATE_WORKER_MEMORY"


def run_check(options: CheckOptions, progress: Callable[[int, int], None] | None = None) -> Result:
    """Every (ref, cell) of `options`, merged into one Result (findings sorted)."""
    global _WORKER
    if not (options.checkout / "roles").is_dir() and not options.refs:
        if not options.checkout.is_dir():
            raise SetupError(f"cannot read {options.checkout}: no such directory")
    limits = options.limits if options.limits is not None else Limits.from_env()
    _WORKER = Worker(options)
    for ref in options.refs or ("",):
        _WORKER.checkout(ref)  # a bad checkout or ref is exit 2 before any work starts
    tasks = [(ref, cell) for ref in (options.refs or ("",)) for cell in options.cells]
    parts: list[Result | None] = [None] * len(tasks)
    jobs = max(1, min(options.jobs, len(tasks)))
    # freeze what is loaded (forked workers share it copy-on-write) and collect rarely: the engine
    # allocates many short-lived objects (0.43 -> 0.32 s CPU per Kubespray master cell)
    tune_gc()
    done = 0
    for index, part in (_in_process(tasks) if not limits.enforced else supervised(tasks, jobs, limits, _task)):
        parts[index] = part
        done += 1
        if progress:
            progress(done, len(tasks))
    result = Result(cells=list(options.cells))
    for finished in parts:  # in submission order, whatever order the workers finished in
        if finished is not None:
            result.merge(finished)
    _once_per_run(result)
    result.sort()
    return result


ONCE_PER_RUN = ("schema-version",)


def _once_per_run(result: Result) -> None:
    """Run-level warnings (a rendered minor without bundled schemas) are made per cell and kept once."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for f in result.findings:
        if f.rule in ONCE_PER_RUN:
            if (f.rule, f.message) in seen:
                continue
            seen.add((f.rule, f.message))
        kept.append(f)
    result.findings[:] = kept


def _in_process(tasks: list[tuple[str, Cell]]) -> Iterator[tuple[int, Result]]:
    for index, task in enumerate(tasks):
        yield index, _task(task)


def default_jobs() -> int:
    return max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8))


def is_terminal() -> bool:
    return sys.stderr.isatty()
