"""CLI: exit codes and whole lines; never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kvalidate.cli import main

ROOT = Path(__file__).resolve().parents[2]
BUG = ROOT / "examples" / "rendered" / "calico-typha.yaml"
OK = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\ndata:\n  a: b\n"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_valid_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ok.yaml"
    f.write_text(OK)
    code, out, err = run(["validate", str(f)], capsys)
    assert (code, out, err) == (0, ["1 file(s), 1 document(s): 0 defect(s) (0 errors, 0 warnings) from 0 finding(s)"],
                                [])


def test_typha_bug_exits_1_with_the_field_and_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", str(BUG), "--kube-version", "1.30"], capsys)
    assert code == 1
    assert (
        f'{BUG}:80:13: error unknown-field: unknown field "spec.template.spec.containers[0].volumeMounts[2].value"'
    ) in out
    assert (
        f"{BUG}:79:13: error required: spec.template.spec.containers[0].volumeMounts[2].mountPath: Required value"
    ) in out


def test_warnings_only_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "w.yaml"
    f.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")
    code, out, _ = run(["validate", str(f)], capsys)
    assert code == 0 and out[0].endswith(
        "warning no-schema: no schema for example.com/v1 Widget (Kubernetes 1.37): not validated"
    )


def test_directory_recursion_and_several_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "ok.yml").write_text(OK)
    (tmp_path / "a" / "bug.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "dta": {}})
    )
    (tmp_path / "a" / "notes.txt").write_text("not yaml: [")
    report = tmp_path / "r.json"
    code, out, _ = run(["validate", str(tmp_path / "a"), "--format", f"json={report}", "-f", "github"], capsys)
    assert code == 1
    data = json.loads(report.read_text())
    assert data["summary"]["files"] == 2 and [f["path"] for f in data["findings"]] == ["dta"]
    assert out[0].startswith("::error file=")


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(OK + "---\n" + OK.replace("\ndata:", "\ndat:")))
    code, out, _ = run(["validate", "-"], capsys)
    assert code == 1 and out[0] == '<stdin>:12:1: error unknown-field: unknown field "dat"'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "/nonexistent/x.yaml"], "kvalidate: cannot read /nonexistent/x.yaml: no such file or directory"),
        (
            ["validate", "x", "--format", "pdf"],
            "kvalidate: unknown format 'pdf': choose from text, json, junit, sarif, github, markdown",
        ),
        (
            ["validate", "x", "--kube-version", "1.12"],
            "kvalidate: Kubernetes 1.12 is not supported: kvalidate has API schemas for 1.25 to 1.37",
        ),
        (
            ["validate", "x", "--kube-version", "latest"],
            "kvalidate: invalid Kubernetes version 'latest': expected X.Y (e.g. 1.33)",
        ),
        (["validate"], "kvalidate: Missing argument 'PATHS...'."),
        (["frobnicate"], "kvalidate: No such command 'frobnicate'."),
    ],
)
def test_unusable_input_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(args, capsys)
    assert (code, err) == (2, [message])


def test_unwritable_report_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ok.yaml"
    f.write_text(OK)
    code, _, err = run(["validate", str(f), "-f", f"json={tmp_path}/no/such/dir/r.json"], capsys)
    assert code == 2 and len(err) == 1 and err[0].startswith("kvalidate: cannot write report")


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "kvalidate"
    proc = subprocess.run([str(exe), "validate", str(tmp_path / "missing")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("spec", "start"),
    [
        ("{bad json", "kvalidate: extra vars '{bad json' are not valid YAML/JSON:"),
        ("[1, 2]", "kvalidate: extra vars '[1, 2]' are not a mapping"),
        ("@/nonexistent/vars.yml", "kvalidate: cannot read vars file /nonexistent/vars.yml:"),
    ],
)
def test_bad_extra_vars_are_one_line(tmp_path: Path, spec: str, start: str, capsys: pytest.CaptureFixture[str]) -> None:
    t = tmp_path / "t.j2"
    t.write_text("a: 1\n")
    code, _, err = run(["render", str(t), "-e", spec], capsys)
    assert code == 2 and len(err) == 1 and err[0].startswith(start), err


def test_extra_vars_apply_in_order(tmp_path: Path) -> None:
    from kvalidate.ansible import parse_extra_vars

    f = tmp_path / "v.yml"
    f.write_text("a: from-file\nb: file\n")
    assert parse_extra_vars(["a=first", f"@{f}", "b=last"]) == {"a": "from-file", "b": "last"}


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`kvalidate --version` prints the installed distribution's version (importlib.metadata)."""
    from importlib.metadata import version

    assert version("kvalidate").count(".") == 2
    assert run(["--version"], capsys) == (0, [f"kvalidate {version('kvalidate')}"], [])
