"""A defect's trigger: the variable values that cause it, established by re-rendering.

For each error defect of a rendered template, the search works from the cells of the run:

1. **Candidates.** The cells that show the defect (failing) and the cells that rendered the same file
   without it (passing). The passing cell closest to a failing one (same layout, Kubernetes minor,
   scenario, OS and inventory first, then fewest differing variables) is the *base*; every value a
   failing cell gives a variable that the base does not is a candidate, and so is every value the
   template's own conditionals around the defect's line test (`matrix.auto.flags.conditionals_near`,
   handed in by the API as `Nearby` lists: `run` may not import `matrix`).
2. **Smallest first.** Assignments of 1, 2, then 3 candidates (one value per variable) are tried in
   order of plausibility: first those every failing cell holds and no passing cell of the base's kind
   holds (a pairwise matrix often leaves several such sets), the ones whose variables the template
   tests nearest the line first; then those no cell holds; last those a passing cell already holds
   (the run itself says they are not enough). Each try is one re-render: the base with the assignment
   overlaid on its extra vars, checked like any cell (`run.check.cell_pool`, the run's own workers).
3. **Minimal.** An assignment that produces the defect is confirmed when reverting any one of its
   conditions makes the defect disappear (re-rendered too); if one does not, the smaller assignment
   is the trigger candidate and is confirmed in turn.
4. **Wider.** A base may already hold part of the cause (a pairwise row with `typha_secure: true`
   gives `calico_ipam_host_local: true` alone): each of the base's values of a variable tested
   around the line is turned the other way with the trigger applied; those that remove the defect
   join the trigger, and the base with them turned (re-rendered: it must pass) becomes its base.

When no cell of the failing cells' kind passes (every cell that renders the file shows the defect,
or only cells of another layout, minor, ... pass), the conditionals around the line are turned off
on a failing cell (`x: false`, or another literal it is compared with); if that removes the defect,
the search above runs from that variant. If it does not, or the template has no conditional around
the line, the trigger is `{}` when every cell shows the defect, and none otherwise, with a note
naming the dimension (layout, minor, ...) that separates the failing cells from the passing ones.

Re-renders are costly (a whole cell each): results are cached per (ref, cell settings, variables),
the original cells answer for themselves, one re-render answers every defect at once (defects of the
same template and cells ask for the same assignments), and the total is capped (`budget`,
`--trigger-budget`); a search cut by the cap says so. The searches run side by side, best first:
each round re-renders, in parallel on the run's warm pool, what the searches ask at the best
priority (a found trigger's minimality, then assignments the run's cells support, smallest first,
then the others), so the budget goes to the likeliest confirmations before the long shots.
A re-render is matched to a defect by its findings' place and problem (`finding_key`).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from kvalidate.defects import identity, normalise
from kvalidate.model import Cell, Defect, Finding, Result, Severity
from kvalidate.run.check import RunCells

DEFAULT_BUDGET = 24  # re-renders per run
MAX_SIZE = 3  # conditions in a trigger
MAX_CANDIDATES = 12  # candidate values per defect (subsets of up to 3 of 12: 298 assignments to order)
MAX_FLIPS = 6  # conditionals turned off when every cell shows the defect
MAX_TRIES = 12  # assignments one defect may try before its search gives up (minimality re-renders aside)


class Nearby(Protocol):
    """A variable a conditional of the template tests around the defect's line
    (`matrix.auto.flags.Nearby`): the values worth trying and how far the conditional is (0: inside)."""

    @property
    def name(self) -> str: ...
    @property
    def values(self) -> tuple[Any, ...]: ...
    @property
    def distance(self) -> int: ...


Conditionals = Callable[[str, str, int], Sequence[Nearby]]  # (ref, template, line) -> nearest first


@dataclass(frozen=True)
class Probe:
    """One re-render: `base` with `assignment` overlaid on its extra vars, at `ref`."""

    ref: str
    base: Cell
    assignment: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, ref: str, base: Cell, assignment: Mapping[str, Any]) -> Probe:
        return cls(ref, base, tuple(sorted(assignment.items())))

    def cell(self) -> Cell:
        overlay = dict(self.assignment)
        label = ",".join(f"{k}={_text(v)}" for k, v in self.assignment)
        return replace(self.base, name=f"{self.base.name}+{label}" if label else self.base.name,
                       extra_vars={**self.base.extra_vars, **overlay}, command="", description="")

    def key(self) -> str:
        return cell_key(self.ref, self.cell())


def cell_key(ref: str, cell: Cell) -> str:
    """What a rendering depends on: the ref, the cell's settings and its variables (not its name)."""
    return _canon([ref, cell.scenario, cell.layout, cell.inventory, cell.os, cell.kube_version,
                   sorted((k, _canon(v)) for k, v in cell.extra_vars.items())])


