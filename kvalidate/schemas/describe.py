"""`kvalidate schemas`: what is pinned for a minor, as lines of text."""

from __future__ import annotations

from kvalidate.schemas import components
from kvalidate.schemas import pinned_crds as crds
from kvalidate.schemas.store import SchemaStore


def _span(values: tuple[str, ...]) -> str:
    return f"{values[0]} to {values[-1]} ({len(values)})" if values else "none"


def listing(kube_version: str | None, versions: dict[str, str]) -> list[str]:
    store = SchemaStore.for_version(kube_version, versions)
    minor = store.minor
    core = store.core
    lines = [f"Kubernetes {minor}",
             f"  API kinds: {len(core.index)} from {core.source} (unknown fields: error, kube-apiserver)",
             "  component configs:"]
    for api_version, kind in components.kinds(minor):
        entry = components.lookup(minor, api_version, kind)
        assert entry is not None
        lines.append(f"    {api_version} {kind}: {entry.source}; unknown fields: "
                     f"{entry.unknown_severity.value} ({entry.consumer})")
    lines.append("  pinned custom resources:")
    for api_version, kind, _ in crds.pinned_kinds(versions):
        entry = crds.pinned_crd_lookup(api_version, kind, versions)
        assert entry is not None
        lines.append(f"    {api_version} {kind}: {entry.source}")
    lines.append("consumers (unknown or duplicate field -> severity; source):")
    for (group, kind), c in components.CONSUMERS.items():
        lines.append(f"  {group or 'v1'} {kind}: {c.severity.value}; {c.cite}")
    lines += ["covered:",
              f"  component configs: Kubernetes {_span(components.covered_minors())}",
              f"  calico: {_span(crds.pinned_versions('calico'))} "
              f"(+{len(crds._aliases('calico')) - len(crds.pinned_versions('calico'))} versions sharing a file)",
              f"  cilium: {_span(crds.pinned_versions('cilium'))}",
              "  CRDs rendered in the same run (MetalLB, cert-manager, ...) or given with --crds: converted at "
              "run time",
              "provenance: schemas/MANIFEST.json; regeneration: docs/schemas.md"]
    return lines
