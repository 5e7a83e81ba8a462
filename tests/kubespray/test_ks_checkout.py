from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kvalidate.ansible import Engine, Inventory
from kvalidate.kubespray.checkout import (
    Checkout,
    accepted_ansible_version,
    declared_kube_version,
    fresh_install,
    inventory_group_names,
    minor,
    open_checkout,
    version_for_minor,
)
from kvalidate.model import SetupError
from kvalidate.trees.directory import DirTree

EXPECTED: dict[str, dict[str, Any]] = {
    "master": dict(
        defaults_role="kubespray_defaults", network_facts="roles/network_facts/tasks/main.yaml",
        checksums_file="roles/kubespray_defaults/vars/main/checksums.yml", checksums_are_role_vars=True,
        kubeadm_config_versions=("v1beta4",), group_fallback=None, inventory_needs_k8s_cluster=False,
        kube_versions=("1.36.1", "1.35.2", "1.35.0", "1.34.0"), default_kube_version="1.36.1",
        sample_kube_version="", kube_minors=("1.36", "1.35", "1.34")),
    "2.27": dict(
        defaults_role="kubespray-defaults", network_facts="roles/kubespray-defaults/tasks/main.yaml",
        checksums_file="roles/kubespray-defaults/defaults/main/checksums.yml", checksums_are_role_vars=False,
        kubeadm_config_versions=("v1beta3", "v1beta4"), group_fallback="_all",
        inventory_needs_k8s_cluster=False, default_kube_version="v1.31.2", sample_kube_version="v1.31.1",
        kube_minors=("1.31", "1.30", "1.29")),
    "2.23": dict(
        defaults_role="kubespray-defaults", network_facts="roles/kubespray-defaults/tasks/fallback_ips.yml",
        checksums_file="roles/download/defaults/main/checksums.yml", checksums_are_role_vars=False,
        kubeadm_config_versions=("v1beta3",), group_fallback=None, inventory_needs_k8s_cluster=True,
        default_kube_version="v1.27.3", kube_minors=("1.27", "1.26", "1.25"),
        group_mappings={"kube_control_plane": ("kube-master",), "kube_node": ("kube-node",),
                        "k8s_cluster": ("k8s-cluster",)}),
    "2021": dict(
        playbook="cluster.yml", defaults_role="kubespray-defaults", inventory_needs_k8s_cluster=True,
        checksums_file="roles/download/defaults/main.yml", default_kube_version="v1.19.7",
        sample_kube_version="v1.19.7", kube_minors=("1.19", "1.18"), group_mappings={},
        group_names={"kube_control_plane": "kube-master", "kube_node": "kube-node", "k8s_cluster": "k8s-cluster",
                     "calico_rr": "calico-rr"}),
}


@pytest.mark.parametrize(("flavour", "field", "value"),
                         [(f, k, v) for f, exp in EXPECTED.items() for k, v in exp.items()])
def test_branch_differences(make_checkout: Callable[[str], Checkout], flavour: str, field: str,
                            value: Any) -> None:
    assert getattr(make_checkout(flavour), field) == value


@pytest.mark.parametrize("flavour", ["master", "2.27"])
def test_group_mappings_from_group_by_loop(make_checkout: Callable[[str], Checkout], flavour: str) -> None:
    assert make_checkout(flavour).group_mappings == {
        "kube_control_plane": ("kube-master",), "kube_node": ("kube-node",),
        "k8s_cluster": ("kube_node", "kube_control_plane", "calico_rr")}


@pytest.mark.parametrize(("files", "message"), [
    ({"README.md": "x\n"}, "no playbooks/cluster.yml"),
    ({"playbooks/cluster.yml": "[]\n", "roles/x/tasks/main.yml": "[]\n"}, "no roles/kubespray_defaults"),
])
def test_not_a_checkout(tree_at: Callable[[dict[str, str]], Path], files: dict[str, str],
                        message: str) -> None:
    with pytest.raises(SetupError, match=message) as e:
        open_checkout(DirTree(tree_at(files)))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(("version", "expected"), [("v1.31.9", "1.31"), ("1.36.4", "1.36"), ("1.30", "1.30")])
def test_minor(version: str, expected: str) -> None:
    assert minor(version) == expected


@pytest.mark.parametrize(("flavour", "wanted", "version"), [
    ("master", "1.35", "1.35.2"), ("master", "v1.36", "1.36.1"), ("2.27", "1.30", "v1.30.0"),
    ("2.23", "v1.25.9", "v1.25.0"),
])
def test_version_for_minor(make_checkout: Callable[[str], Checkout], flavour: str, wanted: str,
                           version: str) -> None:
    assert version_for_minor(make_checkout(flavour), wanted) == version


