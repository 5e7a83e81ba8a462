"""Inventories as plain data: Kubespray's CI layouts, the default 3-node cell, dynamic groups.

A `HostLayout` is what the Ansible engine's inventory is built from: hosts in `groups['all']`
order, each group's direct members in order, static child groups, and host vars. Host names
and order follow the reference renderer (docs/fidelity.md): CI layouts name their hosts
`instance-1..N` in layout order; the default cell is the oracle's `inventory/hosts.yml`.

Sources:
- master, release-2.27: `tests/cloud_playbooks/roles/packet-ci/vars/main.yml` (`scenarios:`; a
  list of `{node_groups: [...]}` on master, a list of group lists on 2.27). `read_ci_layouts`
  reads it from the checkout; `CI_LAYOUTS` is master's copy.
- release-2.23..2.26: `tests/cloud_playbooks/roles/packet-ci/templates/inventory.j2` wrote an INI
  inventory with a static `[k8s_cluster:children]`, its own member order (ha-recover's etcd group
  is instance-3,1,2) and `etcd_member_name` host vars: `LEGACY_LAYOUTS`.
- the dynamic groups: `roles/dynamic_groups/tasks/main.yml` (2.29+), the same `group_by` inline in
  `playbooks/boilerplate.yml` (2.24..2.28, with a `_all` fallback key), `playbooks/legacy_groups.yml`
  (<= 2.23, one play per old group name). `kvalidate.kubespray.checkout` reads which one applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

K8S_CLUSTER_CHILDREN = ("kube_control_plane", "kube_node", "calico_rr")


@dataclass(frozen=True)
class HostLayout:
    """Hosts in `groups['all']` order; `groups` maps a group to its direct hosts, in order."""

    hosts: tuple[str, ...]
    groups: Mapping[str, tuple[str, ...]]
    children: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    host_vars: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def members(self, group: str) -> tuple[str, ...]:
        """Hosts of `group` and of its child groups, as Ansible orders `groups[group]`."""
        if group == "all":
            return self.hosts
        out: list[str] = []
        seen_groups: set[str] = set()
        todo = [group]
        while todo:  # own hosts first, then each child's (Group.get_descendants order)
            g = todo.pop(0)
            if g in seen_groups:
                continue
            seen_groups.add(g)
            out += [h for h in self.groups.get(g, ()) if h not in out]
            todo += list(self.children.get(g, ()))
        return tuple(out)

    def group_names(self, host: str) -> tuple[str, ...]:
        """Sorted groups of `host`, parents included, without `all` (Ansible's `group_names`)."""
        names = {g for g in self.all_groups() if host in self.members(g)}
        if not names:
            names = {"ungrouped"}
        return tuple(sorted(names))

    def all_groups(self) -> tuple[str, ...]:
        names = list(self.groups)
        for parent, kids in self.children.items():
            names += [parent, *kids]
        return tuple(dict.fromkeys(names))


# master's `scenarios:` (tests/cloud_playbooks/roles/packet-ci/vars/main.yml); the oracle's CI_LAYOUTS
CI_LAYOUTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "separate": (("kube_control_plane",), ("kube_node",), ("etcd",)),
    "ha": (("kube_control_plane", "etcd"), ("kube_control_plane", "etcd"), ("kube_node", "etcd")),
    "default": (("kube_control_plane", "etcd"), ("kube_node",)),
    "all-in-one": (("kube_control_plane", "etcd", "kube_node"),),
    "ha-recover": (
        ("kube_control_plane", "etcd"),
        ("kube_control_plane", "etcd", "broken_kube_control_plane", "broken_etcd"),
        ("kube_node", "etcd"),
    ),
    "ha-recover-noquorum": (
        ("kube_control_plane", "etcd", "broken_kube_control_plane", "broken_etcd"),
        ("kube_control_plane", "etcd", "broken_kube_control_plane", "broken_etcd"),
        ("kube_node", "etcd"),
    ),
    "node-etcd-client": (
        ("kube_node", "kube_control_plane", "etcd"),
        ("kube_node", "etcd"),
        ("kube_node", "etcd"),
        ("kube_node",),
    ),
}

