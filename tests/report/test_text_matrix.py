"""The matrix part of the text report, from a Result as check builds it (no rendering): the (cell,
ref) runs with defects and the templates with defects, numbers first and names last, capped."""

from __future__ import annotations

import io

from kvalidate.defects import attach
from kvalidate.model import Cell, Finding, Result, RunInfo, RunStats, Severity
from kvalidate.report import text
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