def test_unsupported_minor(make_checkout: Callable[[str], Checkout]) -> None:
    with pytest.raises(SetupError, match=r"Kubernetes 1.33 is not supported .*\(supported: 1.36, 1.35, 1.34\)"):
        version_for_minor(make_checkout("master"), "1.33")


@pytest.mark.parametrize(("extra", "group_vars", "expected"), [
    ({}, {}, "1.36.1"),
    ({}, {"all": {"kube_version": "1.35.0"}}, "1.35.0"),
    ({}, {"all": {"kube_version": "1.35.0"}, "k8s_cluster": {"kube_version": "1.34.0"}}, "1.34.0"),
    ({"kube_version": "1.35.2"}, {"k8s_cluster": {"kube_version": "1.34.0"}}, "1.35.2"),
    ({"kube_version": "{{ my_version }}"}, {}, ""),
])
def test_declared_kube_version(make_checkout: Callable[[str], Checkout], extra: dict[str, Any],
                               group_vars: dict[str, dict[str, Any]], expected: str) -> None:
    assert declared_kube_version(make_checkout("master"), extra, group_vars) == expected


_VERSION_PLAY = """\
- name: Check Ansible version
  hosts: all
  gather_facts: false
  vars:
    minimal_ansible_version: {low}
    maximal_ansible_version: {high}
  tasks:
    - name: "Check {{{{ minimal_ansible_version }}}} <= Ansible version < {{{{ maximal_ansible_version }}}}"
      assert:
        that:
          - ansible_version.string is version(minimal_ansible_version, ">=")
          - ansible_version.string is version(maximal_ansible_version, "<")
"""


@pytest.mark.parametrize(("path", "low", "high", "expected", "rules"), [
    ("playbooks/ansible_version.yml", "2.16.4", "2.17.0", "2.16.4", []),
    ("playbooks/ansible_version.yml", "2.14.0", "2.15.0", "2.14.0", []),
    ("ansible_version.yml", "2.18.0", "2.19.0", "2.18.0", []),
    # not read: the engine reports its own 2.18.19, outside this range
    ("playbooks/other.yml", "2.16.4", "2.17.0", "", ["task-failed"]),
    ("playbooks/ansible_version.yml", "'{{ x }}'", "2.17.0", "", ["undefined-variable"]),
])
def test_reported_ansible_version_passes_the_checkout_check(
        tree_at: Callable[[dict[str, str]], Path], path: str, low: str, high: str, expected: str,
        rules: list[str]) -> None:
    tree = DirTree(tree_at({path: _VERSION_PLAY.format(low=low, high=high)}))
    assert accepted_ansible_version(tree) == expected
    inv = Inventory.from_data({"node1": ["all"]})
    findings = Engine(tree, inv, ansible_version=expected or None).run_playbook(path).findings
    assert [f.rule for f in findings] == rules


@pytest.mark.parametrize(("flavour", "names"), [("master", {}), ("2.27", {}), ("2.23", {})])
def test_todays_group_names_need_no_renaming(make_checkout: Callable[[str], Checkout], flavour: str,
                                             names: dict[str, str]) -> None:
    assert make_checkout(flavour).group_names == names


def test_half_renamed_inventory(tree_at: Callable[[dict[str, str]], Path]) -> None:
    # April 2021: kube-master had become kube_control_plane, kube-node not yet kube_node
    root = tree_at({"inventory/sample/inventory.ini": "[kube_control_plane]\n[kube-node]\n[k8s-cluster:children]\n"
                                                      "kube_control_plane\nkube-node\n"})
    assert inventory_group_names(DirTree(root)) == {"kube_node": "kube-node", "k8s_cluster": "k8s-cluster"}


def test_declared_kube_version_reads_the_old_cluster_group(make_checkout: Callable[[str], Checkout]) -> None:
    checkout = make_checkout("2021")
    assert declared_kube_version(checkout, {}, {"k8s-cluster": {"kube_version": "v1.18.15"}}) == "v1.18.15"


@pytest.mark.parametrize(("playbook", "fresh"), [
    ("playbooks/cluster.yml", True), ("cluster.yml", True), ("playbooks/upgrade-cluster.yml", False),
    ("playbooks/scale.yml", False), ("playbooks/recover-control-plane.yml", False), ("reset.yml", False),
])
def test_fresh_install(playbook: str, fresh: bool) -> None:
    assert fresh_install(playbook) is fresh
