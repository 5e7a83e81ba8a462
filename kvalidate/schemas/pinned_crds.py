"""Pinned schemas of custom resources whose CRD Kubespray downloads (Calico) or whose operator
registers it at run time (Cilium), chosen by the cell's component version.

Files: `schemas/crds/<project>/<version>/<group>_<version>_<Kind>.json`, written by
`scripts/gen_crd_schemas.py` from the upstream CRDs (structure only; provenance in MANIFEST.json).
calicoctl's `projectcalico.org/v3` objects are validated against the `crd.projectcalico.org/v1`
schema of the same kind: those CRDs embed the same `v3.*Spec` Go types. Where calicoctl's own
decoding is wider than the CRD (numorstring fields), `scripts/gen_crd_schemas.py` writes the
wider schema into the v3 file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from kvalidate.pinned import pinned_schemas
from kvalidate.schemas.crd_convert import attach_defs
from kvalidate.schemas.entry import API_CONSUMER, SchemaEntry
from kvalidate.versions import version_key

# project -> the Kubespray variable that selects its version
PROJECTS: dict[str, str] = {"calico": "calico_version", "cilium": "cilium_version"}
CALICOCTL = "calicoctl (yaml.UnmarshalStrict) refuses the resource on an unknown or duplicate field"


def _crds() -> Path:
    return pinned_schemas() / "crds"


@cache
def pinned_versions(project: str) -> tuple[str, ...]:
    d = _crds() / project
    return tuple(sorted((p.name for p in d.iterdir() if p.is_dir()), key=version_key)) if d.is_dir() else ()


@cache
def _aliases(project: str) -> dict[str, str]:
    """version -> the pinned directory holding its (identical) CRD file."""
    path = _crds() / project / "aliases.json"
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return data


@cache
def _index(project: str, version: str) -> dict[tuple[str, str], str]:
    """(apiVersion, kind) -> file name, of the files in one pinned directory (`version` is one of
    `pinned_versions`: `_choose` picks nothing else). A document's apiVersion and kind are only
    keys here, never parts of a path."""
    out: dict[tuple[str, str], str] = {}
    for f in sorted((_crds() / project / version).glob("*.json")):
        group, ver, kind = f.stem.rsplit("_", 2)
        out[(f"{group}/{ver}", kind)] = f.name
    return out


@cache
def _load(project: str, version: str, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((_crds() / project / version / name).read_text(encoding="utf-8"))
    return attach_defs(schema)


def _choose(project: str, wanted: str | None) -> tuple[str, str] | None:
    """(version used, note). Exact pin, else the nearest pinned below, else the oldest; newest if unset."""
    have = pinned_versions(project)
    if not have:
        return None
    if not wanted:
        return have[-1], f"{PROJECTS[project]} not set, newest pinned"
    wanted = wanted.lstrip("v")
    if wanted in have:
        return wanted, ""
    if _aliases(project).get(wanted) in have:  # a pinned directory, never a path from the cell's variables
        return _aliases(project)[wanted], f"same CRD file as {wanted}"
    below = [v for v in have if version_key(v) <= version_key(wanted)]
    used = below[-1] if below else have[0]
    return used, f"{PROJECTS[project]} {wanted} not pinned, nearest used"


def pinned_crd_lookup(api_version: str, kind: str, versions: Mapping[str, str]) -> SchemaEntry | None:
    """The pinned schema of a Calico or Cilium custom resource for the cell's versions, or None.

    When the chosen pin lacks the kind (a kind promoted or removed between releases), the nearest
    pin that has it is used, said so in `source`."""
    for project, var in PROJECTS.items():
        chosen = _choose(project, versions.get(var))
        if chosen is None:
            continue
        version, note = chosen
        name = _index(project, version).get((api_version, kind))
        if name is None:
            others = sorted(pinned_versions(project), key=lambda v: (version_key(v) < version_key(version),
                                                                      abs(_distance(v, version))))
            found = [v for v in others if (api_version, kind) in _index(project, v)]
            if not found:
                continue
            note = f"{kind} {api_version} not in the {version} pin, nearest pin that has it"
            version, name = found[0], _index(project, found[0])[(api_version, kind)]
        source = f"crds {project} {version}" + (f" ({note})" if note else "")
        consumer = CALICOCTL if api_version == "projectcalico.org/v3" else API_CONSUMER
        return SchemaEntry(_load(project, version, name), source, consumer=consumer)
    return None


def _distance(a: str, b: str) -> int:
    ka, kb = version_key(a), version_key(b)
    return sum((x - y) * 1000 ** (3 - i) for i, (x, y) in enumerate(zip(ka, kb, strict=False)))


@cache
def all_pinned_kinds() -> frozenset[tuple[str, str]]:
    """(apiVersion, kind) of every pinned custom resource, in any pinned version: the kinds a
    lookup can find whatever the cell's versions (the nearest pin that has a kind serves it)."""
    return frozenset(key for project in PROJECTS for v in pinned_versions(project) for key in _index(project, v))


def pinned_kinds(versions: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(apiVersion, kind, source) of every pinned custom resource for these versions."""
    out = []
    for project in PROJECTS:
        chosen = _choose(project, versions.get(PROJECTS[project]))
        if chosen:
            out += [(a, k, f"crds {project} {chosen[0]}") for a, k in _index(project, chosen[0])]
    return sorted(out)
