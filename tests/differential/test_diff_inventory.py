"""Inventories, differential: host patterns, groups, group_names and inventory variables as
ansible-core 2.18's InventoryManager and VariableManager read the same files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager
from ansible_oracle import ansible_template  # noqa: F401  (initializes ansible's plugin loader)

from kvalidate.ansible import Engine, load_inventory
from kvalidate.trees.directory import DirTree

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TUT = Path(__file__).resolve().parents[2] / "templates_under_test"
SOURCES = [(FIXTURES, "inventory/hosts.ini"), (TUT, "inventory/sample/hosts.yml")]
PATTERNS = ["all", "*", "kube_node", "etcd:kube_control_plane", "kube_node:!kube_control_plane",
            "kube_node:&etcd", "kube_control_plane[0]", "kube_node[1:]", "etcd[-1]", "node*", "k8s_cluster",
            "ungrouped", "nope", "kube_node,etcd", "!kube_node:etcd", "node1:node3", "etcd[0:1]"]
VAR_NAMES = ["level", "in_all", "in_k8s", "from_ini_children", "ip", "port", "weight", "flag", "etcd_member_name",
             "ansible_host", "access_ip"]


def _theirs(root: Path, source: str) -> tuple[InventoryManager, VariableManager]:
    loader = DataLoader()
    loader.set_basedir(str(root))
    inv = InventoryManager(loader=loader, sources=[str(root / source)])
    return inv, VariableManager(loader=loader, inventory=inv)


@pytest.mark.parametrize(("root", "source"), SOURCES, ids=[s for _, s in SOURCES])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_pattern_same_as_ansible(root: Path, source: str, pattern: str) -> None:
    inv, _ = _theirs(root, source)
    ours = load_inventory(DirTree(root), source)
    assert ours.match(pattern) == [h.name for h in inv.get_hosts(pattern)]


@pytest.mark.parametrize(("root", "source"), SOURCES, ids=[s for _, s in SOURCES])
def test_groups_and_variables_same_as_ansible(root: Path, source: str) -> None:
    inv, vm = _theirs(root, source)
    ours = load_inventory(DirTree(root), source)
    engine = Engine(DirTree(root), ours)
    assert {g: hs for g, hs in engine.groups.items() if hs or g in inv.groups} == {
        g: [h.name for h in grp.get_hosts()] for g, grp in inv.groups.items()} | {"all": ours.hosts}
    for host in inv.get_hosts("all"):
        theirs: dict[str, Any] = vm.get_vars(host=host)
        scope = engine.hostvars_scope(host.name)
        assert engine.group_names[host.name] == theirs["group_names"]
        for name in VAR_NAMES:
            assert scope.get_value(name) == theirs.get(name, scope.get_value(name) if name not in theirs else None), (
                host.name, name)
            assert (name in scope) == (name in theirs), (host.name, name)


# group_vars/ and host_vars/ files: ansible-core's host_group_vars plugin (DataLoader.find_vars_files)
# reads only the first of NAME (a directory or a file), NAME.yml, NAME.yaml, NAME.json, and in a
# directory only some files (fixtures/varsfiles holds one of each case; "never" values must not load).
VARSFILES = FIXTURES / "varsfiles"


def test_vars_files_same_as_ansible() -> None:
    inv, vm = _theirs(VARSFILES, "hosts.yml")
    ours = load_inventory(DirTree(VARSFILES), "hosts.yml")
    engine = Engine(DirTree(VARSFILES), ours)
    seen: set[Any] = set()
    for host in inv.get_hosts("all"):
        theirs = {k: v for k, v in vm.get_vars(host=host).items()
                  if k.startswith(("k_", "other_", "all_", "ungrouped_", "h"))
                  and k not in ("hostvars", "groups")}
        scope = engine.hostvars_scope(host.name)
        mine = {k: scope.get_value(k) for k in scope if k in theirs or k.startswith(
            ("k_", "other_", "all_", "ungrouped_", "h1", "h2", "h3"))}
        assert mine == theirs, host.name
        seen |= set(theirs.values())
    assert "never" not in seen and "never-for-grouped" not in seen
    assert {"json-later-wins", "from-subdir", "file-without-extension", "yml-wins", "all-as-file",
            "host-file-without-extension", "from-dir", "json"} <= seen
