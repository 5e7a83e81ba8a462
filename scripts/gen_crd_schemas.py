#!/usr/bin/env python3
"""Convert the CRDs Kubespray downloads (Calico) or its operators register (Cilium) into pinned,
structure-only strict schemas under `schemas/crds/<project>/<version>/`.

    scripts/gen_crd_schemas.py --kubespray /work/.mirror/kubernetes-sigs+kubespray/repo \\
        --calico /work/.mirror/projectcalico+calico/repo [--cilium-dir DIR] [--out schemas]

Calico: every version in Kubespray's `calico_crds_checksums` (roles/kubespray_defaults/vars/main/
checksums.yml at `--kubespray-ref`). `manifests/crds.yaml` is read at tag `v<version>` of the Calico
mirror and must have the sha256 Kubespray pins, or the script stops. Versions that share one file
share one directory (`aliases.json` maps each version to it). calicoctl's `projectcalico.org/v3`
objects get the same schemas with the numorstring fields widened, and `Node` (no CRD) is built from
`libcalico-go/lib/apis/v3/node.go`.

Cilium (`--cilium`, `--cilium-versions`): the CRDs of the kinds Kubespray renders, read at the
commit of each release (pkg/k8s/apis/cilium.io/client/crds/{v2,v2alpha1}/).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from gotypes import Package, parse_file  # noqa: E402
from schemadata import write_manifest  # noqa: E402

from kvalidate.schemas.crd_convert import schemas_from_crd  # noqa: E402

CHECKSUMS = "roles/kubespray_defaults/vars/main/checksums.yml"
CALICO_V1 = "crd.projectcalico.org/v1"
# calicoctl manages these through projectcalico.org/v3 (IPAM internals are not calicoctl resources).
NOT_V3 = {"IPAMBlock", "IPAMHandle", "BlockAffinity", "IPAMConfig"}
# numorstring.ASNumber (api/pkg/lib/numorstring/asnumber.go): a JSON number, or a string holding
# a plain or dotted ("1.10") AS number. The CRD says integer; calicoctl accepts both.
AS_NUMBER = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 4294967295},
                       {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}]}
AS_FIELDS = {"asNumber", "localASNumber", "peerASNumber"}


def git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(repo), *args], check=True, capture_output=True).stdout


def dump(path: Path, schema: dict[str, Any]) -> str:
    schema = {k: v for k, v in schema.items() if k != "$defs"}  # ObjectMeta is attached at load time
    data = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def file_name(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    return f"{group}_{version}_{kind}.json"


def widen_as_numbers(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "properties" and isinstance(v, dict):
                out[k] = {p: (_as_number(s) if p in AS_FIELDS else widen_as_numbers(s)) for p, s in v.items()}
            else:
                out[k] = widen_as_numbers(v)
        return out
    if isinstance(node, list):
        return [widen_as_numbers(v) for v in node]
    return node


def _as_number(schema: dict[str, Any]) -> dict[str, Any]:
    nullable = "null" in (schema.get("type") or [])
    return {"anyOf": [*AS_NUMBER["anyOf"], {"type": "null"}]} if nullable else dict(AS_NUMBER)


def node_schema(calico: Path, tag: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """projectcalico.org/v3 Node from its Go type (it has no CRD)."""
    path = "libcalico-go/lib/apis/v3/node.go"
    raw = git(calico, "show", f"{tag}:{path}")
    pkg = Package("v3")
    parse_file(pkg, path, raw)

    def value(expr: str) -> dict[str, Any]:
        if expr.startswith("*"):
            return value(expr[1:])
        if expr.startswith("[]"):
            return {"type": ["array", "null"], "items": value(expr[2:])}
        if expr == "string":
            return {"type": ["string", "null"]}
        if expr == "numorstring.ASNumber":
            return {"anyOf": [*AS_NUMBER["anyOf"], {"type": "null"}]}
        decl = pkg.types[expr]
        props = {f.json[0] or f.name: value(f.type) for f in decl.fields if f.name and f.json[0] != "-"}
        return {"type": ["object", "null"], "properties": props, "additionalProperties": False}

    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
              "additionalProperties": False, "required": ["apiVersion", "kind"],
              "properties": {"apiVersion": {"const": "projectcalico.org/v3"}, "kind": {"const": "Node"},
                             "metadata": {"$ref": "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
                             "spec": value("NodeSpec"), "status": value("NodeStatus")}}
    return schema, {"path": path, "sha256": hashlib.sha256(raw).hexdigest()}


def calico(args: argparse.Namespace, manifest: dict[str, Any]) -> None:
    ks_commit = git(args.kubespray, "rev-parse", args.kubespray_ref).decode().strip()
    sums = yaml.safe_load(git(args.kubespray, "show", f"{args.kubespray_ref}:{CHECKSUMS}"))
    pinned = {str(v): s.split(":", 1)[1] for v, s in sums["calico_crds_checksums"]["no_arch"].items()}
    groups: dict[str, list[str]] = {}
    for version, sha in pinned.items():
        groups.setdefault(sha, []).append(version)
    aliases: dict[str, str] = {}
    out = args.out / "crds" / "calico"
    for sha, versions in sorted(groups.items()):
        versions.sort(key=lambda v: tuple(int(p) for p in v.split(".")))
        newest = versions[-1]
        tag = f"v{newest}"
        raw = git(args.calico, "show", f"{tag}:manifests/crds.yaml")
        got = hashlib.sha256(raw).hexdigest()
        if got != sha:
            sys.exit(f"calico {tag} manifests/crds.yaml: sha256 {got} is not Kubespray's {sha}")
        commit = git(args.calico, "rev-list", "-n1", tag).decode().strip()
        source = {"repository": "projectcalico/calico", "tag": tag, "commit": commit,
                  "path": "manifests/crds.yaml", "sha256": got,
                  "verified_by": f"kubernetes-sigs/kubespray {ks_commit[:12]} {CHECKSUMS} calico_crds_checksums"}
        schemas: dict[tuple[str, str], dict[str, Any]] = {}
        for doc in yaml.safe_load_all(raw):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                schemas.update(schemas_from_crd(doc))
        for (api_version, kind), schema in list(schemas.items()):
            if api_version == CALICO_V1 and kind not in NOT_V3:
                v3 = widen_as_numbers(schema)
                v3["properties"]["apiVersion"] = {"const": "projectcalico.org/v3"}
                schemas[("projectcalico.org/v3", kind)] = v3
        node, node_src = node_schema(args.calico, tag)
        schemas[("projectcalico.org/v3", "Node")] = node
        for (api_version, kind), schema in sorted(schemas.items()):
            rel = f"crds/calico/{newest}/{file_name(api_version, kind)}"
            src = {**source, **node_src} if kind == "Node" and api_version.startswith("projectcalico.org/") \
                else source
            manifest[rel] = {"apiVersion": api_version, "kind": kind, "sha256": dump(args.out / rel, schema),
                             "license": "Apache-2.0", "sources": [src], "versions": versions}
        for v in versions:
            aliases[v] = newest
        print(f"calico {newest} (for {', '.join(versions)}): {len(schemas)} kinds")
    (out / "aliases.json").write_text(json.dumps(dict(sorted(aliases.items())), indent=1) + "\n")


CILIUM_CRDS = ["pkg/k8s/apis/cilium.io/client/crds/v2", "pkg/k8s/apis/cilium.io/client/crds/v2alpha1"]
# The kinds Kubespray renders (roles/network_plugin/cilium/templates/cilium/*.yml.j2).
CILIUM_FILES = ["ciliumbgpadvertisements.yaml", "ciliumbgpclusterconfigs.yaml", "ciliumbgpnodeconfigoverrides.yaml",
                "ciliumbgppeerconfigs.yaml", "ciliumbgppeeringpolicies.yaml", "ciliumloadbalancerippools.yaml"]


def cilium_releases(repo: Path, wanted: list[str]) -> dict[str, str]:
    """version -> commit of upstream's "Prepare for release vX.Y.Z" (the snapshot may lack tags);
    the VERSION file at that commit must say the same version."""
    found: dict[str, str] = {}
    log = git(repo, "log", "--all", "--format=%H %s", "--grep=^Prepare for release v").decode()
    for line in log.splitlines():
        commit, _, subject = line.partition(" ")
        version = subject.removeprefix("Prepare for release v")
        if version in wanted and version not in found:
            if git(repo, "show", f"{commit}:VERSION").decode().strip() != version:
                sys.exit(f"cilium {commit}: VERSION is not {version}")
            found[version] = commit
    missing = set(wanted) - set(found)
    if missing:
        sys.exit(f"cilium releases not in {repo}: {', '.join(sorted(missing))}")
    return found


def cilium(args: argparse.Namespace, manifest: dict[str, Any]) -> None:
    for version, commit in sorted(cilium_releases(args.cilium, args.cilium_versions).items()):
        count = 0
        for d in CILIUM_CRDS:
            present = set(git(args.cilium, "ls-tree", "--name-only", f"{commit}", d + "/").decode().split())
            for name in CILIUM_FILES:
                path = f"{d}/{name}"
                if path not in present:
                    continue
                raw = git(args.cilium, "show", f"{commit}:{path}")
                source = {"repository": "cilium/cilium", "tag": f"v{version}", "commit": commit, "path": path,
                          "sha256": hashlib.sha256(raw).hexdigest(),
                          "note": "commit of 'Prepare for release' (VERSION checked); the snapshot had no tags"}
                for doc in yaml.safe_load_all(raw):
                    for (api_version, kind), schema in schemas_from_crd(doc).items():
                        rel = f"crds/cilium/{version}/{file_name(api_version, kind)}"
                        manifest[rel] = {"apiVersion": api_version, "kind": kind, "license": "Apache-2.0",
                                         "sha256": dump(args.out / rel, schema), "sources": [source]}
                        count += 1
        print(f"cilium {version}: {count} kinds")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kubespray", type=Path, required=True, help="bare git dir of kubernetes-sigs/kubespray")
    ap.add_argument("--kubespray-ref", default="HEAD")
    ap.add_argument("--calico", type=Path, required=True, help="bare git dir of projectcalico/calico")
    ap.add_argument("--cilium", type=Path, help="bare git dir of cilium/cilium (or a fork with its history)")
    ap.add_argument("--cilium-versions", nargs="*", default=["1.17.6", "1.19.4"])
    ap.add_argument("--out", type=Path, default=ROOT / "schemas")
    args = ap.parse_args(argv)
    manifest: dict[str, Any] = {}
    calico(args, manifest)
    write_manifest(args.out, manifest, prefix="crds/calico/")
    if args.cilium:
        manifest = {}
        cilium(args, manifest)
        write_manifest(args.out, manifest, prefix="crds/cilium/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
