"""kube-vip-metallb-services: kube-vip's services load balancing and MetalLB in the same cluster.

kube-vip with `svc_enable=true` watches Services of type LoadBalancer, gives them an address and
announces it (ARP or BGP); MetalLB's controller and speaker do the same. With both in one cluster, both
answer for the same Services: each writes `status.loadBalancer` and announces its own address, so a
Service's external address flips between the two or is announced twice. One of them should handle
LoadBalancer Services (Kubespray: `kube_vip_services_enabled` or `metallb_enabled`), or each should be
confined to its own class (MetalLB `--lb-class`, kube-vip `lb_class_only=true`), in which case the rule
stays silent. kube-vip for the control-plane VIP alone (`cp_enable`) does not touch Services and is
fine next to MetalLB.

MetalLB counts as rendered in the cell when any host renders a container whose image is
`.../metallb/controller` or `.../metallb/speaker`; the warning is reported at kube-vip's `svc_enable`
on every host that renders it.

FAIL (one cell): kube-vip's static pod with

    env:
    - name: svc_enable
      value: "true"

and MetalLB's `controller` Deployment (`quay.io/metallb/controller:v0.13.9`) without `--lb-class`.

PASS: `svc_enable` absent or `"false"` (kube-vip for the control plane only), or MetalLB not rendered.
"""

from __future__ import annotations

from collections.abc import Iterator

from kvalidate.model import Finding, Severity
from kvalidate.rules.context import CellContext, finding
from kvalidate.rules.kube_vip import containers, image_repository, kube_vips, pod_spec

ID = "kube-vip-metallb-services"
SEVERITY = Severity.WARNING
SUMMARY = ("kube-vip with services load balancing (svc_enable) and MetalLB rendered in the same cell: both answer "
           "for the same LoadBalancer Services.")
METALLB_IMAGES = ("metallb/controller", "metallb/speaker")


def _metallb(ctx: CellContext) -> tuple[str, str] | None:
    """(template, host) of the first MetalLB container the cell renders that serves every class."""
    for r in ctx.renderings:
        for doc in ctx.documents(r):
            found = pod_spec(doc)
            for _, c in containers(found[1]) if found is not None else ():
                image = c.get("image")
                if not isinstance(image, str) or not image_repository(image).endswith(METALLB_IMAGES):
                    continue
                args = c.get("args")
                if any(isinstance(a, str) and a.startswith("--lb-class=") and a != "--lb-class="
                       for a in (args if isinstance(args, list) else [])):
                    continue
                return r.template, r.host
    return None


def check(ctx: CellContext) -> Iterator[Finding]:
    vips = [v for v in kube_vips(ctx) if v.env().get("svc_enable", ("", ()))[0].strip().lower() == "true"]
    if not vips:
        return
    metallb = _metallb(ctx)
    if metallb is None:
        return
    template, host = metallb
    for vip in vips:
        env = vip.env()
        if env.get("lb_class_only", ("", ()))[0].strip().lower() == "true":
            continue
        yield finding(ID, SEVERITY, vip.doc, env["svc_enable"][1],
                      f"kube-vip balances Services (svc_enable=true) and MetalLB is rendered in the same cell "
                      f"({template} on {host}): both answer for the same LoadBalancer Services and overwrite each "
                      "other's address; enable one of them for Services, or confine each to its own "
                      "loadBalancerClass")