# a probe's answer: the defect keys it shows, or None when the re-render itself failed
Shown = frozenset[str] | None
Renderer = Callable[[Sequence[Probe]], Sequence[Shown]]


def finding_key(f: Finding) -> str:
    """A finding's place and problem, as a defect groups them (host-specific values normalised)."""
    line = f.template_line if f.template else f.line
    return "\x1f".join((f.template or f.file, str(line), f.rule, f.path, identity(normalise(f.message, [f.host]))))


def defect_keys(d: Defect) -> frozenset[str]:
    """The keys of `d`'s findings. A re-render shows the defect when it has a finding with one of
    them: the same place and problem. (Not the id: it counts defects of the same problem at
    different lines, so a re-render that shows only the second one would give it the first's id.)"""
    return frozenset(finding_key(f) for f in d.findings)


def shown(result: Result) -> Shown:
    """The defect keys a re-render shows, or None when the cell as a whole failed (nothing
    rendered, a dead worker, a bug of ours): then it tells nothing."""
    if not result.files or any(_cell_failure(f) for f in result.findings):
        return None
    return frozenset(finding_key(f) for f in result.findings)


def pool_renderer(pool: RunCells) -> Renderer:
    """Re-renders on the run's own pool (`run.check.cell_pool`): warm workers, and everything the run
    applied to each cell (hosts, facts, schema minor, limits); re-rendered cells are never emitted."""

    def render(probes: Sequence[Probe]) -> list[Shown]:
        return [shown(r) for r in pool([(p.ref, p.cell()) for p in probes], None)]

    return render


def _cell_failure(f: Finding) -> bool:
    """A finding that says the cell as a whole was not checked (`run.check._task`, `run.workers`):
    a bug of ours outside any template, a worker that died twice, a cell past its deadline or memory."""
    if f.rule == "internal-error":
        return "running cell " in f.message
    return f.rule == "sandbox" and f.message.startswith("cell ")


@dataclass
class Outcome:
    trigger: dict[str, Any] | None
    note: str
    base: Cell | None = None
    fixed: dict[str, Any] = field(default_factory=dict)  # what the search overlaid on `base` first


@dataclass
class Stats:
    rerenders: int = 0
    investigated: int = 0
    confirmed: int = 0
    seconds: float = 0.0
    exhausted: bool = False

    def summary(self) -> str:
        return (f"triggers: {self.confirmed} of {self.investigated} error defect(s) confirmed with "
                f"{self.rerenders} re-render(s) in {self.seconds:.1f} s"
                + (" (budget exhausted: --trigger-budget)" if self.exhausted else ""))


# a search yields what it asks next: (priority, probes); it is sent whether each probe shows the
# defect (None: the re-render failed). Lower priorities are re-rendered first, across all searches:
# (-1, 0) checks a found trigger's minimality, (tier, size) tries an assignment (`plan_search`).
Ask = tuple[tuple[int, int], list[Probe]]
Search = Generator[Ask, list[bool | None], Outcome]
Ranked = list[tuple[tuple[int, int], tuple["_Cond", ...]]]  # (priority, assignment), in the order to try
CONFIRM = (-1, 0)


@dataclass(frozen=True)
class _Cond:
    name: str
    value: Any
    relevance: float  # 1/(1+distance) of the nearest conditional testing `name`, 0 if none
    off: Any = None  # the value that turns its conditional the other way (flips and widening only)


