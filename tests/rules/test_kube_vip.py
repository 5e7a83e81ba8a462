"""Semantic rules: kube-vip-admin-conf, kube-vip-masquerade-privileged, kube-vip-metallb-services."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kvalidate.rules import CellContext, run_rules
from kvalidate.rules.kube_vip import image_repository

GROUPS = {"kube_control_plane": ["cp1", "cp2", "cp3"], "kube_node": ["cp1", "cp2", "cp3", "w1"]}


@dataclass(frozen=True)
class R:
    host: str
    text: str
    template: str = "roles/kubernetes/node/templates/manifests/kube-vip.manifest.j2"
    dest: str = "/etc/kubernetes/manifests/kube-vip.yml"
    role: str = "kubernetes/node"
    via: str = "template"


# Kubespray's kube-vip static pod, trimmed; {env} and {security} vary per case
KUBE_VIP = """\
apiVersion: v1
kind: Pod
metadata:
  name: kube-vip
  namespace: kube-system
spec:
  containers:
  - args:
    - manager
    env:
    - name: vip_arp
      value: "true"
    - name: cp_enable
      value: "true"
{env}
    - name: address
      value: "10.0.0.100"
    image: {image}
    name: kube-vip
    securityContext:
{security}
    volumeMounts:
    - mountPath: /etc/kubernetes/admin.conf
      name: kubeconfig
  hostNetwork: true
  volumes:
  - hostPath:
      path: /etc/kubernetes/{conf}
    name: kubeconfig
"""
CAPS = "      capabilities:\n        add:\n        - NET_ADMIN\n        - NET_RAW"
PRIVILEGED = "      privileged: true"
IMAGE = "ghcr.io/kube-vip/kube-vip:v0.8.0"


def kube_vip(host: str, conf: str = "admin.conf", env: str = "", security: str = CAPS, image: str = IMAGE) -> R:
    return R(host, KUBE_VIP.format(conf=conf, env=env, security=security, image=image))


def ctx(renderings: list[R], kube: str = "1.29", fresh: bool = True, groups: dict[str, list[str]] | None = None
        ) -> CellContext:
    return CellContext(renderings, {}, cell="c", groups=GROUPS if groups is None else groups, kube_version=kube,
                       fresh_install=fresh)


def found(c: CellContext, rule: str) -> list[tuple[str, str, int]]:
    return [(f.host, f.path, f.line) for f in run_rules(c) if f.rule == rule]


ADMIN = "kube-vip-admin-conf"
VOLUME = "spec.volumes[0].hostPath.path"


@pytest.mark.parametrize(
    ("confs", "kube", "fresh", "expected"),
    [
        # the bug: admin.conf on the first control plane of a fresh 1.29 install
        ({"cp1": "admin.conf", "cp2": "admin.conf", "cp3": "admin.conf"}, "1.29", True, [("cp1", VOLUME, 31)]),
        # Kubespray's fix: super-admin.conf there, admin.conf on the others
        ({"cp1": "super-admin.conf", "cp2": "admin.conf", "cp3": "admin.conf"}, "1.29", True, []),
        ({"cp1": "super-admin.conf", "cp2": "admin.conf"}, "v1.36.1", True, []),
        # before the split admin.conf is right everywhere, and super-admin.conf does not exist
        ({"cp1": "admin.conf", "cp2": "admin.conf"}, "1.28", True, []),
        ({"cp1": "super-admin.conf", "cp2": "admin.conf"}, "1.28", True, [("cp1", VOLUME, 31)]),
        # super-admin.conf exists on the first control plane only
        ({"cp1": "super-admin.conf", "cp2": "super-admin.conf"}, "1.30", True, [("cp2", VOLUME, 31)]),
        # an existing cluster: the first control plane is not judged, the others are
        ({"cp1": "admin.conf", "cp2": "admin.conf"}, "1.29", False, []),
        ({"cp1": "super-admin.conf", "cp2": "admin.conf"}, "1.29", False, []),
        ({"cp1": "admin.conf", "cp2": "super-admin.conf"}, "1.29", False, [("cp2", VOLUME, 31)]),
        # another kubeconfig of the user's own: not judged
        ({"cp1": "kube-vip.conf"}, "1.29", True, []),
        # the version unknown: nothing judged
        ({"cp1": "admin.conf"}, "", True, []),
    ],
)
def test_admin_conf(confs: dict[str, str], kube: str, fresh: bool, expected: list[tuple[str, str, int]]) -> None:
    assert found(ctx([kube_vip(h, c) for h, c in confs.items()], kube, fresh), ADMIN) == expected


def test_first_control_plane_is_the_first_of_the_group_not_a_name() -> None:
    groups = {"kube_control_plane": ["zeta", "alpha"]}
    renderings = [kube_vip("alpha", "admin.conf"), kube_vip("zeta", "admin.conf")]
    assert found(ctx(renderings, groups=groups), ADMIN) == [("zeta", VOLUME, 31)]
    # a kube-vip rendered on a host that is not a control plane is not this rule's business
    assert found(ctx([kube_vip("w1", "admin.conf")], groups={"kube_control_plane": ["w1x"]}), ADMIN) == []


def test_admin_conf_messages() -> None:
    first = run_rules(ctx([kube_vip("cp1", "admin.conf")]))
    assert [f.rule for f in first] == [ADMIN] and first[0].severity.value == "error"
    assert first[0].message.startswith("kube-vip's kubeconfig is /etc/kubernetes/admin.conf, but cp1 is the first "
                                       "control plane (groups['kube_control_plane'][0]) of a fresh install of "
                                       "Kubernetes 1.29")
    other = run_rules(ctx([kube_vip("cp2", "super-admin.conf")]))[0]
    assert "cp2 is not the first control plane (cp1)" in other.message
    old = run_rules(ctx([kube_vip("cp1", "super-admin.conf")], kube="1.27"))[0]
    assert "Kubernetes 1.27's kubeadm writes no super-admin.conf" in old.message


MASQ = "kube-vip-masquerade-privileged"
FWD = "    - name: lb_fwdmethod\n      value: {}"


@pytest.mark.parametrize(
    ("env", "security", "image", "expected"),
    [
        # the bug: masquerade with capabilities only (Kubespray a656b7ed9..693eb74f5)
        (FWD.format("masquerade"), CAPS, IMAGE, [("cp2", "spec.containers[0].env[2].value", 16)]),
        (FWD.format('"MASQUERADE"'), "      privileged: false", "registry.local:5000/kube-vip/kube-vip-iptables:v1",
         [("cp2", "spec.containers[0].env[2].value", 16)]),
        # the fix
        (FWD.format("masquerade"), PRIVILEGED, IMAGE, []),
        # other forwarding methods need no privileges
        (FWD.format("local"), CAPS, IMAGE, []),
        ("", CAPS, IMAGE, []),
        # not kube-vip: another container's env is not read
        (FWD.format("masquerade"), CAPS, "docker.io/library/nginx:1.27", []),
    ],
)
def test_masquerade_privileged(env: str, security: str, image: str, expected: list[tuple[str, str, int]]) -> None:
    renderings = [kube_vip("cp2", env=env, security=security, image=image)]
    if "nginx" in image:  # then the container is not named kube-vip either
        renderings = [R("cp2", renderings[0].text.replace("name: kube-vip\n    securityContext", "name: web\n"
                                                          "    securityContext"))]
    assert found(ctx(renderings), MASQ) == expected


def test_masquerade_message() -> None:
    f = run_rules(ctx([kube_vip("cp1", "super-admin.conf", FWD.format("masquerade"))]))
    assert [x.rule for x in f] == [MASQ]
    assert f[0].message.startswith("kube-vip forwards with lb_fwdmethod=masquerade but its container has "
                                   "securityContext has no privileged: true")


METALLB_CONTROLLER = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: controller
  namespace: metallb-system
spec:
  selector:
    matchLabels: {{app: metallb, component: controller}}
  template:
    metadata:
      labels: {{app: metallb, component: controller}}
    spec:
      containers:
      - args:
        - --port=7472
{args}
        image: "quay.io/metallb/controller:v0.13.9"
        name: controller
"""
METALLB = "kube-vip-metallb-services"
SVC = "    - name: svc_enable\n      value: \"true\""


