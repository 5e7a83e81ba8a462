"""`--limit` with a fact cache, differential: fixtures/limit run by real ansible-playbook (local
connection, `gather_facts: false`, the real `copy` module writing into a temporary directory) and by
kvalidate's engine, for host patterns of every kind.

With a cache (`facts`): a jsonfile fact cache prepared by the test holds each host's "gathered"
`ansible_default_ipv4`, `facts.yml` runs on every host first (cacheable and plain `set_fact`, a
register, a delegated cacheable fact), then `site.yml --limit PATTERN`. Without one (`none`):
`site.yml --limit PATTERN` alone, memory cache. Each host in the limit writes what `hostvars` of every
host holds (defined or not, values of the set_facts, `ansible_facts` namespacing) and which hosts its
plays run on; an imported playbook writes its vars (the import's over the play's) and `playbook_dir`,
and a second import's `when: false` skips its tasks. Every file must be identical, and the engine's
cache must name the facts the jsonfile cache holds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kvalidate.ansible import Engine, ModuleCall, load_inventory
from kvalidate.trees.directory import DirTree

ROOT = Path(__file__).resolve().parent / "fixtures" / "limit"
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
# what a `setup` run left in the cache for each k8s host (the fixture's hosts never gather)
GATHERED = {h: {"ansible_default_ipv4": {"address": f"10.0.0.{i}"}}
            for i, h in enumerate(["node1", "node2", "node3", "node4", "node10"], 1)}
LIMITS = ["node3", "workers:!node4", "k8s:&cp", "node*", "cp,web1", "all", "~node[12]$", "workers[0]",
          "node1:node3", "nothere,node2", "node3,localhost"]


def _ansible(args: list[str], out: Path, cache: Path | None) -> None:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(out / "_tmp")}
    if cache is not None:
        env.update({"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(cache)})
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "hosts.yml", *args, "-e", f"out={out}",
           *(a for k, v in LOCAL.items() for a in ("-e", f"{k}={v}"))]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
                          stdin=subprocess.DEVNULL)  # `pause` sees no terminal
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def facts_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The jsonfile cache after the prepared gathered facts and a real run of facts.yml."""
    cache = tmp_path_factory.mktemp("cache")
    for host, facts in GATHERED.items():
        (cache / host).write_text(json.dumps(facts))
    out = tmp_path_factory.mktemp("facts-out")
    _ansible(["facts.yml"], out, cache)
    return cache


def _theirs(out: Path, limit: str, cache: Path | None) -> dict[str, str]:
    _ansible(["site.yml", "--limit", limit], out, cache)
    return {p.name: p.read_text() for p in out.iterdir() if p.is_file()}


def _inventory(gathered: bool) -> Any:
    inv = load_inventory(DirTree(ROOT), "hosts.yml")
    if gathered:
        for host, facts in GATHERED.items():
            inv.facts[host] = dict(facts)
    return inv


def _kv_result(call: ModuleCall) -> dict[str, Any] | None:
    """fixtures/limit/action_plugins/kv_result.py: the module result is the `result` argument."""
    return dict(call.args["result"]) if call.module == "kv_result" else None


def _our_cache() -> dict[str, dict[str, Any]]:
    pre = Engine(DirTree(ROOT), _inventory(True), extra_vars={"out": "/unused", **LOCAL}, simulator=_kv_result)
    run = pre.run_playbook("facts.yml")
    assert run.findings == []
    return pre.fact_cache()


def _ours(out: Path, limit: str, cache: dict[str, dict[str, Any]] | None) -> dict[str, str]:
    engine = Engine(DirTree(ROOT), _inventory(cache is not None), limit=limit, fact_cache=cache,
                    extra_vars={"out": str(out), **LOCAL}, simulator=_kv_result)
    run = engine.run_playbook("site.yml")
    assert run.findings == []
    return {Path(r.dest).name: r.text for r in run.renderings if r.via == "copy"}


@pytest.mark.parametrize("limit", LIMITS)
def test_hostvars_with_facts_cache_same_as_ansible(tmp_path: Path, facts_cache: Path, limit: str) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(facts_cache, cache)
    theirs = _theirs(tmp_path / "out", limit, cache) if (tmp_path / "out").mkdir() is None else {}
    ours = _ours(tmp_path / "out", limit, _our_cache())
    assert theirs, "the limited run wrote nothing"
    assert sorted(ours) == sorted(theirs)
    for name, text in theirs.items():
        assert ours[name] == text, name


@pytest.mark.parametrize("limit", ["node3", "workers:!node4", "cp,web1", "localhost,node1"])
def test_hostvars_without_cache_same_as_ansible(tmp_path: Path, limit: str) -> None:
    (tmp_path / "out").mkdir()
    theirs = _theirs(tmp_path / "out", limit, None)
    ours = _ours(tmp_path / "out", limit, None)
    assert theirs
    assert sorted(ours) == sorted(theirs)
    for name, text in theirs.items():
        assert ours[name] == text, name


def test_engine_cache_holds_what_the_jsonfile_cache_holds(facts_cache: Path) -> None:
    """After facts.yml: the gathered facts and the cacheable set_facts (the delegated one on its
    target only), never the plain set_fact or the registered result."""
    theirs = {p.name: set(json.loads(p.read_text())) for p in facts_cache.iterdir() if p.is_file()}
    ours = {h: {k for k in layer if k != "ansible_facts"} for h, layer in _our_cache().items()}
    assert ours == theirs
    assert "first_only" in theirs["node1"] and "first_only" not in theirs["node2"]
    assert not any("plain_fact" in names or "facts_reg" in names for names in theirs.values())
