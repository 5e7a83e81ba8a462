"""Automatic coverage's discovery: the base cell runs once with the engine recording every template
task it meets (rendered or skipped) and every assert/fail; the plan is built from what it recorded."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

from kvalidate.ansible.types import RunResult
from kvalidate.kubespray.checkout import Checkout
from kvalidate.matrix.auto.constraints import CheckRules
from kvalidate.matrix.auto.pack import MAX_CELLS, AutoPlan, auto_plan, template_plans
from kvalidate.matrix.covering import Exclusion
from kvalidate.model import Cell
from kvalidate.run.cell import prepare, run_cell
from kvalidate.trees.directory import Tree


def discover_gates(checkout: Checkout, cell: Cell) -> RunResult:
    """Run `cell` once with the engine recording every template task met (`RunResult.gates`) and
    every assert/fail task (`RunResult.checks`)."""
    return run_cell(prepare(checkout, cell), oracle_parity=True, record_gates=True)


def auto_cells(checkouts: Sequence[Checkout], base: Cell, max_cells: int = MAX_CELLS,
               exclude: Sequence[Exclusion] = (), only: Callable[[str], bool] | None = None) -> AutoPlan:
    """Automatic coverage on top of `base`, united over `checkouts` (one per `--ref`): the
    templates of every ref get their pairs, and every ref runs every cell. `only` (a template
    path -> bool, `--changed-only`) keeps the templates it accepts."""
    plans = []
    checks = []
    for co in checkouts:
        run = discover_gates(co, base)
        plans += template_plans(run.gates, functools.partial(_read, co.tree), exclude)
        checks += run.checks
    if only is not None:
        plans = [p for p in plans if only(p.template)]
    return auto_plan(base, plans, max_cells, exclude, CheckRules(checks))


def _read(tree: Tree, path: str) -> str | None:
    try:
        text: str = tree.read_text(path)
    except Exception:  # noqa: BLE001 - an unreadable template is simply not covered
        return None
    return text
