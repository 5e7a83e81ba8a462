"""A cell through the engine: a small Kubespray-shaped playbook written here, run end to end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kvalidate.kubespray.checkout import open_checkout
from kvalidate.kubespray.inputs import cell_inputs, engine_inventory
from kvalidate.kubespray.scenario import default_cell, scenario_cell
from kvalidate.model import Cell
from kvalidate.run.cell import render_cell, run_cell
from kvalidate.trees.directory import DirTree

TREE = {
    "playbooks/cluster.yml": (
        "- hosts: all\n  gather_facts: false\n  roles: [dynamic_groups]\n"
        "- hosts: k8s_cluster\n  gather_facts: false\n  roles: [kubespray_defaults, demo]\n"),
    "roles/dynamic_groups/tasks/main.yml": (
        "- name: Match needed groups by their old names or definition\n"
        "  vars:\n    group_mappings:\n      kube_control_plane: [kube-master]\n"
        "      k8s_cluster: [kube_node, kube_control_plane, calico_rr]\n"
        "  group_by:\n    key: \"{{ item.key }}\"\n"
        "  when: group_names | intersect(item.value) | length > 0\n"
        "  loop: \"{{ group_mappings | dict2items }}\"\n"),
    "roles/kubespray_defaults/defaults/main/main.yml": (
        "kube_version: \"{{ (kubelet_checksums['amd64'] | dict2items)[0].key }}\"\n"
        "first_cp: \"{{ groups['kube_control_plane'] | first }}\"\n"
        "certificate_key: \"{{ lookup('password', credentials_dir + '/kubeadm_certificate_key.creds') }}\"\n"
        "credentials_dir: \"{{ inventory_dir }}/credentials\"\n"),
    "roles/kubespray_defaults/vars/main/checksums.yml": "kubelet_checksums:\n  amd64:\n    1.36.1: a\n    1.35.0: b\n",
    "roles/download/tasks/main.yml": "- name: emptied for oracle parity\n  set_fact:\n    downloaded: ran\n",
    "roles/demo/tasks/main.yml": (
        "- name: Download\n  include_tasks: ../../download/tasks/main.yml\n"
        "- name: Token\n  command: kubeadm token create\n  register: temp_token\n"
        "- name: Probe /usr\n  stat:\n    path: /usr\n  register: usr\n"
        "- name: Render demo\n  template:\n    src: demo.conf.j2\n    dest: /etc/demo.conf\n"),
    "roles/demo/templates/demo.conf.j2": (
        "host={{ inventory_hostname }} ip={{ ansible_default_ipv4.address }} os={{ ansible_distribution }}\n"
        "token={{ temp_token.stdout }} usr={{ usr.stat.writeable }} version={{ kube_version }}\n"
        "cp={{ first_cp }} cluster={{ groups['k8s_cluster'] | join(',') }}"
        " dns={{ dns_min_replicas | default('none') }} key={{ certificate_key }}"
        " dl={{ downloaded | default('skipped') }}\n"),
    "tests/common_vars.yml": "dns_min_replicas: 1\n",
    "tests/files/demo-sep.yml": "cloud_image: almalinux-9\nmode: separate\n",
    "tests/cloud_playbooks/roles/packet-ci/vars/main.yml": (
        "scenarios:\n  separate:\n    - node_groups: [kube_control_plane]\n    - node_groups: [kube_node]\n"
        "    - node_groups: [etcd]\n  all-in-one:\n    - node_groups: [kube_control_plane, etcd, kube_node]\n"),
    "inventory/sample/group_vars/k8s_cluster/k8s-cluster.yml": "dns_min_replicas: 7\n",
    "inventory/sample/group_vars/all/all.yml": "dns_min_replicas: 3\n",
}
KEY = "0c0ffee0" * 8


def texts(tree: Path, cell: Cell) -> dict[str, str]:
    inputs, result = render_cell(open_checkout(DirTree(tree)), cell)
    assert inputs.cell.name == cell.name
    return {f"{r.host}:{r.dest}": r.text for r in result.renderings}


@pytest.mark.parametrize(("cell", "expected"), [
    # CI scenario: common_vars + scenario as extra vars, `separate` layout, AlmaLinux facts;
    # the etcd-only host is outside k8s_cluster (dynamic_groups) and renders nothing
    (Cell("sep", scenario="demo-sep"), {
        "instance-1:/etc/demo.conf":
            "host=instance-1 ip=10.0.0.11 os=AlmaLinux\ntoken=abcdef.0123456789abcdef usr=True version=1.36.1\n"
            f"cp=instance-1 cluster=instance-1,instance-2 dns=1 key={KEY} dl=ran\n",
        "instance-2:/etc/demo.conf":
            "host=instance-2 ip=10.0.0.12 os=AlmaLinux\ntoken=abcdef.0123456789abcdef usr=True version=1.36.1\n"
            f"cp=instance-1 cluster=instance-1,instance-2 dns=1 key={KEY} dl=ran\n",
    }),
    # default cell: sample group_vars; k8s_cluster/ (a group made at run time) beats all/
    (Cell("default", kube_version="1.35"), {
        f"node{i}:/etc/demo.conf":
            f"host=node{i} ip=10.0.0.1{i} os=Ubuntu\ntoken=abcdef.0123456789abcdef usr=True version=1.35.0\n"
            f"cp=node1 cluster=node1,node2,node3 dns=7 key={KEY} dl=ran\n" for i in (1, 2, 3)
    }),
    (Cell("aio", scenario="demo-sep", layout="all-in-one", os="debian-12"), {
        "instance-1:/etc/demo.conf":
            "host=instance-1 ip=10.0.0.11 os=Debian\ntoken=abcdef.0123456789abcdef usr=True version=1.36.1\n"
            f"cp=instance-1 cluster=instance-1 dns=1 key={KEY} dl=ran\n",
    }),
])
def test_run_cell(tree_at: Callable[[dict[str, str]], Path], cell: Cell, expected: dict[str, str]) -> None:
    assert texts(tree_at(TREE), cell) == expected


def test_engine_inventory_keeps_group_order_and_vars(tree_at: Callable[[dict[str, str]], Path]) -> None:
    ck = open_checkout(DirTree(tree_at(TREE)))
    inputs = cell_inputs(ck, default_cell(ck))
    inv = engine_inventory(inputs)
    assert inv.members("kube_control_plane") == ["node1", "node2"]
    assert inv.groups["k8s_cluster"].vars == {"dns_min_replicas": 7}
    assert inv.source == "inventory/sample/hosts.yml"
    assert engine_inventory(cell_inputs(ck, scenario_cell(ck, "demo-sep"))).source == ""


def test_checkout_is_not_written(tree_at: Callable[[dict[str, str]], Path]) -> None:
    tree = tree_at(TREE)
    before = sorted((p.as_posix(), p.stat().st_mtime_ns) for p in tree.rglob("*"))
    texts(tree, Cell("default"))
    assert sorted((p.as_posix(), p.stat().st_mtime_ns) for p in tree.rglob("*")) == before


@pytest.mark.parametrize(("parity", "dl"), [(True, "dl=skipped"), (False, "dl=ran")])
def test_oracle_parity_skips_download(tree_at: Callable[[dict[str, str]], Path], parity: bool, dl: str) -> None:
    ck = open_checkout(DirTree(tree_at(TREE)))
    result = run_cell(cell_inputs(ck, scenario_cell(ck, "demo-sep")), oracle_parity=parity)
    assert {r.text.rstrip().rsplit(" ", 1)[-1] for r in result.renderings} == {dl}


STAT_TREE = {
    "playbooks/cluster.yml": "- hosts: all\n  gather_facts: false\n  roles: [kubespray_defaults, lb]\n",
    "roles/kubespray_defaults/defaults/main.yml": "x: 1\n",
    "roles/lb/tasks/main.yml": (
        "- template: {src: nginx.conf.j2, dest: /etc/nginx/nginx.conf}\n"
        "- stat: {path: /etc/nginx/./nginx.conf, get_checksum: true}\n  register: nginx_stat\n"
        "- stat: {path: /etc/other.conf}\n  register: other\n"
        "- template: {src: pod.j2, dest: /etc/kubernetes/manifests/nginx-proxy.yml}\n"),
    "roles/lb/templates/nginx.conf.j2": "upstream {{ inventory_hostname }};\n",
    "roles/lb/templates/pod.j2": "{{ nginx_stat.stat.exists }} {{ nginx_stat.stat.checksum | default('none') }}"
                                 " {{ other.stat.exists }}\n",
}


@pytest.mark.parametrize(("parity", "pod"), [
    # sha1("upstream node1;\n"), as ansible's stat reports it
    (False, "True aa9b8a0199b96affce8b2af7b2db55dbe6c59f41 False\n"),
    (True, "False none False\n"),  # the oracle's stat never sees files the run wrote
])
def test_stat_sees_written_files(tree_at: Callable[[dict[str, str]], Path], parity: bool, pod: str) -> None:
    ck = open_checkout(DirTree(tree_at(STAT_TREE)))
    _, result = render_cell(ck, Cell("default"), oracle_parity=parity)
    texts = {(r.host, r.dest): r.text for r in result.renderings}
    assert texts[("node1", "/etc/kubernetes/manifests/nginx-proxy.yml")] == pod


DOWNLOAD_TREE = {
    "playbooks/cluster.yml": "- hosts: all\n  gather_facts: false\n  roles: [kubespray_defaults, download, show]\n",
    "roles/kubespray_defaults/defaults/main.yml": "x: 1\n",
    "roles/download/tasks/main.yml": (
        "- set_fact: {prepared: yes}\n- include_tasks: download_file.yml\n"
        "- include_tasks: ../../container-engine/crictl/tasks/fetch.yml\n"),
    "roles/download/tasks/download_file.yml": "- set_fact: {fetched: yes}\n",
    "roles/container-engine/crictl/tasks/fetch.yml": "- include_tasks: ../../../download/tasks/download_file.yml\n",
    "roles/show/tasks/main.yml": "- template: {src: s.j2, dest: /etc/s}\n",
    "roles/show/templates/s.j2": "{{ prepared | default('-') }} {{ fetched | default('-') }}\n",
}


@pytest.mark.parametrize(("parity", "text"), [
    (False, "True -\n"),  # only the fetching is left out (FETCH_TASK_FILES)
    (True, "- -\n"),  # the oracle empties the whole download role
])
def test_download_role(tree_at: Callable[[dict[str, str]], Path], parity: bool, text: str) -> None:
    _, result = render_cell(open_checkout(DirTree(tree_at(DOWNLOAD_TREE))), Cell("default"), oracle_parity=parity)
    assert {r.text for r in result.renderings} == {text}
