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

import json
import math
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from typing import Any

from kvalidate.ansible.types import TemplateGate
from kvalidate.matrix.auto.constraints import CheckRules
from kvalidate.matrix.auto.flags import MISSING, Known, auto_axes, read_names, typed_gate, used_names
from kvalidate.matrix.covering import Exclusion, covering_rows, forbidden, relax_rows
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
    # placeholders of the documented inputs the template reads that nothing in the base cell defines
    inputs: Mapping[str, Any] = field(default_factory=dict)
    # the base cell's value of each variable the plan sets (MISSING when it has none): what a
    # reproduce command leaves out
    base: Mapping[str, Any] = field(default_factory=dict)
    reads: frozenset[str] = frozenset()  # every variable the template uses (its reproduce command keeps those)
    known: Known | None = field(default=None, compare=False, repr=False)  # the base cell's values

    @property
    def product(self) -> int:
        """Cells the full product of this template's flags needs (gate held open)."""
        return math.prod(len(v) for v in self.axes.values())


@dataclass(frozen=True)
class Infeasible:
    """A template gate or assignment automatic coverage does not make, and why (the report's notes)."""

    template: str
    reason: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Part:
    """One assignment a cell serves: a template's gate and covering row, with its placeholders and
    repairs, and what of it differs from the base cell (`minimal`, what reproduces it)."""

    template: str
    values: Mapping[str, Any]
    minimal: Mapping[str, Any]
    plan: TemplatePlan | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class AutoPlan:
    cells: tuple[Cell, ...]
    templates: tuple[TemplatePlan, ...] = ()
    dropped: int = 0  # assignments beyond the cap
    max_cells: int = MAX_CELLS
    assignments: int = 0  # distinct (gate + row) assignments before packing
    covers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # cell name -> templates
    rejected: int = 0  # assignments the checkout's own asserts reject
    infeasible: tuple[Infeasible, ...] = ()  # gates and assignments not made, with the reason
    parts: Mapping[str, tuple[Part, ...]] = field(default_factory=dict)  # cell name -> its assignments

    @property
    def product(self) -> int:
        """Cells needed to run every template's full product, one template after another."""
        return sum(t.product for t in self.templates)

    def summary(self) -> str:
        gates = sum(1 for i in self.infeasible if not i.values)
        return (f"auto coverage: {len(self.templates)} template gate(s), {self.assignments} pairwise "
                f"assignment(s) packed into {len(self.cells)} cell(s) (full product per template: "
                f"{self.product} cells)"
                + (f"; {self.rejected} rejected by the checkout's asserts" if self.rejected else "")
                + (f"; {gates} gate(s) that cannot be opened" if gates else "")
                + (f"; {self.dropped} assignment(s) beyond the cap of {self.max_cells} cells dropped"
                   if self.dropped else ""))

    def notes(self) -> list[str]:
        """One line per gate or assignment not made: the report's notes, never errors."""
        out = []
        for i in self.infeasible:
            what = ", ".join(f"{k}={_show(v)}" for k, v in i.values.items()) if i.values else "its gate"
            out.append(f"auto coverage: not run: {i.template} with {what}: {i.reason}")
        return out


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def _is_var(name: str) -> bool:
    return not name.startswith(_NOT_VARS)


def _same(a: Any, b: Any) -> bool:
    return bool(type(a) is type(b) and a == b)