_I = "instance-"
# release-2.23..2.26 inventory.j2: group -> members in the template's order, plus host vars
LEGACY_LAYOUTS: dict[str, tuple[int, dict[str, tuple[int, ...]], dict[int, dict[str, str]]]] = {
    "separate": (3, {"kube_control_plane": (1,), "kube_node": (2,), "etcd": (3,)}, {}),
    "ha": (3, {"kube_control_plane": (1, 2), "kube_node": (3,), "etcd": (1, 2, 3)}, {}),
    "default": (2, {"kube_control_plane": (1,), "kube_node": (2,), "etcd": (1,)}, {}),
    "all-in-one": (1, {"kube_control_plane": (1,), "kube_node": (1,), "etcd": (1,)}, {}),
    "ha-recover": (3, {"kube_control_plane": (1, 2), "kube_node": (3,), "etcd": (3, 1, 2),
                       "broken_kube_control_plane": (2,), "broken_etcd": (2,)},
                   {2: {"etcd_member_name": "etcd3"}}),
    "ha-recover-noquorum": (3, {"kube_control_plane": (3, 1, 2), "kube_node": (3,), "etcd": (3, 1, 2),
                                "broken_kube_control_plane": (1, 2), "broken_etcd": (1, 2)},
                            {1: {"etcd_member_name": "etcd2"}, 2: {"etcd_member_name": "etcd3"}}),
    "multinode": (3, {"kube_control_plane": (1,), "etcd": (1,), "kube_node": (2, 3)}, {}),
}
LEGACY_LAYOUTS["separate-scale"] = LEGACY_LAYOUTS["separate"]
LEGACY_LAYOUTS["ha-scale"] = LEGACY_LAYOUTS["ha"]

# Vagrant scenarios (tests/files/*.rb + Vagrantfile defaults): 3 instances, 2 control planes
VAGRANT_LAYOUT: tuple[tuple[str, ...], ...] = (
    ("etcd", "kube_control_plane", "kube_node"),
    ("etcd", "kube_control_plane", "kube_node"),
    ("etcd", "kube_node"),
)


def renamed(layout: HostLayout, names: Mapping[str, str]) -> HostLayout:
    """`layout` with its groups renamed (`names`: group -> new name), children and members alike."""
    if not names:
        return layout
    groups = {names.get(g, g): m for g, m in layout.groups.items()}
    children = {names.get(g, g): tuple(names.get(k, k) for k in kids) for g, kids in layout.children.items()}
    return HostLayout(layout.hosts, groups, children, layout.host_vars)


def layout_inventory(node_groups: Sequence[Sequence[str]], prefix: str = _I,
                     static_k8s_cluster: bool = False) -> HostLayout:
    """Hosts `instance-1..N` from a list of per-host group lists (a CI `cluster_layout`).

    Groups appear in first-use order and list their hosts in host order, as the oracle's
    `layout_inventory` writes them. `static_k8s_cluster` adds the `k8s_cluster:children` that
    inventories had to declare before Kubespray computed the group (<= 2.23).
    """
    hosts = tuple(f"{prefix}{i}" for i in range(1, len(node_groups) + 1))
    groups: dict[str, list[str]] = {}
    for host, gs in zip(hosts, node_groups, strict=True):
        for g in gs:
            groups.setdefault(g, []).append(host)
    children = {"k8s_cluster": K8S_CLUSTER_CHILDREN} if static_k8s_cluster else {}
    return HostLayout(hosts, {g: tuple(m) for g, m in groups.items()}, children)


def legacy_layout_inventory(mode: str) -> HostLayout:
    """The inventory release-2.23..2.26 CI wrote for `mode` (static k8s_cluster children)."""
    if mode not in LEGACY_LAYOUTS:
        raise KeyError(mode)
    n, members, hvars = LEGACY_LAYOUTS[mode]
    hosts = tuple(f"{_I}{i}" for i in range(1, n + 1))
    groups = {g: tuple(f"{_I}{i}" for i in idx) for g, idx in members.items()}
    groups.setdefault("calico_rr", ())
    return HostLayout(hosts, groups, {"k8s_cluster": K8S_CLUSTER_CHILDREN},
                     {f"{_I}{i}": v for i, v in hvars.items()})


