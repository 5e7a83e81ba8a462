"""Strict schemas of Kubernetes component configs (kubeadm, kubelet, kube-proxy, ...), by minor.

The schemas are generated from the Go types at the release tags by `scripts/gen_component_schemas.py`
and committed under `schemas/components/v1.XX/` (provenance in `schemas/MANIFEST.json`). What an
unknown or duplicate field costs depends on who reads the document: some consumers refuse it, others
log the strict error and decode again leniently, dropping the field. `CONSUMERS` says which, with the
source of each claim; docs/schemas.md has the same table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from kvalidate.model import Severity
from kvalidate.pinned import pinned_schemas
from kvalidate.schemas.entry import SchemaEntry
from kvalidate.versions import minor_key


@dataclass(frozen=True)
class Consumer:
    severity: Severity
    consumer: str  # quoted in findings: who reads the document and what it does with an unknown field
    cite: str  # where the behaviour is in the consumer's source


_REFUSES = "refuses the document on an unknown or duplicate field"
_LENIENT = "logs the strict decoding error, decodes again leniently and drops the field"
_KUBEADM = Consumer(
    Severity.ERROR,
    "kubeadm: `kubeadm config validate` refuses it; init/join/upgrade only warn and drop the field",
    "kubernetes cmd/kubeadm/app/util/config/strict/strict.go VerifyUnmarshalStrict; "
    "kubeadm_config_validate reference: 'unknown API fields will trigger errors'")
_APISERVER_CFG = Consumer(Severity.ERROR, f"kube-apiserver {_REFUSES} and does not start",
                          "apiserver pkg/apis/apiserver/load/load.go, pkg/admission/config.go, "
                          "pkg/server/options/encryptionconfig/config.go, pkg/server/options/tracing.go "
                          "(serializer.EnableStrict)")

# (group, kind or "*") -> consumer. The group is the apiVersion without its version.
CONSUMERS: dict[tuple[str, str], Consumer] = {
    ("kubeadm.k8s.io", "*"): _KUBEADM,
    ("kubelet.config.k8s.io", "KubeletConfiguration"): Consumer(
        Severity.WARNING, f"kubelet {_LENIENT}",
        "kubernetes pkg/kubelet/kubeletconfig/util/codec/codec.go DecodeKubeletConfiguration "
        "('Using lenient decoding as strict decoding failed')"),
    ("kubelet.config.k8s.io", "*"): Consumer(
        Severity.ERROR, f"kubelet {_REFUSES} (image credential provider config)",
        "kubernetes pkg/credentialprovider/plugin/plugin.go (serializer.EnableStrict)"),
    ("kubeproxy.config.k8s.io", "*"): Consumer(
        Severity.WARNING, f"kube-proxy {_LENIENT}",
        "kubernetes cmd/kube-proxy/app/server.go loadConfig ('Using lenient decoding as strict decoding failed')"),
    ("kubescheduler.config.k8s.io", "*"): Consumer(
        Severity.ERROR, f"kube-scheduler {_REFUSES} and does not start",
        "kubernetes pkg/scheduler/apis/config/scheme/scheme.go (serializer.EnableStrict); "
        "cmd/kube-scheduler/app/options/configfile.go loadConfig"),
    ("apiserver.config.k8s.io", "*"): _APISERVER_CFG,
    ("audit.k8s.io", "*"): Consumer(
        Severity.WARNING, f"kube-apiserver (audit policy) {_LENIENT}",
        "apiserver pkg/audit/policy/reader.go ('Audit policy contains errors, falling back to lenient decoding')"),
    ("pod-security.admission.config.k8s.io", "*"): Consumer(
        Severity.ERROR, f"kube-apiserver (PodSecurity admission) {_REFUSES} and does not start",
        "pod-security-admission admission/api/scheme/scheme.go (serializer.EnableStrict)"),
    ("eventratelimit.admission.k8s.io", "*"): Consumer(
        Severity.WARNING, "kube-apiserver (EventRateLimit admission) silently drops unknown fields",
        "kubernetes plugin/pkg/admission/eventratelimit/config.go (codec factory without EnableStrict)"),
    ("", "Config"): Consumer(
        Severity.WARNING, "kubeconfig readers (client-go clientcmd.Load) silently drop unknown fields",
        "client-go tools/clientcmd/loader.go Load (clientcmdlatest.Codec, not strict)"),
}


def consumer_for(api_version: str, kind: str) -> Consumer:
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return CONSUMERS.get((group, kind)) or CONSUMERS.get((group, "*")) or _APISERVER_CFG


@cache
def covered_minors() -> tuple[str, ...]:
    """The minors with generated schemas, oldest first (`1.27`, ...)."""
    found = [p.name[1:] for p in (pinned_schemas() / "components").glob("v1.*") if p.is_dir()]
    return tuple(sorted(found, key=minor_key))


@cache
def _manifest() -> dict[str, Any]:
    path = pinned_schemas() / "MANIFEST.json"
    files: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")).get("files", {})
    return files


@cache
def _files() -> dict[tuple[str, str], dict[str, str]]:
    """(apiVersion, kind) -> {minor: file relative to the pinned data}, from MANIFEST.json (a test
    checks it lists every file). Lookups read only files named here: a document's apiVersion and
    kind are keys of this table, never parts of a path, so `apiVersion: ../../../../tmp/x/evil/v1`
    or a 300-character kind is simply not found (`no-schema`)."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for rel, meta in _manifest().items():
        parts = rel.split("/")
        if len(parts) == 3 and parts[0] == "components" and parts[1].startswith("v"):
            out.setdefault((meta["apiVersion"], meta["kind"]), {})[parts[1][1:]] = rel
    return out


