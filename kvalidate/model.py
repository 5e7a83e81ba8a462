"""The data every stage shares. Imports nothing else of kvalidate.

A `Finding` is the one record every stage produces and every reporter reads. Errors are data:
a render failure, a YAML error or a missing schema each becomes a Finding and the run goes on.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
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


class LineMap:
    """Which template line wrote each line of a rendered text, recorded while it was rendered
    (`ansible.linemap`). `lines[i]` is the template line of rendered line i + 1 (0: unknown).
    `files` is empty when every line comes from the rendered template itself; else `files[i]` names
    the template file of line i + 1 ("" for the rendered template itself, a path for a line an
    `{% include %}`d or `{% extends %}`ed template wrote).

    The engine records where each piece of output came from while rendering and builds the lines
    from that only when they are first read (`build`): most renderings have no finding to locate."""

    __slots__ = ("_lines", "_files", "_build")

    def __init__(self, lines: tuple[int, ...] = (), files: tuple[str, ...] = (),
                 build: Callable[[], tuple[tuple[int, ...], tuple[str, ...]]] | None = None) -> None:
        self._lines = lines
        self._files = files
        self._build = build

    def _built(self) -> None:
        if self._build is not None:
            self._lines, self._files = self._build()
            self._build = None

    @property
    def lines(self) -> tuple[int, ...]:
        self._built()
        return self._lines

    @property
    def files(self) -> tuple[str, ...]:
        self._built()
        return self._files

    def at(self, line: int) -> tuple[str, int]:
        """(template file, "" for the rendered template itself; 1-based template line, 0 if
        unknown) of 1-based rendered line `line`."""
        lines, files = self.lines, self._files
        if not 0 < line <= len(lines):
            return "", 0
        return (files[line - 1] if files else ""), lines[line - 1]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LineMap) and (self.lines, self.files) == (other.lines, other.files)

    def __hash__(self) -> int:
        return hash((self.lines, self.files))

    def __repr__(self) -> str:
        return f"LineMap(lines={self.lines!r}, files={self.files!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return LineMap, (self.lines, self.files)


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


def go_value(v: Any) -> str:
    """A bad value as the API server's field.Error prints it: %v for numbers and booleans, %q for
    strings, compact JSON otherwise (`Duplicate value: {"containerPort":88,"protocol":"TCP"}`)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if v is None:
        return "null"
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


@dataclass(frozen=True, slots=True)
class Cell:
    """One point of a variable matrix. `name` is what findings carry; `command` reproduces it.

    `scenario` is a CI scenario file in the checkout (`tests/files/X.yml`), `layout` a CI layout
    name, `inventory` a user's inventory path; empty means the default cell's choice. `playbook` is
    the playbook run (default `cluster.yml`), `limit` an ansible-playbook `--limit` pattern and
    `fact_cache` what a limited run's fact cache holds (`facts.yml`, the default, or `none`).
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
    playbook: str = ""
    limit: str = ""
    fact_cache: str = ""
    auto: bool = False  # made by automatic coverage (`--auto`), not named by the user
    # automatic cells: template -> the shorter command that opens it as this cell does (only
    # what differs from the base cell)
    reproduce: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["extra_vars"] = dict(self.extra_vars)
        d["reproduce"] = dict(self.reproduce)
        return d


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One (cell, ref) run of `kvalidate check`: what the text report's cells table shows."""

    cell: str
    ref: str
    files: int
    kube: str  # the Kubernetes minor whose schemas applied

    @property
    def label(self) -> str:
        return f"{self.cell} @ {self.ref}" if self.ref else self.cell

    def to_dict(self) -> dict[str, Any]:
        return {"cell": self.cell, "ref": self.ref, "files": self.files, "kube": self.kube}


