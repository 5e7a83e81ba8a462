from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kvalidate.cli import main
from kvalidate.kubespray.checkout import open_checkout
from kvalidate.kubespray.inputs import cell_inputs, engine_inventory
from kvalidate.kubespray.inventory import inventory_cell
from kvalidate.kubespray.scenario import cell_spec
from kvalidate.model import Cell, SetupError
from kvalidate.run.cell import run_cell
from kvalidate.trees.directory import DirTree

INI = """\
[kube_control_plane]
cp1 ip=10.3.0.1 etcd_member_name=etcd1
cp2

[etcd:children]
kube_control_plane

[kube_node]
w1
cp1

[kube_node:vars]
node_label=worker
"""
YAML = """\
all:
  hosts:
    cp1: {ip: 10.3.0.1, etcd_member_name: etcd1}
    cp2: {}
    w1: {}
  children:
    kube_control_plane:
      hosts: {cp1: null, cp2: null}
    etcd:
      children: {kube_control_plane: {}}
    kube_node:
      hosts: {w1: null, cp1: null}
      vars: {node_label: worker}
"""
VARS = {
    "inv/group_vars/all/main.yml": "dns_min_replicas: 2\n",
    "inv/group_vars/k8s_cluster/k8s-cluster.yml": "kube_proxy_mode: iptables\n",  # a run-time group
    "inv/host_vars/cp2.yml": "ip: 10.3.0.2\n",
}


@pytest.mark.parametrize(("name", "text"), [("hosts.ini", INI), ("hosts.yml", YAML)])
def test_inventory_cell(tree_at: Callable[[dict[str, str]], Path], name: str, text: str) -> None:
    tree = DirTree(tree_at({f"inv/{name}": text, **VARS}))
    spec = inventory_cell(tree, f"inv/{name}", os="debian-12")
    inv = spec.inventory
    assert inv.hosts == ("cp1", "cp2", "w1")
    assert inv.members("kube_control_plane") == ("cp1", "cp2")
    assert inv.members("etcd") == ("cp1", "cp2")
    assert inv.members("kube_node") == ("w1", "cp1")
    assert dict(inv.host_vars) == {"cp1": {"ip": "10.3.0.1", "etcd_member_name": "etcd1"}, "cp2": {"ip": "10.3.0.2"}}
    assert spec.group_vars["all"] == {"dns_min_replicas": 2}
    assert spec.group_vars["k8s_cluster"] == {"kube_proxy_mode": "iptables"}
    assert spec.group_vars["kube_node"] == {"node_label": "worker"}
    assert (spec.os, spec.layout, spec.inventory_source) == ("debian-12", "inventory", f"inv/{name}")


def test_missing_inventory(tree_at: Callable[[dict[str, str]], Path]) -> None:
    with pytest.raises(SetupError, match="cannot read inventory inv/nope.ini"):
        inventory_cell(DirTree(tree_at(VARS)), "inv/nope.ini")


# (file, text, the line after "cannot read inventory ": FILE:LINE in TREE: message); before, each was
# an AttributeError/TypeError/LoadError internal-error finding (exit 1) or, worse, silently accepted
MALFORMED = [
    ("h.ini", "[kube_control_plane\nnode1\n", "h.ini:1", "invalid section header: [kube_control_plane"),
    ("h.ini", "[g]\nnode1\n[g:hostz]\nnode2\n", "h.ini:3", "section [g:hostz] has unknown type: hostz"),
    ("h.ini", "[all:vars]\nfoo\n", "h.ini:2", "expected key=value, got: foo"),
    ("h.ini", "[g]\nnode1 ip=1 ansible_host\n", "h.ini:2",
     "expected key=value host variable assignment, got: ansible_host"),
    ("h.ini", "[g]\n\nnode1 ip='10.0.0.1\n", "h.ini:3", "No closing quotation: node1 ip='10.0.0.1"),
    ("h.yml", "- node1\n- node2\n", "h.yml:1", "an inventory must be a mapping, not list"),
    ("h.yml", "all:\n  hosts: [node1, node2]\n", "h.yml:2", "hosts of group 'all' must be a mapping, not list"),
    ("h.yml", "all:\n  hosts:\n    node1: 7\n", "h.yml:3", "host 'node1' must be a mapping, not int"),
    ("h.yml", "all:\n  vars: [1]\n", "h.yml:2", "vars of group 'all' must be a mapping, not list"),
    ("h.yml", "all:\n  children:\n    k8s:\n      children:\n        etcd: 5\n", "h.yml:5",
     "group 'etcd' must be a mapping, not int"),
    ("h.yml", "all:\n  children: yes\n", "h.yml:2", "children of group 'all' must be a mapping, not bool"),
    ("h.yml", "all: {hosts: {a: 1\n", "h.yml:2", "YAML error: while parsing a flow mapping"),
    ("h.json", '{"all": {"hosts": {"a": {}}, "vars": "x"}}', "h.json:1", "vars of group 'all' must be a mapping"),
]


