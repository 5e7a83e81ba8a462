"""The matrix part of the text report, from a Result as check builds it (no rendering)."""

from __future__ import annotations

import io
from pathlib import Path

from kvalidate.model import Cell, Finding, Result, RunInfo, RunStats, Severity
from kvalidate.report import json_report
from kvalidate.report.text import write

T = "roles/r/templates/t.yml.j2"


def _result() -> Result:
    cells = [Cell("a", command="kvalidate check ks --no-config -e x=1"), Cell("b", command="kvalidate check ks")]
    runs = {f"{c} @ {r}": RunInfo(c, r, 3, k) for c in ("a", "b") for r, k in (("old", "1.31"), ("new", "1.34"))}
    findings = [Finding(Severity.ERROR, "unknown-field", "m", template=T, cell="a", ref="old"),
                Finding(Severity.ERROR, "unknown-field", "m2", template=T, cell="a", ref="old"),
                Finding(Severity.WARNING, "deprecated-api", "w", template=T, cell="b", ref="new")]
    return Result(findings=findings, files=12, cells=cells, stats=RunStats(runs=runs))


def test_matrix_tables_per_cell_and_ref() -> None:
    out = io.StringIO()
    write(_result(), out)
    lines = out.getvalue().splitlines()
    i = lines.index("reproduce a failing cell:")
    assert lines[i + 1] == "  a @ old: kvalidate check ks --no-config -e x=1 --ref old"
    j = lines.index("cells: 2")
    assert lines[j + 1:j + 5] == [
        "cell     kube  files  errors  warnings",
        "a @ old  1.31      3       2         0",
        "b @ new  1.34      3       0         1",
        "(2 cell run(s) without findings)",
    ]
    assert lines[j + 7].split() == [T, "1", "2", "1"]
    assert lines[-1] == "12 file(s), 0 document(s): 2 error(s), 1 warning(s)"


def test_one_cell_has_no_matrix_part() -> None:
    out = io.StringIO()
    write(Result(files=1, cells=[Cell("only")]), out)
    assert out.getvalue() == "1 file(s), 0 document(s): 0 error(s), 0 warning(s)\n"


def _auto() -> Result:
    cells = [Cell("default", command="kvalidate check ks --no-config"),
             Cell("default+auto1", command="kvalidate check ks --no-config -e a=1 -e b=2 -e c=3", auto=True,
                  reproduce={T: "kvalidate check ks --no-config -e a=1", "other.j2": "kvalidate check ks -e c=3"})]
    task = "roles/r/tasks/check.yml"
    infeasible = [Finding(Severity.ERROR, "task-failed", "task 'check user': user is missing", file=task,
                          cell="default+auto1", host=h) for h in ("node1", "node2")]
    findings = [Finding(Severity.ERROR, "duplicate-key", "dup", template=T, cell="default+auto1", host="node1")]
    return Result(findings=findings, files=2, cells=cells, infeasible=infeasible,
                  notes=["auto coverage: 1 template gate(s)", "auto coverage: not run: x.j2 with its gate: why"])


def test_an_automatic_cell_is_reproduced_per_failing_template_and_its_refusals_are_notes() -> None:
    out = io.StringIO()
    write(_auto(), out)
    text = out.getvalue()
    lines = text.splitlines()
    i = lines.index("reproduce a failing cell:")
    assert lines[i + 1] == "  default+auto1 (t.yml.j2): kvalidate check ks --no-config -e a=1"
    assert "-e c=3" not in text  # the other template's command and the whole cell's are not needed
    j = lines.index("notes (automatic coverage; not errors):")
    assert lines[j + 1:j + 5] == [
        "  auto coverage: 1 template gate(s)",
        "  auto coverage: not run: x.j2 with its gate: why",
        "  2 finding(s) of automatic cells are the checkout refusing the assignment (infeasible), not defects:",
        "    default+auto1: roles/r/tasks/check.yml: task-failed: task 'check user': user is missing (node1, node2)",
    ]
    assert lines[-1] == "2 file(s), 0 document(s): 1 error(s), 0 warning(s)"


def test_infeasible_findings_and_notes_survive_a_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with path.open("w", encoding="utf-8") as fh:
        json_report.write(_auto(), fh)
    back = json_report.read(str(path))
    assert back.infeasible == _auto().infeasible and back.notes == _auto().notes
    assert back.summary()["infeasible"] == 2 and back.errors == 1
    assert back.cells[1].auto and back.cells[1].reproduce[T] == "kvalidate check ks --no-config -e a=1"
    merged = json_report.merge([back, json_report.read(str(path))])
    assert len(merged.infeasible) == 4 and merged.notes == _auto().notes  # shards say the same notes once
