"""A seeded, realistic corpus of rendered Kubernetes manifests, for the benchmarks.

Kinds in Kubespray's proportions: workloads with 1-3 containers, env, probes, volumes and mounts,
Services, ConfigMaps, ServiceAccounts, RBAC with colon names, CRD-free. Every document is valid
against the strict schemas of Kubernetes 1.25 to 1.37, so the benchmark measures the valid path
(what most of a real run is); `invalid=True` adds the calico-typha shape to every third workload.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

WORDS = ("kube calico node proxy dns coredns nodelocal metrics server ingress nginx cert manager csi driver "
         "snapshot controller cilium flannel etcd registry dashboard local path provisioner argo autoscaler "
         "metallb multus kured").split()


class _Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def name(self, n: int = 2) -> str:
        return "-".join(self.r.choice(WORDS) for _ in range(n))

    def meta(self, namespaced: bool = True) -> dict[str, Any]:
        m: dict[str, Any] = {"name": self.name(self.r.randint(1, 3)),
                             "labels": {"app.kubernetes.io/name": self.name(), "k8s-app": self.name(1)}}
        if namespaced:
            m["namespace"] = self.r.choice(["kube-system", "default", "ingress-nginx", "cert-manager"])
        if self.r.random() < 0.4:
            m["annotations"] = {f"kubespray.io/{self.name(1)}": self.name(4) for _ in range(self.r.randint(1, 4))}
        return m

    def container(self, i: int, mounts: list[str]) -> dict[str, Any]:
        r = self.r
        c: dict[str, Any] = {
            "name": f"{self.name(1)}-{i}",
            "image": f"quay.io/{self.name(1)}/{self.name(1)}:v1.{r.randint(0, 30)}.{r.randint(0, 9)}",
            "imagePullPolicy": "IfNotPresent",
            "args": [f"--{self.name(1)}={r.randint(1, 999)}" for _ in range(r.randint(0, 6))],
            "env": [{"name": f"VAR_{j}", "value": self.name(1)} if j % 3 else
                    {"name": f"VAR_{j}", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
                    for j in range(r.randint(2, 10))],
            "resources": {"limits": {"cpu": f"{r.randint(1, 4) * 100}m", "memory": f"{r.randint(1, 8) * 64}Mi"},
                          "requests": {"cpu": f"{r.randint(1, 4) * 10}m", "memory": f"{r.randint(1, 4) * 32}Mi"}},
            "volumeMounts": [{"name": m, "mountPath": f"/etc/{m}", "readOnly": r.random() < 0.5} for m in mounts],
            "securityContext": {"privileged": r.random() < 0.3, "allowPrivilegeEscalation": False},
        }
        if r.random() < 0.7:
            c["ports"] = [{"containerPort": r.randint(1000, 30000), "name": f"p{k}", "protocol": "TCP"}
                          for k in range(r.randint(1, 3))]
            c["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": c["ports"][0]["containerPort"]},
                                  "periodSeconds": 10, "failureThreshold": 3}
        return c

    def pod_template(self, labels: dict[str, str]) -> dict[str, Any]:
        vols = [f"vol-{k}" for k in range(self.r.randint(1, 8))]
        return {
            "metadata": {"labels": labels},
            "spec": {
                "serviceAccountName": self.name(),
                "priorityClassName": "system-node-critical",
                "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}],
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "containers": [self.container(i, vols) for i in range(self.r.randint(1, 3))],
                "volumes": [{"name": v, "hostPath": {"path": f"/var/lib/{v}", "type": "DirectoryOrCreate"}}
                            if k % 2 else {"name": v, "configMap": {"name": self.name(), "defaultMode": 420}}
                            for k, v in enumerate(vols)],
            },
        }

    def workload(self, kind: str) -> dict[str, Any]:
        m = self.meta()
        sel = {"k8s-app": m["labels"]["k8s-app"]}
        spec: dict[str, Any] = {"selector": {"matchLabels": sel}, "template": self.pod_template(dict(sel))}
        if kind == "Deployment":
            spec["replicas"] = self.r.randint(1, 3)
            spec["strategy"] = {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": None}}
        elif kind == "DaemonSet":
            spec["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}
        else:
            spec["serviceName"] = m["name"]
        return {"apiVersion": "apps/v1", "kind": kind, "metadata": m, "spec": spec}

    def simple(self) -> dict[str, Any]:
        r = self.r.random()
        if r < 0.3:
            return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": self.meta(),
                    "data": {f"{self.name(1)}.conf": "\n".join(self.name(6) for _ in range(self.r.randint(1, 30)))}}
        if r < 0.5:
            return {"apiVersion": "v1", "kind": "Service", "metadata": self.meta(),
                    "spec": {"selector": {"k8s-app": self.name(1)}, "clusterIP": "None" if r < 0.35 else None,
                             "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                                       {"name": "metrics", "port": 9153, "targetPort": "metrics"}]}}
        if r < 0.65:
            return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": self.meta()}
        if r < 0.85:
            return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {**self.meta(False), "name": f"system:{self.name()}"},
                    "rules": [{"apiGroups": ["", "apps"], "resources": [self.name(1) + "s"],
                               "verbs": ["get", "list", "watch"]} for _ in range(self.r.randint(2, 12))]}
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {**self.meta(False), "name": f"system:{self.name()}"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:x"},
                "subjects": [{"kind": "ServiceAccount", "name": self.name(), "namespace": "kube-system"}]}


def documents(n: int, seed: int = 20261122, invalid: bool = False) -> list[dict[str, Any]]:
    g = _Gen(seed)
    out = []
    for i in range(n):
        if i % 3 == 0:
            doc = g.workload(g.r.choice(["Deployment", "DaemonSet", "StatefulSet"]))
            mounts = doc["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
            if invalid and len(mounts) >= 3:
                mounts[2]["value"] = "/etc/ca/ca.crt"
        else:
            doc = g.simple()
        out.append(doc)
    return out


def write(directory: Path, n: int, per_file: int = 4, invalid: bool = False) -> tuple[int, int]:
    """Write `n` documents as multi-document files; returns (files, bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    docs = documents(n, invalid=invalid)
    total = files = 0
    for i in range(0, n, per_file):
        text = yaml.safe_dump_all(docs[i:i + per_file], sort_keys=False, default_flow_style=False)
        (directory / f"doc-{i // per_file:04d}.yaml").write_text(text, encoding="utf-8")
        total += len(text)
        files += 1
    return files, total