def template_plans(gates: Sequence[TemplateGate], read: Callable[[str], str | None],
                   exclude: Sequence[Exclusion] = (), known: Callable[[TemplateGate], Known] | None = None,
                   placeholder: Callable[[str], Any] | None = None,
                   infeasible: list[Infeasible] | None = None, named: Set[str] = frozenset(),
                   defined: Set[str] = frozenset()) -> list[TemplatePlan]:
    """One plan per distinct (template, gate) met; `gates` are `TemplateGate`s of one or more runs.
    `exclude` rules (the matrix file's) are honoured by the covering rows. `known` tells what the
    base cell holds for a gate's variables (their types, host-dependence, valid values);
    `placeholder` gives a documented input's value. A gate that cannot be opened with values of
    the right type, or a template that reads an input the base cell leaves undefined and the
    checkout's documentation names (`named`) without an example value and its code never defines
    (`defined`: `cilium_ipsec_key`, not the `crio_runtimes` a role's set_fact builds), is not
    planned, and is added to `infeasible` with the reason. (A name nothing defines and no
    documentation names is left to the run: reading it is the template's defect.)"""
    out: list[TemplatePlan] = []
    seen: set[tuple[str, str, str]] = set()
    sources: dict[str, str | None] = {}
    for g in gates:
        if g.template not in sources:
            sources[g.template] = read(g.template)
        source = sources[g.template]
        if source is None:
            continue
        k = known(g) if known is not None else Known(g.defaults)
        fallbacks: dict[str, Any] = {}
        raw_gate, axes = auto_axes(source, g.defaults, list(g.conditions), known=k, fallbacks=fallbacks)
        gate, why = typed_gate({n: v for n, v in raw_gate.items() if _is_var(n)}, k, placeholder, fallbacks)
        axes = {n: v for n, v in axes.items() if _is_var(n)}
        key = (g.template, repr(sorted(gate.items(), key=repr)), repr(sorted(axes.items(), key=repr)))
        if why:
            key = (g.template, why, "")
        if key in seen:
            continue
        seen.add(key)
        if why:
            if infeasible is not None:
                infeasible.append(Infeasible(g.template, why))
            continue
        if forbidden(exclude, gate):
            continue  # the gate itself is excluded: the template is not wanted open
        inputs = _inputs(source, k, placeholder, {*gate, *axes}, defined) if placeholder is not None else {}
        lacking = sorted(n for n in read_names(source) - {*gate, *axes, *inputs}
                         if n in named and n not in defined and _is_var(n) and k.value(n) is MISSING)
        if lacking:
            if infeasible is not None:
                infeasible.append(Infeasible(g.template, f"it reads {', '.join(lacking)}, an input the checkout's "
                                             "documentation names without an example value"))
            continue
        rows = [r for r in (covering_rows(axes, 2, _fixed(exclude, gate)) if axes else [{}])
                if not forbidden(exclude, {**gate, **r})]
        names = {*gate, *axes, *inputs}
        out.append(TemplatePlan(g.template, gate, axes, tuple(rows), inputs,
                                {n: k.value(n) for n in sorted(names)}, frozenset(used_names(source) | names), k))
    return out


def _inputs(source: str, known: Known, placeholder: Callable[[str], Any], taken: set[str],
            defined: Set[str] = frozenset()) -> dict[str, Any]:
    """The documented inputs a template reads that the base cell leaves undefined and the
    checkout's code defines nowhere (their placeholder: a variable some role's defaults define,
    out of the template's scope, is the checkout's defect to report, not an input to supply), or
    holds as a dict lacking keys the checkout's documented example has (the example over the
    default: `external_hcloud_cloud.with_networks`)."""
    out: dict[str, Any] = {}
    for name in sorted(read_names(source) - taken):
        if not _is_var(name) or known.host_dependent(name):
            continue
        value = known.value(name)
        if value is MISSING and name not in defined:
            documented = placeholder(name)
            if documented is not None:
                out[name] = documented
        elif isinstance(value, dict):
            example = known.documented.get(name)
            if isinstance(example, dict) and set(example) - set(value):
                out[name] = {**value, **example}
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


@dataclass
class Packing:
    """What `pack` made: groups of extra vars (one per cell) and the parts each serves."""

    groups: list[dict[str, Any]] = field(default_factory=list)
    parts: list[list[Part]] = field(default_factory=list)
    assignments: int = 0
    dropped: int = 0
    rejected: int = 0
    infeasible: list[Infeasible] = field(default_factory=list)

    @property
    def served(self) -> list[list[str]]:
        return [list(dict.fromkeys(p.template for p in parts)) for parts in self.parts]


