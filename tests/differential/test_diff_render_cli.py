"""`kvalidate render`: stdout is exactly what ansible-core's template action renders (trim_blocks,
`#jinja2:` header overrides, trailing newlines, jinja2.ext.do, unicode); render errors exit 1 with
the finding on stderr; `--validate` validates instead of printing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_oracle import ansible_render_file

from kvalidate.cli import main

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "render"
VARS = yaml.safe_load((FIXTURE / "vars.yml").read_text())


@pytest.mark.parametrize("template", ["trim.yaml.j2", "header.j2", "nice.yaml.j2", "nonl.j2"])
def test_render_stdout_same_as_ansible(template: str, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code = main(["render", str(FIXTURE / template), "--vars", str(FIXTURE / "vars.yml")])
    out = capsysbinary.readouterr()
    assert (code, out.err) == (0, b"")
    assert out.out.decode() == ansible_render_file((FIXTURE / template).read_text(), dict(VARS))


@pytest.mark.parametrize("template", ["includes.j2", "extends.j2"])
def test_includes_imports_and_extends_render_as_ansible(template: str,
                                                       capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """`{% include %}` (with and without context, a list, ignore missing), `{% import %}`, `{% from %}`
    and `{% extends %}` with `super()`, found beside the template: the text ansible-core's template
    action writes with the template's directory on its search path."""
    code = main(["render", str(FIXTURE / template), "--vars", str(FIXTURE / "vars.yml")])
    out = capsysbinary.readouterr()
    assert (code, out.err) == (0, b"")
    expected = ansible_render_file((FIXTURE / template).read_text(), dict(VARS), searchpath=[str(FIXTURE)])
    assert out.out.decode() == expected
    assert "part: kube-proxy" in expected or "child: kube-proxy" in expected


@pytest.mark.parametrize(("args", "expected"), [
    (["-e", "name=from-e"], "name: from-e"),  # -e beats --vars
    (["-e", '{"name": "json"}'], "name: json"),
    (["-e", "enabled=False"], 'enabled: "false"'),  # k=v values are strings: "False" is truthy
    (["-e", '{"enabled": false}'], 'disabled: "yes"'),
])
def test_extra_vars(args: list[str], expected: str, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code = main(["render", str(FIXTURE / "trim.yaml.j2"), "--vars", str(FIXTURE / "vars.yml"), *args])
    out = capsysbinary.readouterr().out.decode()
    assert code == 0
    assert expected in out


def test_render_error_exits_1_with_the_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.j2"
    path.write_text("ok\n{{ nope }}\n")
    code = main(["render", str(path)])
    out = capsys.readouterr()
    assert code == 1
    assert out.out == ""
    assert out.err.splitlines() == [f"{path}:2: error [undefined-variable] 'nope' is undefined"]


def test_validate_reports_instead_of_printing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cm.yaml.j2"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ n }}\ndata:\n  k: {{ v }}\n")
    assert main(["render", str(path), "-e", "n=x v=text", "--validate"]) == 0
    assert main(["render", str(path), "-e", "n=x", "-e", '{"v": [1]}', "--validate"]) == 1
    assert "data.k" in capsys.readouterr().out
