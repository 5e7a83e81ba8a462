"""kvalidate.yaml -> MatrixConfig. A bad file is a SetupError naming the file and the line.

The file's JSON Schema ships as `kvalidate/data/kvalidate.schema.json` (`kvalidate config-schema`
prints it), so editors can check the file as it is written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs

from kvalidate.documents import parse_text
from kvalidate.model import SetupError, Source, field_path

CONFIG_NAME = "kvalidate.yaml"


def config_schema() -> dict[str, Any]:
    text = (resources.files("kvalidate") / "data" / "kvalidate.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(frozen=True)
class PairwiseGroup:
    axes: tuple[str, ...]
    strength: int = 2


@dataclass(frozen=True)
class NamedCell:
    name: str
    vars: Mapping[str, Any] = field(default_factory=dict)
    scenario: str = ""
    layout: str = ""
    kube_version: str = ""
    os: str = ""
    inventory: str = ""
    description: str = ""
    playbook: str = ""
    limit: str = ""
    fact_cache: str = ""


@dataclass(frozen=True)
class IgnoreRule:
    """An `ignore:` entry: defects of templates matching `template` (a glob) with one of `rules`
    (ids or globs), optionally only at field paths matching `path` (a glob or a prefix), are
    accepted for `reason`. `line` is the entry's line in the file (where a stale waiver points)."""

    template: str
    rules: tuple[str, ...]
    reason: str
    path: str = ""
    line: int = 0


@dataclass(frozen=True)
class MatrixConfig:
    source: str = ""  # the file it came from ("" for the built-in default)
    vars: Mapping[str, Any] = field(default_factory=dict)
    axes: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    pairwise: tuple[PairwiseGroup, ...] = ()
    kube_versions: str | tuple[str, ...] = ()  # "supported", "default" or minors; () = the cell's own
    scenarios: tuple[str, ...] = ()
    layouts: tuple[str, ...] = ()
    os: tuple[str, ...] = ()
    playbooks: tuple[str, ...] = ()  # playbook names (cluster.yml, upgrade-cluster.yml, ...)
    limits: tuple[str, ...] = ()  # --limit patterns ("" = no limit)
    fact_caches: tuple[str, ...] = ()  # facts.yml / none (limited cells only)
    inventory: str = ""
    auto: bool = False
    auto_max_cells: int = 64
    include: tuple[Mapping[str, Any], ...] = ()
    exclude: tuple[Mapping[str, Any], ...] = ()
    cells: tuple[NamedCell, ...] = ()
    ignore: tuple[IgnoreRule, ...] = ()


def load_config(path: Path) -> MatrixConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SetupError(f"cannot read {path}: {e.strerror or e}") from e
    return parse_config(text, str(path))


def parse_config(text: str, label: str) -> MatrixConfig:
    parsed = parse_text(text, Source(label))
    if parsed.findings:
        f = parsed.findings[0]
        raise SetupError(f"{label}:{f.line}: {f.message}")
    if not parsed.documents:
        return MatrixConfig(source=label)
    if len(parsed.documents) > 1:
        raise SetupError(f"{label}:{parsed.documents[1].position(()).line}: one YAML document expected")
    doc = parsed.documents[0]
    if doc.duplicates:
        path, pos, first = doc.duplicates[0]
        raise SetupError(f"{label}:{pos.line}: {field_path(path)} is set twice (first at line {first})")
    validator = jsonschema_rs.validator_for(config_schema())
    for err in validator.iter_errors(doc.data):
        where: tuple[str | int, ...] = tuple(err.instance_path)
        kind: Any = err.kind
        if type(kind).__name__ == "AdditionalProperties":
            where = (*where, kind.unexpected[0])
        line = doc.position(where).line
        shown = field_path(where) or "(top level)"
        raise SetupError(f"{label}:{line}: {shown}: {err.message}")
    data: dict[str, Any] = doc.data
    _check_references(data, label, doc.position)
    config = _build(data, label)
    ignore = tuple(IgnoreRule(
        template=entry["template"], rules=(entry["rule"],) if isinstance(entry["rule"], str) else tuple(entry["rule"]),
        reason=" ".join(entry["reason"].split()), path=entry.get("path", ""), line=doc.position(("ignore", i)).line)
        for i, entry in enumerate(data.get("ignore", ())))
    return replace(config, ignore=ignore)


def _check_references(data: Mapping[str, Any], label: str, position: Any) -> None:
    axes = data.get("axes", {})
    for i, group in enumerate(data.get("pairwise", [])):
        names = group if isinstance(group, list) else group["axes"]
        for j, name in enumerate(names):
            if name not in axes:
                p: tuple[str | int, ...] = ("pairwise", i, j) if isinstance(group, list) else ("pairwise", i, "axes", j)
                raise SetupError(f"{label}:{position(p).line}: pairwise names {name!r}, which is not an axis")
    seen: dict[str, int] = {}
    for i, group in enumerate(data.get("pairwise", [])):
        for name in group if isinstance(group, list) else group["axes"]:
            if name in seen:
                raise SetupError(f"{label}:{position(('pairwise', i)).line}: axis {name!r} is in two pairwise "
                                 f"groups (also group {seen[name] + 1})")
            seen[name] = i


def _build(data: Mapping[str, Any], label: str) -> MatrixConfig:
    groups = tuple(PairwiseGroup(tuple(g), 2) if isinstance(g, list) else
                   PairwiseGroup(tuple(g["axes"]), int(g.get("strength", 2))) for g in data.get("pairwise", []))
    kv = data.get("kube_versions", ())
    cells = tuple(NamedCell(name, **{k: v for k, v in spec.items()}) for name, spec in data.get("cells", {}).items())
    return MatrixConfig(
        source=label,
        vars=dict(data.get("vars", {})),
        axes={k: list(v) for k, v in data.get("axes", {}).items()},
        pairwise=groups,
        kube_versions=kv if isinstance(kv, str) else tuple(kv),
        scenarios=tuple(data.get("scenarios", ())),
        layouts=tuple(data.get("layouts", ())),
        os=tuple(data.get("os", ())),
        playbooks=tuple(data.get("playbooks", ())),
        limits=tuple(data.get("limits", ())),
        fact_caches=tuple(data.get("fact_caches", ())),
        inventory=str(data.get("inventory", "")),
        auto=bool(data.get("auto", False)),
        auto_max_cells=int(data.get("auto_max_cells", 64)),
        include=tuple(data.get("include", ())),
        exclude=tuple(data.get("exclude", ())),
        cells=cells,
    )
