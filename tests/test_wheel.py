"""What a user installs works the same as the source checkout: the wheel and the sdist are built from
the repository's files, the wheel is installed into a fresh virtualenv outside the source tree, and the
installed `kvalidate` finds the pinned schemas and the embedded demo inside itself.

The new virtualenv gets kvalidate from the wheel only (`--no-deps`, no index); its dependencies are
this test environment's, seen through a .pth file placed after its own site-packages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from kvalidate.cli import main

ROOT = Path(__file__).resolve().parent.parent
VERSION = version("kvalidate")  # this checkout's, installed editable
KUBELET = """\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
maxPods: 110
bogusField: true
"""
KUBEADM = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.33.0
bogusField: true
"""
IPPOOL = """\
apiVersion: crd.projectcalico.org/v1
kind: IPPool
metadata:
  name: default-pool
spec:
  cidr: 10.233.64.0/18
  bogus: 1
"""


def _run(cmd: list[str | Path], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        pytest.fail(f"{cmd} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def _source_files() -> list[str]:
    """The repository's files as a fresh clone has them (tracked, plus new files not ignored)."""
    git = shutil.which("git")
    if git and (ROOT / ".git").exists():
        out = subprocess.run([git, "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True).stdout
        return [p for p in out.decode().split("\0") if p and (ROOT / p).is_file()]
    skip = {".git", ".venv", "build", "dist", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
    return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts) and ".egg-info" not in str(p)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(wheel, sdist), built without build isolation from a copy of the repository's files."""
    tmp = tmp_path_factory.mktemp("build")
    src, dist = tmp / "src", tmp / "dist"
    for rel in _source_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "--wheel-dir", dist, src], cwd=tmp)
    _run([sys.executable, "-c", "import sys; from setuptools import build_meta; build_meta.build_sdist(sys.argv[1])",
          dist], cwd=src)
    (wheel,) = dist.glob("kvalidate-*.whl")
    (sdist,) = dist.glob("kvalidate-*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="module")
def venv(built: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel installed; this environment's site-packages after its own."""
    root = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", root], cwd=root)
    python = root / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=root).stdout.strip())
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", built[0]], cwd=root)
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "zz_test_dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    return root


def _members(archive: Path) -> list[str]:
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as z:
            return z.namelist()
    with tarfile.open(archive) as t:
        return [m.name for m in t.getmembers() if m.isfile()]


def _tree(folder: str) -> set[str]:
    return {str(p.relative_to(ROOT / folder)) for p in (ROOT / folder).rglob("*") if p.is_file()}


def _under(members: list[str], prefix: str) -> set[str]:
    return {m[len(prefix):] for m in members if m.startswith(prefix)}


def test_wheel_carries_the_code_the_schemas_and_the_demo(built: tuple[Path, Path]) -> None:
    members = _members(built[0])
    assert _under(members, "kvalidate/_pinned/") == _tree("schemas")
    assert _under(members, "kvalidate/_demo/") == _tree("templates_under_test")
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "kvalidate").rglob("*.py")}
    missing = modules - set(members)
    assert not missing, f"not in the wheel (list the package in pyproject.toml [tool.setuptools] packages): {missing}"
    extra = [m for m in members if not (m in modules or m.startswith(("kvalidate/_pinned/", "kvalidate/_demo/",
                                                                     f"kvalidate-{VERSION}.dist-info/"))
                                         or m in ("kvalidate/py.typed", "kvalidate/data/kvalidate.schema.json")
                                         or m.startswith("kvalidate/kubespray/data/"))]
    assert extra == []
    # compressed, the wheel is the size of the pinned JSON it carries (MANIFEST.json included)
    data = sum(p.stat().st_size for p in (ROOT / "schemas").rglob("*.json"))
    assert data / 8 < built[0].stat().st_size < data


def test_sdist_carries_the_same_data(built: tuple[Path, Path]) -> None:
    members = _members(built[1])
    top = f"kvalidate-{VERSION}/"
    assert _under(members, top + "schemas/") == _tree("schemas")
    assert _under(members, top + "templates_under_test/") == _tree("templates_under_test")
    for f in ("pyproject.toml", "MANIFEST.in", "README.md", "requirements/test.txt", "kvalidate/pinned.py"):
        assert top + f in members


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("docs")
    for name, text in (("kubelet.yaml", KUBELET), ("kubeadm.yaml", KUBEADM), ("ippool.yaml", IPPOOL)):
        (d / name).write_text(text)
    return d


def test_installed_kvalidate_is_the_wheel(venv: Path) -> None:
    out = _run([venv / "bin" / "python", "-c", "import kvalidate, kvalidate.pinned as p; "
                "print(kvalidate.__file__); print(p.pinned_schemas()); print(p.embedded_demo())"], cwd=venv).stdout
    code, schemas, demo = (Path(line) for line in out.splitlines())
    assert code.is_relative_to(venv) and schemas.is_relative_to(venv) and demo.is_relative_to(venv)
    assert (schemas.name, demo.name) == ("_pinned", "_demo")
    assert not code.is_relative_to(ROOT)
    assert _run([venv / "bin" / "kvalidate", "--version"], cwd=venv).stdout == f"kvalidate {VERSION}\n"


@pytest.mark.parametrize(("name", "code", "line"), [
    ("kubelet.yaml", 0, 'kubelet.yaml:4:1: warning unknown-field: unknown field "bogusField"'),  # kubelet drops it
    ("kubeadm.yaml", 1, 'kubeadm.yaml:4:1: error unknown-field: unknown field "bogusField"'),
    ("ippool.yaml", 1, 'ippool.yaml:7:3: error unknown-field: unknown field "spec.bogus"'),
])
def test_installed_validate_uses_the_pinned_schemas(venv: Path, docs: Path, name: str, code: int, line: str) -> None:
    proc = _run([venv / "bin" / "kvalidate", "validate", name], cwd=docs, check=False)
    assert proc.returncode == code, proc.stderr
    assert proc.stdout.startswith(line)
    assert "no-schema" not in proc.stdout


def test_installed_schemas_lists_component_configs_and_crds(venv: Path) -> None:
    out = _run([venv / "bin" / "kvalidate", "schemas"], cwd=venv).stdout
    assert "component configs: Kubernetes none" not in out
    assert "kubelet.config.k8s.io/v1beta1 KubeletConfiguration: components v1.36" in out
    assert "crds calico" in out


@pytest.fixture(scope="module")
def source_demo(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The demo's text report from the source checkout, to compare the installed copy's with."""
    out = tmp_path_factory.mktemp("source-demo") / "report.txt"
    assert main(["demo", "-j", "2", "-f", f"text={out}"]) == 1
    return out.read_text().splitlines()


def _summary(lines: list[str]) -> str:
    return [line for line in lines if " file(s), " in line][-1]


def test_installed_demo_and_check_find_what_the_source_checkout_finds(venv: Path, source_demo: list[str]) -> None:
    demo = _run([venv / "bin" / "kvalidate", "demo", "-j", "2"], cwd=venv, check=False)
    assert demo.returncode == 1, demo.stderr
    assert demo.stdout.splitlines() == source_demo
    installed = Path(_run([venv / "bin" / "python", "-c", "import kvalidate.pinned as p; print(p.embedded_demo())"],
                          cwd=venv).stdout.strip())
    check = _run([venv / "bin" / "kvalidate", "check", installed, "-j", "2"], cwd=venv, check=False)
    assert check.returncode == 1, check.stderr
    assert _summary(check.stdout.splitlines()) == _summary(source_demo)
