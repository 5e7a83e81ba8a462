from __future__ import annotations

from collections.abc import Callable

import pytest

from kvalidate.kubespray.checkout import Checkout
from kvalidate.kubespray.layouts import HostLayout
from kvalidate.kubespray.scenario import (
    CellSpec,
    cell_spec,
    default_cell,
    find_scenario,
    kube_version_value,
    layout_by_name,
    read_ci_layouts,
    scenario_cell,
    with_overrides,
)
from kvalidate.model import Cell, SetupError

I1, I2, I3, I4 = "instance-1", "instance-2", "instance-3", "instance-4"
MakeCheckout = Callable[[str], Checkout]


@pytest.mark.parametrize(("flavour", "scenario", "layout", "os", "hosts", "etcd"), [
    ("master", "demo-aio", "all-in-one", "debian-12", (I1,), (I1,)),
    ("master", "demo-default", "default", "almalinux-9", (I1, I2), (I1,)),
    ("master", "demo-layout", "cluster_layout", "ubuntu-2404", (I1, I2, I3, I4), (I3, I4)),
    ("master", "demo-dual", "vagrant", "ubuntu-2404", ("k8s-1", "k8s-2", "k8s-3"), ("k8s-1", "k8s-2", "k8s-3")),
    ("2.27", "demo-aio", "all-in-one", "debian-12", (I1,), (I1,)),
    ("2.23", "demo-default", "default", "almalinux-9", (I1, I2), (I1,)),
])
def test_scenario_cell(make_checkout: MakeCheckout, flavour: str, scenario: str, layout: str, os: str,
                       hosts: tuple[str, ...], etcd: tuple[str, ...]) -> None:
    cell = scenario_cell(make_checkout(flavour), scenario)
    assert (cell.name, cell.layout, cell.os) == (scenario, layout, os)
    assert cell.inventory.hosts == hosts
    assert cell.inventory.members("etcd") == etcd
    assert cell.group_vars_dir == (None if flavour == "master" else "inventory/sample/group_vars")  # CI inventory


@pytest.mark.parametrize(("flavour", "files", "plugin"), [
    # scenario vars beat common_vars (both are extra vars, later file wins)
    ("master", ("tests/common_vars.yml", "tests/files/demo-aio.yml"), "cilium"),
    ("master", ("tests/common_vars.yml", "tests/files/demo-default.yml"), "calico"),
    ("2.23", ("tests/files/demo-aio.yml",), "cilium"),  # no tests/common_vars.yml there
])
def test_extra_vars(make_checkout: MakeCheckout, flavour: str, files: tuple[str, ...], plugin: str) -> None:
    cell = scenario_cell(make_checkout(flavour), files[-1])
    assert cell.extra_var_files == files
    assert cell.extra_vars.get("kube_network_plugin") == plugin
    assert "cloud_image" in cell.extra_vars  # instance keys stay: CI passes them too


def test_legacy_layout_has_static_k8s_cluster(make_checkout: MakeCheckout) -> None:
    inv = scenario_cell(make_checkout("2.23"), "demo-aio").inventory
    assert inv.children["k8s_cluster"] == ("kube_control_plane", "kube_node", "calico_rr")
    assert inv.members("k8s_cluster") == (I1,)


@pytest.mark.parametrize(("scenario", "path"), [
    ("demo-aio", "tests/files/demo-aio.yml"),  # not the bash env file `demo-aio`
    ("demo-aio.yml", "tests/files/demo-aio.yml"),
    ("tests/files/demo-layout.yml", "tests/files/demo-layout.yml"),
])
def test_find_scenario(make_checkout: MakeCheckout, scenario: str, path: str) -> None:
    assert find_scenario(make_checkout("master").tree, scenario) == path


@pytest.mark.parametrize("scenario", ["nope", "../etc/passwd", "/etc/passwd"])
def test_unknown_scenario(make_checkout: MakeCheckout, scenario: str) -> None:
    with pytest.raises(SetupError, match="no scenario"):
        find_scenario(make_checkout("master").tree, scenario)


@pytest.mark.parametrize(("flavour", "needs_static"), [("master", False), ("2.27", False), ("2.23", True)])
def test_default_cell(make_checkout: MakeCheckout, flavour: str, needs_static: bool) -> None:
    cell = default_cell(make_checkout(flavour))
    assert cell.inventory.hosts == ("node1", "node2", "node3")
    assert cell.inventory.members("kube_control_plane") == ("node1", "node2")
    assert cell.group_vars_dir == "inventory/sample/group_vars"
    assert cell.os == "ubuntu-2404" and cell.extra_vars == {}
    assert ("k8s_cluster" in cell.inventory.children) is needs_static


def test_ci_layouts_from_checkout(make_checkout: MakeCheckout) -> None:
    for flavour in ("master", "2.27"):
        assert read_ci_layouts(make_checkout(flavour).tree) == {
            "default": (("kube_control_plane", "etcd"), ("kube_node",)),
            "all-in-one": (("kube_control_plane", "etcd", "kube_node"),)}


@pytest.mark.parametrize(("flavour", "name", "hosts"), [
    ("master", "all-in-one", (I1,)),
    ("2.23", "ha-recover", (I1, I2, I3)),
])
def test_layout_by_name(make_checkout: MakeCheckout, flavour: str, name: str, hosts: tuple[str, ...]) -> None:
    assert layout_by_name(make_checkout(flavour), name).hosts == hosts


