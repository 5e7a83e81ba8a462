"""Strict validation of documents, with findings worded as the API server words them.

All errors of a document are reported, not only the first: `is_valid()` first (cheap), then
`iter_errors()` only for invalid documents (measured: most documents are valid). Each error becomes a field path
in the API server's form (`spec.template.spec.containers[0].volumeMounts[2].value`) and the line
of that field in the rendered file.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from kvalidate.defaults import apply_defaults
from kvalidate.documents import expand_lists, internal_message, iter_inputs, parse_text
from kvalidate.model import Document, Finding, Position, Result, Severity, Source, field_path, go_value
from kvalidate.schemas.core import BASE64_PATTERN, QUANTITY_MESSAGE, QUANTITY_PATTERN
from kvalidate.schemas.crd_structure import crd_problems
from kvalidate.schemas.entry import API_CONSUMER, SchemaEntry
from kvalidate.schemas.kinds import unknown_kind
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation.cel_rules import Tally, cel_findings
from kvalidate.validation.lists import builtin_duplicates, duplicates
from kvalidate.validation.names import check_metadata
from kvalidate.validation.workloads import check_workload

Path_ = tuple[str | int, ...]

_JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array",
               dict: "object", type(None): "null"}


def _value(v: Any, limit: int = 60) -> str:
    """A value as the API server quotes it in `Invalid value: ...`."""
    text = json.dumps(v, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Emitter:
    """Builds findings for one document (or one item of a List)."""

    def __init__(self, doc: Document, obj: Any, prefix: Path_) -> None:
        self.doc, self.prefix = doc, prefix
        is_map = isinstance(obj, dict)
        self.api_version = obj.get("apiVersion", "") if is_map else ""
        self.kind = obj.get("kind", "") if is_map else ""
        meta = obj.get("metadata") if is_map else None
        name = (meta.get("name") or meta.get("generateName")) if isinstance(meta, dict) else ""
        self.name = name if isinstance(name, str) else ""
        if not isinstance(self.api_version, str):
            self.api_version = ""
        if not isinstance(self.kind, str):
            self.kind = ""

    def finding(self, severity: Severity, rule: str, message: str, path: Path_,
                at: Position | None = None) -> Finding:
        full = (*self.prefix, *path)
        pos = at or self.doc.position(full)
        src = self.doc.source
        return Finding(severity, rule, message, path=field_path(full), file=src.file, line=pos.line,
                       column=pos.column, document=self.doc.index, apiVersion=self.api_version,
                       kind=self.kind, name=self.name, template=src.template, host=src.host,
                       cell=src.cell, ref=src.ref, dest=src.dest)


def _consumer_note(entry: SchemaEntry) -> str:
    return "" if entry.consumer == API_CONSUMER else f" ({entry.consumer})"


def _schema_findings(em: _Emitter, entry: SchemaEntry, errors: Iterable[Any]) -> Iterator[Finding]:
    for err in errors:
        kind = err.kind
        kname = type(kind).__name__
        path: Path_ = tuple(err.instance_path)
        shown = field_path((*em.prefix, *path))
        if kname == "AdditionalProperties":
            for key in kind.unexpected:
                p = (*path, key)
                yield em.finding(entry.unknown_severity, "unknown-field",
                                 f'unknown field "{field_path((*em.prefix, *p))}"{_consumer_note(entry)}', p)
        elif kname == "Required":
            p = (*path, kind.property)
            yield em.finding(Severity.ERROR, "required",
                             f"{field_path((*em.prefix, *p))}: Required value", p,
                             at=em.doc.position((*em.prefix, *path)))
        elif kname == "Type":
            got = _JSON_TYPES.get(type(err.instance), type(err.instance).__name__)
            want = " or ".join(t for t in kind.types if t != "null")
            yield em.finding(Severity.ERROR, "type",
                             f"{shown}: Invalid value: {_value(err.instance)}: expected {want}, got {got}",
                             path)
        elif kname == "Enum":
            options = ", ".join(_value(o) for o in kind.options if o is not None)
            yield em.finding(Severity.ERROR, "enum",
                             f"{shown}: Unsupported value: {_value(err.instance)}: supported values: {options}",
                             path)
        elif kname == "Pattern":
            if kind.pattern == QUANTITY_PATTERN:
                detail, rule = QUANTITY_MESSAGE, "quantity"
            elif kind.pattern == BASE64_PATTERN:
                detail, rule = "illegal base64 data", "base64"
            else:
                detail, rule = f"must match the regular expression '{kind.pattern}'", "pattern"
            yield em.finding(Severity.ERROR, rule, f"{shown}: Invalid value: {_value(err.instance)}: {detail}",
                             path)
        elif kname in ("Minimum", "Maximum"):
            yield em.finding(Severity.ERROR, "range",
                             f"{shown}: Invalid value: {_value(err.instance)}: {err.message}", path)
        else:
            yield em.finding(Severity.ERROR, "schema", f"{shown}: Invalid value: {err.message}", path)


def validate_document(doc: Document, store: SchemaStore, *, require_kind: bool = True,
                      tally: Tally | None = None) -> list[Finding]:
    """Every finding of one parsed document (List items one by one); `tally` counts what CRD rules skipped."""
    if not isinstance(doc.data, dict) and not require_kind:
        return []  # a rendered YAML list or scalar that is no Kubernetes object: nothing to say
    if not isinstance(doc.data, dict):
        em = _Emitter(doc, doc.data, ())
        what = "a list" if isinstance(doc.data, list) else f"a {type(doc.data).__name__} scalar"
        return [em.finding(Severity.ERROR, "not-an-object", f"document is {what}, not a mapping", ())]
    out: list[Finding] = []
    for obj, prefix in expand_lists(doc.data):
        em = _Emitter(doc, obj, prefix)
        try:
            for f in _validate_object(em, obj, store, require_kind, tally):
                out.append(f)
        except Exception as e:  # kvalidate's bug: a finding at this object; the other objects go on
            out.append(em.finding(Severity.ERROR, "internal-error", internal_message(e, "validating this object"),
                                  ()))
    return out


def _validate_object(em: _Emitter, obj: Any, store: SchemaStore, require_kind: bool,
                     tally: Tally | None = None) -> Iterator[Finding]:
    if not isinstance(obj, dict):
        yield em.finding(Severity.ERROR, "not-an-object", "item is not a mapping", ())
        return
    dups = [d for d in em.doc.duplicates if d[0][: len(em.prefix)] == em.prefix]
    if not em.api_version or not em.kind:
        missing = " and ".join(k for k, v in (("apiVersion", em.api_version), ("kind", em.kind)) if not v)
        # Without require_kind (rendered outputs, which may be any YAML), only a half-typed
        # object (apiVersion without kind, or the reverse) is a finding.
        if require_kind or em.api_version or em.kind:
            yield em.finding(Severity.ERROR, "missing-kind", f"document has no {missing}", ())
        yield from _duplicates(em, dups, None)
        return
    found = store.validator(em.api_version, em.kind)
    unknown = unknown_kind(store, em.api_version, em.kind) if found is None else None
    if unknown is not None:
        # no field, as the API server says it; the line is the kind's
        yield em.finding(Severity.ERROR, "unknown-kind", unknown, (), at=em.doc.position((*em.prefix, "kind")))
        yield from _duplicates(em, dups, None)
        return
    if found is None:
        message = f"no schema for {em.api_version} {em.kind} (Kubernetes {store.minor}): not validated"
        yield em.finding(Severity.WARNING, "no-schema", message, ())
        yield from _duplicates(em, dups, None)
        return
    entry, validator = found
    if entry.broken:  # a kind whose CRD the API server refuses: nothing to judge it by
        message = f"no schema for {em.api_version} {em.kind}: {entry.broken}: not validated"
        yield em.finding(Severity.WARNING, "no-schema", message, ())
        yield from _duplicates(em, dups, None)
        return
    yield from _duplicates(em, dups, entry)
    try:
        valid = validator.is_valid(obj)
        errors = [] if valid else list(validator.iter_errors(obj))
    except ValueError as e:  # a value JSON cannot hold; the loader should never produce one
        yield em.finding(Severity.ERROR, "schema", f"cannot validate: {e}", ())
        return
    schema_findings = list(_schema_findings(em, entry, errors))
    found_paths = {f.path for f in schema_findings}
    yield from schema_findings
    if entry.native:
        for path, message, at in check_metadata(obj, em.api_version, em.kind, store.minor):
            shown = field_path((*em.prefix, *path))
            # the path the server prints, the line of the value itself (a label's own line)
            found_paths.add(shown)
            yield em.finding(Severity.ERROR, "metadata", f"{shown}: {message}", path,
                             at=em.doc.position((*em.prefix, *at)))
        for severity, path, message in check_workload(em.kind, obj, store.minor):
            shown = field_path((*em.prefix, *path))
            found_paths.add(shown)
            yield em.finding(severity, "api-validation", f"{shown}: {message}", path)
    # CRD x-kubernetes-validations run unless a type or enum error blocks them (as on the API server)
    cel_blocked = any(type(e.kind).__name__ in ("Type", "Enum") for e in errors)
    yield from _custom_resource(em, entry, obj, store.minor, not cel_blocked, tally)
    yield from _list_types(em, entry, obj, found_paths)
    if em.kind == "CustomResourceDefinition" and em.api_version == "apiextensions.k8s.io/v1":
        for problem in crd_problems(obj, store.minor):  # at the field's line, with the server's field path
            f = em.finding(Severity.ERROR, "crd-structure", problem.message, problem.path)
            yield replace(f, path=field_path((*em.prefix, problem.field)) if em.prefix else problem.field)


def _custom_resource(em: _Emitter, entry: SchemaEntry, obj: dict[str, Any], minor: str, run_cel: bool,
                     tally: Tally | None) -> Iterator[Finding]:
    """A CRD-served kind as the API server judges it after its schema: defaults applied, then list types,
    then its CEL rules (unless `run_cel` is false: a type or enum error blocks them, as on the server)."""
    if entry.structural is None:
        return
    defaulted = apply_defaults(entry.structural, obj)
    for path, value in duplicates(entry.structural, defaulted):
        shown = field_path((*em.prefix, *path))
        yield em.finding(Severity.ERROR, "duplicate-value", f"{shown}: Duplicate value: {go_value(value)}", path)
    if run_cel:
        for severity, rule, path, message in cel_findings(entry.structural, defaulted, minor, em.prefix, tally,
                                                          defaulted=True):
            yield em.finding(severity, rule, message, path)


def _list_types(em: _Emitter, entry: SchemaEntry, obj: dict[str, Any], found: set[str]) -> Iterator[Finding]:
    """A built-in kind's keyed lists: duplicates are warnings (only server-side apply refuses them;
    kvalidate.validation.lists), unless another finding is at the item or inside it already."""
    if not entry.native:
        return
    for path, value in builtin_duplicates(entry.schema, obj):
        shown = field_path((*em.prefix, *path))
        if not any(p == shown or p.startswith((f"{shown}.", f"{shown}[")) for p in found):
            yield em.finding(Severity.WARNING, "duplicate-value",
                             f"{shown}: Duplicate value: {go_value(value)} (the API server accepts it on create; "
                             "server-side apply refuses the object)", path)


def _duplicates(em: _Emitter, dups: list[tuple[Path_, Position, int]],
                entry: SchemaEntry | None) -> Iterator[Finding]:
    severity = entry.unknown_severity if entry else Severity.ERROR
    note = _consumer_note(entry) if entry else ""
    for path, pos, first in dups:
        rel = path[len(em.prefix):]
        yield em.finding(severity, "duplicate-key",
                         f'duplicate field "{field_path(path)}": key "{path[-1]}" already set in map at '
                         f"line {first}; the last value wins{note}", rel, at=pos)


def validate_text(text: str, source: Source, kube_version: str | None = None, *,
                  store: SchemaStore | None = None, require_kind: bool = True) -> list[Finding]:
    """Parse and validate one rendered file: every finding, parse problems included."""
    store = store or SchemaStore.for_version(kube_version)
    parsed = parse_text(text, source)
    findings = list(parsed.findings)
    for doc in parsed.documents:
        findings.extend(validate_document(doc, store, require_kind=require_kind))
    return findings


def tune_gc(full: bool = True) -> None:
    """For command-line runs: freeze what is loaded (schemas, templates) out of the collector's
    sight and collect young objects rarely. Parsing allocates millions of short-lived containers;
    default thresholds spend 20-45% of parse time in GC passes (measured). `full=False` collects
    only the young generations before freezing: for a run that has only imported and planned, the
    full pass cost 18-30 ms of a cold `kvalidate check` and found nothing to free (Kubespray master,
    one scenario); after an engine run in this process (automatic coverage's discovery) it does."""
    gc.collect(2 if full else 1)
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def validate_paths(paths: list[str], store: SchemaStore) -> Result:
    """`kvalidate validate`: files, directories or `-` (stdin). Unreadable input raises SetupError."""
    result = Result()
    for label, text in iter_inputs(paths):
        parsed = parse_text(text, Source(label))
        result.files += 1
        result.checked.append(label)
        result.findings.extend(parsed.findings)
        for doc in parsed.documents:
            result.documents += 1
            tally = Tally()
            result.findings.extend(validate_document(doc, store, tally=tally))
            result.cel_skipped += tally.cel_skipped
    result.findings.sort(key=Finding.sort_key)
    return result
