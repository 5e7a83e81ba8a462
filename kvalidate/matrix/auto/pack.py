"""`--auto` / `auto: true`: matrix cells chosen from what the templates themselves test.

1. Discover: the base cell runs once with the engine recording every `template` task it meets,
   rendered or skipped (`Engine(record_gates=True)`): the template, the `when` chain that gates it
   (task, blocks, imports, dynamic includes, role `when` of play roles and meta dependencies) and
   the role defaults in scope.
2. Per (template, gate): `autocover.auto_axes` gives the values that hold the gate open and the
   template's own flags (its `if`/ternaries, defaults followed); a covering array of strength 2
   over the flags gives rows; a row plus the gate is one assignment of extra vars. A template
   whose gate is already open and that tests nothing needs no assignment: the base cell has it.
3. Pack: every cell renders every template, so assignments that agree on every variable they
   share go into one cell (first fit, in template order: deterministic). Each assignment is kept
   whole, so every template still sees each of its pairs with its gate open. The matrix file's
   `exclude` rules and the checkout's own `assert`/`fail` tasks (`autochecks`) veto an
   assignment, or a merge, they would reject.
4. Cap: at most `max_cells` cells (the run's cost is linear in cells, ~0.4 s CPU each on
   Kubespray master); assignments beyond it are dropped and counted, never silently.

Not covered: templates behind a dynamic include whose `when` is false in the base cell (the engine
never opens the file, so their tasks are not met), values the conditions compare with
non-literals, and variables tested only with `is defined` (extra vars cannot undefine).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kvalidate.ansible.types import TemplateGate
from kvalidate.matrix.auto.constraints import CheckRules
from kvalidate.matrix.auto.flags import auto_axes
from kvalidate.matrix.covering import Exclusion, covering_rows, forbidden
from kvalidate.model import Cell

MAX_CELLS = 64
# names a gate or flag can test that extra vars must not set: magic and per-host variables
_NOT_VARS = ("ansible_", "inventory_", "group_names", "groups", "hostvars", "play_hosts", "item", "loop",
             "omit", "playbook_dir", "role_", "lookup", "query", "q", "true", "false", "none")


@dataclass(frozen=True)
class TemplatePlan:
    template: str
    gate: Mapping[str, Any]
    axes: Mapping[str, Sequence[Any]]
    rows: tuple[Mapping[str, Any], ...]

    @property
    def product(self) -> int:
        """Cells the full product of this template's flags needs (gate held open)."""
        return math.prod(len(v) for v in self.axes.values())


@dataclass(frozen=True)
class AutoPlan:
    cells: tuple[Cell, ...]
    templates: tuple[TemplatePlan, ...] = ()
    dropped: int = 0  # assignments beyond the cap
    max_cells: int = MAX_CELLS
    assignments: int = 0  # distinct (gate + row) assignments before packing
    covers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # cell name -> templates
    rejected: int = 0  # assignments the checkout's own asserts reject

    @property
    def product(self) -> int:
        """Cells needed to run every template's full product, one template after another."""
        return sum(t.product for t in self.templates)

    def summary(self) -> str:
        return (f"auto coverage: {len(self.templates)} template gate(s), {self.assignments} pairwise "
                f"assignment(s) packed into {len(self.cells)} cell(s) (full product per template: "
                f"{self.product} cells)"
                + (f"; {self.rejected} rejected by the checkout's asserts" if self.rejected else "")
                + (f"; {self.dropped} assignment(s) beyond the cap of {self.max_cells} cells dropped"
                   if self.dropped else ""))


def _is_var(name: str) -> bool:
    return not name.startswith(_NOT_VARS)


def _gate_value(value: Any, default: Any) -> Any:
    """A truth value a gate wants, in the type of the variable's default: `when: x` with a
    non-empty list default keeps the list (True in its place would break the templates that
    iterate it); false is the empty value of the type."""
    literal = isinstance(default, (str, list, dict, int, float)) and not isinstance(default, bool)
    if isinstance(value, bool) and literal and not (isinstance(default, str) and "{{" in default):
        return default if value and default else (value if value else type(default)())
    return value


def _same(a: Any, b: Any) -> bool:
    return bool(type(a) is type(b) and a == b)