@pytest.mark.parametrize(("name", "text", "where", "message"), MALFORMED)
def test_a_malformed_inventory_is_one_line_naming_file_and_line(
        tree_at: Callable[[dict[str, str]], Path], name: str, text: str, where: str, message: str) -> None:
    root = tree_at({f"inv/{name}": text})
    with pytest.raises(SetupError) as e:
        inventory_cell(DirTree(root), f"inv/{name}")
    line = " ".join(str(e.value).split())
    assert line.startswith(f"cannot read inventory inv/{where} in {root}: {message}"), line


def test_a_malformed_inventory_through_check_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkout = tmp_path / "ks"
    for rel, text in CHECKOUT.items():
        (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
        (checkout / rel).write_text(text)
    (tmp_path / "bad.ini").write_text("[kube_node]\nnode1\n[kube_node:vars\n")
    code = main(["check", str(checkout), "--no-config", "-j", "1", "--inventory", str(tmp_path / "bad.ini")])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"kvalidate: cannot read inventory bad.ini:3 in {tmp_path}: invalid section header: "
                                "[kube_node:vars"]


CHECKOUT = {
    "playbooks/cluster.yml": (
        "- hosts: all\n  gather_facts: false\n  roles: [dynamic_groups]\n"
        "- hosts: k8s_cluster\n  gather_facts: false\n  roles: [kubespray_defaults, demo]\n"),
    "roles/dynamic_groups/tasks/main.yml": (
        "- group_by:\n    key: \"{{ item.key }}\"\n"
        "  when: group_names | intersect(item.value) | length > 0\n"
        "  loop: \"{{ {'k8s_cluster': ['kube_node', 'kube_control_plane']} | dict2items }}\"\n"),
    "roles/kubespray_defaults/defaults/main.yml": "kube_proxy_mode: ipvs\ncredentials_dir: \"{{ inventory_dir }}/c\"\n",
    "roles/demo/tasks/main.yml": "- template:\n    src: t.j2\n    dest: /etc/t\n",
    "roles/demo/templates/t.j2": (
        "{{ inventory_hostname }} {{ ip | default(ansible_default_ipv4.address) }} {{ kube_proxy_mode }}"
        " {{ dns_min_replicas }} {{ node_label | default('-') }} {{ credentials_dir }}\n"),
}


def test_user_inventory_through_the_engine(tree_at: Callable[[dict[str, str]], Path]) -> None:
    root = tree_at({**CHECKOUT, **{f"inventory/mine/{k.removeprefix('inv/')}": v for k, v in VARS.items()},
                    "inventory/mine/hosts.ini": INI})
    ck = open_checkout(DirTree(root))
    base = inventory_cell(ck.tree, "inventory/mine/hosts.ini")
    inputs = cell_inputs(ck, cell_spec(ck, Cell("mine", extra_vars={"dns_min_replicas": 9}), base=base))
    assert engine_inventory(inputs).source == "inventory/mine/hosts.ini"
    texts = {r.host: r.text for r in run_cell(inputs).renderings}
    assert texts == {
        "cp1": "cp1 10.3.0.1 iptables 9 worker /checkout/inventory/mine/c\n",
        "cp2": "cp2 10.3.0.2 iptables 9 - /checkout/inventory/mine/c\n",
        "w1": "w1 10.0.0.13 iptables 9 worker /checkout/inventory/mine/c\n",
    }
