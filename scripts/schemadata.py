"""Helpers shared by the schema scripts: core definitions from kubernetes-validate, and MANIFEST.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate

KV_DIR = Path(kubernetes_validate.__file__).resolve().parent / "kubernetes-json-schema"
QUANTITY_RE = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"


def strip(node: Any) -> Any:
    """Structure only: drop descriptions and other prose."""
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items()
                if k not in ("description", "$comment", "x-kubernetes-group-version-kind")}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def core_defs_path(minor: int) -> Path:
    have = sorted(int(p.name.split(".")[1]) for p in KV_DIR.glob("v1.*.0-local-strict"))
    use = max([m for m in have if m <= minor] or [have[0]])
    return KV_DIR / f"v1.{use}.0-local-strict" / "_definitions.json"


def CORE_PATCHES(minor: int) -> dict[str, Any]:  # noqa: N802 - a table-like accessor
    """kubernetes-validate's strict `$defs` for the minor (nearest below if absent), patched:
    IntOrString and Quantity become plain unions that accept null, as the API server does."""
    defs: dict[str, Any] = json.loads(core_defs_path(minor).read_text())["$defs"]
    defs = strip(defs)
    defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {"type": ["integer", "string", "null"]}
    defs["io.k8s.apimachinery.pkg.api.resource.Quantity"] = {
        "anyOf": [{"type": "string", "pattern": QUANTITY_RE}, {"type": "number"}, {"type": "null"}]}
    return defs


def core_closure(defs: dict[str, Any], names: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo.extend(_refs(defs[n]))
    return seen


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        out = []
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.append(v.rsplit("/", 1)[-1])
            else:
                out.extend(_refs(v))
        return out
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def write_manifest(out: Path, entries: dict[str, Any], prefix: str) -> None:
    """Replace the entries under `prefix` in `<out>/MANIFEST.json`, keep the others."""
    path = out / "MANIFEST.json"
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"files": {}}
    files = {k: v for k, v in data.get("files", {}).items() if not k.startswith(prefix)}
    files.update(entries)
    data["files"] = dict(sorted(files.items()))
    data["about"] = ("Every schema file kvalidate ships: what it was generated from (repository, tag, "
                     "commit, path and sha256 of each source file) and the sha256 of the file itself. "
                     "Regenerate with the scripts named in docs/schemas.md.")
    path.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
