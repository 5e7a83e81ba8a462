"""run/trigger.py: the trigger search, with a fake renderer that knows which variable values cause
the defect. Each case builds the run's result (cells, what each rendered, the defect's findings),
lets `confirm` re-render through the fake, and checks the trigger, the note and what it cost."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from kvalidate.api import CheckRequest, check, demo_request
from kvalidate.cli.app import _TRIGGER_BUDGET
from kvalidate.defects import attach
from kvalidate.matrix.auto.flags import Nearby
from kvalidate.model import Cell, Finding, Result, Severity
from kvalidate.pinned import embedded_demo
from kvalidate.run.trigger import DEFAULT_BUDGET, MAX_TRIES, Probe, Shown, Stats, confirm, finding_key

TEMPLATE = "roles/x/templates/x.yml.j2"
FILE = "node1/etc/x.yml"
LINE = 20
Predicate = Callable[[Mapping[str, Any], Cell], bool]  # (extra vars, cell) -> shows the defect


def bug(rule: str = "unknown-field", path: str = "spec.x", line: int = LINE, cell: str = "") -> Finding:
    return Finding(Severity.ERROR, rule, f'unknown field "{path}"', path=path, file=FILE, line=3,
                   template=TEMPLATE, template_line=line, host="node1", cell=cell)


@dataclass
class Fake:
    """A renderer: a probe shows the defects whose predicate holds for its variables; counts calls."""

    predicates: dict[str, Predicate]
    probes: list[Probe] = field(default_factory=list)
    rounds: int = 0
    failing: bool = False  # every re-render fails as a whole

    def __call__(self, probes: Sequence[Probe]) -> list[Shown]:
        self.rounds += 1
        self.probes.extend(probes)
        if self.failing:
            return [None for _ in probes]
        out = []
        for p in probes:
            cell = p.cell()
            out.append(frozenset(key for key, holds in self.predicates.items() if holds(cell.extra_vars, cell)))
        return out


def run(cells: Sequence[Cell], predicate: Predicate, near: Sequence[Nearby] = (), budget: int = 24,
        extra: Sequence[tuple[str, int]] = (), failing: bool = False) -> tuple[Result, Fake, Stats]:
    """The result a run of `cells` gives when `predicate` says which cells show the defect at LINE
    (and, for `extra`, more defects (path, line) with the same predicate); then `confirm` on it."""
    defects = [("spec.x", LINE), *extra]
    findings = [bug(path=p, line=ln, cell=c.name) for c in cells if predicate(c.extra_vars, c) for p, ln in defects]
    result = attach(Result(findings=findings, cells=list(cells), checked=[f"{c.name}:{FILE}" for c in cells]))
    keys = {finding_key(bug(path=p, line=ln)): predicate for p, ln in defects}
    fake = Fake(keys, failing=failing)
    stats = confirm(result, fake, lambda ref, template, line: list(near), budget,
                    command=lambda c: "kvalidate check ks " + " ".join(f"-e {k}={v}" for k, v in c.extra_vars.items()))
    return result, fake, stats


def cell(name: str, layout: str = "", **extra_vars: Any) -> Cell:
    return Cell(name, extra_vars=extra_vars, layout=layout)


# a pairwise-style matrix over x, y, z
PAIRWISE = [cell("c1", x=False, y=False, z=False), cell("c2", x=True, y=True, z=False),
            cell("c3", x=True, y=False, z=True), cell("c4", x=False, y=True, z=True)]


def test_single_flag() -> None:
    result, fake, stats = run(PAIRWISE, lambda v, c: bool(v["z"]))
    d = result.defects[0]
    assert d.trigger == {"z": True}
    assert d.trigger_note.startswith("confirmed by ") and "reverting any one condition removes it" in d.trigger_note
    # c1 + z=true is rendered once; the single condition's revert is c1 itself, known to pass
    assert [p.assignment for p in fake.probes] == [(("z", True),)]
    assert stats.confirmed == 1 and stats.rerenders == 1


def test_pair_needs_both_and_each_is_reverted() -> None:
    result, fake, stats = run(PAIRWISE, lambda v, c: bool(v["x"] and v["y"]))
    d = result.defects[0]
    assert d.trigger == {"x": True, "y": True}
    # c1 + {x, y} is c2 (the run answers it); reverting either condition is re-rendered, both in one round
    assert sorted(p.assignment for p in fake.probes) == [(("x", True),), (("y", True),)]
    assert fake.rounds == 1 and stats.rerenders == 2
    assert d.trigger_note == ("confirmed by 2 re-render(s) and 1 cell(s) of the run: on c1 it adds the defect, "
                              "and reverting any one condition removes it")


def test_pair_the_conditionals_around_the_line_choose_between_separating_sets() -> None:
    # failing cell f holds several pairs no passing cell holds: (a, b), (a, c), (b, c) ... the
    # template tests b and c around the line, so that pair is tried first
    cells = [cell("p", a=False, b=False, c=False, d=False), cell("f", a=True, b=True, c=True, d=False),
             cell("q", a=True, b=False, c=False, d=True), cell("r", a=False, b=True, c=False, d=True),
             cell("s", a=False, b=False, c=True, d=True)]
    near = [Nearby("c", (True, False), 0), Nearby("b", (True, False), 3)]
    result, fake, _ = run(cells, lambda v, c: bool(v["b"] and v["c"]), near)
    assert result.defects[0].trigger == {"b": True, "c": True}
    assert fake.probes[0].assignment == (("b", True), ("c", True))


@pytest.mark.parametrize(("near", "trigger", "base"), [
    ([], {"y": True}, ""),
    # the template tests x around the line: the base's x=true is part of the cause, and the base
    # with x turned off (cell c, in the run) is the passing cell the whole trigger applies to
    ([Nearby("x", (True, False), 1)], {"x": True, "y": True}, " with x=false"),
])
def test_a_base_that_holds_part_of_the_cause(near: list[Nearby], trigger: dict[str, bool], base: str) -> None:
    cells = [cell("a", x=True, y=False), cell("b", x=True, y=True), cell("c", x=False, y=False)]
    result, fake, stats = run(cells, lambda v, c: bool(v["x"] and v["y"]), near)
    d = result.defects[0]
    assert d.trigger == trigger
    assert f"on a{base} it adds the defect" in d.trigger_note
    # a + y=true is b; with near: a + y=true + x=false is re-rendered, a + x=false is c
    assert [p.assignment for p in fake.probes] == ([(("x", False), ("y", True))] if near else [])


def test_no_trigger_within_three_conditions() -> None:
    cells = [cell("p", a=False, b=False, c=False, d=False), cell("f", a=True, b=True, c=True, d=True)]
    result, fake, stats = run(cells, lambda v, c: all(v[k] for k in "abcd"))
    d = result.defects[0]
    assert d.trigger is None
    assert d.trigger_note.startswith("no trigger could be confirmed: none of the 12 most plausible assignment(s)")
    assert len(fake.probes) == MAX_TRIES == stats.rerenders


def test_not_a_variable_when_only_the_layout_separates() -> None:
    cells = [cell("d1", "default", x=False), cell("d2", "default", x=True),
             cell("h1", "ha", x=False), cell("h2", "ha", x=True)]
    result, fake, _ = run(cells, lambda v, c: c.layout == "ha")
    d = result.defects[0]
    assert d.trigger is None and fake.probes == []
    assert d.trigger_note == ("no trigger could be confirmed: not a variable: layout ha shows it, default does "
                              "not; no conditional of the template around line 20 to vary")


def test_every_cell_fails_without_conditionals_is_empty() -> None:
    result, fake, stats = run(PAIRWISE, lambda v, c: True)
    d = result.defects[0]
    assert d.trigger == {} and fake.probes == [] and stats.rerenders == 0
    assert d.trigger_note == ("every cell that renders the template shows it; no conditional of the template around "
                              "line 20 to vary")


def test_every_cell_fails_and_a_conditional_around_it_is_the_cause() -> None:
    # one cell, x on; the template tests x (enclosing) and u (unset: off is false) around the line
    cells = [cell("only", x=True)]
    near = [Nearby("x", (True, False), 0), Nearby("u", (True, False), 2)]
    result, fake, _ = run(cells, lambda v, c: bool(v.get("x")), near)
    d = result.defects[0]
    assert d.trigger == {"x": True}
    assert fake.probes[0].assignment == (("u", False), ("x", False))  # both off: the defect disappears
    assert "on only with x=false, u=false it adds the defect" in d.trigger_note


def test_every_cell_fails_and_the_conditionals_do_not_matter() -> None:
    near = [Nearby("x", (True, False), 0)]
    result, fake, _ = run([cell("only", x=True)], lambda v, c: True, near)
    d = result.defects[0]
    assert d.trigger == {} and len(fake.probes) == 1
    assert d.trigger_note == ("every cell that renders the template shows it; turning the conditionals around "
                              "line 20 off (x=false) does not remove it")


def test_budget_exhausted() -> None:
    result, fake, stats = run(PAIRWISE, lambda v, c: bool(v["x"] and v["y"]), budget=1)
    d = result.defects[0]
    assert d.trigger is None and d.trigger_note == "not confirmed: budget exhausted (--trigger-budget 1)"
    assert stats.rerenders == 1 and stats.exhausted and len(fake.probes) == 1


def test_budget_zero_still_uses_what_the_run_rendered() -> None:
    # the matrix has c1 + z=true (c5): the run itself confirms the trigger, nothing is re-rendered
    cells = [*PAIRWISE, cell("c5", x=False, y=False, z=True)]
    result, fake, stats = run(cells, lambda v, c: bool(v["z"]), budget=0)
    assert result.defects[0].trigger == {"z": True} and fake.probes == [] and stats.rerenders == 0


def test_one_rerender_answers_every_defect_of_the_same_cells() -> None:
    result, fake, stats = run(PAIRWISE, lambda v, c: bool(v["x"] and v["y"]), extra=[("spec.y", LINE + 1)])
    assert [d.trigger for d in result.defects] == [{"x": True, "y": True}] * 2
    assert stats.rerenders == 2 and len(fake.probes) == 2


def test_a_failed_rerender_confirms_nothing() -> None:
    result, _, _ = run(PAIRWISE, lambda v, c: bool(v["x"] and v["y"]), failing=True)
    d = result.defects[0]
    assert d.trigger is None and d.trigger_note == "no trigger could be confirmed: a re-render of c1 failed"


def test_warnings_and_files_without_template_are_not_investigated() -> None:
    cells = PAIRWISE
    warn = [Finding(Severity.WARNING, "w", "m", file=FILE, template=TEMPLATE, template_line=3, cell=c.name)
            for c in cells if c.extra_vars["z"]]
    plain = [Finding(Severity.ERROR, "e", "m", file="a.yaml", line=1, cell="c1")]
    result = attach(Result(findings=[*warn, *plain], cells=list(cells), checked=[f"{c.name}:{FILE}" for c in cells]))
    stats = confirm(result, Fake({}), lambda ref, template, line: [], 24)
    assert [(d.trigger, d.trigger_note) for d in result.defects] == [(None, ""), (None, "")]
    assert stats.investigated == 0


@pytest.mark.parametrize(("base_vars", "shorter"), [(2, True), (40, False)])
def test_the_reproduce_command_becomes_the_base_cell_plus_the_trigger_when_shorter(base_vars: int,
                                                                                  shorter: bool) -> None:
    padding = {f"pad{i}": False for i in range(base_vars)}
    cells = [Cell("p", extra_vars={"x": False, **padding}), Cell("f", extra_vars={"x": True}, command="f" * 200)]
    result, _, _ = run(cells, lambda v, c: bool(v["x"]))
    d = result.defects[0]
    assert d.trigger == {"x": True}
    assert (d.command != "f" * 200) == shorter
    if shorter:
        assert d.command.startswith("kvalidate check ks ") and "-e x=True" in d.command


# --- end to end on templates_under_test ---------------------------------------------------------

TYPHA = "roles/network_plugin/calico/templates/calico-typha.yml.j2"
TYPHA_PAIR = {"typha_secure": True, "typha_prometheusmetricsenabled": True}


def test_the_demo_confirms_the_typha_pair_and_explains_the_rest() -> None:
    notes: list[str] = []
    result = check(demo_request(jobs=2), notes=notes.append)
    typha = [d for d in result.defects if d.template == TYPHA]
    assert typha and {d.rule for d in typha} >= {"unknown-field"}
    for d in typha:  # the two flags the bug needs, nothing else; re-rendered on a passing cell of the matrix
        assert d.trigger == TYPHA_PAIR, d
        assert d.trigger_note.startswith("confirmed by 3 re-render(s): on layout=default,kube=1.32,typha_secure=false,")
    by_template = {d.template.rsplit("/", 1)[-1]: d for d in result.defects if d.template != TYPHA}
    # every cell renders dns-autoscaler's duplicate key, and no conditional is near it
    assert by_template["dns-autoscaler.yml.j2"].trigger == {}
    # the advertise-address is a control plane's own address on the ha layout only: not a variable
    kubeadm = by_template["kubeadm-config.v1beta4.yaml.j2"]
    assert kubeadm.trigger is None and "not a variable: layout ha shows it, default does not" in kubeadm.trigger_note
    assert notes[-1].startswith(f"triggers: {len(typha)} of {len(typha) + 3} error defect(s) confirmed with "
                                "3 re-render(s)")


def test_one_cell_finds_the_pair_by_turning_the_conditionals_around_the_line_off() -> None:
    request = CheckRequest(checkout=embedded_demo(), use_config=False, extra_vars={"typha_enabled": True, **TYPHA_PAIR})
    result = check(request)
    unknown = [d for d in result.defects if d.template == TYPHA and d.rule == "unknown-field"]
    assert unknown and all(d.trigger == TYPHA_PAIR for d in unknown)
    assert unknown[0].trigger_note.startswith("confirmed by 3 re-render(s) and 1 cell(s) of the run: on default with "
                                              "typha_prometheusmetricsenabled=false, typha_secure=false")


def test_budget_zero_leaves_triggers_alone() -> None:
    result = check(demo_request(jobs=2, trigger_budget=0))
    assert {(d.trigger, d.trigger_note) for d in result.defects} == {(None, "")}


def test_the_command_line_default_is_the_library_default() -> None:
    assert _TRIGGER_BUDGET == DEFAULT_BUDGET == CheckRequest(checkout=embedded_demo()).trigger_budget
