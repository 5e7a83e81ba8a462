"""`kvalidate schemas`: what is pinned, and the schema a document is judged against.

    kvalidate schemas [--kube-version 1.33] [--calico-version 3.31.7] [--cilium-version 1.19.4]
    kvalidate schemas show kubeadm.k8s.io/v1beta4 ClusterConfiguration --kube-version 1.33
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from kvalidate.model import SetupError
from kvalidate.schemas.crd_load import load_crds
from kvalidate.schemas.describe import listing
from kvalidate.schemas.store import SchemaStore

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
        load_crds(store, crds)
    entry = store.lookup(api_version, kind)
    if entry is None:
        raise SetupError(f"no schema for {api_version} {kind} at Kubernetes {store.minor} "
                         "(see `kvalidate schemas`)")
    print(f"# {api_version} {kind}: {entry.source}; unknown or duplicate fields: "
          f"{entry.unknown_severity.value} ({entry.consumer})", file=sys.stderr)
    print(json.dumps(entry.schema, indent=1, sort_keys=True, ensure_ascii=False))
