"""Renderings -> documents -> findings: the stage between the Ansible engine and the reports.

Every rendering is checked: YAML and JSON outputs are parsed (duplicate keys, syntax) and their
Kubernetes documents validated strictly; other outputs (TOML, INI, env files, systemd units,
haproxy/nginx configs) only carry the engine's render findings. Identical texts are parsed and
validated once (PERFORMANCE.md 5: most cells render most templates identically) and their findings
re-attached to every rendering that produced the text.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from kvalidate.documents import parse_text
from kvalidate.model import Finding, Result, Source
from kvalidate.schemastore import SchemaStore
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


def _relative_findings(text: str, store: SchemaStore) -> tuple[list[Finding], int]:
    """Rendered YAML need not be Kubernetes objects (crictl.yaml, Helm values, CNI JSON): a document
    with neither apiVersion nor kind is only checked for syntax and duplicate keys."""
    parsed = parse_text(text, Source(file=""))
    out = list(parsed.findings)
    for doc in parsed.documents:
        out.extend(validate_document(doc, store, require_kind=False))
    return out, len(parsed.documents)


def check_renderings(renderings: Iterable[RenderingLike], store: SchemaStore, *, cell: str = "", ref: str = "",
                     template_text: Callable[[str], str | None] | None = None,
                     cache: dict[bytes, tuple[list[Finding], int]] | None = None) -> Result:
    """Parse and validate every rendering of one cell; findings carry template, host, cell, dest.
    `cache` (text hash -> findings, documents) may outlive the call: a matrix worker passes one per
    schema store, so that a text rendered identically by many cells is validated once."""
    result = Result()
    cache = {} if cache is None else cache
    for r in renderings:
        label = output_path(r)
        result.files += 1
        result.checked.append(label if not cell else f"{cell}:{label}")
        if not is_yaml(r):
            continue
        key = hashlib.blake2b(r.text.encode(), digest_size=16).digest()
        if key not in cache:
            cache[key] = _relative_findings(r.text, store)
        findings, docs = cache[key]
        result.documents += docs
        source_lines: list[str] | None = None
        for f in findings:
            tline = 0
            if template_text is not None:
                if source_lines is None:
                    source_lines = (template_text(r.template) or "").splitlines()
                tline = template_line(source_lines, r.text.splitlines(), f.line)
            result.findings.append(replace(f, file=label, template=r.template, template_line=tline, host=r.host,
                                           cell=cell, ref=ref, dest=r.dest))
    return result


_EXPR = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")


def _pattern(src: str) -> tuple[re.Pattern[str] | None, float]:
    """A template line as a regex over its rendered form (expressions as wildcards), and how much of
    it is literal text (exact literal lines score highest)."""
    if not src or (src.startswith(("{%", "{#")) and src.endswith(("%}", "#}"))):
        return None, 0.0
    parts = _EXPR.split(src)
    if len(parts) == 1:
        return re.compile(re.escape(src)), 2.0
    return re.compile(".*".join(re.escape(p) for p in parts), re.DOTALL), 1.0 + sum(map(len, parts)) / 1000


def _anchors(template: list[str], rendered: list[str]) -> list[tuple[int, int]]:
    """(rendered index, template index) of literal lines found exactly once on each side, in order."""
    count_t: dict[str, int] = {}
    for line in template:
        count_t[line.strip()] = count_t.get(line.strip(), 0) + 1
    count_r: dict[str, int] = {}
    for line in rendered:
        count_r[line.strip()] = count_r.get(line.strip(), 0) + 1
    where = {line.strip(): i for i, line in enumerate(template)}
    pairs = []
    for i, line in enumerate(rendered):
        text = line.strip()
        if text and count_r[text] == 1 and count_t.get(text) == 1 and not _EXPR.search(text):
            pairs.append((i, where[text]))
    ordered: list[tuple[int, int]] = []
    for r, t in pairs:  # keep a monotone chain: a crossing anchor is a coincidence, not a map
        if not ordered or t > ordered[-1][1]:
            ordered.append((r, t))
    return ordered


def template_line(template: list[str], rendered: list[str], line: int) -> int:
    """Best guess of the template line that produced rendered line `line` (1-based; 0 if unknown).

    Jinja keeps no map from output lines to template lines, so this matches text. Literal lines
    that occur once in both texts are anchors; a rendered line between two anchors came from the
    template lines between them: the one whose literal parts (expressions as wildcards) match it,
    else the expression there that can print several lines (`to_nice_yaml`, loops).
    """
    if not (0 < line <= len(rendered)) or not template:
        return 0
    target = rendered[line - 1].strip()
    if not target:
        return 0
    anchors = _anchors(template, rendered)
    lo, hi = -1, len(template)
    for r, t in anchors:
        if r == line - 1:
            return t + 1
        if r < line - 1:
            lo = t
        elif hi == len(template):
            hi = t
            break
    best, best_score = 0, -1.0
    span = max(hi - lo, 1)
    for i in range(lo + 1, hi):
        rx, weight = _pattern(template[i].strip())
        if rx is not None and rx.fullmatch(target):
            score = weight - (i - lo) / (span * 10)
            if score > best_score:
                best, best_score = i + 1, score
    if best:
        return best
    for i in range(lo + 1, hi):  # a multi-line expression or loop body printed it
        if "{{" in template[i] or template[i].lstrip().startswith("{%"):
            return i + 1
    return 0


def emit(renderings: Iterable[RenderingLike], directory: Path) -> int:
    """Write every rendering under `directory` (never into the checkout); returns how many."""
    n = 0
    root = directory.resolve()
    for r in renderings:
        path = (root / output_path(r)).resolve()
        if root not in path.parents:
            continue  # a dest with `..` cannot escape the emit directory
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(r.text, encoding="utf-8")
        n += 1
    return n


def kube_minor(value: Any) -> str | None:
    """`v1.33.4` (a rendered kube_version) -> `1.33`."""
    m = re.match(r"v?(\d+)\.(\d+)", str(value or ""))
    return f"{m.group(1)}.{m.group(2)}" if m else None
