"""kvalidate needs no writable `$HOME`: ansible-core's home and local temp directory live in a
private temporary directory (kvalidate.ansible.private_home), removed at exit; the code cache is
off when the home is missing. Each case runs the console script in a fresh process (the directory
is chosen when kvalidate.ansible is first imported)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).parent / "kvalidate")
ARGS = ["check", str(ROOT / "templates_under_test"), "--no-config", "-j", "2"]


def _env(tmp_path: Path, home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KVALIDATE_", "XDG_", "ANSIBLE_"))}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env.update(HOME=home, TMPDIR=str(tmp_path / "tmp"))
    return env


def _files(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")) if path.is_dir() else []


@pytest.mark.parametrize(("home", "created"), [
    ("/proc", None),  # not writable: ansible-core used to fail creating /proc/.ansible/tmp
    ("{t}/missing-home", None),  # missing: never created
    ("{t}/home", [".cache", ".cache/kvalidate", ".cache/kvalidate/jinja-code-", ".cache/kvalidate/key",
                  ".cache/kvalidate/yaml-data-"]),
])
def test_check_runs_whatever_home_is_and_leaves_no_ansible_dirs(tmp_path: Path, home: str,
                                                                created: list[str] | None) -> None:
    (tmp_path / "home").mkdir()
    h = home.format(t=tmp_path)
    proc = subprocess.run([EXE, *ARGS], env=_env(tmp_path, h), capture_output=True, text=True, timeout=300)
    assert (proc.returncode, proc.stderr) == (1, "")  # the demo's deliberate bugs: exit 1, nothing on stderr
    assert proc.stdout.splitlines()[-1] == (
        "19 file(s), 19 document(s): 2 defect(s) (2 errors, 0 warnings) from 3 finding(s)")
    if created is None:
        assert not Path(h).exists() or h == "/proc"
    else:
        names = _files(Path(h))  # the code and parsed-YAML caches, and nothing else
        assert [n[:len(c)] for n, c in zip(names, created, strict=True)] == created
    assert _files(tmp_path / "tmp") == []  # the private directory is gone at exit


def test_a_killed_run_leaves_nothing_under_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.Popen([EXE, "check", str(ROOT / "templates_under_test"), "-j", "2"],
                            env=_env(tmp_path, str(home)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    time.sleep(1.5)  # inside the run (the full demo takes several seconds); when exactly does not matter
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert not (home / ".ansible").exists()
    assert [n for n in _files(home) if not n.startswith(".cache")] == []


@pytest.mark.parametrize("home", ["/proc", "{t}/missing-home"])
def test_render_runs_whatever_home_is(tmp_path: Path, home: str) -> None:
    tpl = tmp_path / "t.j2"
    tpl.write_text("a: {{ 1 + 1 }}\n")
    h = home.format(t=tmp_path)
    proc = subprocess.run([EXE, "render", str(tpl)], env=_env(tmp_path, h), capture_output=True, text=True,
                          timeout=120)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "a: 2\n", "")
    assert _files(tmp_path / "tmp") == [] and (h == "/proc" or not Path(h).exists())
