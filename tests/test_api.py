"""The library API the README shows: a call returns a Result and prints nothing; unusable input
raises SetupError; importing kvalidate does not load the engine until the API is used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import kvalidate
from kvalidate.pinned import embedded_demo

TYPHA = {"typha_enabled": True, "typha_secure": True, "typha_prometheusmetricsenabled": True}


def test_check_returns_the_findings_of_a_cell(capsys: pytest.CaptureFixture[str]) -> None:
    request = kvalidate.CheckRequest(checkout=embedded_demo(), use_config=False, extra_vars=TYPHA)
    result = kvalidate.check(request)
    assert capsys.readouterr() == ("", "")
    typha = [f for f in result.findings if f.template.endswith("calico-typha.yml.j2") and f.rule == "unknown-field"]
    assert typha and all(f.severity is kvalidate.Severity.ERROR for f in typha)
    assert result.exit_code() == 1 and [c.name for c in result.cells] == ["default"]


def test_check_without_the_flags_has_no_typha_finding() -> None:
    result = kvalidate.check(kvalidate.CheckRequest(checkout=embedded_demo(), use_config=False))
    assert not [f for f in result.findings if f.template.endswith("calico-typha.yml.j2")]


def test_notes_and_progress_are_callbacks() -> None:
    seen: list[tuple[int, int, int]] = []
    result = kvalidate.check(kvalidate.CheckRequest(checkout=embedded_demo(), use_config=False, layout="ha"),
                             progress=lambda done, total, found: seen.append((done, total, found)))
    # (cells done, in all, defects so far): the ha layout's two control planes show the same defects
    assert seen == [(1, 1, len(result.defects))] and 0 < len(result.defects) < len(result.findings)


def test_unusable_input_raises(tmp_path: Path) -> None:
    with pytest.raises(kvalidate.SetupError, match="no such directory"):
        kvalidate.check(kvalidate.CheckRequest(checkout=tmp_path / "missing"))


def test_validate_paths(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nbogus: 1\n")
    result = kvalidate.validate_paths([str(tmp_path)], kube_version="1.33")
    assert [(f.rule, f.line) for f in result.findings] == [("unknown-field", 4)]
    assert result.files == 1 and result.exit_code() == 1


def test_importing_kvalidate_does_not_load_the_engine() -> None:
    code = ("import sys, kvalidate, kvalidate.model; assert 'ansible' not in sys.modules; "
            "kvalidate.check; assert 'ansible' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
