"""The matrix part of the text report, from a Result as check builds it (no rendering): the (cell,
ref) runs with defects and the templates with defects, numbers first and names last, capped."""

from __future__ import annotations

import io
from pathlib import Path

from kvalidate.defects import attach
from kvalidate.model import Cell, Finding, Result, RunInfo, RunStats, Severity
from kvalidate.report import json_report, text
from kvalidate.report.text import write

T = "roles/r/templates/t.yml.j2"


def _result() -> Result:
    cells = [Cell("a", command="kvalidate check ks --no-config -e x=1"), Cell("b", command="kvalidate check ks")]
    runs = {f"{c} @ {r}": RunInfo(c, r, 3, k) for c in ("a", "b") for r, k in (("old", "1.31"), ("new", "1.34"))}
    findings = [Finding(Severity.ERROR, "unknown-field", "m", template=T, template_line=3, cell="a", ref="old"),
                Finding(Severity.ERROR, "unknown-field", "m2", template=T, template_line=4, cell="a", ref="old"),
                Finding(Severity.WARNING, "deprecated-api", "w", template=T, template_line=9, cell="b", ref="new")]
    return attach(Result(findings=findings, files=12, cells=cells, stats=RunStats(runs=runs)))


def _lines(result: Result) -> list[str]:
    out = io.StringIO()
    write(result, out)
    return out.getvalue().splitlines()


def test_matrix_tables_per_cell_and_ref() -> None:
    lines = _lines(_result())
    j = lines.index("cells: 4 run(s), 2 with defects")
    assert lines[j + 1:j + 4] == [
        "errors  warnings  kube  files  cell",
        "     2         0  1.31      3  a @ old",
        "     0         1  1.34      3  b @ new",
    ]
    assert lines[j + 5:j + 7] == ["errors  warnings  cells  template", f"     2         1      2  {T}"]
    # each defect reproduces at the ref that shows it
    assert "    reproduce: kvalidate check ks --no-config -e x=1 --ref old" in lines
    assert "    reproduce: kvalidate check ks --ref new" in lines
    assert lines[-1] == "12 file(s), 0 document(s): 3 defect(s) (2 errors, 1 warning) from 3 finding(s)"


def test_tables_are_capped() -> None:
    cells = [Cell(f"c{i}", command=f"kvalidate check ks -e i={i}") for i in range(text.MAX_ROWS + 3)]
    findings = [Finding(Severity.ERROR, "required", "x: Required value", path="x", template=f"t{i}.j2",
                        template_line=1, cell=c.name) for i, c in enumerate(cells)]
    lines = _lines(attach(Result(findings=findings, files=len(cells), cells=cells)))
    assert "... and 3 more cell run(s) with defects" in lines
    assert "... and 3 more template(s)" in lines
    assert lines[-1].endswith(f"{len(cells)} defect(s) ({len(cells)} errors, 0 warnings) from {len(cells)} finding(s)")


def test_one_cell_has_no_matrix_part() -> None:
    assert _lines(Result(files=1, cells=[Cell("only")])) == [
        "1 file(s), 0 document(s): 0 defect(s) (0 errors, 0 warnings) from 0 finding(s)"]


def _auto() -> Result:
    cells = [Cell("default", command="kvalidate check ks --no-config"),
             Cell("default+auto1", command="kvalidate check ks --no-config -e a=1 -e b=2 -e c=3", auto=True,
                  reproduce={T: "kvalidate check ks --no-config -e a=1", "other.j2": "kvalidate check ks -e c=3"})]
    task = "roles/r/tasks/check.yml"
    infeasible = [Finding(Severity.ERROR, "task-failed", "task 'check user': user is missing", file=task,
                          cell="default+auto1", host=h) for h in ("node1", "node2")]
    findings = [Finding(Severity.ERROR, "duplicate-key", "dup", template=T, template_line=3, cell="default+auto1",
                        host="node1")]
    notes = ["auto coverage: 1 template gate(s)", "auto coverage: not run: x.j2 with its gate: why"]
    return attach(Result(findings=findings, files=2, cells=cells, infeasible=infeasible, notes=notes))


def test_an_automatic_cell_reproduces_its_template_and_its_refusals_are_notes() -> None:
    lines = _lines(_auto())
    assert "    reproduce: kvalidate check ks --no-config -e a=1" in lines  # the template's own command
    assert not any("-e c=3" in ln for ln in lines)  # not the other template's, nor the whole cell's
    i = lines.index("note: auto coverage: 1 template gate(s)")
    assert lines[i + 1:i + 4] == [
        "note: auto coverage: not run: x.j2 with its gate: why",
        "note: 2 finding(s) of automatic cells are the checkout refusing the assignment (infeasible), not defects:",
        "note:   default+auto1: roles/r/tasks/check.yml: task-failed: task 'check user': user is missing "
        "(node1, node2)",
    ]
    assert lines[-1] == "2 file(s), 0 document(s): 1 defect(s) (1 error, 0 warnings) from 1 finding(s)"


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