def metallb(args: str = "") -> R:
    return R("cp1", METALLB_CONTROLLER.format(args=args), template="roles/kubernetes-apps/metallb/templates/"
             "metallb.yaml.j2", dest="/etc/kubernetes/metallb.yaml", role="kubernetes-apps/metallb")


@pytest.mark.parametrize(
    ("env", "with_metallb", "args", "expected"),
    [
        # both answer for LoadBalancer Services: a warning on every kube-vip that balances Services
        (SVC, True, "", [("cp1", "spec.containers[0].env[2].value", 16), ("cp2", "spec.containers[0].env[2].value",
                                                                            16)]),
        # kube-vip for the control plane only
        ("", True, "", []),
        ("    - name: svc_enable\n      value: \"false\"", True, "", []),
        # no MetalLB in the cell
        (SVC, False, "", []),
        # each confined to its own class
        (SVC, True, "        - --lb-class=metallb", []),
        (SVC + "\n    - name: lb_class_only\n      value: \"true\"", True, "", []),
    ],
)
def test_metallb_services(env: str, with_metallb: bool, args: str, expected: list[tuple[str, str, int]]) -> None:
    renderings = [kube_vip("cp1", "super-admin.conf", env), kube_vip("cp2", "admin.conf", env)]
    if with_metallb:
        renderings.append(metallb(args))
    assert found(ctx(renderings), METALLB) == expected


def test_metallb_message_names_where_metallb_is() -> None:
    f = [x for x in run_rules(ctx([kube_vip("cp1", "super-admin.conf", SVC), metallb()])) if x.rule == METALLB]
    assert f[0].severity.value == "warning"
    assert "(roles/kubernetes-apps/metallb/templates/metallb.yaml.j2 on cp1)" in f[0].message


@pytest.mark.parametrize(
    ("image", "repository"),
    [
        ("ghcr.io/kube-vip/kube-vip:v1.0.3", "ghcr.io/kube-vip/kube-vip"),
        ("registry.local:5000/kube-vip/kube-vip-iptables:v1.0.3", "registry.local:5000/kube-vip/kube-vip-iptables"),
        ("ghcr.io/kube-vip/kube-vip@sha256:abcd", "ghcr.io/kube-vip/kube-vip"),
        ("kube-vip", "kube-vip"),
    ],
)
def test_image_repository(image: str, repository: str) -> None:
    assert image_repository(image) == repository


def test_a_kube_vip_spelled_with_escapes_is_found() -> None:
    """The rules read only renderings that can hold kube-vip: its name, or an escape that spells it."""
    escaped = [R(h, kube_vip(h).text.replace("kube-vip", '"kube\\u002dvip"').replace('""', '"'))
               for h in ("cp1", "cp2")]
    assert all("kube-vip" not in r.text for r in escaped)
    assert found(ctx(escaped), ADMIN) == [("cp1", VOLUME, 31)]