def _turn(n: Nearby, cell: Cell, unknown: bool) -> _Cond | None:
    """`n`'s variable as `cell` holds it (`value`) and the value that turns its conditional the
    other way (`off`): `not` a boolean, another literal it is compared with. A variable the cell
    does not set (its role default applies) counts as on, turned off by `false`, when `unknown`
    and it is tested for truth; otherwise None: its value is not known."""
    if n.name in cell.extra_vars:
        on = cell.extra_vars[n.name]
        others = (not on,) if isinstance(on, bool) else tuple(v for v in n.values if not _same(v, on))
        return _Cond(n.name, on, 1.0 / (1 + n.distance), others[0]) if others else None
    if unknown and n.values and all(isinstance(v, bool) for v in n.values):
        return _Cond(n.name, True, 1.0 / (1 + n.distance), False)
    return None


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else _canon(value)


def _same(a: Any, b: Any) -> bool:
    return _canon(a) == _canon(b)


def _holds(cell: Cell, conds: Iterable[_Cond]) -> bool:
    return all(c.name in cell.extra_vars and _same(cell.extra_vars[c.name], c.value) for c in conds)


def _context(cell: Cell) -> tuple[str, ...]:
    return (cell.scenario, cell.layout, cell.os, cell.inventory, cell.kube_version)


def _distance(a: Cell, b: Cell) -> int:
    keys = set(a.extra_vars) | set(b.extra_vars)
    return sum(1 for k in keys if k not in a.extra_vars or k not in b.extra_vars
               or not _same(a.extra_vars[k], b.extra_vars[k]))


def describe(trigger: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_text(v)}" for k, v in trigger.items())


def _find(ref: str, root: Cell, fixed: dict[str, Any], subsets: Ranked, tried: str,
          widen: Sequence[_Cond] = ()) -> Search:
    """Smallest first: the first of `subsets` that, overlaid on `root` + `fixed`, shows the defect;
    then reverted one condition at a time until no condition can go. At most MAX_TRIES subsets are
    tried (`tried`, with `{tried}` for the number, says what was). `widen`: values `root` itself
    holds for variables the template tests around the line, checked by `_widen`."""
    subsets = subsets[:MAX_TRIES]
    for priority, subset in subsets:
        answer = yield priority, [Probe.of(ref, root, {**fixed, **{c.name: c.value for c in subset}})]
        if answer[0] is None:
            return Outcome(None, f"no trigger could be confirmed: the re-render of {root.name} with "
                           f"{describe({c.name: c.value for c in subset})} failed")
        if not answer[0]:
            continue
        found = subset
        while len(found) > 1:
            smaller = [tuple(c for c in found if c is not drop) for drop in found]
            answers = yield CONFIRM, [Probe.of(ref, root, {**fixed, **{c.name: c.value for c in s}}) for s in smaller]
            if any(a is None for a in answers):
                return Outcome(None, f"no trigger could be confirmed: a re-render of {root.name} failed")
            still = [s for s, a in zip(smaller, answers, strict=True) if a]
            if not still:
                break
            found = still[0]
        found, fixed = yield from _widen(ref, root, fixed, found, widen)
        order = {name: i for i, name in enumerate([*root.extra_vars, *fixed])}
        ordered = sorted(found, key=lambda c: (order.get(c.name, len(order)), c.name))
        return Outcome({c.name: c.value for c in ordered}, "", root, fixed)
    return Outcome(None, "no trigger could be confirmed: " + tried.replace("{tried}", str(len(subsets))))


