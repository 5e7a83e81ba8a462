"""kvalidate.pinned: the pinned schemas and the embedded demo are found in a source checkout, and
missing ones stop the run (exit 2, one line naming what is missing) instead of `no-schema` findings.
The installed copy is tested in tests/test_wheel.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kvalidate import pinned
from kvalidate.cli import main
from kvalidate.model import SetupError

ROOT = Path(__file__).resolve().parent.parent
KUBELET = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nbogusField: true\n"


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Neither an installed copy's data nor a source checkout's: both places point at empty folders."""
    (tmp_path / "package").mkdir()
    (tmp_path / "checkout").mkdir()
    (tmp_path / "checkout" / "pyproject.toml").write_text("")
    monkeypatch.setattr(pinned, "PACKAGE", tmp_path / "package")
    monkeypatch.setattr(pinned, "CHECKOUT", tmp_path / "checkout")
    return tmp_path


def test_a_source_checkout_reads_the_top_level_folders() -> None:
    assert pinned.pinned_schemas() == ROOT / "schemas"
    assert pinned.embedded_demo() == ROOT / "templates_under_test"


def test_an_installed_copy_reads_the_package_data(nowhere: Path) -> None:
    shutil.copytree(ROOT / "schemas", nowhere / "package" / "_pinned")
    (nowhere / "package" / "_demo" / "roles").mkdir(parents=True)
    (nowhere / "package" / "_demo" / "kvalidate.yaml").write_text("")
    assert pinned.pinned_schemas() == nowhere / "package" / "_pinned"
    assert pinned.embedded_demo() == nowhere / "package" / "_demo"


@pytest.mark.parametrize("args", [["validate", "KUBELET"], ["schemas"], ["schemas", "show", "v1", "ConfigMap"]])
def test_missing_schema_data_is_exit_2_not_no_schema(args: list[str], nowhere: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    doc = nowhere / "kubelet.yaml"
    doc.write_text(KUBELET)
    code = main([str(doc) if a == "KUBELET" else a for a in args])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"kvalidate: pinned schema data missing: neither kvalidate/_pinned (installed copy) nor schemas/ "
        f"(source checkout at {nowhere / 'checkout'}) exists; reinstall kvalidate"]


def test_incomplete_schema_data_names_what_is_missing(nowhere: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (nowhere / "package" / "_pinned" / "crds").mkdir(parents=True)
    (nowhere / "package" / "_pinned" / "components").write_text("a file where a folder should be")
    assert main(["schemas"]) == 2
    assert capsys.readouterr().err == (
        f"kvalidate: pinned schema data incomplete: MANIFEST.json missing, components/ unreadable (Not a directory) "
        f"in {nowhere / 'package' / '_pinned'}; reinstall kvalidate\n")


def test_missing_demo_is_exit_2(nowhere: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kvalidate: embedded demo missing: neither kvalidate/_demo (installed copy) nor "
                          "templates_under_test/ (source checkout at") and err.count("\n") == 1


def test_pinned_raises_setup_error(nowhere: Path) -> None:
    with pytest.raises(SetupError, match="pinned schema data missing"):
        pinned.pinned_schemas()
