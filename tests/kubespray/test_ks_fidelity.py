"""scripts/fidelity.py on a hand-made oracle output and --emit tree."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "fidelity.py"


@pytest.fixture(scope="module")
def fidelity() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fidelity", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fidelity"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    oracle, emit = tmp_path / "oracle" / "scn", tmp_path / "emit" / "scn"
    recs = [
        {"host": "h1", "template": "/ks/roles/etcd/templates/etcd.env.j2", "dest": "/etc/etcd.env"},
        {"host": "h1", "template": "/ks/roles/etcd/templates/etcd.env.j2", "dest": "/etc/etcd.env"},
        {"host": "h2", "template": "/ks/roles/k/templates/a.j2", "dest": "/etc/a"},
        {"host": "h2", "template": "/ks/roles/k/templates/b.j2", "dest": "/etc/b"},
        {"host": "h1", "kind": "lookup", "role": "kubernetes-apps/ansible", "template": "c.yml.j2",
         "out": str(oracle / "h1/_captured/kubernetes-apps_ansible/c.yml.j2")},
        {"host": "h1", "kind": "copy-content", "dest": "/etc/m.conf", "task": "persist"},
    ]
    write(oracle / "_manifest.jsonl", "".join(json.dumps(r) + "\n" for r in recs))
    write(oracle / "h1/etc/etcd.env", "STATE=existing\n")  # the last of two renderings
    write(oracle / "h2/etc/a", "a\n")
    write(oracle / "h2/etc/b", "b\n")
    write(oracle / "h1/_captured/kubernetes-apps_ansible/c.yml.j2", "kind: C\n")
    write(oracle / "h1/etc/m.conf", "m\n")
    write(emit / "h1/etc/etcd.env", "STATE=existing\n")
    write(emit / "h2/etc/a", "A\n")
    write(emit / "h2/etc/extra", "x\n")
    write(emit / "h1/_lookup/kubernetes-apps/ansible/c.yml.j2", "kind: C\n")
    write(emit / "h1/etc/m.conf", "m\n")
    return oracle, emit


def test_counts(fidelity: ModuleType, dirs: tuple[Path, Path], tmp_path: Path) -> None:
    oracle, emit = dirs
    out: list[str] = []
    r = fidelity.compare("scn", oracle, emit, 5, out)
    assert r["by_category"] == {
        "template": {"identical": 1, "different": 1, "missing_in_emit": 1, "extra_in_emit": 1},
        "lookup": {"identical": 1},
        "copy-content": {"identical": 1},
    }
    assert (r["identical"], r["total"]) == (2, 4)
    assert r["by_host"]["h2"] == {"different": 1, "missing_in_emit": 1, "extra_in_emit": 1}
    assert "  DIFFERENT        h2 /etc/a  [roles/k/templates/a.j2]" in out
    assert "      -a" in out and "      +A" in out
    assert "  MISSING_IN_EMIT  h2 /etc/b  [roles/k/templates/b.j2]" in out


@pytest.mark.parametrize(("threshold", "code"), [(50.0, 0), (50.1, 1)])
def test_main_threshold_and_json(fidelity: ModuleType, dirs: tuple[Path, Path], tmp_path: Path,
                                 threshold: float, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    oracle, emit = dirs
    js = tmp_path / "f.json"
    argv = ["--oracle-root", str(oracle.parent), "--emit-root", str(emit.parent), "--json", str(js),
            "--min", str(threshold)]
    assert fidelity.main(argv) == code
    assert json.loads(js.read_text())["identical"] == 2
    assert capsys.readouterr().out.splitlines()[-1] == "TOTAL template+lookup identical: 2/4 = 50.0%"
