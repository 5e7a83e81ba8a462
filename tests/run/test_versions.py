"""The rendered Kubernetes version and the schemas' version, apart: `--kube-version` renders and
validates as a minor the checkout supports; `--schema-version` only picks the schemas; a rendered minor
outside the bundled schemas is validated against the nearest bundled one, with one warning per run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
import typer
from ksfixture import FILES, write_checkout

from kvalidate.cli import main
from kvalidate.cli.app import app
from kvalidate.model import Severity
from kvalidate.run.cell import schema_minor
from kvalidate.schemas.core import MINORS

# the rendered kube_version, as a document that validates under every bundled minor
VERSION_CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-version
  namespace: kube-system
data:
  version: "{{ kube_version }}"
"""


def checkout_with(root: Path, checksums: str) -> Path:
    files = dict(FILES)
    files["roles/kubespray_defaults/vars/main/checksums.yml"] = checksums
    files["roles/network_plugin/calico/tasks/main.yml"] += (
        "- name: Version\n  template:\n    src: version.yml.j2\n    dest: /etc/kubernetes/version.yml\n")
    files["roles/network_plugin/calico/templates/version.yml.j2"] = VERSION_CM
    return write_checkout(root, files)


OLD = "kubelet_checksums:\n  amd64:\n    1.21.14: a\n    1.21.2: b\n    1.20.15: c\n"
NEW = "kubelet_checksums:\n  amd64:\n    1.39.1: a\n    1.38.0: b\n"


def check(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    report = tmp_path / "r.json"
    code = main(["check", *args, "-f", f"json={report}", "-j", "1"])
    _, err = capsys.readouterr()
    return code, json.loads(report.read_text()) if report.is_file() else {}, err


def rendered_versions(emit: Path) -> set[str]:
    return {p.read_text().rsplit('version: "', 1)[1].split('"')[0] for p in emit.rglob("version.yml")}


def test_old_checkout_is_validated_with_the_oldest_schemas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ks = checkout_with(tmp_path / "ks", OLD)
    # two cells (the default cell and a CI scenario), both rendering 1.21: one warning
    code, report, err = check([str(ks), "--scenario", "ubuntu24-calico-typha", "--scenario", "ubuntu24-calico-typha",
                               "--emit", str(tmp_path / "emit")], tmp_path, capsys)
    assert code == 0, err
    warnings = [f for f in report["findings"] if f["rule"] == "schema-version"]
    assert len(warnings) == 1 and warnings[0]["severity"] == "warning"
    assert warnings[0]["message"].startswith(
        f"Kubernetes 1.21 is rendered, but kvalidate's API schemas are {MINORS[0]} to {MINORS[-1]}: validated "
        f"against {MINORS[0]}, the oldest bundled; fields removed between 1.21 and {MINORS[0]} are reported")
    assert set(report["summary"]["kube_minor"].values()) == {MINORS[0]}
    assert rendered_versions(tmp_path / "emit") == {"1.21.14"}
    assert [f for f in report["findings"] if f["rule"] != "schema-version"] == []


def test_kube_version_renders_that_minor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ks = checkout_with(tmp_path / "ks", OLD)
    code, report, _ = check([str(ks), "--kube-version", "1.20", "--emit", str(tmp_path / "emit")], tmp_path, capsys)
    assert code == 0
    assert rendered_versions(tmp_path / "emit") == {"1.20.15"}  # the newest 1.20 patch
    assert [f["message"].split(" is rendered")[0] for f in report["findings"]] == ["Kubernetes 1.20"]


def test_kube_version_the_checkout_does_not_support(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ks = checkout_with(tmp_path / "ks", OLD)
    code = main(["check", str(ks), "--kube-version", "1.25", "-j", "1"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip().splitlines() == [f"kvalidate: Kubernetes 1.25 is not supported by {ks} (supported: 1.21, 1.20)"]


def test_schema_version_only_picks_the_schemas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ks = checkout_with(tmp_path / "ks", OLD)
    code, report, _ = check([str(ks), "--schema-version", "1.30", "--emit", str(tmp_path / "emit")], tmp_path, capsys)
    assert code == 0
    assert report["summary"]["kube_minor"] == {"default": "1.30"} and report["findings"] == []
    assert rendered_versions(tmp_path / "emit") == {"1.21.14"}


def test_unbundled_schema_version_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ks = checkout_with(tmp_path / "ks", OLD)
    code = main(["check", str(ks), "--schema-version", "1.21", "-j", "1"])
    _, err = capsys.readouterr()
    assert code == 2 and err.strip().splitlines() == [
        f"kvalidate: Kubernetes 1.21 is not supported: kvalidate has API schemas for {MINORS[0]} to {MINORS[-1]}"]


def test_newer_than_the_newest_schemas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ks = checkout_with(tmp_path / "ks", NEW)
    code, report, _ = check([str(ks)], tmp_path, capsys)
    assert code == 0
    [warning] = report["findings"]
    assert warning["message"].startswith(f"Kubernetes 1.39 is rendered, but kvalidate's API schemas are {MINORS[0]} "
                                         f"to {MINORS[-1]}: validated against {MINORS[-1]}, the newest bundled")
    assert report["summary"]["kube_minor"] == {"default": MINORS[-1]}


@pytest.mark.parametrize(("rendered", "override", "used", "warns"), [
    ("1.30", None, "1.30", False),
    ("1.21", None, MINORS[0], True),
    ("1.99", None, MINORS[-1], True),
    ("", None, MINORS[-1], False),  # nothing says which minor: the newest, as `validate`
    ("1.21", "1.31", "1.31", False),
    ("1.30", "v1.28.3", "1.28", False),
])
def test_schema_minor(rendered: str, override: str | None, used: str, warns: bool) -> None:
    minor, note = schema_minor(rendered, override)
    assert minor == used
    assert (note is not None) is warns
    if note is not None:
        assert note.rule == "schema-version" and note.severity is Severity.WARNING and note.cell == ""


def test_check_help_says_what_each_version_option_does() -> None:
    command = typer.main.get_command(app)
    assert isinstance(command, click.Group)
    check_params = {p.name: p for p in command.commands["check"].params}
    kube, schema = check_params["kube_version"], check_params["schema_version"]
    assert isinstance(kube, click.Option) and isinstance(schema, click.Option)
    assert kube.help is not None and kube.help.startswith("Render and validate as Kubernetes X.Y")
    assert "default: newest" not in kube.help
    assert schema.opts == ["--schema-version"] and schema.help is not None
    assert "default: the minor each cell renders" in schema.help
