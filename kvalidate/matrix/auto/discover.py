"""Automatic coverage's discovery: the base cell runs once with the engine recording every template
task it meets (rendered, skipped, or behind an include it skipped) and every assert/fail; the plan
is built from what it recorded, with what the base cell knows of each variable (`Known`: its value
and type, whether it differs between hosts, the values that select a role or task file) and the
inputs the checkout documents (`kubespray.documented`)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence, Set
from typing import Any

from jinja2 import Undefined

from kvalidate.ansible.types import NameChoice, RunResult, TemplateGate
from kvalidate.kubespray.checkout import Checkout
from kvalidate.kubespray.documented import defined_names, documented_values, mentioned_names, placeholder
from kvalidate.matrix.auto.constraints import CheckRules, check_guards, holds
from kvalidate.matrix.auto.flags import MISSING, UNKNOWN, Known
from kvalidate.matrix.auto.pack import MAX_CELLS, AutoPlan, Infeasible, auto_plan, template_plans
from kvalidate.matrix.covering import Exclusion
from kvalidate.model import Cell
from kvalidate.run.cell import prepare, run_cell
from kvalidate.trees.directory import Tree


def discover_gates(checkout: Checkout, cell: Cell) -> RunResult:
    """Run `cell` once with the engine recording every template task met (`RunResult.gates`),
    every assert/fail task (`RunResult.checks`) and the variables that name roles or task files
    (`RunResult.choices`)."""
    return run_cell(prepare(checkout, cell), oracle_parity=True, record_gates=True)


def auto_cells(checkouts: Sequence[Checkout], base: Cell, max_cells: int = MAX_CELLS,
               exclude: Sequence[Exclusion] = (), only: Callable[[str], bool] | None = None) -> AutoPlan:
    """Automatic coverage on top of `base`, united over `checkouts` (one per `--ref`): the
    templates of every ref get their pairs, and every ref runs every cell. `only` (a template
    path -> bool, `--changed-only`) keeps the templates it accepts."""
    plans = []
    checks = []
    documented: dict[str, Any] = {}
    defined: set[str] = set()
    infeasible: list[Infeasible] = []
    for co in checkouts:
        run = discover_gates(co, base)
        docs = documented_values(co.tree)
        for k, v in docs.items():
            documented.setdefault(k, v)
        names = defined_names(co.tree)
        defined |= names
        known = functools.partial(known_for, documented=docs, choices=run.choices, guards=check_guards(run.checks))
        plans += template_plans(run.gates, functools.partial(_read, co.tree), exclude, known,
                                functools.partial(placeholder, documented=docs), infeasible,
                                mentioned_names(co.tree), names)
        checks += run.checks
    if only is not None:
        plans = [p for p in plans if only(p.template)]
    return auto_plan(base, plans, max_cells, exclude,
                     CheckRules(checks, functools.partial(placeholder, documented=documented), defined), infeasible)


def scope_value(scope: Mapping[str, Any], name: str) -> Any:
    """`name` as a recorded scope holds it: MISSING if defined nowhere (or undefined), UNKNOWN if
    it cannot be templated there."""
    try:
        value = scope[name]
    except KeyError:
        return MISSING
    except Exception:  # noqa: BLE001 - a value that fails to template: its type is unknown
        return UNKNOWN
    return MISSING if isinstance(value, Undefined) else value


def known_for(gate: TemplateGate, documented: Mapping[str, Any] = {},  # noqa: B006 - read only
              choices: Sequence[NameChoice] = (), guards: Set[str] = frozenset()) -> Known:
    """What the base cell knows of `gate`'s variables: their values on the first host the task
    was met on, whether they differ on the other hosts, and which values are valid: those that
    select a role or task file the checkout has (`choices`), and never true for a variable that
    switches the checkout's checks off (`guards`)."""
    scopes = list(gate.scopes.values())
    cache: dict[str, Any] = {}

    def lookup(name: str) -> Any:
        if name not in cache:
            cache[name] = scope_value(scopes[0], name) if scopes else Known(gate.defaults).value(name)
        return cache[name]

    def varies(name: str) -> bool:
        first = lookup(name)
        return any(not _equal(scope_value(s, name), first) for s in scopes[1:])

    def valid(name: str, value: Any) -> bool:
        if name in guards and value is True:
            return False
        return all(value in c.values or any(holds(cond, {name: value}) is False for cond in c.conditions)
                   for c in choices if c.variable == name)

    def hosts(name: str) -> list[Any]:
        return [lookup(name), *(scope_value(s, name) for s in scopes[1:])]

    return Known(gate.defaults, lookup, varies, valid, documented, hosts)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(type(a) is type(b) and a == b)
    except Exception:  # noqa: BLE001 - values that cannot be compared are taken as different
        return False


def _read(tree: Tree, path: str) -> str | None:
    try:
        text: str = tree.read_text(path)
    except Exception:  # noqa: BLE001 - an unreadable template is simply not covered
        return None
    return text