def gate_groups(plans: Sequence[TemplatePlan], exclude: Sequence[Exclusion] = ()) -> list[
        tuple[Mapping[str, Any], list[TemplatePlan], list[dict[str, Any]]]]:
    """Templates behind the same gate share their rows: one covering array over the union of
    their flags covers every template's own pairs, in about as many rows as the largest needs
    alone (a covering array grows with the logarithm of its flags), where a covering array per
    template would need their sum once packing keeps apart the rows that disagree. Returns
    (gate, its plans, its rows) in the order the gates were met."""
    groups: dict[str, tuple[Mapping[str, Any], list[TemplatePlan]]] = {}
    for p in plans:
        key = repr(sorted(p.gate.items(), key=repr))
        groups.setdefault(key, (p.gate, []))[1].append(p)
    out = []
    for gate, members in groups.values():
        axes: dict[str, list[Any]] = {}
        for p in members:
            for name, values in p.axes.items():
                have = axes.setdefault(name, [])
                have += [v for v in values if not any(_same(v, h) for h in have)]
        rows = [r for r in (covering_rows(axes, 2, _fixed(exclude, gate)) if axes else [{}])
                if not forbidden(exclude, {**gate, **r})]
        out.append((gate, members, relax_rows(rows) if len(rows) > 1 else rows))
    return out


def pack(plans: Sequence[TemplatePlan], max_cells: int = MAX_CELLS, exclude: Sequence[Exclusion] = (),
         checks: CheckRules | None = None) -> Packing:
    """Assignments (a gate and one row of its templates' shared covering array, `gate_groups`)
    packed first-fit into at most `max_cells` groups of compatible extra vars. An assignment that
    one of the checkout's asserts (`checks`) rejects is first repaired (`repair`: a documented
    input's placeholder, a boolean or a literal the check wants), else not made (counted in
    `rejected`, listed in `infeasible`); a merge that an `exclude` rule matches, or that an assert
    rejects, is not made. An assignment that opens the gate of a template reading documented
    inputs gets their placeholders too."""
    out = Packing()
    seen: list[dict[str, Any]] = []
    made: list[tuple[dict[str, Any], list[Part]]] = []
    needs = [p for p in plans if p.inputs]
    for gate, members, rows in gate_groups(plans, exclude):
        inputs: dict[str, Any] = {}
        members_base: dict[str, Any] = {}
        for p in members:
            inputs.update(p.inputs)
            for k, v in p.base.items():
                members_base.setdefault(k, v)
        for row in rows:
            assignment = {**gate, **inputs, **row}
            for other in needs:  # the row opens another template's gate: that template's inputs too
                if _opens(assignment, other):
                    assignment = {**other.inputs, **assignment}
            if not assignment or any(_equal(assignment, s) for s in seen):
                continue
            seen.append(assignment)
            if checks is not None:
                repaired, why = checks.repair(assignment)
                if repaired is None:
                    out.rejected += 1
                    out.infeasible.append(Infeasible(", ".join(p.template for p in members),
                                                     f"the checkout's check `{why}` fails", {**gate, **row}))
                    continue
                assignment = repaired
            support = {k: v for k, v in assignment.items() if k not in gate and k not in row}  # inputs, repairs
            parts = []
            for p in members:
                # the row's values this template reads, its own flags or not (the rows are shared)
                own = {**p.gate, **{k: v for k, v in row.items() if k in p.axes or k in p.reads}, **support}
                base = {**p.base, **{k: v for k, v in members_base.items() if k not in p.base}}
                parts.append(Part(p.template, assignment,
                                  {k: v for k, v in own.items() if not _same(v, base.get(k, MISSING))}, p))
            made.append((assignment, parts))
    # first fit, the most constrained assignments first (those that disagree with the most
    # others open the cells; the rest join them): fewer cells than in the order they were made
    degree = [sum(1 for other, _ in made if not _agree(a, other)) for a, _ in made]
    order = sorted(range(len(made)), key=lambda i: (-degree[i], -len(made[i][0]), i))
    for assignment, parts in (made[i] for i in order):
        for i, group in enumerate(out.groups):
            if all(k not in group or _same(group[k], v) for k, v in assignment.items()) \
                    and not forbidden(exclude, {**group, **assignment}) \
                    and not (checks is not None and checks.rejects({**group, **assignment}, list(assignment))):
                group.update(assignment)
                out.parts[i] += parts
                break
        else:
            if len(out.groups) >= max_cells:
                out.dropped += 1
                continue
            out.groups.append(dict(assignment))
            out.parts.append(parts)
    for group in out.groups:  # merged assignments together may open a gate none opens alone
        for other in needs:
            if _opens(group, other):
                for k, v in other.inputs.items():
                    group.setdefault(k, v)
    for i, group in enumerate(out.groups):  # what another assignment of the cell set, the template may read
        out.parts[i] = [_reads_of_cell(part, group) for part in out.parts[i]]
    out.assignments = len(seen)
    return out