def template_plans(gates: Sequence[TemplateGate], read: Callable[[str], str | None],
                   exclude: Sequence[Exclusion] = ()) -> list[TemplatePlan]:
    """One plan per distinct (template, gate) met; `gates` are `TemplateGate`s of one or more runs.
    `exclude` rules (the matrix file's) are honoured by the covering rows."""
    out: list[TemplatePlan] = []
    seen: set[tuple[str, str, str]] = set()
    sources: dict[str, str | None] = {}
    for g in gates:
        if g.template not in sources:
            sources[g.template] = read(g.template)
        source = sources[g.template]
        if source is None:
            continue
        gate, axes = auto_axes(source, g.defaults, list(g.conditions))
        gate = {k: _gate_value(v, g.defaults.get(k)) for k, v in gate.items() if _is_var(k)}
        axes = {k: v for k, v in axes.items() if _is_var(k)}
        key = (g.template, repr(sorted(gate.items(), key=repr)), repr(sorted(axes.items(), key=repr)))
        if key in seen:
            continue
        seen.add(key)
        if forbidden(exclude, gate):
            continue  # the gate itself is excluded: the template is not wanted open
        rows = [r for r in (covering_rows(axes, 2, _fixed(exclude, gate)) if axes else [{}])
                if not forbidden(exclude, {**gate, **r})]
        out.append(TemplatePlan(g.template, gate, axes, tuple(rows)))
    return out


def _fixed(exclude: Sequence[Exclusion], gate: Mapping[str, Any]) -> list[Exclusion]:
    """Exclusion rules seen from the axes: a rule whose gate keys match is reduced to its other keys."""
    out: list[Exclusion] = []
    for rule in exclude:
        if all(k not in gate or gate[k] in v for k, v in rule.items()):
            rest = {k: v for k, v in rule.items() if k not in gate}
            if rest:
                out.append(rest)
    return out


def pack(plans: Sequence[TemplatePlan], max_cells: int = MAX_CELLS, exclude: Sequence[Exclusion] = (),
         checks: CheckRules | None = None) -> tuple[list[dict[str, Any]], list[list[str]], int, int, int]:
    """Assignments packed first-fit into at most `max_cells` groups of compatible extra vars (a
    merge that an `exclude` rule matches, or that one of the checkout's asserts (`checks`)
    rejects, is not made; an assignment they reject alone is dropped). Returns (groups, templates
    per group, distinct assignments, assignments dropped by the cap, assignments rejected)."""
    groups: list[dict[str, Any]] = []
    served: list[list[str]] = []
    seen: list[dict[str, Any]] = []
    dropped = rejected = 0
    for plan in plans:
        for row in plan.rows:
            assignment = {**plan.gate, **row}
            if not assignment or any(_equal(assignment, s) for s in seen):
                continue
            seen.append(assignment)
            if checks is not None and checks.rejects(assignment):
                rejected += 1
                continue
            for i, group in enumerate(groups):
                if all(k not in group or _same(group[k], v) for k, v in assignment.items()) \
                        and not forbidden(exclude, {**group, **assignment}) \
                        and not (checks is not None and checks.rejects({**group, **assignment}, list(assignment))):
                    group.update(assignment)
                    if plan.template not in served[i]:
                        served[i].append(plan.template)
                    break
            else:
                if len(groups) >= max_cells:
                    dropped += 1
                    continue
                groups.append(dict(assignment))
                served.append([plan.template])
    return groups, served, len(seen), dropped, rejected


def _equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


def auto_plan(base: Cell, plans: Sequence[TemplatePlan], max_cells: int = MAX_CELLS,
              exclude: Sequence[Exclusion] = (), checks: CheckRules | None = None) -> AutoPlan:
    """The auto cells on top of `base` (its scenario, layout, OS, inventory, playbook, limit and extra vars kept;
    an assignment's vars on top), from the plans of one or more checkouts (refs)."""
    groups, served, n, dropped, rejected = pack(plans, max_cells, exclude, checks)
    cells = []
    covers: dict[str, tuple[str, ...]] = {}
    width = len(str(len(groups)))
    for i, (group, templates) in enumerate(zip(groups, served, strict=True), 1):
        name = f"{base.name}+auto{i:0{width}d}"
        description = f"auto: {len(templates)} template(s): " + ", ".join(t.rsplit("/", 1)[-1] for t in templates)
        cells.append(Cell(name=name, extra_vars={**base.extra_vars, **group}, scenario=base.scenario,
                          layout=base.layout, inventory=base.inventory, os=base.os,
                          kube_version=base.kube_version, description=description, playbook=base.playbook,
                          limit=base.limit, fact_cache=base.fact_cache))
        covers[name] = tuple(templates)
    return AutoPlan(tuple(cells), tuple(plans), dropped, max_cells, n, covers, rejected)