def _widen(ref: str, root: Cell, fixed: dict[str, Any], found: tuple[_Cond, ...], widen: Sequence[_Cond],
           ) -> Generator[Ask, list[bool | None], tuple[tuple[_Cond, ...], dict[str, Any]]]:
    """A trigger found on a base that already holds part of the cause (`typha_secure: true` in a
    pairwise row) is only the rest of it (`calico_ipam_host_local: true`). For each value in
    `widen` (the base's own, of a variable tested around the line), the variable is turned to its
    other value with the trigger applied: if the defect disappears, the value belongs to the
    trigger, and the base becomes `root` with those variables turned (it must pass: re-rendered).
    Every condition of the wider trigger is still necessary: reverting a base value is the re-render
    that just removed the defect, reverting one of `found` is a re-render its minimality made."""
    names = {c.name for c in found} | set(fixed)
    cands = [w for w in widen if w.name not in names]
    if not cands:
        return found, fixed
    trigger = {**fixed, **{c.name: c.value for c in found}}
    answers = yield CONFIRM, [Probe.of(ref, root, {**trigger, w.name: w.off}) for w in cands]
    needed = [w for w, a in zip(cands, answers, strict=True) if a is False]
    if not needed:
        return found, fixed
    turned = {**fixed, **{w.name: w.off for w in needed}}
    answer = yield CONFIRM, [Probe.of(ref, root, turned)]
    if answer[0] is not False:  # the turned base shows it too (or failed): it is no passing cell
        return found, fixed
    return (*found, *needed), turned


def _subsets(conds: Sequence[_Cond], rank: Callable[[tuple[_Cond, ...]], tuple[Any, ...]]) -> Ranked:
    """Assignments of 1..MAX_SIZE of `conds` (one value per variable), by `rank` (whose first two
    items are the priority), then by the candidates' own order."""
    out = []
    for size in range(1, MAX_SIZE + 1):
        for combo in itertools.combinations(conds, size):
            if len({c.name for c in combo}) == size:
                out.append((rank(combo), [conds.index(c) for c in combo], combo))
    return [((key[0], key[1]), combo) for key, _, combo in sorted(out, key=lambda t: (t[0], t[1]))]


def plan_search(d: Defect, ref: str, failing: Sequence[Cell], passing: Sequence[Cell],
                near: Sequence[Nearby]) -> Search | Outcome:
    """The search for `d`'s trigger at `ref`, or its outcome when no re-render can tell more.
    Variables cannot change a cell's layout, scenario, OS, inventory or minor: the base is a passing
    cell of the same kind as a failing one, or, when none passes, a failing cell itself."""
    relevance = {n.name: 1.0 / (1 + n.distance) for n in near}
    kinds = {_context(f) for f in failing}
    same = [p for p in passing if _context(p) in kinds]
    if not same:
        return _every_cell(d, ref, failing[0], near, _context_note(failing, passing) if passing else "")

    def closeness(p: Cell) -> tuple[int, int]:
        return (min(_distance(p, f) for f in failing if _context(f) == _context(p)), same.index(p))

    base = min(same, key=closeness)
    local = [f for f in failing if _context(f) == _context(base)]
    conds: list[_Cond] = []

    def add(name: str, value: Any) -> None:
        if name in base.extra_vars and _same(base.extra_vars[name], value):
            return
        if not any(c.name == name and _same(c.value, value) for c in conds):
            conds.append(_Cond(name, value, relevance.get(name, 0.0)))

    for f in [*local, *(f for f in failing if f not in local)]:
        for k, v in f.extra_vars.items():
            add(k, v)
    for n in near:
        for v in n.values:
            add(n.name, v)
    kin = [p for p in passing if _context(p) == _context(base)]

    def held(subset: Sequence[_Cond]) -> int:  # failing cells of the base's kind that hold it
        return sum(1 for f in local if _holds(f, subset))

    conds = sorted(conds, key=lambda c: (-held([c]), -c.relevance))[:MAX_CANDIDATES]

    def rank(subset: tuple[_Cond, ...]) -> tuple[Any, ...]:
        n = held(subset)
        contradicted = any(_holds(p, subset) for p in kin)  # a passing cell holds it: the run says no
        tier = 2 if contradicted else (0 if n else 1)
        return (tier, len(subset), -n, -sum(c.relevance for c in subset))

    tried = (f"none of the {{tried}} most plausible assignment(s) of up to {MAX_SIZE} of the {len(conds)} candidate "
             f"value(s) ({describe_conds(conds)}) produces it on the passing cell {base.name}")
    widen = [c for c in (_turn(n, base, unknown=False) for n in near[:MAX_FLIPS]) if c is not None]
    return _find(ref, base, {}, _subsets(conds, rank), tried, widen)


