"""`kvalidate check`: a Kubespray checkout x cells (x git refs) -> one Result.

Each (ref, cell) is checked by `run.cell.check_cell` in a worker process (fork); every worker keeps its
trees, opened checkouts, compiled templates and schema validators between cells. The checkout is only read.

The workers are supervised by the parent (`run.workers`: dead workers, the per-cell deadline, the memory
cap, signals; README "Resource limits").

Work split (README "Speed"): cells are handed out largest first (`cell_cost`: the hosts the cell's
layout has, which the engine runs every task for), so that the last cells to finish are small
ones and both cores stay busy to the end. The parent opens every checkout and (for more than one
cell) loads the compiled template cache before forking: workers inherit both copy-on-write
instead of each reading them.
Results are merged in task order as they arrive (one held back only while a cell before it still
runs), so the parent never keeps the cells' results around until the end.

Cells run in the calling process only when both limits are off (`Limits.NONE`: tests, debugging).
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kvalidate.ansible.codecache import CODE_CACHE, flush_caches
from kvalidate.ansible.errors import debug, internal_finding
from kvalidate.kubespray.checkout import Checkout, open_checkout
from kvalidate.kubespray.documented import defined_names, documented_values, mentioned_names
from kvalidate.kubespray.facts import load_overlay
from kvalidate.kubespray.scenario import cell_spec
from kvalidate.model import Cell, Finding, Result, SetupError
from kvalidate.run.cell import CellOptions, SchemaCache, check_cell
from kvalidate.run.infeasible import split_infeasible
from kvalidate.run.workers import Limits, cell_finding, size, stop_workers, supervised
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
    notes: tuple[str, ...] = ()  # what the planning had to say: the report's notes


_OPENED: dict[tuple[Path, str], Checkout] | None = None  # inside `checkouts_kept`


def open_ref(checkout: Path, ref: str) -> Checkout:
    """The checkout at `ref` (read from git objects), or its work tree for "". Inside
    `checkouts_kept`, the same object for the same (checkout, ref)."""
    key = (checkout.resolve(), ref)
    if _OPENED is not None and key in _OPENED:
        return _OPENED[key]
    tree: Tree = GitTree(checkout, ref) if ref else DirTree(checkout)
    opened = open_checkout(tree)
    if _OPENED is not None:
        _OPENED[key] = opened
    return opened


@contextmanager
def checkouts_kept() -> Iterator[None]:
    """Within the block (one command), each (checkout, ref) is opened once: planning, the workers
    (forked after it) and the waivers share it, with its trees' read caches. A checkout does not
    change while kvalidate reads it; the next command opens it afresh."""
    global _OPENED
    outer = _OPENED
    if outer is None:
        _OPENED = {}
    try:
        yield
    finally:
        if outer is None:
            _OPENED = None


@dataclass
class Worker:
    """Per-process state: checkouts per ref, schema stores and validated texts."""

    options: CheckOptions
    checkouts: dict[str, Checkout] = field(default_factory=dict)
    cache: SchemaCache = field(default_factory=SchemaCache)
    # ref -> the checkout's documented inputs and the names its code defines (run/infeasible.py)
    documented: dict[str, tuple[dict[str, Any], frozenset[str]]] = field(default_factory=dict)

    def checkout(self, ref: str) -> Checkout:
        if ref not in self.checkouts:
            self.checkouts[ref] = open_ref(self.options.checkout, ref)
        return self.checkouts[ref]

    def run(self, ref: str, cell: Cell) -> Result:
        o = self.options
        # only the planned cells are emitted: a pool's later cells (trigger re-renders) are experiments
        emitted = o.emit_dir is not None and any(cell == c for c in o.cells)
        cell_options = CellOptions(hosts=o.hosts, schema_version=o.schema_version,
                                   facts_overlays=tuple(load_overlay(p) for p in o.facts_files),
                                   emit_root=_emit_root(o, ref, cell) if emitted else None)
        checkout = self.checkout(ref)
        result = check_cell(checkout, cell, ref, cell_options, self.cache)
        if cell.auto:
            if ref not in self.documented:
                self.documented[ref] = ({**dict.fromkeys(mentioned_names(checkout.tree)),
                                         **documented_values(checkout.tree)}, defined_names(checkout.tree))
            result = split_infeasible(result, cell, *self.documented[ref])
        flush_caches()  # workers exit without atexit handlers; compiled code and parsed YAML are kept
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
# a pool's progress callback: (done, in all, the result just done)
CellProgress = Callable[[int, int, Result], None]


class RunCells(Protocol):
    """A pool's runner: (ref, cell) tasks and a progress callback -> the results in task order;
    with `into`, each result is merged into it in task order as it arrives and [] is returned."""

    def __call__(self, tasks: Sequence[tuple[str, Cell]], progress: CellProgress | None = None,
                 into: Result | None = None) -> list[Result]: ...


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


def run_check(options: CheckOptions, progress: Callable[[int, int, int], None] | None = None,
              pool: RunCells | None = None, tally: Callable[[list[Finding]], int] = len) -> Result:
    """Every (ref, cell) of `options`, merged into one Result (findings sorted). `pool` (a
    `cell_pool` of the same options) keeps the workers for more cells after it. `progress` is called
    after each (ref, cell) with (runs done, runs in all, `tally` of the findings so far: their number,
    or what the caller counts, such as defects)."""
    if not (options.checkout / "roles").is_dir() and not options.refs:
        if not options.checkout.is_dir():
            raise SetupError(f"cannot read {options.checkout}: no such directory")
    tasks = [(ref, cell) for ref in (options.refs or ("",)) for cell in options.cells]
    found: list[Finding] = []
    count = 0

    def step(done: int, total: int, part: Result) -> None:
        nonlocal count
        if progress is None:
            return
        if part.findings:  # counted again only when a cell brought findings
            found.extend(part.findings)
            count = tally(found)
        progress(done, total, count)

    result = Result(cells=list(options.cells), notes=list(options.notes))
    # merged in submission order, whatever order they finished in, as they arrive
    if pool is not None:
        pool(tasks, step, into=result)
    else:
        with cell_pool(options, [ref for ref, _ in tasks]) as run:
            run(tasks, step, into=result)
    _once_per_run(result)
    result.sort()
    return result


def run_cells(options: CheckOptions, tasks: Sequence[tuple[str, Cell]],
              progress: CellProgress | None = None) -> list[Result]:
    """Each (ref, cell) of `tasks` checked with what `options` applies to every cell (hosts, facts,
    schema minor, emit, limits), on `options.jobs` supervised workers; the results in task order."""
    with cell_pool(options, [ref for ref, _ in tasks]) as run:
        return run(tasks, progress)


@contextmanager
def cell_pool(options: CheckOptions, refs: Sequence[str] = ()) -> Iterator[RunCells]:
    """A pool of workers for several batches of cells: `run(tasks, progress)` checks each (ref, cell)
    of `tasks` as `run_cells` does, and the workers stay warm (trees, compiled templates, schema
    stores) between batches until the block ends. `refs` (default: the options' refs) are opened
    before the first worker is forked: a bad checkout or ref is exit 2 before any work starts.
    `api.check` runs the matrix and then trigger confirmation's rounds of re-renders (`run.trigger`)
    on one."""
    global _WORKER
    limits = options.limits if options.limits is not None else Limits.from_env()
    _WORKER = Worker(options)
    for ref in dict.fromkeys(refs) or (options.refs or ("",)):
        _WORKER.checkout(ref)
    procs: list[Any] = []

    def run(tasks: Sequence[tuple[str, Cell]], progress: CellProgress | None = None,
            into: Result | None = None) -> list[Result]:
        parts: list[Result | None] = [None] * len(tasks)
        held: dict[int, Result] = {}  # finished before a cell ahead of them (with `into`)
        merged = 0
        jobs = max(1, min(options.jobs, len(tasks)))
        # freeze what is loaded (forked workers share it copy-on-write) and collect rarely: the engine
        # allocates many short-lived objects (0.43 -> 0.32 s CPU per Kubespray master cell); one
        # cell (a single-scenario check, a trigger round's re-render) skips the full collection
        tune_gc(full=len(tasks) > 1)
        order = largest_first(_WORKER, tasks) if jobs > 1 else list(range(len(tasks)))
        if len(tasks) > 1 and not procs and limits.enforced:
            CODE_CACHE.preload()  # unmarshalled and checked once here, before the workers fork
        ordered = [tasks[i] for i in order]
        done = 0
        for position, part in (_in_process(ordered) if not limits.enforced
                               else supervised(ordered, jobs, limits, _task, keep=procs)):
            index = order[position]
            done += 1
            if progress:
                progress(done, len(tasks), part)
            if into is None:
                parts[index] = part
                continue
            held[index] = part
            while merged in held:
                into.merge(held.pop(merged))
                merged += 1
        return [] if into is not None else [p if p is not None else Result() for p in parts]

    try:
        yield run
    finally:
        stop_workers(procs)


def cell_cost(worker: Worker, ref: str, cell: Cell) -> int:
    """How much work `cell` is, to schedule the largest first: its hosts (the engine runs every
    task once per host). A cell that cannot be resolved here counts as one host (the worker
    reports its problem)."""
    try:
        return len(cell_spec(worker.checkout(ref), cell).inventory.hosts)
    except Exception:  # noqa: BLE001 - only an estimate; the cell's own run reports what is wrong
        return 1


def largest_first(worker: Worker, tasks: Sequence[tuple[str, Cell]]) -> list[int]:
    """Task indexes in the order to hand them out: the largest cells first, ties in task order.
    Cells that differ only in variables (a scenario's minors) have the same hosts: resolved once."""
    known: dict[tuple[str, str, str, str], int] = {}
    costs = []
    for ref, cell in tasks:
        key = (ref, cell.scenario, cell.layout, cell.inventory)
        if key not in known:
            known[key] = cell_cost(worker, ref, cell)
        costs.append(known[key])
    return sorted(range(len(tasks)), key=lambda i: (-costs[i], i))


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
