"""Renderings -> documents -> findings: the stage between the Ansible engine and the reports.

Every rendering is checked: YAML and JSON outputs are parsed (duplicate keys, syntax) and their
Kubernetes documents validated strictly; other outputs (TOML, INI, env files, systemd units,
haproxy/nginx configs) only carry the engine's render findings. Identical texts are parsed and
validated once (most cells of a matrix render most templates identically) and their findings
re-attached to every rendering that produced the text.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Protocol

from kvalidate.documents import parse_text
from kvalidate.model import Finding, LineMap, Result, Source
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation.cel_rules import Tally
from kvalidate.validation.source_map import locate, template_line
from kvalidate.validation.validate import validate_document

YAML_SUFFIXES = (".yml", ".yaml", ".json", ".manifest")


class RenderingLike(Protocol):
    @property
    def template(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def dest(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def via(self) -> str: ...
    @property
    def lines(self) -> LineMap | None: ...


def output_path(r: RenderingLike) -> str:
    """Where a rendering goes in an `--emit` tree and in findings' `file`: HOST/DEST, or
    HOST/_lookup/ROLE/TEMPLATE for renderings made through lookup('template')."""
    if r.via == "lookup" or not r.dest:
        return posixpath.join(r.host, "_lookup", r.role, posixpath.basename(r.template))
    return posixpath.join(r.host, r.dest.lstrip("/"))


def is_yaml(r: RenderingLike) -> bool:
    """YAML or JSON by the destination's name (or the template's, for lookup renderings); a `copy`
    rendering's template is a task file, so only its destination counts."""
    names = (r.dest,) if r.via == "copy" else (r.dest, r.template.removesuffix(".j2"))
    return any(n.endswith(YAML_SUFFIXES) for n in names if n)


# what validating one rendered text gives: findings, documents, CRD rule evaluations skipped
Checked = tuple[list[Finding], int, int]


def _relative_findings(text: str, store: SchemaStore) -> Checked:
    """Rendered YAML need not be Kubernetes objects (crictl.yaml, Helm values, CNI JSON): a document
    with neither apiVersion nor kind is only checked for syntax and duplicate keys."""
    parsed = parse_text(text, Source(file=""))
    out = list(parsed.findings)
    tally = Tally()
    for doc in parsed.documents:
        out.extend(validate_document(doc, store, require_kind=False, tally=tally))
    return out, len(parsed.documents), tally.cel_skipped


def check_renderings(renderings: Iterable[RenderingLike], store: SchemaStore, *, cell: str = "", ref: str = "",
                     template_text: Callable[[str], str | None] | None = None,
                     cache: dict[bytes, Checked] | None = None) -> Result:
    """Parse and validate every rendering of one cell; findings carry template, host, cell, dest.
    `cache` (text hash -> findings, documents) may outlive the call: a matrix worker passes one per
    schema store, so that a text rendered identically by many cells is validated once."""
    result = Result()
    cache = {} if cache is None else cache
    for r in renderings:
        label = output_path(r)
        result.files += 1
        result.checked.append(label if not cell else f"{cell}:{label}")
        result.templates.add((ref, r.template))
        if not is_yaml(r):
            continue
        # surrogatepass: a template may write lone surrogates; parse_text makes them a finding
        key = hashlib.blake2b(r.text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if key not in cache:
            cache[key] = _relative_findings(r.text, store)
        findings, docs, skipped = cache[key]
        result.documents += docs
        result.cel_skipped += skipped
        source_lines: list[str] | None = None
        for f in findings:
            template, tline = r.template, 0
            if r.lines is not None:  # the exact map the engine recorded
                template, tline = locate(r.lines, r.template, f.line)
            elif template_text is not None:  # no map: match the text back to the template
                if source_lines is None:
                    source_lines = (template_text(r.template) or "").splitlines()
                tline = template_line(source_lines, r.text.splitlines(), f.line)
            result.findings.append(replace(f, file=label, template=template, template_line=tline, host=r.host,
                                           cell=cell, ref=ref, dest=r.dest))
    return result
