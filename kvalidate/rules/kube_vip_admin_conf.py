"""kube-vip-admin-conf: kube-vip's kubeconfig on the first control plane of a fresh Kubernetes >= 1.29 install.

Since Kubernetes 1.29, `kubeadm init` writes two kubeconfigs: `super-admin.conf` (group
`system:masters`, on the first control plane only) and `admin.conf`, whose group
`kubeadm:cluster-admins` is bound to cluster-admin by `kubeadm init` itself, near its end. A kube-vip
static pod that provides the control-plane VIP starts before that: with `admin.conf` it has no rights,
cannot take its leader-election lease (`leases.coordination.k8s.io "plndr-cp-lock" is forbidden: User
"kubernetes-admin" cannot get resource "leases"`, Kubespray issue 11229), the VIP never comes up, and
`kubeadm init`, waiting for the API server behind the VIP, times out. On that host, during that run,
kube-vip must mount `super-admin.conf`.

Everywhere else `admin.conf` is right: the other control planes join (`kubeadm join` writes no
`super-admin.conf`, so a hostPath to it would be an empty directory the container runtime creates),
and before 1.29 there is no `super-admin.conf` at all.

What the rule takes from the cell, not from host names: the first control plane is the first host
of the `kube_control_plane` group in inventory order (Kubespray's `groups['kube_control_plane'][0]`,
`first_kube_control_plane`); the Kubernetes version is the one the cell renders; a fresh install is a
`cluster.yml` run. On a run against an existing cluster (upgrade, scale, ...) the first control plane
is not judged: Kubespray mounts `super-admin.conf` there when the file exists, which depends on the
version the cluster was created with. The volume judged is the hostPath mounted at kube-vip's
kubeconfig path (`/etc/kubernetes/admin.conf` in the container); one whose file is neither
`admin.conf` nor `super-admin.conf` is not judged.

FAIL (Kubernetes 1.29, `cluster.yml`, on the first control plane):

    volumes:
    - hostPath:
        path: /etc/kubernetes/admin.conf
      name: kubeconfig

PASS: `path: /etc/kubernetes/super-admin.conf` there, and `admin.conf` on the other control planes
(Kubespray since commit e43e08c7d, August 2024, "use super-admin.conf for kube-vip on first master").
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from kvalidate.model import Finding, Severity
from kvalidate.rules.context import CellContext, finding
from kvalidate.rules.kube_vip import kube_vips
from kvalidate.versions import minor_key

ID = "kube-vip-admin-conf"
SEVERITY = Severity.ERROR
SUMMARY = ("kube-vip's kubeconfig hostPath: super-admin.conf on the first control plane of a fresh install of "
           "Kubernetes >= 1.29 (admin.conf has no rights until kubeadm init ends), admin.conf everywhere else.")
CONTROL_PLANE = "kube_control_plane"
SPLIT = (1, 29)  # kubeadm's super-admin.conf / admin.conf split
FILES = ("admin.conf", "super-admin.conf")


def expected(host: str, first: str, minor: tuple[int, int], fresh: bool) -> str | None:
    """The kubeconfig kube-vip must mount on control plane `host`; None where either may be right."""
    if host != first:
        return "admin.conf"
    if minor < SPLIT:
        return "admin.conf"
    return "super-admin.conf" if fresh else None


def _minor(version: str) -> tuple[int, int] | None:
    try:
        return minor_key(".".join(version.lstrip("v").split(".")[:2]))
    except ValueError:
        return None


def check(ctx: CellContext) -> Iterator[Finding]:
    planes = list(ctx.groups.get(CONTROL_PLANE, ()))
    minor = _minor(ctx.kube_version)
    if not planes or minor is None:
        return
    first = planes[0]
    for vip in kube_vips(ctx):
        if vip.host not in planes:
            continue
        volume = vip.kubeconfig_volume()
        if volume is None:
            continue
        path, at = volume
        mounted = posixpath.basename(path)
        want = expected(vip.host, first, minor, ctx.fresh_install)
        if mounted not in FILES or want is None or mounted == want:
            continue
        version = f"{minor[0]}.{minor[1]}"
        if want == "super-admin.conf":
            why = (f"{vip.host} is the first control plane (groups['{CONTROL_PLANE}'][0]) of a fresh install of "
                   f"Kubernetes {version}: since 1.29 admin.conf has no rights until `kubeadm init` has finished, so "
                   "kube-vip cannot take its lease, the VIP never comes up and `kubeadm init` times out; mount "
                   "super-admin.conf on this host")
        elif vip.host != first:
            why = (f"{vip.host} is not the first control plane ({first}): `kubeadm join` writes no super-admin.conf, "
                   "so the hostPath is an empty directory and kube-vip has no kubeconfig; mount admin.conf")
        else:
            why = (f"Kubernetes {version}'s kubeadm writes no super-admin.conf (it exists since 1.29), so the "
                   "hostPath is an empty directory and kube-vip has no kubeconfig; mount admin.conf")
        yield finding(ID, SEVERITY, vip.doc, at, f"kube-vip's kubeconfig is {path}, but {why}")
