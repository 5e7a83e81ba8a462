"""Magic variables, the implicit localhost and `copy: content:`, differential: fixtures/magic/site.yml
run by real ansible-playbook (local connection, the real `copy` module writing into a temporary
directory) and by kvalidate's engine. Every file `copy` writes there must be byte-identical to the
text kvalidate records for it: role-name variables (`ansible_play_role_names` grows as roles are
included), host lists (with and without --limit), `hostvars['localhost']` created on demand, and
content given as a dict, list, number, boolean or text (the copy action JSON-encodes dicts and lists),
facts given to a delegated host, and what TaskExecutor adds to a module's result (`failed`, `changed`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kvalidate.ansible import Engine, ModuleCall, load_inventory
from kvalidate.trees.directory import DirTree

ROOT = Path(__file__).resolve().parent / "fixtures" / "magic"
NAMES = ["magic.json", "localhost.json", "first.json", "dep_a.json", "inner.json", "second.json", "third.json",
         "list.txt", "int.txt", "bool.txt", "text.txt", "dictish.txt", "delegated.json", "results.json",
         "mutation.txt", "after.txt"]
LIMITS: list[list[str] | None] = [None, ["node1"]]


def _theirs(out: Path, limit: list[str] | None) -> dict[tuple[str, str], str]:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(out / "_tmp")}
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "hosts.yml", "site.yml", "-e", f"out={out}",
           "-e", "ansible_connection=local", "-e", f"ansible_python_interpreter={sys.executable}",
           *(["-l", ",".join(limit)] if limit else [])]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {tuple(p.name.split("-", 1)): p.read_text() for p in out.iterdir() if p.is_file()}  # type: ignore[misc]


def _kv_result(call: ModuleCall) -> dict[str, Any] | None:
    """fixtures/magic/action_plugins/kv_result.py: the module result is the `result` argument."""
    return dict(call.args["result"]) if call.module == "kv_result" else None


def _ours(out: Path, limit: list[str] | None) -> dict[tuple[str, str], str]:
    tree = DirTree(ROOT)
    engine = Engine(tree, load_inventory(tree, "hosts.yml"), limit=limit, simulator=_kv_result,
                    extra_vars={"out": str(out), "ansible_connection": "local",
                                "ansible_python_interpreter": sys.executable})
    run = engine.run_playbook("site.yml")
    assert run.findings == []
    return {tuple(Path(r.dest).name.split("-", 1)): r.text for r in run.renderings if r.via == "copy"}  # type: ignore[misc]


@pytest.mark.parametrize("limit", LIMITS, ids=["all", "limit-node1"])
def test_copy_outputs_same_as_ansible(tmp_path: Path, limit: list[str] | None) -> None:
    theirs = _theirs(tmp_path, limit)
    ours = _ours(tmp_path, limit)
    hosts = limit or ["node1", "node2"]
    assert sorted(theirs) == sorted((h, n) for h in hosts for n in NAMES)
    assert sorted(ours) == sorted(theirs)
    for key, text in theirs.items():
        assert ours[key] == text, key