def _reads_of_cell(part: Part, cell: Mapping[str, Any]) -> Part:
    """`part` with the cell's other values it reads added to its reproduce command: a template
    renders with the whole cell (`kube_reserved: true` set by a kubelet template's row opens the
    `Slice=` line of containerd.service.j2, whose own row never set it). The base cell's value is
    read from the discovery run (`TemplatePlan.known`)."""
    plan = part.plan
    if plan is None:
        return part
    extra = {}
    for k, v in cell.items():
        if k in part.minimal or k in part.values or k not in plan.reads:
            continue
        base = plan.base[k] if k in plan.base else plan.known.value(k) if plan.known is not None else MISSING
        if not _same(v, base):
            extra[k] = v
    return replace(part, minimal={**part.minimal, **extra}) if extra else part


def _opens(values: Mapping[str, Any], plan: TemplatePlan) -> bool:
    """Does an assignment open `plan`'s gate (its own values, else the base cell's), and set
    something the plan's template reads? Then the template renders in its cell, and needs the
    documented inputs the plan gives it (`kube_reserved: true` from a kubelet template's row
    opens containerd.service.j2's `Slice={{ kube_reserved_cgroups_for_service_slice }}`)."""
    if not all(_same(values[k], v) if k in values else _same(plan.base.get(k, MISSING), v)
               for k, v in plan.gate.items()):
        return False
    return any(k in plan.reads for k in values)


def _agree(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(k not in b or _same(b[k], v) for k, v in a.items())


def _equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


def auto_plan(base: Cell, plans: Sequence[TemplatePlan], max_cells: int = MAX_CELLS,
              exclude: Sequence[Exclusion] = (), checks: CheckRules | None = None,
              infeasible: Sequence[Infeasible] = ()) -> AutoPlan:
    """The auto cells on top of `base` (its scenario, layout, OS, inventory, playbook, limit and extra vars kept;
    an assignment's vars on top), from the plans of one or more checkouts (refs)."""
    packed = pack(plans, max_cells, exclude, checks)
    cells = []
    covers: dict[str, tuple[str, ...]] = {}
    parts: dict[str, tuple[Part, ...]] = {}
    width = len(str(len(packed.groups)))
    for i, (group, templates) in enumerate(zip(packed.groups, packed.served, strict=True), 1):
        name = f"{base.name}+auto{i:0{width}d}"
        description = f"auto: {len(templates)} template(s): " + ", ".join(t.rsplit("/", 1)[-1] for t in templates)
        cells.append(Cell(name=name, extra_vars={**base.extra_vars, **group}, scenario=base.scenario,
                          layout=base.layout, inventory=base.inventory, os=base.os,
                          kube_version=base.kube_version, description=description, playbook=base.playbook,
                          limit=base.limit, fact_cache=base.fact_cache, auto=True))
        covers[name] = tuple(templates)
        parts[name] = tuple(packed.parts[i - 1])
    return AutoPlan(tuple(cells), tuple(plans), packed.dropped, max_cells, packed.assignments, covers,
                    packed.rejected, (*infeasible, *packed.infeasible), parts)
