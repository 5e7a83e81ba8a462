"""node-local-cluster-config: a cluster-wide kubeadm ClusterConfiguration holding one host's own address.

kubeadm keeps a single ClusterConfiguration for the whole cluster (the `kubeadm-config` ConfigMap,
written by the first control plane's `kubeadm init`); every later control plane joins with that copy.
A value in it that is node-local (a host's own IP, like `apiServer.extraArgs.advertise-address`) is
therefore the first control plane's value everywhere: every API server advertised the first node's
IP (a real Kubespray bug). Node-local values belong in InitConfiguration/JoinConfiguration
(`localAPIEndpoint.advertiseAddress`).

The rule renders the configuration per control plane (as the cell already does) and compares: a
component flag (`apiServer`, `controllerManager`, `scheduler`, `etcd.local` `extraArgs`) whose value
differs between hosts and contains the rendering host's own address is reported on every host that
renders it. Fields that differ by host name only (etcd client certificate paths, named per node) are
not addresses and pass; `controlPlaneEndpoint` is an endpoint every node dials, and without a load
balancer Kubespray deliberately renders it per control plane, so it is not a flag this rule judges.

FAIL (rendered for two control planes, 10.0.0.11 and 10.0.0.12):

    kind: ClusterConfiguration
    apiServer:
      extraArgs:
        - name: advertise-address
          value: "10.0.0.11"

PASS: the address in InitConfiguration's `localAPIEndpoint.advertiseAddress` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kvalidate.model import Document, Finding, Severity, field_path
from kvalidate.rules.context import CellContext, finding, flatten

ID = "node-local-cluster-config"
SEVERITY = Severity.ERROR
SUMMARY = ("A kubeadm ClusterConfiguration (cluster-wide: kubeadm keeps the first control plane's copy) carries a "
           "component flag holding the rendering host's own address.")
KINDS = {"ClusterConfiguration"}


def _documents(ctx: CellContext) -> dict[str, list[tuple[Document, dict[tuple[str | int, ...], Any]]]]:
    """template -> [(ClusterConfiguration document, its flattened values)], one per host."""
    out: dict[str, list[tuple[Document, dict[tuple[str | int, ...], Any]]]] = {}
    for r in ctx.renderings:
        if not any(k in r.text for k in KINDS) and "\\" not in r.text:
            continue  # no such kind in it (a kind spelled with escapes has a backslash): not parsed
        for doc in ctx.documents(r):
            if doc.kind in KINDS and doc.api_version.startswith("kubeadm.k8s.io/") and isinstance(doc.data, dict):
                out.setdefault(r.template, []).append((doc, flatten(doc.data)))
    return out


def _flag(data: Any, path: tuple[str | int, ...]) -> str:
    """The flag's name: the `name` of a v1beta4 `{name, value}` item, else the map key."""
    node = data
    for part in path[:-1]:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return str(path[-1])
    if isinstance(node, dict) and isinstance(node.get("name"), str) and path[-1] == "value":
        return str(node["name"])
    return str(path[-1])


def check(ctx: CellContext) -> Iterator[Finding]:
    for docs in _documents(ctx).values():
        hosts = {d.source.host for d, _ in docs}
        if len(hosts) < 2:
            continue
        paths = set().union(*(set(v) for _, v in docs))
        for path in sorted(paths, key=str):
            if "extraArgs" not in path:
                continue
            values = {str(v.get(path)) for _, v in docs}
            if len(values) < 2:
                continue
            for doc, flat in docs:
                value = flat.get(path)
                own = ctx.addresses.get(doc.source.host, frozenset())
                hit = next((a for a in own if a and isinstance(value, str) and a in value), None)
                if hit is None:
                    continue
                flag = _flag(doc.data, path)
                yield finding(
                    ID, SEVERITY, doc, path,
                    f"{field_path(path)} ({flag}): {value!r} is this host's own address ({hit}), but "
                    "ClusterConfiguration is "
                    "cluster-wide: kubeadm keeps the first control plane's copy, so every control plane would use "
                    "its value; put node-local settings in InitConfiguration/JoinConfiguration")
