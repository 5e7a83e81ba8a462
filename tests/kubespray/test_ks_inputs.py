from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kvalidate.kubespray.checkout import Checkout
from kvalidate.kubespray.inputs import PASSWORD_SEEDS, cell_inputs, cell_kube_version, read_vars_dir, vars_files
from kvalidate.kubespray.scenario import cell_spec, default_cell, scenario_cell, with_overrides
from kvalidate.kubespray.simulate import ModuleCall
from kvalidate.model import Cell, SetupError
from kvalidate.trees.directory import DirTree

VARS_TREE = {
    "gv/all/a.yml": "x: 1\ny: 1\n",
    "gv/all/b.yaml": "y: 2\nnested: {a: 1}\n",
    "gv/all/sub/c.yml": "z: 3\n",
    "gv/all/.hidden.yml": "x: hidden\n",
    "gv/all/old.yml~": "x: backup\n",
    "gv/all/notes.txt": "x: txt\n",
    "gv/k8s_cluster.yml": "k: file\n",
    "gv/etcd": "e: no-extension\n",
    "gv/etcd.yml": "e: shadowed\n",
    "gv/empty.yml": "",
}


@pytest.mark.parametrize(("name", "files"), [
    ("all", ["gv/all/a.yml", "gv/all/b.yaml", "gv/all/sub/c.yml"]),
    ("k8s_cluster", ["gv/k8s_cluster.yml"]),
    ("etcd", ["gv/etcd"]),  # the extension-less file is tried first and wins
    ("missing", []),
])
def test_vars_files(tree_at: Callable[[dict[str, str]], Path], name: str, files: list[str]) -> None:
    assert vars_files(DirTree(tree_at(VARS_TREE)), "gv", name) == files


def test_read_vars_dir(tree_at: Callable[[dict[str, str]], Path]) -> None:
    got = read_vars_dir(DirTree(tree_at(VARS_TREE)), "gv")
    expected: dict[str, dict[str, Any]] = {
        "all": {"x": 1, "y": 2, "nested": {"a": 1}, "z": 3},
        "k8s_cluster": {"k": "file"}, "etcd": {"e": "no-extension"}, "empty": {}}
    assert got == expected


@pytest.mark.parametrize("text", ["- 1\n", "a: [\n"])
def test_bad_vars_file(tree_at: Callable[[dict[str, str]], Path], text: str) -> None:
    with pytest.raises(SetupError, match="gv/all.yml"):
        read_vars_dir(DirTree(tree_at({"gv/all.yml": text})), "gv")


def test_default_cell_inputs(make_checkout: Callable[[str], Checkout]) -> None:
    ck = make_checkout("master")
    ci = cell_inputs(ck, default_cell(ck))
    assert ci.hosts == ("node1", "node2", "node3")
    assert ci.group_vars == {"all": {"bin_dir": "/usr/local/bin"}}
    assert [f["ansible_default_ipv4"]["address"] for f in ci.facts.values()] == [
        "10.0.0.11", "10.0.0.12", "10.0.0.13"]
    assert ci.passwords == PASSWORD_SEEDS and ci.environment == {}
    assert ci.playbook == "playbooks/cluster.yml"


def test_scenario_cell_inputs(make_checkout: Callable[[str], Checkout]) -> None:
    ck = make_checkout("master")
    ci = cell_inputs(ck, scenario_cell(ck, "demo-aio"))
    assert ci.group_vars == {}  # CI loads none
    assert ci.facts["instance-1"]["ansible_distribution"] == "Debian"
    assert ci.extra_vars["dns_min_replicas"] == 1 and ci.extra_vars["kube_network_plugin"] == "cilium"
    result = ci.simulator(ModuleCall("stat", {"path": "/usr"}, "instance-1", "probe", "kubernetes/preinstall"))
    assert result is not None and result["stat"]["writeable"] is True


def test_host_vars_dir_over_layout_host_vars(make_checkout: Callable[[str], Checkout]) -> None:
    ck = make_checkout("master")
    root = Path(ck.tree.label)
    (root / "hv").mkdir()
    (root / "hv/node2.yml").write_text("ip: 10.9.9.9\n")
    ci = cell_inputs(ck, default_cell(ck), host_vars_dir="hv")
    assert ci.host_vars == {"node2": {"ip": "10.9.9.9"}}


@pytest.mark.parametrize(("extra", "overlays", "ip6"), [
    ({}, [], None),
    ({"ipv6_stack": True}, [], "fd00:10::11"),
    ({"ipv6_stack": "false"}, [], None),
    ({"ipv6_stack": True}, [{"auto": {"ipv6_network": "fd99::/64", "ipv6_first_host": 1}}], "fd99::1"),
])
def test_ipv6_cells_get_ipv6_facts(make_checkout: Callable[[str], Checkout], extra: dict[str, Any],
                                   overlays: list[dict[str, Any]], ip6: str | None) -> None:
    ck = make_checkout("master")
    ci = cell_inputs(ck, with_overrides(scenario_cell(ck, "demo-aio"), extra), facts_overlays=overlays)
    assert ci.facts["instance-1"]["ansible_default_ipv6"].get("address") == ip6


@pytest.mark.parametrize(("cell", "version"), [
    (Cell("default"), "1.36.1"),
    (Cell("k", kube_version="1.35"), "1.35.2"),
    (Cell("e", extra_vars={"kube_version": "{{ my_version }}"}), ""),
])
def test_cell_kube_version(make_checkout: Callable[[str], Checkout], cell: Cell, version: str) -> None:
    ck = make_checkout("master")
    assert cell_kube_version(cell_inputs(ck, cell_spec(ck, cell))) == version


def test_cell_kube_version_from_sample_group_vars(make_checkout: Callable[[str], Checkout]) -> None:
    ck = make_checkout("2.27")  # inventory/sample pins v1.31.1 over the role default v1.31.2
    assert cell_kube_version(cell_inputs(ck, default_cell(ck))) == "v1.31.1"