def _pick_minor(minor: str, api_version: str, kind: str) -> str | None:
    """Nearest covered minor <= `minor` that has the kind, else the nearest above."""
    files = _files().get((api_version, kind), {})
    have = [m for m in covered_minors() if m in files]
    if not have:
        return None
    want = minor_key(minor)
    below = [m for m in have if minor_key(m) <= want]
    return below[-1] if below else have[0]


def _repo_label(repo: str) -> str:
    """`kubelet` for the staging repositories, the full name for anything else."""
    return repo.split("/")[-1] if repo.startswith("kubernetes/") else repo


def _describe(rel: str, picked: str, requested: str) -> str:
    sources = _manifest().get(rel, {}).get("sources", [])
    tags = ", ".join(dict.fromkeys(
        f"{_repo_label(s['repository'])} {s['tag'] or s['commit'][:12]}" for s in sources
        if not s["repository"].startswith("pypi:")))
    text = f"components v{picked} ({tags})"
    want, have, newest = minor_key(requested), minor_key(picked), minor_key(covered_minors()[-1])
    if want > newest:
        text += f"; Kubernetes {requested} has no generated schemas, the newest used"
    elif have < want:
        text += f"; not in Kubernetes {requested}'s types (last in {picked}), schema of {picked} used"
    elif have > want:
        text += f"; not yet in Kubernetes {requested}'s types (first in {picked}), schema of {picked} used"
    return text


@cache
def _load(rel: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((pinned_schemas() / rel).read_text(encoding="utf-8"))
    return schema


def lookup(minor: str, api_version: str, kind: str) -> SchemaEntry | None:
    """The schema of a component config for Kubernetes `minor` (e.g. "1.33"), or None."""
    picked = _pick_minor(minor, api_version, kind)
    if picked is None:
        return None
    rel = _files()[(api_version, kind)][picked]
    c = consumer_for(api_version, kind)
    return SchemaEntry(_load(rel), _describe(rel, picked, minor), c.severity, c.consumer)


def unserved(minor: str, api_version: str, kind: str) -> str | None:
    """Why the consumer of Kubernetes `minor` would not know this kind at all, or None.

    Inside the generated range only: a kind found in other minors but not in this one was removed
    (kube-scheduler's v1beta3 after 1.28) or not added yet (kubeadm v1beta4 before 1.31). The
    consumer then refuses the document whatever its fields (`no kind ... is registered`)."""
    have = covered_minors()
    if not have or not minor_key(have[0]) <= minor_key(minor) <= minor_key(have[-1]):
        return None
    picked = _pick_minor(minor, api_version, kind)
    if picked is None or minor_key(picked) == minor_key(minor):
        return None
    if minor in have and minor_key(picked) < minor_key(minor):
        return f"{api_version} {kind} is no longer served by Kubernetes {minor} (last in {picked})"
    return f"{api_version} {kind} is not served yet by Kubernetes {minor} (first in {picked})"


def kinds(minor: str) -> list[tuple[str, str]]:
    """(apiVersion, kind) of every component config generated for `minor` (or the nearest covered
    minor below it; the oldest when it is older than all). `lookup` finds more: kinds that
    appear only in later minors, marked as such in their `source`."""
    have = covered_minors()
    if not have:
        return []
    below = [m for m in have if minor_key(m) <= minor_key(minor)]
    prefix = f"components/v{below[-1] if below else have[0]}/"
    return sorted((meta["apiVersion"], meta["kind"]) for rel, meta in _manifest().items()
                  if rel.startswith(prefix))


# Kubespray templates whose output is a typed document without apiVersion/kind: the API server reads
# them with clientcmd.Load, which needs neither (roles/kubernetes/control-plane/templates/).
UNTYPED_TEMPLATES: dict[str, tuple[str, str]] = {
    "webhook-token-auth-config.yaml.j2": ("v1", "Config"),
    "webhook-authorization-config.yaml.j2": ("v1", "Config"),
}


def lookup_untyped(minor: str, template: str) -> tuple[str, str, SchemaEntry] | None:
    """(apiVersion, kind, entry) for a template whose documents carry no apiVersion/kind, by the
    template's file name; the entry's schema accepts the two keys absent (or right)."""
    gvk = UNTYPED_TEMPLATES.get(template.replace("\\", "/").rsplit("/", 1)[-1])
    entry = lookup(minor, *gvk) if gvk else None
    if gvk is None or entry is None:
        return None
    schema = dict(entry.schema)
    schema["required"] = [r for r in schema.get("required", []) if r not in ("apiVersion", "kind")]
    return gvk[0], gvk[1], SchemaEntry(schema, entry.source + "; kind implied by the template",
                                       entry.unknown_severity, entry.consumer)
