"""A bug in kvalidate is never reported as a bug in the template: a programming error raised by
kvalidate's own code is an `internal-error` finding located in kvalidate, and KVALIDATE_DEBUG=1
raises it with its traceback. Errors a template causes keep their rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kvalidate.ansible
from kvalidate.ansible import render_template


def _broken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stands for a bug: a helper of kvalidate's own code (its code object says so) that raises AttributeError."""
    ns: dict[str, Any] = {}
    exec(compile("def template_vars(*args):\n    return None.missing\n", kvalidate.ansible.__file__, "exec"), ns)
    monkeypatch.setattr(kvalidate.ansible, "template_vars", ns["template_vars"])


def test_a_bug_of_kvalidate_is_an_internal_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KVALIDATE_DEBUG", raising=False)
    _broken(monkeypatch)
    (tmp_path / "t.j2").write_text("a: {{ 1 }}\n")
    text, findings = render_template(tmp_path / "t.j2", {})
    assert text is None
    [f] = findings
    assert f.rule == "internal-error"
    assert f.file == "kvalidate/ansible/__init__.py" and f.line == 2
    assert f.template == "" and "AttributeError" in f.message and "KVALIDATE_DEBUG=1" in f.message


def test_debug_raises_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KVALIDATE_DEBUG", "1")
    _broken(monkeypatch)
    (tmp_path / "t.j2").write_text("a: {{ 1 }}\n")
    with pytest.raises(AttributeError):
        render_template(tmp_path / "t.j2", {})


@pytest.mark.parametrize(("source", "rule"), [
    ("{{ nope }}", "undefined-variable"),
    ("{{ '%d' % 'x' }}", "render-error"),  # a TypeError the template's own expression raises
    ("{{ [1] | dict2items }}", "render-error"),  # an Ansible filter refusing a value
    ("{{ (1).real.denominator.nothing.more }}", "undefined-variable"),
    ("{{ {}.__class__ }}", "sandbox"),
])
def test_template_errors_keep_their_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str,
                                          rule: str) -> None:
    monkeypatch.setenv("KVALIDATE_DEBUG", "1")  # nothing here is internal, so nothing is raised
    (tmp_path / "t.j2").write_text(source + "\n")
    text, findings = render_template(tmp_path / "t.j2", {})
    assert [f.rule for f in findings] == [rule]
