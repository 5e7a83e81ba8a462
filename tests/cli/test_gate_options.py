"""`--baseline` and `--fail-on` as options: read and checked before the run (a bad baseline is one
line and exit 2), on validate and merge as on check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kvalidate.cli import main
from kvalidate.pinned import embedded_demo


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def demo_copy(root: Path) -> Path:
    shutil.copytree(embedded_demo(), root)
    return root


def test_baseline_on_validate_and_merge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "in" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: 1}\nfoo: 2\n")
    first = tmp_path / "first.json"
    assert run(["validate", str(bad), "-f", f"json={first}"], capsys)[0] == 1
    assert run(["validate", str(bad), "--baseline", str(first)], capsys)[0] == 0
    assert run(["merge", str(first)], capsys)[0] == 1
    assert run(["merge", str(first), "--baseline", str(first)], capsys)[0] == 0
    assert run(["merge", str(first), "--fail-on", "never"], capsys)[0] == 0


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read report"),
    ("not json", "is not a kvalidate JSON report"),
    ('{"defects": "x"}', "is not a kvalidate JSON report"),
    ("[]", "is not a kvalidate JSON report"),
])
def test_bad_baseline_is_one_line_and_exit_2_before_the_run(tmp_path: Path, content: str | None, message: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    bl = tmp_path / "bl.json"
    if content is not None:
        bl.write_text(content)
    demo = demo_copy(tmp_path / "demo")
    code, out, err = run(["check", str(demo), "--no-config", "--baseline", str(bl)], capsys)
    assert (code, out, len(err)) == (2, [], 1)
    assert message in err[0] and str(bl) in err[0]


def test_baseline_directory_and_report_over_the_baseline_are_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bl = tmp_path / "bl.json"
    bl.write_text('{"findings": []}')
    demo = demo_copy(tmp_path / "demo")
    code, _, err = run(["check", str(demo), "--no-config", "--baseline", str(tmp_path)], capsys)
    assert code == 2 and "is a directory" in err[0]
    code, _, err = run(["check", str(demo), "--no-config", "--baseline", str(bl), "-f", f"json={bl}"], capsys)
    assert code == 2 and "is an input of this run" in err[0]
    code, _, err = run(["baseline", str(demo), "--no-config", "--baseline", str(bl), "-o", str(tmp_path / "x")],
                       capsys)
    assert code == 2 and "--baseline does not apply" in err[0]


def test_fail_on_warning_counts_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warn = tmp_path / "w.yaml"
    warn.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")  # no-schema: a warning
    assert run(["validate", str(warn)], capsys)[0] == 0
    assert run(["validate", str(warn), "--fail-on", "warning"], capsys)[0] == 1
    code, _, err = run(["validate", str(warn), "--fail-on", "sometimes"], capsys)
    assert code == 2 and err == ["kvalidate: --fail-on 'sometimes': choose from error, warning, never"]
