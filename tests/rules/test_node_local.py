"""Semantic rules: node-local-cluster-config."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kvalidate.rules import CellContext, run_rules

ADDR = {"cp1": frozenset({"10.0.0.11"}), "cp2": frozenset({"10.0.0.12"})}


@dataclass(frozen=True)
class R:
    host: str
    text: str
    template: str = "roles/kubernetes/control-plane/templates/kubeadm-config.yaml.j2"
    dest: str = "/etc/kubernetes/kubeadm-config.yaml"
    role: str = "kubernetes/control-plane"
    via: str = "template"


V1BETA4 = """\
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: {ip}
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
controlPlaneEndpoint: {ip}:6443
etcd:
  external:
    certFile: /etc/ssl/etcd/node-{host}.pem
apiServer:
  extraArgs:
    - name: {flag}
      value: "{value}"
"""
V1BETA3 = """\
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
apiServer:
  extraArgs:
    {flag}: "{value}"
"""


def run(
    template: str, flag: str, per_host_value: bool, hosts: tuple[str, ...] = ("cp1", "cp2")
) -> list[tuple[str, str, int]]:
    ips = {"cp1": "10.0.0.11", "cp2": "10.0.0.12"}
    renderings = [
        R(h, template.format(ip=ips[h], host=h, flag=flag, value=ips[h] if per_host_value else "0.0.0.0"))
        for h in hosts
    ]
    return [(f.host, f.path, f.line) for f in run_rules(CellContext(renderings, ADDR, cell="c"))]


@pytest.mark.parametrize(
    ("template", "flag", "per_host", "hosts", "expected"),
    [
        (
            V1BETA4,
            "advertise-address",
            True,
            ("cp1", "cp2"),
            [("cp1", "apiServer.extraArgs[0].value", 15), ("cp2", "apiServer.extraArgs[0].value", 15)],
        ),
        (
            V1BETA3,
            "advertise-address",
            True,
            ("cp1", "cp2"),
            [("cp1", "apiServer.extraArgs.advertise-address", 5), ("cp2", "apiServer.extraArgs.advertise-address", 5)],
        ),
        (V1BETA4, "bind-address", False, ("cp1", "cp2"), []),  # the same on every host: cluster-wide
        (V1BETA4, "advertise-address", True, ("cp1",), []),  # one control plane: nothing to compare
    ],
)
def test_node_local_cluster_config(
    template: str, flag: str, per_host: bool, hosts: tuple[str, ...], expected: list[tuple[str, str, int]]
) -> None:
    # controlPlaneEndpoint and the etcd cert paths differ per host too, and are not reported
    assert run(template, flag, per_host, hosts) == expected


def test_message_names_the_flag_and_the_address() -> None:
    renderings = [
        R(h, V1BETA4.format(ip=ip, host=h, flag="advertise-address", value=ip))
        for h, ip in (("cp1", "10.0.0.11"), ("cp2", "10.0.0.12"))
    ]
    f = run_rules(CellContext(renderings, ADDR))[0]
    assert f.rule == "node-local-cluster-config" and f.severity.value == "error"
    assert f.message.startswith(
        "apiServer.extraArgs[0].value (advertise-address): '10.0.0.11' is this host's own address (10.0.0.11)"
    )


def test_a_kind_spelled_with_escapes_is_read() -> None:
    """The rule parses only renderings that can hold a ClusterConfiguration: the kind's name, or an
    escape that spells it."""
    escaped = V1BETA3.replace("kind: ClusterConfiguration", 'kind: "ClusterConfigurati\\u006fn"')
    assert "ClusterConfiguration" not in escaped
    assert run(escaped, "advertise-address", True) == run(V1BETA3, "advertise-address", True) != []
