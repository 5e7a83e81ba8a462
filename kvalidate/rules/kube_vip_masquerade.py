"""kube-vip-masquerade-privileged: kube-vip's IPVS masquerade forwarding needs a privileged container.

With `lb_fwdmethod=masquerade` (kube-vip's control-plane load balancing through IPVS in NAT mode),
kube-vip turns on `net.ipv4.vs.conntrack` by writing under `/proc/sys`. A container
runtime mounts `/proc/sys` read-only in every container that is not privileged, whatever its
capabilities (`NET_ADMIN` included), so the write fails and kube-vip exits at start (`Error ensuring
net.ipv4.vs.conntrack enabled [failed to open file: open /proc/sys/net/ipv4/vs/conntrack: read-only
file system]`, Kubespray issue 11648). The container must run with `securityContext.privileged: true`.

FAIL (Kubespray from commit a656b7ed9, January 2024, until 693eb74f5, October 2024, with
`kube_vip_lb_fwdmethod: masquerade`):

    env:
    - name: lb_fwdmethod
      value: masquerade
    securityContext:
      capabilities:
        add: [NET_ADMIN, NET_RAW]

PASS:

    env:
    - name: lb_fwdmethod
      value: masquerade
    securityContext:
      privileged: true
"""

from __future__ import annotations

from collections.abc import Iterator

from kvalidate.model import Finding, Severity
from kvalidate.rules.context import CellContext, finding
from kvalidate.rules.kube_vip import kube_vips

ID = "kube-vip-masquerade-privileged"
SEVERITY = Severity.ERROR
SUMMARY = ("kube-vip with lb_fwdmethod=masquerade must run privileged: it writes net.ipv4.vs.conntrack under "
           "/proc/sys, which is read-only in a container that is not privileged.")


def check(ctx: CellContext) -> Iterator[Finding]:
    for vip in kube_vips(ctx):
        method = vip.env().get("lb_fwdmethod")
        if method is None or method[0].strip().lower() != "masquerade":
            continue
        sc = vip.container.get("securityContext")
        if isinstance(sc, dict) and sc.get("privileged") is True:
            continue
        has = "no securityContext" if not isinstance(sc, dict) else (
            f"securityContext.privileged is {sc['privileged']!r}" if "privileged" in sc
            else "securityContext has no privileged: true")
        yield finding(ID, SEVERITY, vip.doc, method[1],
                      f"kube-vip forwards with lb_fwdmethod=masquerade but its container has {has}: kube-vip must "
                      "set net.ipv4.vs.conntrack, and /proc/sys is read-only in a container that is not "
                      "privileged (capabilities do not help); set securityContext.privileged: true")
