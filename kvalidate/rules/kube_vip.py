"""What the kube-vip rules share: the kube-vip containers a cell renders, with their env and pod spec.

kube-vip runs as a static Pod on the control planes (Kubespray's
`roles/kubernetes/node/templates/manifests/kube-vip.manifest.j2`) or as a DaemonSet; it is recognised by
its image (`.../kube-vip/kube-vip`, `.../kube-vip-iptables`, whatever the registry and tag) or, failing
that, by its container name `kube-vip`. Its settings are plain env entries (`name`, `value`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kvalidate.model import Document
from kvalidate.rules.context import CellContext

Path = tuple[str | int, ...]

KUBE_VIP_IMAGES = ("kube-vip", "kube-vip-iptables")
# kube-vip's --k8sConfigPath default: where its kubeconfig is mounted
KUBECONFIG_MOUNT = "/etc/kubernetes/admin.conf"
TEMPLATE_KINDS = {"DaemonSet", "Deployment", "StatefulSet", "ReplicaSet", "Job"}


def image_repository(image: str) -> str:
    """`ghcr.io/kube-vip/kube-vip:v1.0.3` -> `ghcr.io/kube-vip/kube-vip` (tag and digest dropped)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name[: len(name) - len(last[-1])] + last[-1].split(":", 1)[0]
    return name


def pod_spec(doc: Document) -> tuple[Path, dict[str, Any]] | None:
    """(path, pod spec) of a Pod or of a workload's pod template, or None."""
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
        return None
    if doc.kind == "Pod":
        return ("spec",), data["spec"]
    if doc.kind in TEMPLATE_KINDS:
        tpl = data["spec"].get("template")
        if isinstance(tpl, dict) and isinstance(tpl.get("spec"), dict):
            return ("spec", "template", "spec"), tpl["spec"]
    return None


def containers(spec: Mapping[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    items = spec.get("containers")
    for i, c in enumerate(items if isinstance(items, list) else []):
        if isinstance(c, dict):
            yield i, c


def is_kube_vip(container: Mapping[str, Any]) -> bool:
    image = container.get("image")
    if isinstance(image, str) and image_repository(image).rsplit("/", 1)[-1] in KUBE_VIP_IMAGES:
        return True
    return container.get("name") == "kube-vip"


@dataclass(frozen=True)
class KubeVip:
    """One kube-vip container of one rendered document."""

    doc: Document
    spec_path: Path  # the pod spec in the document
    spec: dict[str, Any]
    path: Path  # the container in the document
    container: dict[str, Any]

    @property
    def host(self) -> str:
        return self.doc.source.host

    def env(self) -> dict[str, tuple[str, Path]]:
        """Env entries with a literal value: name -> (value as a string, path of the `value`)."""
        out: dict[str, tuple[str, Path]] = {}
        items = self.container.get("env")
        for i, e in enumerate(items if isinstance(items, list) else []):
            if isinstance(e, dict) and isinstance(e.get("name"), str) and "value" in e:
                value = e["value"]
                text = str(value).lower() if isinstance(value, bool) else str(value)
                out[e["name"]] = (text, (*self.path, "env", i, "value"))
        return out

    def kubeconfig_volume(self) -> tuple[str, Path] | None:
        """(hostPath, its path in the document) of the volume mounted at kube-vip's kubeconfig path."""
        mounts = self.container.get("volumeMounts")
        name = next((m.get("name") for m in mounts if isinstance(m, dict) and m.get("mountPath") == KUBECONFIG_MOUNT),
                    None) if isinstance(mounts, list) else None
        volumes = self.spec.get("volumes")
        for i, v in enumerate(volumes if isinstance(volumes, list) else []):
            if isinstance(v, dict) and v.get("name") == name and isinstance(v.get("hostPath"), dict):
                path = v["hostPath"].get("path")
                if isinstance(path, str):
                    return path, (*self.spec_path, "volumes", i, "hostPath", "path")
        return None


def kube_vips(ctx: CellContext) -> Iterator[KubeVip]:
    """Every kube-vip container the cell renders, on every host."""
    for r in ctx.renderings:
        if "kube-vip" not in r.text and "\\" not in r.text:
            continue  # neither its image nor its name (an escaped spelling has a backslash): not parsed
        for doc in ctx.documents(r):
            found = pod_spec(doc)
            if found is None:
                continue
            spec_path, spec = found
            for i, c in containers(spec):
                if is_kube_vip(c):
                    yield KubeVip(doc, spec_path, spec, (*spec_path, "containers", i), c)