def ci_inventory(mode: str, layouts: Mapping[str, Sequence[Sequence[str]]] | None = None) -> HostLayout:
    """The inventory of CI mode `mode` from `layouts` (default: master's `CI_LAYOUTS`)."""
    table = CI_LAYOUTS if layouts is None else layouts
    if mode not in table:
        raise KeyError(mode)
    return layout_inventory(table[mode])


def parse_cluster_layout(value: Any) -> tuple[tuple[str, ...], ...]:
    """A `cluster_layout` / `scenarios[mode]` value: `[{node_groups: [..]}, ...]` or `[[..], ...]`."""
    if not isinstance(value, list) or not value:
        raise ValueError("a cluster layout is a non-empty list of hosts")
    out: list[tuple[str, ...]] = []
    for entry in value:
        gs = entry.get("node_groups") if isinstance(entry, dict) else entry
        if not isinstance(gs, list) or not all(isinstance(g, str) for g in gs):
            raise ValueError(f"bad cluster layout entry: {entry!r}")
        out.append(tuple(gs))
    return tuple(out)


def default_inventory(static_k8s_cluster: bool = False) -> HostLayout:
    """The default cell's hosts (oracle `inventory/hosts.yml`): node1, node2 control planes, 3 etcd."""
    hosts = ("node1", "node2", "node3")
    groups = {"kube_control_plane": ("node1", "node2"), "etcd": hosts, "kube_node": hosts}
    children = {"k8s_cluster": K8S_CLUSTER_CHILDREN} if static_k8s_cluster else {}
    return HostLayout(hosts, groups, children)


# roles/dynamic_groups/tasks/main.yml (master): group -> the groups whose hosts it gets
GROUP_MAPPINGS: dict[str, tuple[str, ...]] = {
    "kube_control_plane": ("kube-master",),
    "kube_node": ("kube-node",),
    "calico_rr": ("calico-rr",),
    "no_floating": ("no-floating",),
    "k8s_cluster": ("kube_node", "kube_control_plane", "calico_rr"),
}


def apply_dynamic_groups(inv: HostLayout, mappings: Mapping[str, Sequence[str]] = GROUP_MAPPINGS,
                         fallback: str | None = None) -> HostLayout:
    """The inventory after Kubespray's `group_by` loop over `mappings`.

    Each host joins `key` when its `group_names` (taken before the task, as Ansible computes task
    vars once per host) meets `mappings[key]`; with `fallback` (release-2.24..2.28's `_all`
    ternary) it joins that group for every mapping it does not match. Hosts are appended in
    inventory order. `needs_etcd_group` adds `_kubespray_needs_etcd` separately.
    """
    before = {h: set(inv.group_names(h)) for h in inv.hosts}
    groups = {g: list(m) for g, m in inv.groups.items()}
    for host in inv.hosts:
        for key, sources in mappings.items():
            target = key if before[host] & set(sources) else fallback
            if target is None:
                continue
            members = groups.setdefault(target, [])
            if host not in members and host not in inv.members(target):
                members.append(host)
    return HostLayout(inv.hosts, {g: tuple(m) for g, m in groups.items()}, inv.children, inv.host_vars)


def needs_etcd(kube_network_plugin: str, calico_datastore: str, etcd_deployment_type: str,
               cilium_deploy_additionally: bool = False) -> bool:
    """`playbooks/install_etcd.yml`: do kube_node hosts join `_kubespray_needs_etcd`?"""
    plugin_needs = (kube_network_plugin in ("flannel", "canal", "cilium") or cilium_deploy_additionally
                    or (kube_network_plugin == "calico" and calico_datastore == "etcd"))
    return plugin_needs and etcd_deployment_type != "kubeadm"


def with_needs_etcd(inv: HostLayout) -> HostLayout:
    """Add `_kubespray_needs_etcd` = the kube_node hosts (call when `needs_etcd(...)` holds)."""
    groups = dict(inv.groups)
    groups["_kubespray_needs_etcd"] = inv.members("kube_node")
    return HostLayout(inv.hosts, groups, inv.children, inv.host_vars)
