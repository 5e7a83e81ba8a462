"""`kvalidate schemas`: what is pinned, and the schema a document is judged against.

    kvalidate schemas [--kube-version 1.33] [--calico-version 3.31.7] [--cilium-version 1.19.4]
    kvalidate schemas show kubeadm.k8s.io/v1beta4 ClusterConfiguration --kube-version 1.33
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from kvalidate import components, crds
from kvalidate.model import SetupError
from kvalidate.schemastore import SchemaStore

schemas_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False,
                          help="List pinned schemas, or print the schema a kind is validated against.")

KubeOpt = Annotated[str | None, typer.Option("--kube-version", metavar="X.Y",
                                             help="Kubernetes minor (default: newest).")]
CalicoOpt = Annotated[str | None, typer.Option("--calico-version", metavar="V",
                                               help="calico_version of the cell (default: newest pinned).")]
CiliumOpt = Annotated[str | None, typer.Option("--cilium-version", metavar="V",
                                               help="cilium_version of the cell (default: newest pinned).")]


def _versions(calico: str | None, cilium: str | None) -> dict[str, str]:
    return {k: v for k, v in (("calico_version", calico), ("cilium_version", cilium)) if v}


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


@schemas_app.callback(invoke_without_command=True)
def schemas_list(ctx: typer.Context, kube_version: KubeOpt = None, calico_version: CalicoOpt = None,
                 cilium_version: CiliumOpt = None) -> None:
    """List the pinned schemas: kinds, Kubernetes minors, sources and who reads each kind."""
    if ctx.invoked_subcommand is not None:
        return
    print("\n".join(listing(kube_version, _versions(calico_version, cilium_version))))


@schemas_app.command("show")
def schemas_show(
    api_version: Annotated[str, typer.Argument(metavar="APIVERSION")],
    kind: Annotated[str, typer.Argument(metavar="KIND")],
    kube_version: KubeOpt = None,
    calico_version: CalicoOpt = None,
    cilium_version: CiliumOpt = None,
    crds: Annotated[list[str] | None, typer.Option(
        "--crds", metavar="PATH", help="CustomResourceDefinitions to convert, as `validate --crds`.")] = None,
) -> None:
    """Print the JSON schema a kind is validated against (source and consumer on stderr)."""
    versions = _versions(calico_version, cilium_version)
    store = SchemaStore.for_version(kube_version, versions)
    if crds:
        from kvalidate.crdload import load_crds

        load_crds(store, crds)
    entry = store.lookup(api_version, kind)
    if entry is None:
        raise SetupError(f"no schema for {api_version} {kind} at Kubernetes {store.minor} "
                         "(see `kvalidate schemas`)")
    print(f"# {api_version} {kind}: {entry.source}; unknown or duplicate fields: "
          f"{entry.unknown_severity.value} ({entry.consumer})", file=sys.stderr)
    print(json.dumps(entry.schema, indent=1, sort_keys=True, ensure_ascii=False))
