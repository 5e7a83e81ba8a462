"""The data every stage shares. Imports nothing else of kvalidate.

A `Finding` is the one record every stage produces and every reporter reads. Errors are data:
a render failure, a YAML error or a missing schema each becomes a Finding and the run goes on.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


class SetupError(Exception):
    """Input kvalidate cannot use at all (unreadable path, bad config, not a checkout).

    The CLI turns it into one line on stderr and exit code 2. Anything wrong *inside* what
    kvalidate checks is a Finding instead.
    """


@dataclass(frozen=True, slots=True)
class Position:
    """1-based line and column in a file (rendered output or template)."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    rule: str
    message: str
    path: str = ""  # API-server field path (`spec.containers[0].image`), "" for the whole document
    file: str = ""  # the file the document came from (rendered dest, or the input path)
    line: int = 0  # 1-based; 0 when unknown
    column: int = 0
    document: int = 0  # index of the document in its file (0-based)
    apiVersion: str = ""  # noqa: N815 - the JSON report's key, as Kubernetes spells it
    kind: str = ""
    name: str = ""
    # Filled in by the rendering stages (empty for `kvalidate validate`).
    template: str = ""
    template_line: int = 0
    host: str = ""
    cell: str = ""
    ref: str = ""
    dest: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.value
        return d

    def sort_key(self) -> tuple[str, str, str, str, int, int, int, str, str]:
        return (self.ref, self.cell, self.host, self.file, self.document, self.line, self.column,
                self.rule, self.path)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a document's text came from. `template` etc. are set when it was rendered."""

    file: str
    template: str = ""
    host: str = ""
    cell: str = ""
    ref: str = ""
    dest: str = ""


@dataclass(slots=True)
class Document:
    """One parsed YAML/JSON document with the position of every value.

    `positions` maps a path tuple (keys and list indices, as in the data) to the position of the
    value's key (for mapping entries) or of the item (for list entries); `()` is the document.
    """

    data: Any
    index: int
    positions: Mapping[tuple[str | int, ...], Position]
    source: Source
    # Keys set twice: (path, position of the second key, line of the first). The last one wins,
    # as in every non-strict decoder; strict consumers refuse the document.
    duplicates: list[tuple[tuple[str | int, ...], Position, int]] = field(default_factory=list)

    @property
    def api_version(self) -> str:
        v = self.data.get("apiVersion") if isinstance(self.data, dict) else None
        return v if isinstance(v, str) else ""

    @property
    def kind(self) -> str:
        v = self.data.get("kind") if isinstance(self.data, dict) else None
        return v if isinstance(v, str) else ""

    @property
    def name(self) -> str:
        if not isinstance(self.data, dict):
            return ""
        meta = self.data.get("metadata")
        if isinstance(meta, dict):
            n = meta.get("name") or meta.get("generateName")
            return n if isinstance(n, str) else ""
        return ""

    def position(self, path: tuple[str | int, ...]) -> Position:
        """Position of `path`, or of its nearest ancestor that has one."""
        p = path
        while p:
            pos = self.positions.get(p)
            if pos is not None:
                return pos
            p = p[:-1]
        return self.positions.get((), Position(1, 1))


def field_path(path: tuple[str | int, ...] | list[str | int]) -> str:
    """The API server's field path form: `spec.containers[0].volumeMounts[2].value`."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            out.append(("." if out else "") + part)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Cell:
    """One point of a variable matrix. `name` is what findings carry; `command` reproduces it.

    `scenario` is a CI scenario file in the checkout (`tests/files/X.yml`), `layout` a CI layout
    name, `inventory` a user's inventory path; empty means the default cell's choice.
    """

    name: str
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    scenario: str = ""
    layout: str = ""
    inventory: str = ""
    os: str = ""
    kube_version: str = ""
    description: str = ""
    command: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["extra_vars"] = dict(self.extra_vars)
        return d


@dataclass(slots=True)
class Result:
    findings: list[Finding] = field(default_factory=list)
    documents: int = 0
    files: int = 0
    checked: list[str] = field(default_factory=list)  # labels of the files (renderings) checked
    cells: list[Cell] = field(default_factory=list)
    # Free-form counters that reporters may show (per template, per cell...).
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)

    def exit_code(self) -> int:
        return 1 if self.errors else 0

    def summary(self) -> dict[str, Any]:
        by_rule: dict[str, int] = {}
        for f in self.findings:
            by_rule[f.rule] = by_rule.get(f.rule, 0) + 1
        no_schema = sorted({f"{f.apiVersion} {f.kind}".strip() for f in self.findings
                            if f.rule == "no-schema"})
        return {
            "files": self.files,
            "documents": self.documents,
            "errors": self.errors,
            "warnings": self.warnings,
            "by_rule": dict(sorted(by_rule.items())),
            "no_schema_kinds": no_schema,
            **self.stats,
        }
