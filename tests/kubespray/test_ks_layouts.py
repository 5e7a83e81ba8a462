from __future__ import annotations

import pytest

from kvalidate.kubespray.layouts import (
    CI_LAYOUTS,
    GROUP_MAPPINGS,
    HostLayout,
    apply_dynamic_groups,
    ci_inventory,
    default_inventory,
    layout_inventory,
    legacy_layout_inventory,
    needs_etcd,
    parse_cluster_layout,
    with_needs_etcd,
)

I1, I2, I3, I4 = "instance-1", "instance-2", "instance-3", "instance-4"


@pytest.mark.parametrize(("mode", "hosts", "groups"), [
    ("default", (I1, I2), {"kube_control_plane": (I1,), "etcd": (I1,), "kube_node": (I2,)}),
    ("separate", (I1, I2, I3), {"kube_control_plane": (I1,), "kube_node": (I2,), "etcd": (I3,)}),
    ("all-in-one", (I1,), {"kube_control_plane": (I1,), "etcd": (I1,), "kube_node": (I1,)}),
    ("ha", (I1, I2, I3), {"kube_control_plane": (I1, I2), "etcd": (I1, I2, I3), "kube_node": (I3,)}),
    ("ha-recover", (I1, I2, I3), {"kube_control_plane": (I1, I2), "etcd": (I1, I2, I3),
                                  "broken_kube_control_plane": (I2,), "broken_etcd": (I2,),
                                  "kube_node": (I3,)}),
    ("ha-recover-noquorum", (I1, I2, I3), {"kube_control_plane": (I1, I2), "etcd": (I1, I2, I3),
                                           "broken_kube_control_plane": (I1, I2),
                                           "broken_etcd": (I1, I2), "kube_node": (I3,)}),
    ("node-etcd-client", (I1, I2, I3, I4), {"kube_node": (I1, I2, I3, I4), "kube_control_plane": (I1,),
                                            "etcd": (I1, I2, I3)}),
])
def test_ci_modes(mode: str, hosts: tuple[str, ...], groups: dict[str, tuple[str, ...]]) -> None:
    inv = ci_inventory(mode)
    assert inv.hosts == hosts
    assert dict(inv.groups) == groups
    assert inv.children == {}


def test_every_ci_mode_is_known() -> None:
    assert set(CI_LAYOUTS) == {"default", "separate", "ha", "all-in-one", "ha-recover",
                               "ha-recover-noquorum", "node-etcd-client"}


@pytest.mark.parametrize(("mode", "group", "members", "host_vars"), [
    ("ha-recover", "etcd", (I3, I1, I2), {I2: {"etcd_member_name": "etcd3"}}),
    ("ha-recover-noquorum", "kube_control_plane", (I3, I1, I2),
     {I1: {"etcd_member_name": "etcd2"}, I2: {"etcd_member_name": "etcd3"}}),
    ("multinode", "kube_node", (I2, I3), {}),
    ("separate-scale", "etcd", (I3,), {}),
])
def test_legacy_layouts_keep_template_order(mode: str, group: str, members: tuple[str, ...],
                                            host_vars: dict[str, dict[str, str]]) -> None:
    inv = legacy_layout_inventory(mode)
    assert inv.groups[group] == members
    assert dict(inv.host_vars) == host_vars
    assert inv.members("k8s_cluster") == tuple(
        dict.fromkeys(inv.groups["kube_control_plane"] + inv.groups["kube_node"]))


@pytest.mark.parametrize(("value", "expected"), [
    ([{"node_groups": ["kube_control_plane", "etcd"]}, {"node_groups": ["kube_node"]}],
     (("kube_control_plane", "etcd"), ("kube_node",))),
    ([["kube_control_plane"], ["etcd"]], (("kube_control_plane",), ("etcd",))),
])
def test_parse_cluster_layout(value: object, expected: tuple[tuple[str, ...], ...]) -> None:
    assert parse_cluster_layout(value) == expected


@pytest.mark.parametrize("value", [[], "ha", [{"node_groups": "etcd"}], [[1]], None])
def test_parse_cluster_layout_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_cluster_layout(value)


def test_default_inventory() -> None:
    inv = default_inventory()
    assert inv.hosts == ("node1", "node2", "node3")
    assert inv.group_names("node1") == ("etcd", "kube_control_plane", "kube_node")
    assert inv.group_names("node3") == ("etcd", "kube_node")
    assert default_inventory(static_k8s_cluster=True).members("k8s_cluster") == inv.hosts


@pytest.mark.parametrize(("inv", "fallback", "expected"), [
    # k8s_cluster = kube_node + kube_control_plane + calico_rr, in host order
    (ci_inventory("separate"), None, {"k8s_cluster": (I1, I2), "etcd": (I3,)}),
    (ci_inventory("all-in-one"), None, {"k8s_cluster": (I1,)}),
    # legacy names join the new groups; k8s_cluster only sees the groups held before the task
    (HostLayout((I1, I2), {"kube-master": (I1,), "kube_node": (I2,)}), None,
     {"kube_control_plane": (I1,), "k8s_cluster": (I2,)}),
    # release-2.24..2.28: every unmatched mapping puts the host in `_all`
    (ci_inventory("default"), "_all", {"k8s_cluster": (I1, I2), "_all": (I1, I2)}),
])
def test_dynamic_groups(inv: HostLayout, fallback: str | None, expected: dict[str, tuple[str, ...]]) -> None:
    out = apply_dynamic_groups(inv, GROUP_MAPPINGS, fallback)
    for group, members in expected.items():
        assert out.members(group) == members
    assert ("k8s_cluster" in out.group_names(out.hosts[0])) is (out.hosts[0] in out.members("k8s_cluster"))


def test_dynamic_groups_keep_static_members() -> None:
    inv = default_inventory(static_k8s_cluster=True)
    out = apply_dynamic_groups(inv)
    assert out.groups.get("k8s_cluster", ()) == ()
    assert out.members("k8s_cluster") == ("node1", "node2", "node3")


@pytest.mark.parametrize(("plugin", "datastore", "etcd_type", "extra", "expected"), [
    ("calico", "kdd", "host", False, False),
    ("calico", "etcd", "host", False, True),
    ("cilium", "kdd", "host", False, True),
    ("flannel", "kdd", "kubeadm", False, False),
    ("calico", "kdd", "host", True, True),
])
def test_needs_etcd(plugin: str, datastore: str, etcd_type: str, extra: bool, expected: bool) -> None:
    assert needs_etcd(plugin, datastore, etcd_type, extra) is expected


def test_with_needs_etcd() -> None:
    inv = with_needs_etcd(ci_inventory("ha"))
    assert inv.members("_kubespray_needs_etcd") == (I3,)


def test_layout_inventory_prefix_and_static_group() -> None:
    inv = layout_inventory((("etcd", "kube_node"),), prefix="k8s-", static_k8s_cluster=True)
    assert inv.hosts == ("k8s-1",)
    assert inv.members("k8s_cluster") == ("k8s-1",)
    assert inv.group_names("k8s-1") == ("etcd", "k8s_cluster", "kube_node")


def test_etcd_only_host_stays_out_of_k8s_cluster() -> None:
    out = apply_dynamic_groups(ci_inventory("separate"))
    assert out.group_names(I3) == ("etcd",)
    assert out.group_names(I1) == ("k8s_cluster", "kube_control_plane")