def test_unknown_layout(make_checkout: MakeCheckout) -> None:
    with pytest.raises(SetupError, match="unknown layout 'ha'"):
        layout_by_name(make_checkout("master"), "ha")  # this tree's packet-ci lists two modes


def test_overrides(make_checkout: MakeCheckout) -> None:
    ck = make_checkout("master")
    cell = with_overrides(scenario_cell(ck, "demo-aio"), {"kube_network_plugin": "flannel", "x": 1},
                          extra_var_files=("my.yml",), os="almalinux-9",
                          inventory=layout_by_name(ck, "default"), layout="default")
    assert cell.extra_vars["kube_network_plugin"] == "flannel" and cell.extra_vars["x"] == 1
    assert cell.extra_var_files[-1] == "my.yml"
    assert (cell.os, cell.layout, cell.inventory.hosts) == ("almalinux-9", "default", (I1, I2))


@pytest.mark.parametrize(("cell", "name", "hosts", "os", "kube_version", "plugin"), [
    (Cell("default"), "default", ("node1", "node2", "node3"), "ubuntu-2404", None, None),
    (Cell("c1", scenario="demo-aio"), "c1", (I1,), "debian-12", None, "cilium"),
    (Cell("c2", scenario="tests/files/demo-aio.yml", layout="default", os="almalinux-9",
          kube_version="1.35", extra_vars={"kube_network_plugin": "flannel"}),
     "c2", (I1, I2), "almalinux-9", "1.35.2", "flannel"),
    (Cell("c3", kube_version="1.34.0"), "c3", ("node1", "node2", "node3"), "ubuntu-2404", "1.34.0", None),
])
def test_cell_spec(make_checkout: MakeCheckout, cell: Cell, name: str, hosts: tuple[str, ...], os: str,
                   kube_version: str | None, plugin: str | None) -> None:
    spec = cell_spec(make_checkout("master"), cell)
    assert (spec.name, spec.inventory.hosts, spec.os) == (name, hosts, os)
    assert spec.extra_vars.get("kube_version") == kube_version
    assert spec.extra_vars.get("kube_network_plugin") == plugin


def test_cell_spec_on_a_base_cell(make_checkout: MakeCheckout) -> None:
    inv = HostLayout(("cp", "w"), {"kube_control_plane": ("cp",), "etcd": ("cp",), "kube_node": ("w",)})
    base = CellSpec(name="mine", inventory=inv, os="debian-12", layout="inventory",
                    group_vars={"all": {"a": 1}}, inventory_source="inv/hosts.ini")
    spec = cell_spec(make_checkout("master"), Cell("c", extra_vars={"b": 2}, kube_version="1.34"), base=base)
    assert (spec.name, spec.inventory, spec.os, spec.group_vars) == ("c", inv, "debian-12", {"all": {"a": 1}})
    assert spec.extra_vars == {"b": 2, "kube_version": "1.34.0"}
    assert spec.inventory_source == "inv/hosts.ini"


@pytest.mark.parametrize(("flavour", "wanted", "value"), [
    ("master", "1.35", "1.35.2"), ("master", "1.35.0", "1.35.0"), ("2.27", "1.30.0", "v1.30.0"),
    ("2.27", "v1.31", "v1.31.2"),
])
def test_kube_version_value(make_checkout: MakeCheckout, flavour: str, wanted: str, value: str) -> None:
    assert kube_version_value(make_checkout(flavour), wanted) == value


def test_kube_version_unsupported(make_checkout: MakeCheckout) -> None:
    with pytest.raises(SetupError, match="Kubernetes 1.20 is not supported"):
        cell_spec(make_checkout("master"), Cell("x", kube_version="1.20"))


@pytest.mark.parametrize(("flavour", "group_vars_dir"), [
    ("master", None), ("2.27", "inventory/sample/group_vars"), ("2.23", "inventory/sample/group_vars")])
def test_ci_inventory_group_vars(make_checkout: MakeCheckout, flavour: str, group_vars_dir: str | None) -> None:
    """CI's inventory inside inventory/sample (2.23 .gitlab-ci.yml, 2.27 testcases_run.sh) brings the
    sample's group_vars to every scenario; master's /tmp/inventory brings none."""
    checkout = make_checkout(flavour)
    assert checkout.ci_inventory_dir == ("inventory/sample" if group_vars_dir else "")
    assert scenario_cell(checkout, "demo-aio").group_vars_dir == group_vars_dir


def test_old_group_names_in_the_cells_inventory(make_checkout: MakeCheckout) -> None:
    # a 2021 checkout's plays read groups['kube-master']: the default cell and a CI layout use its names
    checkout = make_checkout("2021")
    spec = cell_spec(checkout, Cell("default"))
    assert dict(spec.inventory.groups) == {"kube-master": ("node1", "node2"), "etcd": ("node1", "node2", "node3"),
                                           "kube-node": ("node1", "node2", "node3")}
    assert dict(spec.inventory.children) == {"k8s-cluster": ("kube-master", "kube-node", "calico-rr")}
    assert spec.inventory.members("k8s-cluster") == ("node1", "node2", "node3")
    ha = cell_spec(checkout, Cell("ha", layout="ha"))
    assert set(ha.inventory.groups) == {"kube-master", "etcd", "kube-node"}
    # today's names stay
    assert set(cell_spec(make_checkout("master"), Cell("default")).inventory.groups) == {
        "kube_control_plane", "etcd", "kube_node"}