def describe_conds(conds: Sequence[_Cond]) -> str:
    return ", ".join(f"{c.name}={_text(c.value)}" for c in conds)


def _every_cell(d: Defect, ref: str, cell: Cell, near: Sequence[Nearby], separated: str = "") -> Search | Outcome:
    """No cell of the failing cells' kind passes: turn the conditionals around the line off on one
    failing cell; if that removes the defect, search which of them, turned back on, bring it back.
    `separated` says what separates the failing cells from passing cells of another kind, if any."""
    where = f"line {d.template_line}" if d.template_line else "the defect"
    conds = [c for c in (_turn(n, cell, unknown=True) for n in near[:MAX_FLIPS]) if c is not None]
    off = {c.name: c.off for c in conds}
    if not conds:
        return _unconditional(separated, f"no conditional of the template around {where} to vary")
    return _every_cell_search(ref, cell, off, conds, where, separated)


def _unconditional(separated: str, why: str) -> Outcome:
    """Nothing the template tests around the line makes a difference: `{}` when every cell shows
    the defect; when cells of another kind do not, that kind is the cause, not a variable."""
    if separated:
        return Outcome(None, f"no trigger could be confirmed: not a variable: {separated}; {why}")
    return Outcome({}, f"every cell that renders the template shows it; {why}")


def _every_cell_search(ref: str, cell: Cell, off: dict[str, Any], conds: list[_Cond], where: str,
                       separated: str) -> Search:
    answer = yield (0, 1), [Probe.of(ref, cell, off)]
    if answer[0] is None:
        return Outcome(None, f"no trigger could be confirmed: the re-render of {cell.name} with {describe(off)} failed")
    if answer[0]:
        return _unconditional(separated, f"turning the conditionals around {where} off ({describe(off)}) "
                              "does not remove it")
    ranked = _subsets(conds, lambda s: (0, len(s), -sum(c.relevance for c in s)))
    tried = (f"with {describe(off)} it disappears, but none of the {{tried}} assignment(s) of up to {MAX_SIZE} of "
             f"{describe_conds(conds)} brings it back")
    return (yield from _find(ref, cell, off, ranked, tried))


def _context_note(failing: Sequence[Cell], passing: Sequence[Cell]) -> str:
    """What separates the failing cells from the passing ones when no variable can: the dimensions
    whose values the two sides share none of (`layout ha shows it, default does not`)."""
    dims = ("scenario", "layout", "os", "inventory", "kube_version")
    parts = []
    for i, dim in enumerate(dims):
        bad = sorted({_context(f)[i] or "default" for f in failing})
        good = sorted({_context(p)[i] or "default" for p in passing})
        if not set(bad) & set(good):
            parts.append(f"{dim} {'/'.join(bad)} shows it, {'/'.join(good)} does not")
    return "; ".join(parts) or "no passing cell has the failing cells' layout, scenario, OS, inventory and minor"


