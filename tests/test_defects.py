"""Findings -> defects: grouping key, normalisation, stable ids, statuses and the exit code."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest

from kvalidate.defects import apply_baseline, attach, baseline_ids, compare, group, identity, normalise
from kvalidate.model import Cell, Finding, Result, Severity, Status
from kvalidate.report import json_report

TPL = "roles/x/templates/ds.yml.j2"


def _f(**kw: object) -> Finding:
    base: dict[str, object] = dict(severity=Severity.ERROR, rule="unknown-field", message='unknown field "spec.x"',
                                   path="spec.x", file="node1/etc/ds.yml", line=7, template=TPL, template_line=5,
                                   host="node1", cell="a=1", kind="DaemonSet", name="ds")
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("message", "expected"), [
    ("'10.0.0.11' is this host's own address (10.0.0.11)", "'<ip>' is this host's own address (<ip>)"),
    ("bind fd00:1::5/64 failed", "bind <ip> failed"),
    ("image v1.2.3.4.5 and 1.2.3", "image v1.2.3.4.5 and 1.2.3"),  # versions are not addresses
    ("999.1.1.1 is no address", "999.1.1.1 is no address"),
    ("node1 reads hostvars['node2']", "<host> reads hostvars['<host>']"),
    ("node10 is not node1", "node10 is not <host>"),  # whole names only
    ("node1.example is a name", "node1.example is a name"),
])
def test_normalise(message: str, expected: str) -> None:
    assert normalise(message, ["node1", "node2"]) == expected


def test_identity_drops_rendered_lines() -> None:
    assert identity("key already set in map at line 20; lines 3-4") == "key already set in map at line N; lines N"


def test_one_defect_for_every_cell_and_host() -> None:
    findings = [_f(host=h, cell=c, file=f"{h}/etc/ds.yml", message=f"'{ip}' is this host's own address ({ip})")
                for c in ("a=1", "a=2") for h, ip in (("node1", "10.0.0.1"), ("node2", "10.0.0.2"))]
    cells = [Cell(name="a=1", command="kvalidate check . -e a=1 -e b=2"),
             Cell(name="a=2", command="kvalidate check . -e a=2")]
    [d] = group(findings, cells)
    assert (d.cells, d.hosts, d.count) == (["a=1", "a=2"], ["node1", "node2"], 4)
    assert d.message == "'<ip>' is this host's own address (<ip>)"  # the raw messages differ
    assert d.command == "kvalidate check . -e a=2"  # the shortest of its cells
    assert (d.file, d.line) == ("node1/etc/ds.yml", 7)


def test_distinct_lines_rules_paths_are_distinct_defects() -> None:
    findings = [_f(), _f(template_line=9), _f(rule="required"), _f(path="spec.y", message='unknown field "spec.y"')]
    assert len(group(findings)) == 4


def test_errors_first_and_severity_is_the_worst() -> None:
    findings = [_f(template="a.j2", severity=Severity.WARNING, rule="w"), _f(template="z.j2"),
                _f(template="a.j2", severity=Severity.WARNING, rule="m", host="node2"),
                _f(template="a.j2", severity=Severity.ERROR, rule="m")]
    ds = group(findings)
    assert [(d.template, d.rule, d.severity) for d in ds] == [
        ("a.j2", "m", Severity.ERROR), ("z.j2", "unknown-field", Severity.ERROR), ("a.j2", "w", Severity.WARNING)]


def test_id_survives_a_line_shift_and_changes_with_the_problem() -> None:
    [before] = group([_f()])
    [shifted] = group([_f(template_line=25, line=30, message='unknown field "spec.x"')])
    [other] = group([_f(path="spec.y", message='unknown field "spec.y"')])
    assert before.id == shifted.id
    assert before.id != other.id
    dup = 'duplicate field "x": key already set in map at line {}'
    assert group([_f(rule="duplicate-key", message=dup.format(20))])[0].id == \
        group([_f(rule="duplicate-key", message=dup.format(31), template_line=40)])[0].id


def test_same_problem_at_two_lines_gets_two_ids() -> None:
    ds = group([_f(template_line=5), _f(template_line=50)])
    assert len({d.id for d in ds}) == 2


def test_without_template_the_file_is_the_place() -> None:
    [d] = group([_f(template="", template_line=0, file="a.yaml", line=3, host="", cell="")])
    assert (d.template, d.template_line, d.cells, d.hosts) == ("a.yaml", 3, [], [])


def test_attach_keeps_what_was_established_and_fixed_defects() -> None:
    result = Result(findings=[_f()])
    attach(result)
    result.defects[0].trigger = {"a": 1}
    result.defects[0].status = Status.NEW
    gone = replace(group([_f(path="spec.gone", message="m")])[0], status=Status.FIXED, findings=[])
    result.defects.append(gone)
    attach(result)
    assert [(d.trigger, d.status) for d in result.defects] == [({"a": 1}, Status.NEW), (None, Status.FIXED)]


@pytest.mark.parametrize(("severity", "status", "fail_on", "code"), [
    (Severity.ERROR, Status.ACTIVE, "error", 1),
    (Severity.ERROR, Status.NEW, "error", 1),
    (Severity.ERROR, Status.UNCHANGED, "error", 0),
    (Severity.ERROR, Status.KNOWN, "error", 0),
    (Severity.ERROR, Status.WAIVED, "error", 0),
    (Severity.ERROR, Status.ACTIVE, "never", 0),
    (Severity.WARNING, Status.ACTIVE, "error", 0),
    (Severity.WARNING, Status.ACTIVE, "warning", 1),
    (Severity.WARNING, Status.KNOWN, "warning", 0),
])
def test_exit_code(severity: Severity, status: Status, fail_on: str, code: int) -> None:
    result = attach(Result(findings=[_f(severity=severity)], fail_on=fail_on))
    result.defects[0].status = status
    assert result.exit_code() == code


def test_exit_code_before_grouping() -> None:
    assert Result(findings=[_f()]).exit_code() == 1
    assert Result(findings=[_f(severity=Severity.WARNING)], fail_on="warning").exit_code() == 1
    assert Result(findings=[_f()], fail_on="never").exit_code() == 0


def test_json_round_trip_and_merge(tmp_path: Path) -> None:
    result = attach(Result(findings=[_f(), _f(host="node2", file="node2/etc/ds.yml"), _f(rule="required")]))
    result.defects[1].trigger = {"flag": True}
    out = io.StringIO()
    json_report.write(result, out)
    doc = json.loads(out.getvalue())
    assert [(d["rule"], d["count"]) for d in doc["defects"]] == [("required", 1), ("unknown-field", 2)]
    assert doc["summary"]["defects"] == {"total": 2, "errors": 2, "warnings": 0, "blocking": 2,
                                         "by_status": {"active": 2}}
    path = tmp_path / "r.json"
    path.write_text(out.getvalue(), encoding="utf-8")
    back = json_report.read(str(path))
    assert [d.id for d in back.defects] == [d.id for d in result.defects]
    merged = json_report.merge([back, json_report.read(str(path))])
    assert [d.count for d in merged.defects] == [2, 4]  # shards: the findings add up, the defects do not
    assert merged.defects[1].trigger == {"flag": True}


def test_an_automatic_cell_reproduces_a_defect_with_its_templates_own_command() -> None:
    tpl = "roles/r/templates/t.j2"
    cells = [Cell("default+auto1", command="kvalidate check ks --no-config -e a=1 -e b=2 -e c=3", auto=True,
                  reproduce={tpl: "kvalidate check ks --no-config -e a=1"})]
    (d,) = group([Finding(Severity.ERROR, "duplicate-key", "dup", template=tpl, template_line=3,
                          cell="default+auto1")], cells)
    assert d.command == "kvalidate check ks --no-config -e a=1"


def test_compare_with_the_base_ref() -> None:
    """`--base`: each side grouped on its own; matched by id, so a moved line is the same defect."""
    base = group([_f(ref="HEAD^", template_line=5), _f(ref="HEAD^", rule="required", path="spec.gone", message="m"),
                  _f(ref="HEAD^", rule="w", template_line=8)])
    head = group([_f(template_line=9, line=12),  # the same problem, four lines lower
                  _f(rule="duplicate-key", path="spec.new", message="new"), _f(rule="w", template_line=8)])
    next(d for d in head if d.rule == "w").status = Status.WAIVED
    out = compare(head, base)
    assert [(d.rule, d.status, d.template_line, d.refs) for d in out] == [
        ("duplicate-key", Status.NEW, 5, []),
        ("w", Status.WAIVED, 8, []),  # a waiver is kept whatever the base says
        ("unknown-field", Status.UNCHANGED, 9, []),
        ("required", Status.FIXED, 5, ["HEAD^"]),  # the base side's place and ref
    ]
    assert out[3].findings == []
    result = Result(findings=[f for d in head for f in d.findings], defects=out)
    assert result.exit_code() == 1 and result.defect_counts()["total"] == 3
    out[0].status = Status.UNCHANGED
    assert result.exit_code() == 0  # unchanged and fixed never fail


def test_baseline_marks_known_only_blocking_defects() -> None:
    ds = group([_f(), _f(rule="required"), _f(rule="w"), _f(rule="x")])
    assert [d.rule for d in ds] == ["required", "unknown-field", "w", "x"]
    ds[2].status, ds[3].status = Status.WAIVED, Status.UNCHANGED
    known = {d.id for d in ds} - {ds[0].id}
    assert apply_baseline(ds, known, "base.json") == 1
    assert [(d.rule, d.status, d.reason) for d in ds] == [
        ("required", Status.ACTIVE, ""), ("unknown-field", Status.KNOWN, "base.json"),
        ("w", Status.WAIVED, ""), ("x", Status.UNCHANGED, "")]


def test_baseline_ids_from_defects_or_from_findings(tmp_path: Path) -> None:
    result = attach(Result(findings=[_f(), _f(rule="required")]))
    gone = replace(group([_f(path="spec.gone", message="m")])[0], status=Status.FIXED, findings=[])
    result.defects.append(gone)
    out = io.StringIO()
    json_report.write(result, out)
    path = tmp_path / "r.json"
    path.write_text(out.getvalue(), encoding="utf-8")
    present = {d.id for d in result.defects[:2]}
    assert baseline_ids(json_report.read(str(path))) == present  # fixed ones are not present
    doc = json.loads(out.getvalue())
    del doc["defects"]  # a report of an older kvalidate: its findings are grouped
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert baseline_ids(json_report.read(str(path))) == present