@dataclass(slots=True)
class RunStats:
    """Per-run counters of a matrix; empty for `kvalidate validate`. In the JSON report they are
    the summary's `runs` and `kube_minor` keys, so that `kvalidate merge` can tabulate shards."""

    runs: dict[str, RunInfo] = field(default_factory=dict)  # RunInfo.label -> run
    kube_minor: dict[str, str] = field(default_factory=dict)  # cell name -> minor
    # the engine's evaluations at reuse points ("done") and those served by earlier cells' ("reused")
    reuse: dict[str, int] = field(default_factory=dict)

    def add(self, run: RunInfo) -> None:
        self.runs[run.label] = run
        self.kube_minor[run.cell] = run.kube

    def add_reuse(self, counts: Mapping[str, int]) -> None:
        for k, v in counts.items():
            self.reuse[k] = self.reuse.get(k, 0) + int(v)

    def update(self, other: RunStats) -> None:
        self.runs.update(other.runs)
        self.kube_minor.update(other.kube_minor)
        self.add_reuse(other.reuse)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.kube_minor:
            out["kube_minor"] = dict(self.kube_minor)
        if self.runs:
            out["runs"] = {k: r.to_dict() for k, r in self.runs.items()}
        if self.reuse:
            out["reuse"] = dict(self.reuse)
        return out

    @classmethod
    def from_dict(cls, summary: Mapping[str, Any]) -> RunStats:
        """The counters of a JSON report's summary (a bad shape is a ValueError/KeyError/TypeError)."""
        runs = summary.get("runs")
        minors = summary.get("kube_minor")
        stats = cls()
        if isinstance(runs, Mapping):
            stats.runs = {k: RunInfo(str(r["cell"]), str(r["ref"]), int(r["files"]), str(r.get("kube", "")))
                          for k, r in runs.items()}
        if isinstance(minors, Mapping):
            stats.kube_minor = {str(k): str(v) for k, v in minors.items()}
        reuse = summary.get("reuse")
        if isinstance(reuse, Mapping):
            stats.reuse = {str(k): int(v) for k, v in reuse.items()}
        return stats


class Status(enum.StrEnum):
    """Where a defect stands against a baseline, a waiver or a `--base` ref. Only ACTIVE and NEW
    defects can fail a run."""

    ACTIVE = "active"  # no baseline, no base ref: an ordinary defect
    NEW = "new"  # with --base: not found at the base ref
    UNCHANGED = "unchanged"  # with --base: found at the base ref too
    FIXED = "fixed"  # with --base: found at the base ref only
    KNOWN = "known"  # in the --baseline report
    WAIVED = "waived"  # matched by a waiver (template comment or kvalidate.yaml ignore:)

    @property
    def blocking(self) -> bool:
        return self in (Status.ACTIVE, Status.NEW)


FAIL_ON = ("error", "warning", "never")


@dataclass(slots=True)
class Defect:
    """One problem in one place: the findings that share (template or file, template line, rule,
    field path, message with host-specific values normalised), whatever cells, hosts and refs show
    them. `id` is a fingerprint that does not contain the line, so it survives edits elsewhere in
    the template. Built by `kvalidate.defects.group`."""

    id: str
    severity: Severity
    rule: str
    message: str
    template: str  # the template, or the file when there is none (`kvalidate validate`)
    template_line: int
    path: str
    kind: str
    name: str
    cells: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    count: int = 0
    file: str = ""  # one rendered file:line for context
    line: int = 0
    # the variable values that cause it, confirmed by re-rendering (kvalidate.run.trigger):
    # None = not investigated; {} = every cell shows it (nothing to confirm)
    trigger: dict[str, Any] | None = None
    trigger_note: str = ""  # how the trigger was established, or why none could be confirmed
    command: str = ""  # the shortest command that reproduces it
    status: Status = Status.ACTIVE
    reason: str = ""  # the waiver's reason or the baseline's name
    findings: list[Finding] = field(default_factory=list, repr=False)

    def blocks(self, fail_on: str = "error") -> bool:
        """Does this defect fail the run under `--fail-on fail_on`?"""
        if not self.status.blocking or fail_on == "never":
            return False
        return fail_on == "warning" or self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "severity": self.severity.value, "status": self.status.value, "rule": self.rule,
            "message": self.message, "template": self.template, "template_line": self.template_line,
            "path": self.path, "kind": self.kind, "name": self.name, "cells": list(self.cells),
            "hosts": list(self.hosts), "refs": list(self.refs), "count": self.count, "file": self.file,
            "line": self.line, "trigger": self.trigger, "trigger_note": self.trigger_note,
            "command": self.command, "reason": self.reason,
        }


