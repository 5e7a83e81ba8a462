"""The matrix part of the text report, from a Result as check builds it (no rendering)."""

from __future__ import annotations

import io

from kvalidate.model import Cell, Finding, Result, RunInfo, RunStats, Severity
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