def confirm(result: Result, render: Renderer, conditionals: Conditionals, budget: int = DEFAULT_BUDGET,
            command: Callable[[Cell], str] | None = None) -> Stats:
    """Set `trigger` and `trigger_note` of every error defect of a rendered template in
    `result.defects` (grouped already), re-rendering through `render` at most `budget` times;
    `command` (a cell -> its reproduce command) lets a confirmed trigger shorten `Defect.command`."""
    stats = Stats()
    start = time.monotonic()
    cells = {c.name: c for c in result.cells}
    rendered: dict[str, set[str]] = {}
    for label in result.checked:
        cell, sep, file = label.partition(":")
        if sep:
            rendered.setdefault(file, set()).add(cell)
    cache: dict[str, Shown] = {}
    for d in result.defects:  # the run itself: each original cell shows exactly its defects
        for f in d.findings:
            if f.cell in cells:
                key = cell_key(f.ref, cells[f.cell])
                cache[key] = (cache.get(key) or frozenset()) | defect_keys(d)
    ran = set().union(*rendered.values()) if rendered else set()
    for ref in {f.ref for d in result.defects for f in d.findings}:
        for c in result.cells:
            if c.name in ran:  # it rendered files: the defects it shows are all listed
                cache.setdefault(cell_key(ref, c), frozenset())
    seeded = set(cache)
    searches: list[_Running] = []
    for d in result.defects:
        if d.severity is not Severity.ERROR or not d.cells or d.trigger is not None:
            continue
        if not any(f.template for f in d.findings):  # a file read, or a task: no template to re-render
            continue
        ref = d.refs[0] if d.refs else ""
        failing_names = {f.cell for f in d.findings if f.ref == ref}
        failing = [c for c in result.cells if c.name in failing_names]
        if not failing:
            continue
        files = {f.file for f in d.findings if f.ref == ref}
        renderers = set().union(*(rendered.get(f, set()) for f in files))
        passing = [c for c in result.cells if c.name in renderers and c.name not in failing_names]
        stats.investigated += 1
        near = conditionals(ref, d.template, d.template_line) if d.template_line else ()
        planned = plan_search(d, ref, failing, passing, near)
        if isinstance(planned, Outcome):
            _apply(d, planned, set(), command, stats)
            continue
        try:
            searches.append(_Running(d, planned, next(planned)))
        except StopIteration as stop:
            _apply(d, stop.value, set(), command, stats)
    while searches:
        # asks the cache answers go on at once; of the others, those of the best priority are
        # re-rendered together (one round, in parallel on the pool); the rest wait their turn
        waiting = [r for r in searches if any(p.key() not in cache for p in r.ask[1])]
        if waiting:
            best = min(r.ask[0] for r in waiting)
            needed = list({p.key(): p for r in waiting if r.ask[0] == best
                           for p in r.ask[1] if p.key() not in cache}.values())
            left = budget - stats.rerenders
            if left <= 0:
                stats.exhausted = True
                for r in waiting:
                    r.search.close()
                    _apply(r.defect, Outcome(None, f"not confirmed: budget exhausted (--trigger-budget {budget})"),
                           r.used - seeded, command, stats)
                stopped = {id(r) for r in waiting}
                searches = [r for r in searches if id(r) not in stopped]
                continue
            run = needed[:left]
            for p, answer in zip(run, render(run), strict=True):
                cache[p.key()] = answer
            stats.rerenders += len(run)
        going = []
        for r in searches:
            keys = [p.key() for p in r.ask[1]]
            if any(k not in cache for k in keys):
                going.append(r)
                continue
            r.used.update(keys)
            mine = defect_keys(r.defect)
            answers = [None if (seen := cache[k]) is None else bool(seen & mine) for k in keys]
            try:
                r.ask = r.search.send(answers)
                going.append(r)
            except StopIteration as stop:
                _apply(r.defect, stop.value, r.used - seeded, command, stats, len(r.used & seeded))
        searches = going
    stats.seconds = time.monotonic() - start
    return stats


@dataclass(eq=False)
class _Running:
    """A search under way: its defect, the generator, what it asks now, the probes it has used."""

    defect: Defect
    search: Search
    ask: Ask
    used: set[str] = field(default_factory=set)


def _apply(d: Defect, outcome: Outcome, rerendered: set[str], command: Callable[[Cell], str] | None, stats: Stats,
           run_cells: int = 0) -> None:
    """Record `outcome` on `d`; `rerendered` are the re-renders its search used, `run_cells` the
    cells of the run itself that answered the rest."""
    d.trigger = outcome.trigger
    d.trigger_note = outcome.note
    if outcome.trigger and outcome.base is not None:
        stats.confirmed += 1
        d.trigger_note = (f"confirmed by {len(rerendered)} re-render(s)"
                          + (f" and {run_cells} cell(s) of the run" if run_cells else "")
                          + f": on {outcome.base.name}" + (f" with {describe(outcome.fixed)}" if outcome.fixed else "")
                          + " it adds the defect, and reverting any one condition removes it")
        if command is not None:
            cell = Probe.of("", outcome.base, {**outcome.fixed, **outcome.trigger}).cell()
            shorter = command(cell)
            if shorter and (not d.command or len(shorter) < len(d.command)):
                d.command = shorter