@dataclass(slots=True)
class Result:
    findings: list[Finding] = field(default_factory=list)
    documents: int = 0
    files: int = 0
    checked: list[str] = field(default_factory=list)  # labels of the files (renderings) checked
    # (ref, template) of every template rendered: what waivers are judged against (not in the JSON report)
    templates: set[tuple[str, str]] = field(default_factory=set)
    cells: list[Cell] = field(default_factory=list)
    stats: RunStats = field(default_factory=RunStats)
    # the findings grouped (kvalidate.defects.group); empty until a command groups them
    defects: list[Defect] = field(default_factory=list)
    # fixed defects (with --base) have no finding in this run: they are reported, never counted
    notes: list[str] = field(default_factory=list)  # run notes (infeasible cells, stale waivers, ...)
    fail_on: str = "error"
    # what the run was, as reports name it (SARIF's automationDetails.id, the markdown title):
    # `kvalidate/check/kvalidate.yaml/release-2.27`; `--sarif-category` sets it
    category: str = ""
    # findings of automatic cells that say the assignment is infeasible (the checkout's own check
    # refuses it, it names a role the checkout lacks, it leaves a documented input undefined):
    # listed with the notes, never errors (kvalidate.run.infeasible)
    infeasible: list[Finding] = field(default_factory=list)
    # CRD x-kubernetes-validations rule evaluations not run (transition rules on create, ...): docs/cel.md
    cel_skipped: int = 0

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)

    def exit_code(self) -> int:
        """1 if a defect blocks (its status and `fail_on` decide), else 0. Before grouping, any
        error finding is 1."""
        if self.defects:
            return 1 if any(d.blocks(self.fail_on) for d in self.defects) else 0
        if self.fail_on == "never":
            return 0
        return 1 if self.errors or (self.fail_on == "warning" and self.warnings) else 0

    def merge(self, other: Result) -> None:
        """Add `other` (a cell's result, or a shard's report): findings and counts summed, run
        counters united, cells united by name. Findings are not re-sorted: call `sort()` once."""
        self.findings.extend(other.findings)
        self.infeasible.extend(other.infeasible)
        self.documents += other.documents
        self.files += other.files
        self.cel_skipped += other.cel_skipped
        self.checked.extend(other.checked)
        self.templates |= other.templates
        self.stats.update(other.stats)
        self.notes.extend(n for n in other.notes if n not in self.notes)
        self.category = self.category or other.category
        names = {c.name for c in self.cells}
        for c in other.cells:
            if c.name not in names:
                names.add(c.name)
                self.cells.append(c)

    def sort(self) -> None:
        self.findings.sort(key=Finding.sort_key)
        self.infeasible.sort(key=Finding.sort_key)

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
            **({"defects": self.defect_counts()} if self.defects else {}),
            **({"notes": list(self.notes)} if self.notes else {}),
            **({"category": self.category} if self.category else {}),
            **self.stats.to_dict(),
            **({"infeasible": len(self.infeasible)} if self.infeasible else {}),
            **({"cel_skipped": self.cel_skipped} if self.cel_skipped else {}),
        }

    def defect_counts(self) -> dict[str, Any]:
        """Defects by severity and status, and how many fail the run."""
        by_status: dict[str, int] = {}
        for d in self.defects:
            by_status[d.status.value] = by_status.get(d.status.value, 0) + 1
        counted = [d for d in self.defects if d.status is not Status.FIXED]
        return {
            "total": len(counted),
            "errors": sum(1 for d in counted if d.severity is Severity.ERROR),
            "warnings": sum(1 for d in counted if d.severity is Severity.WARNING),
            "blocking": sum(1 for d in self.defects if d.blocks(self.fail_on)),
            "by_status": dict(sorted(by_status.items())),
        }
