"""`run_once` and looped includes, differential: real ansible-playbook and kvalidate's engine on
fixtures/run_once.

- A `run_once` task inside an include that some hosts skip: its `register` and `set_fact` reach every
  host of the play (StrategyBase.get_task_hosts), also the hosts that never ran the include. Kubespray
  relied on this between February and April 2024 (roles/download: `kubeadm_images_raw`, registered
  once on the first control plane, read by the looped download include on every node).
- A looped `include_tasks` whose file name and `vars` are templated from the loop item: per item, the
  file and the variables must be the ones Ansible includes.
- When the loop itself is undefined on a host and the `when` (which reads the loop item) fails too,
  the task fails with the loop's error, as TaskExecutor raises it first.
- `RunResult.groups` is `groups` at the end of the run (`group_by` included), in Ansible's order.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ansible_oracle import LOCAL, PLUGINS

from kvalidate.ansible import Engine, load_inventory
from kvalidate.ansible.types import RunResult
from kvalidate.trees.directory import DirTree

ROOT = Path(__file__).resolve().parent / "fixtures" / "run_once"


def ansible_run(out: Path) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """Real ansible-playbook with the capture plugins and the json callback: {(host, dest): text}
    written, and {(task name, host): msg} of the failed tasks."""
    env = {**os.environ, "KV_ORACLE_OUT": str(out), "ANSIBLE_ACTION_PLUGINS": str(PLUGINS),
           "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_LOCAL_TEMP": str(out / "_tmp"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_STDOUT_CALLBACK": "json"}
    args = [a for k, v in LOCAL.items() for a in ("-e", f"{k}={v}")]
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventory/hosts.ini", "site.yml", *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    failed = {(t["task"]["name"], host): str(r.get("msg", ""))
              for play in report["plays"] for t in play["tasks"] for host, r in t["hosts"].items() if r.get("failed")}
    files = {(p.relative_to(out).parts[0], "/" + "/".join(p.relative_to(out).parts[1:])): p.read_text()
             for p in out.rglob("*") if p.is_file() and "_modules" not in p.parts and "_tmp" not in p.parts}
    return files, failed


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, dict[tuple[str, str], str],
                                                            dict[tuple[str, str], str]]:
    files, failed = ansible_run(tmp_path_factory.mktemp("run_once"))
    tree = DirTree(ROOT)
    run = Engine(tree, load_inventory(tree, "inventory/hosts.ini"), extra_vars=dict(LOCAL),
                 keep_going=True).run_playbook("site.yml")
    return run, files, failed


def test_renderings_same_as_ansible(both: tuple[RunResult, dict[tuple[str, str], str],
                                                dict[tuple[str, str], str]]) -> None:
    run, theirs, _ = both
    ours = {(r.host, r.dest): r.text for r in run.renderings}
    assert ours == theirs
    # what the fixture is about: h3 skipped the include, yet sees the run_once results
    assert theirs[("h3", "/out/report.txt")] == "once_reg defined: True\nonce_reg rc: 0\nonce_fact: set by h1\n"
    # per item the included file and the vars are the item's (a: container, b: file, c: disabled)
    assert sorted(d for h, d in theirs if h == "h3" and "/one/" in d) == ["/out/one/container-a.txt",
                                                                           "/out/one/file-b.txt"]


def test_loop_error_wins_over_the_when_error(both: tuple[RunResult, dict[tuple[str, str], str],
                                                         dict[tuple[str, str], str]]) -> None:
    run, _, failed = both
    assert list(failed) == [("Loop over {{ item.key }}", "h3")]
    theirs = failed[("Loop over {{ item.key }}", "h3")]
    assert "'cp_reg' is undefined" in theirs
    ours = [f for f in run.findings if f.host == "h3"]
    assert [f.rule for f in ours] == ["undefined-variable"]
    assert theirs in ours[0].message and "item" not in ours[0].message.split(": ", 1)[1]
    assert [f for f in run.findings if f.host != "h3"] == []


def test_groups_at_the_end_of_the_run(both: tuple[RunResult, dict[tuple[str, str], str],
                                                  dict[tuple[str, str], str]]) -> None:
    run, theirs, _ = both
    groups = dict(json.loads(theirs[("h1", "/out/groups.json")]))  # dictsort: group_by's order varies with forks
    assert groups["made_h2"] == ["h2"] and groups["cp"] == ["h1", "h2"]
    assert run.groups == groups
