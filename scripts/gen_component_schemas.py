#!/usr/bin/env python3
"""Generate strict JSON schemas for Kubernetes component configs from their Go types.

    scripts/gen_component_schemas.py --mirrors /work/.mirror --minors 1.27-1.36 --out schemas

Inputs (no network): bare git mirrors `<mirrors>/<owner>+<name>/repo` of the staging repositories
(kubernetes+kubelet ... read at tag `v0.<minor>.0`) and of tengqm/kubeconfig, which carries copies
of kubeadm's, bootstraptoken's and EventRateLimit's API types from kubernetes/kubernetes, resynced
at each release (`KUBECONFIG_SYNC` names the commit used for each minor; k/k is too large to mirror).
Core types (`corev1.Taint`, `ObjectMeta`...) are copied from kubernetes-validate's strict schemas of
the same minor. Output: `<out>/components/v1.XX/<group>_<version>_<Kind>.json`, each self-contained
(local `$defs` only), structure only (no descriptions), and `<out>/MANIFEST.json` entries.

Mapping rules (what sigs.k8s.io/json strict decoding accepts) are in docs/schemas.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kubernetes_validate  # noqa: E402
from gotypes import Field, Package, parse_file  # noqa: E402
from schemadata import CORE_PATCHES, core_closure, core_defs_path, write_manifest  # noqa: E402

BOOTSTRAP_TOKEN = "github.com/tengqm/kubeconfig/config/bootstraptoken/v1"  # as the copied kubeadm types import it
# tengqm/kubeconfig commit per Kubernetes minor: the last resync of the copied types before the next
# minor ("Resync from v1.34 release" ...); 1.35 and 1.36 had no resync, so they use 1.34's.
KUBECONFIG_SYNC = {27: "d13d9b1100c57603eb4cd997b5968641f2e70b91", 28: "c1536a53718cc25bac7464cafa4b400dd284c0f9",
                   29: "53f2d666fcefad767bb987321ed2365106723ce7", 30: "d0cf028c228d1e1f1675799665badfa626495d29",
                   31: "df3693d84f6f86d4436c9b92f29ca5c93214ee50", 32: "0c4df2bffc81291b9d4e654b12f30919222edd96",
                   33: "34e545f62a226a7514480e1d79160c55d5a80f89", 34: "31088d4c6c020ec7369d6c4d95ce07db48bdc06f",
                   35: "31088d4c6c020ec7369d6c4d95ce07db48bdc06f", 36: "31088d4c6c020ec7369d6c4d95ce07db48bdc06f"}
UPSTREAM = {"config/kubeadm/": "kubernetes/kubernetes cmd/kubeadm/app/apis/kubeadm/",
            "config/bootstraptoken/": "kubernetes/kubernetes cmd/kubeadm/app/apis/bootstraptoken/",
            "config/admission/eventratelimit/apis/": "kubernetes/kubernetes plugin/pkg/admission/eventratelimit/apis/"
                                                     "eventratelimit/"}
MIRRORS = {"kubeconfig": "tengqm+kubeconfig"}  # other sources: kubernetes+<name>
# import path -> (source, directory in that source, apiVersion or "" for type-only packages)
PACKAGES: dict[str, tuple[str, str, str]] = {
    "k8s.io/kubelet/config/v1beta1": ("kubelet", "config/v1beta1", "kubelet.config.k8s.io/v1beta1"),
    "k8s.io/kubelet/config/v1": ("kubelet", "config/v1", "kubelet.config.k8s.io/v1"),
    "k8s.io/kube-proxy/config/v1alpha1": ("kube-proxy", "config/v1alpha1", "kubeproxy.config.k8s.io/v1alpha1"),
    "k8s.io/kube-scheduler/config/v1": ("kube-scheduler", "config/v1", "kubescheduler.config.k8s.io/v1"),
    # served until 1.28 (v1beta3) and 1.27 (v1beta2); Kubespray release-2.23 renders v1beta3
    "k8s.io/kube-scheduler/config/v1beta3": ("kube-scheduler", "config/v1beta3", "kubescheduler.config.k8s.io/v1beta3"),
    "k8s.io/kube-scheduler/config/v1beta2": ("kube-scheduler", "config/v1beta2", "kubescheduler.config.k8s.io/v1beta2"),
    # EncryptionConfiguration lived here until 1.29 (moved to pkg/apis/apiserver/v1 in 1.30); listed
    # first so that where both exist the newer package's file wins.
    "k8s.io/apiserver/pkg/apis/config/v1": ("apiserver", "pkg/apis/config/v1", "apiserver.config.k8s.io/v1"),
    "k8s.io/apiserver/pkg/apis/apiserver/v1": ("apiserver", "pkg/apis/apiserver/v1", "apiserver.config.k8s.io/v1"),
    "k8s.io/apiserver/pkg/apis/apiserver/v1beta1":
        ("apiserver", "pkg/apis/apiserver/v1beta1", "apiserver.config.k8s.io/v1beta1"),
    "k8s.io/apiserver/pkg/apis/apiserver/v1alpha1":
        ("apiserver", "pkg/apis/apiserver/v1alpha1", "apiserver.config.k8s.io/v1alpha1"),
    "k8s.io/apiserver/pkg/apis/audit/v1": ("apiserver", "pkg/apis/audit/v1", "audit.k8s.io/v1"),
    "k8s.io/apiserver/pkg/admission/plugin/resourcequota/apis/resourcequota/v1":
        ("apiserver", "pkg/admission/plugin/resourcequota/apis/resourcequota/v1", "apiserver.config.k8s.io/v1"),
    "k8s.io/component-base/config/v1alpha1": ("component-base", "config/v1alpha1", ""),
    "k8s.io/component-base/logs/api/v1": ("component-base", "logs/api/v1", ""),
    "k8s.io/component-base/tracing/api/v1": ("component-base", "tracing/api/v1", ""),
    "k8s.io/client-go/tools/clientcmd/api/v1": ("client-go", "tools/clientcmd/api/v1", "v1"),
    "k8s.io/pod-security-admission/admission/api/v1":
        ("pod-security-admission", "admission/api/v1", "pod-security.admission.config.k8s.io/v1"),
    "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta3":
        ("kubeconfig", "config/kubeadm/v1beta3", "kubeadm.k8s.io/v1beta3"),
    "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta4":
        ("kubeconfig", "config/kubeadm/v1beta4", "kubeadm.k8s.io/v1beta4"),
    BOOTSTRAP_TOKEN: ("kubeconfig", "config/bootstraptoken/v1", ""),
    "k8s.io/kubernetes/plugin/pkg/admission/eventratelimit/apis/eventratelimit/v1alpha1":
        ("kubeconfig", "config/admission/eventratelimit/apis/v1alpha1", "eventratelimit.admission.k8s.io/v1alpha1"),
}
# Kinds registered under another name than their Go type (register.go AddKnownTypeWithName).
KIND_NAMES = {
    ("k8s.io/apiserver/pkg/admission/plugin/resourcequota/apis/resourcequota/v1", "Configuration"):
        "ResourceQuotaConfiguration",
}
# Kinds without TypeMeta that are still top-level documents (kubeconfig carries apiVersion/kind fields).
EXTRA_KINDS = {("k8s.io/client-go/tools/clientcmd/api/v1", "Config")}
# kubeadm releases that know each kubeadm API version (v1beta4 from 1.31; v1beta3 kept through 1.36).
KUBEADM_MINORS = {"v1beta3": (27, 36), "v1beta4": (31, 99)}

META = "k8s.io/apimachinery/pkg/apis/meta/v1"
DURATION = r"^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$"
QUANTITY = {"anyOf": [{"type": "string", "pattern": r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"},
                      {"type": "number"}, {"type": "null"}]}
INTS = {"int": 64, "int64": 64, "int32": 32, "int16": 16, "int8": 8,
        "uint": 64, "uint64": 64, "uint32": 32, "uint16": 16, "uint8": 8}
# Types with their own UnmarshalJSON, or from packages we do not parse: schema by (import path, name).
# Each says what the decoder accepts; `None` as a value means "nullable only through a pointer".
SPECIAL: dict[tuple[str, str], dict[str, Any]] = {
    (META, "Duration"): {"type": "string", "pattern": DURATION},  # UnmarshalJSON("null") -> ParseDuration("")
    (META, "Time"): {"type": ["string", "null"], "format": "date-time"},
    (META, "MicroTime"): {"type": ["string", "null"], "format": "date-time"},
    ("k8s.io/apimachinery/pkg/types", "UID"): {"type": ["string", "null"]},
    ("k8s.io/apimachinery/pkg/runtime", "RawExtension"): {},
    ("k8s.io/apimachinery/pkg/runtime", "Unknown"): {},
    ("k8s.io/apimachinery/pkg/runtime", "Object"): {},
    ("k8s.io/apimachinery/pkg/api/resource", "Quantity"): QUANTITY,
    ("k8s.io/apimachinery/pkg/api/resource", "QuantityValue"): QUANTITY,
    ("k8s.io/apimachinery/pkg/util/intstr", "IntOrString"): {"type": ["integer", "string", "null"]},
    ("k8s.io/component-base/logs/api/v1", "TimeOrMetaDuration"):
        {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": DURATION}, {"type": "null"}]},
    (BOOTSTRAP_TOKEN, "BootstrapTokenString"):
        {"type": "string", "pattern": r"^([a-z0-9]{6})\.([a-z0-9]{16})$"},
    ("time", "Duration"): {"type": ["integer", "null"]},  # a plain time.Duration is int64 nanoseconds
    ("k8s.io/api/core/v1", "ResourceList"): {"type": ["object", "null"], "additionalProperties": QUANTITY},
}
CORE_PREFIXES = {"k8s.io/api/": "io.k8s.api.", META: "io.k8s.apimachinery.pkg.apis.meta.v1"}
SCHEDULER_ARGS = ["DefaultPreemption", "InterPodAffinity", "NodeAffinity", "NodeResourcesBalancedAllocation",
                  "NodeResourcesFit", "PodTopologySpread", "VolumeBinding", "DynamicResources"]


class Sources:
    def __init__(self, mirrors: Path) -> None:
        self.mirrors = mirrors

    def _git(self, repo: str, *args: str) -> bytes:
        gd = self.mirrors / MIRRORS.get(repo, f"kubernetes+{repo}") / "repo"
        return subprocess.run(["git", "--git-dir", str(gd), *args], check=True, capture_output=True).stdout

    def package(self, import_path: str, minor: int) -> tuple[Package, dict[str, Any]] | None:
        repo, directory, _ = PACKAGES[import_path]
        pkg = Package(import_path)
        ref = KUBECONFIG_SYNC.get(minor, "") if repo == "kubeconfig" else f"v0.{minor}.0"
        try:
            names = self._git(repo, "ls-tree", "--name-only", ref, directory + "/").decode().split()
        except subprocess.CalledProcessError:
            return None
        for name in names:
            base = name.rsplit("/", 1)[-1]
            if not base.endswith(".go") or base.endswith("_test.go") or base.startswith("zz_generated"):
                continue
            parse_file(pkg, name, self._git(repo, "show", f"{ref}:{name}"))
        if not pkg.types:
            return None
        commit = self._git(repo, "rev-list", "-n1", ref).decode().strip()
        if repo == "kubeconfig":
            subject = self._git(repo, "log", "-1", "--format=%ad %s", "--date=short", ref).decode().strip()
            copy_of = next(v + directory.removeprefix(k).split("/")[-1] for k, v in UPSTREAM.items()
                           if directory.startswith(k))
            return pkg, {"repository": "tengqm/kubeconfig", "tag": "", "commit": commit,
                         "note": f"copy of {copy_of}; commit {subject!r}"}
        return pkg, {"repository": f"kubernetes/{repo}", "tag": ref, "commit": commit}


class Generator:
    """Builds one minor's schemas. `defs` collects every struct reached, keyed by a dotted Go name."""

    def __init__(self, sources: Sources, minor: int, core_defs: dict[str, Any]) -> None:
        self.sources, self.minor, self.core_defs = sources, minor, core_defs
        self.packages: dict[str, tuple[Package, dict[str, Any]] | None] = {}
        self.used_files: dict[tuple[str, str], dict[str, Any]] = {}
        self.warnings: list[str] = []

    def pkg(self, import_path: str) -> Package | None:
        if import_path not in self.packages:
            self.packages[import_path] = (self.sources.package(import_path, self.minor)
                                          if import_path in PACKAGES else None)
        got = self.packages[import_path]
        return got[0] if got else None

    def kind_schema(self, import_path: str, type_name: str, api_version: str, kind: str) -> dict[str, Any]:
        defs: dict[str, Any] = {}
        core: set[str] = set()
        root = self.struct(import_path, type_name, defs, core, root=True)
        root["properties"]["apiVersion"] = {"const": api_version}
        root["properties"]["kind"] = {"const": kind}
        root["type"] = "object"
        root["required"] = sorted({"apiVersion", "kind", *root.get("required", [])})
        for name in sorted(core_closure(self.core_defs, core)):
            defs[name] = self.core_defs[name]
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **root}
        if defs:
            schema["$defs"] = dict(sorted(defs.items()))
        return schema

    def struct(self, import_path: str, name: str, defs: dict[str, Any], core: set[str],
               root: bool = False) -> dict[str, Any]:
        pkg = self.pkg(import_path)
        assert pkg is not None, import_path
        decl = pkg.types[name]
        self.used_files[(import_path, decl.file)] = {}
        props: dict[str, Any] = {}
        for f in decl.fields:
            self.field(pkg, decl.file, f, props, defs, core)
        self.special_fields(import_path, name, props, defs, core)
        out: dict[str, Any] = {"type": ["object", "null"], "properties": dict(props),
                               "additionalProperties": False}
        if root and "apiVersion" not in props:
            out["properties"]["apiVersion"] = {}
            out["properties"]["kind"] = {}
        return out

    def field(self, pkg: Package, file: str, f: Field, props: dict[str, Any], defs: dict[str, Any],
              core: set[str]) -> None:
        key, _opts = f.json
        if key == "-":
            return
        if not f.name:  # embedded: Go inlines it when the tag gives no name
            path, tname = self.resolve(pkg, file, f.type.lstrip("*"))
            if key:
                props[key] = self.value(pkg, file, f.type, defs, core)
            elif (path, tname) == (META, "TypeMeta"):
                props["apiVersion"] = {"type": ["string", "null"]}
                props["kind"] = {"type": ["string", "null"]}
            elif path.startswith("k8s.io/api/"):
                ref = self.core_ref(path, tname, core)
                props.update(self.core_defs[ref["$ref"].rsplit("/", 1)[-1]].get("properties", {}))
            else:
                inner = self.struct(path, tname, defs, core)
                props.update(inner["properties"])
            return
        if not f.name[0].isupper():
            return
        props[key or f.name] = self.value(pkg, file, f.type, defs, core)

    def special_fields(self, import_path: str, name: str, props: dict[str, Any], defs: dict[str, Any],
                       core: set[str]) -> None:
        """kube-scheduler decodes `pluginConfig[].args` strictly as the `<name>Args` kind."""
        if not import_path.startswith("k8s.io/kube-scheduler/config/") or name != "PluginConfig":
            return
        pkg = self.pkg(import_path)
        assert pkg is not None
        rules = []
        for plugin in SCHEDULER_ARGS:
            if plugin + "Args" in pkg.types:
                ref = self.named(import_path, plugin + "Args", defs, core)
                rules.append({"if": {"properties": {"name": {"const": plugin}}, "required": ["name"]},
                              "then": {"properties": {"args": ref}}})
        props["__allOf__"] = rules

    def resolve(self, pkg: Package, file: str, expr: str) -> tuple[str, str]:
        if "." in expr:
            alias, tname = expr.split(".", 1)
            return pkg.imports[file][alias], tname
        return pkg.import_path, expr

    def value(self, pkg: Package, file: str, expr: str, defs: dict[str, Any], core: set[str]) -> dict[str, Any]:
        if expr.startswith("*"):
            return _nullable(self.value(pkg, file, expr[1:], defs, core))
        if expr == "[]byte":  # encoding/json: base64.StdEncoding, which skips \r and \n
            return {"type": ["string", "null"], "pattern": r"^[A-Za-z0-9+/\r\n]*={0,2}[\r\n]*$"}
        if expr.startswith("[]"):
            return {"type": ["array", "null"], "items": self.value(pkg, file, expr[2:], defs, core)}
        if expr.startswith("map["):
            depth, i = 0, 3
            for i in range(3, len(expr)):
                depth += {"[": 1, "]": -1}.get(expr[i], 0)
                if depth == 0:
                    break
            return {"type": ["object", "null"],
                    "additionalProperties": self.value(pkg, file, expr[i + 1:], defs, core)}
        if expr in ("string",):
            return {"type": ["string", "null"]}
        if expr == "bool":
            return {"type": ["boolean", "null"]}
        if expr in INTS:
            bits = INTS[expr]
            lo, hi = (0, 2**bits - 1) if expr.startswith("u") else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
            return {"type": ["integer", "null"], "minimum": lo, "maximum": hi}
        if expr in ("float32", "float64"):
            return {"type": ["number", "null"]}
        if expr in ("interface{}", "any"):
            return {}
        path, tname = self.resolve(pkg, file, expr)
        return self.named(path, tname, defs, core)

    def named(self, path: str, tname: str, defs: dict[str, Any], core: set[str]) -> dict[str, Any]:
        if (path, tname) in SPECIAL:
            return dict(SPECIAL[(path, tname)])
        if path.startswith("k8s.io/api/") or path == META:
            return self.core_ref(path, tname, core)
        target = self.pkg(path)
        if target is None or tname not in target.types:
            self.warnings.append(f"unknown type {path}.{tname}: accepting anything")
            return {}
        if tname in target.unmarshalers:
            self.warnings.append(f"{path}.{tname} has its own UnmarshalJSON and no SPECIAL entry")
        decl = target.types[tname]
        if not decl.is_struct:
            self.used_files[(path, decl.file)] = {}
            return self.value(target, decl.file, decl.underlying, defs, core)
        upstream = "k8s.io/kubernetes/cmd/kubeadm/app/apis/bootstraptoken/v1" if path == BOOTSTRAP_TOKEN else path
        def_name = upstream.removeprefix("k8s.io/").replace("/", ".") + "." + tname
        if def_name not in defs:
            defs[def_name] = {}  # placeholder against recursion
            defs[def_name] = self.struct(path, tname, defs, core)
        return {"$ref": f"#/$defs/{def_name}"}

    def core_ref(self, path: str, tname: str, core: set[str]) -> dict[str, Any]:
        prefix = "io.k8s.api." + path.removeprefix("k8s.io/api/").replace("/", ".") if path != META \
            else CORE_PREFIXES[META]
        name = f"{prefix}.{tname}"
        if name not in self.core_defs:
            if tname in ("PullPolicy", "HostPathType", "Protocol", "TaintEffect"):  # named strings
                return {"type": ["string", "null"]}
            self.warnings.append(f"core type {name} not in kubernetes-validate: accepting anything")
            return {}
        core.add(name)
        return {"$ref": f"#/$defs/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """A pointer accepts null (nil). Struct defs and most values already do; refs stay as they are."""
    t = schema.get("type")
    if isinstance(t, str):
        return {**schema, "type": [t, "null"]}
    return schema


def _finish(node: Any) -> Any:
    """Move the scheduler's `__allOf__` marker out of `properties` into an allOf of the struct."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict) and "__allOf__" in props:
            node["allOf"] = props.pop("__allOf__")
        return {k: _finish(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_finish(v) for v in node]
    return node


def kinds_of(gen: Generator, import_path: str) -> list[tuple[str, str]]:
    pkg = gen.pkg(import_path)
    if pkg is None:
        return []
    out = []
    for name, decl in sorted(pkg.types.items()):
        embeds_meta = any(not f.name and f.type.endswith(".TypeMeta") for f in decl.fields)
        if (decl.is_struct and embeds_meta) or (import_path, name) in EXTRA_KINDS:
            out.append((name, KIND_NAMES.get((import_path, name), name)))
    return out


def generate(sources: Sources, minor: int, out: Path, manifest: dict[str, Any]) -> int:
    core_defs = CORE_PATCHES(minor)
    gen = Generator(sources, minor, core_defs)
    written = 0
    dest = out / "components" / f"v1.{minor}"
    dest.mkdir(parents=True, exist_ok=True)
    for import_path, (_, _, api_version) in PACKAGES.items():
        if not api_version:
            continue
        version = api_version.rsplit("/", 1)[-1]
        if import_path.startswith("k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/"):
            lo, hi = KUBEADM_MINORS[version]
            if not lo <= minor <= hi:
                continue
        for type_name, kind in kinds_of(gen, import_path):
            gen.used_files = {}
            schema = _finish(gen.kind_schema(import_path, type_name, api_version, kind))
            group = api_version.split("/")[0] if "/" in api_version else "core"
            fname = f"{group}_{version}_{kind}.json"
            data = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            (dest / fname).write_bytes(data + b"\n")
            manifest[f"components/v1.{minor}/{fname}"] = {
                "apiVersion": api_version, "kind": kind, "sha256": hashlib.sha256(data + b"\n").hexdigest(),
                "license": "Apache-2.0", "sources": provenance(gen) + core_provenance(schema, minor)}
            written += 1
    for w in sorted(set(gen.warnings)):
        print(f"v1.{minor}: warning: {w}", file=sys.stderr)
    return written


def provenance(gen: Generator) -> list[dict[str, Any]]:
    rows = []
    for (import_path, file) in sorted(gen.used_files):
        got = gen.packages.get(import_path)
        if not got:
            continue
        pkg, prov = got
        rows.append({**prov, "path": file, "sha256": hashlib.sha256(pkg.files[file]).hexdigest()})
    return rows


def core_provenance(schema: dict[str, Any], minor: int) -> list[dict[str, Any]]:
    if not any(k.startswith("io.k8s.") for k in schema.get("$defs", {})):
        return []
    path = core_defs_path(minor)
    return [{"repository": "pypi:kubernetes-validate", "tag": kubernetes_validate.__version__,
             "commit": "", "path": f"{path.parent.name}/{path.name}",
             "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", type=Path, required=True, help="dir with <owner>+<name>/repo git mirrors")
    ap.add_argument("--minors", default="1.27-1.36", help="e.g. 1.27-1.36")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "schemas")
    args = ap.parse_args(argv)
    lo, _, hi = args.minors.partition("-")
    minors = range(int(lo.split(".")[1]), int((hi or lo).split(".")[1]) + 1)
    sources = Sources(args.mirrors)
    manifest: dict[str, Any] = {}
    for minor in minors:
        n = generate(sources, minor, args.out, manifest)
        print(f"v1.{minor}: {n} kinds")
    write_manifest(args.out, manifest, prefix="components/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
