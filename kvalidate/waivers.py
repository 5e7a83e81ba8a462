"""Waivers: defects a template author or a matrix file has decided to accept, with a reason.

Two sources:

- a Jinja comment in the template, on the defect's template line or on the line before it
  (stacked comment lines reach the first line below them that is not only comments):

      {# kvalidate: ignore[duplicate-key] kept for old clusters, see #1234 #}
      {# kvalidate: ignore[required,unknown-field] reason #}

- an `ignore:` entry in kvalidate.yaml (`matrix.config.IgnoreRule`): a template glob, a rule id,
  optionally a field path (glob or prefix), and a reason.

A waived defect keeps its findings and is listed with status `waived` and the waiver's reason; it
does not fail the run. A waiver that matches no defect is a `stale-waiver` warning located at the
comment or the kvalidate.yaml entry, judged only where the run could have shown its defect (the
comment's template was rendered; the entry's glob matched a rendered template). A `kvalidate:`
comment that is not a well-formed waiver (no rule, no reason) is an `invalid-waiver` warning.
Rule ids may be globs (`ignore[*]`); one that names no known rule says so in the stale warning.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from kvalidate.catalog import CATALOG
from kvalidate.model import Defect, Finding, Severity, Status

# a `kvalidate:` directive inside a Jinja comment ({#- -#} trim markers allowed)
_COMMENT = re.compile(r"\{#-?\s*kvalidate\s*:(?P<body>.*?)-?#\}", re.DOTALL)
_IGNORE = re.compile(r"\s*ignore\s*\[(?P<rules>[^\]]*)\](?P<reason>.*)", re.DOTALL)
_ANY_COMMENT = re.compile(r"\{#.*?#\}")


@dataclass(frozen=True)
class Waiver:
    """One waiver. `template` is a path (comment) or a glob (kvalidate.yaml); `lines` the template
    lines a comment covers (empty: any line); `origin`/`line` where the waiver is written; `ref` the
    git ref whose template holds the comment ("" the work tree, or any ref for kvalidate.yaml)."""

    rules: tuple[str, ...]
    reason: str
    template: str
    origin: str
    line: int
    lines: tuple[int, ...] = ()
    path: str = ""
    ref: str = ""
    from_config: bool = False

    @property
    def label(self) -> str:
        return f"{self.origin}:{self.line}"

    def matches(self, d: Defect) -> bool:
        if not any(fnmatch.fnmatchcase(d.rule, r) for r in self.rules):
            return False
        if self.from_config:
            if not fnmatch.fnmatchcase(d.template, self.template):
                return False
        elif d.template != self.template or d.template_line not in self.lines:
            return False
        elif self.ref not in (d.refs or [""]):
            return False
        return not self.path or _path_matches(d.path, self.path)


def _path_matches(path: str, pattern: str) -> bool:
    """A field path against a glob (`*` any text, `?` one character; brackets are literal, as in
    `containers[*].env`) or a prefix (`spec.template` covers `spec.template.spec...` and
    `spec.template[0]`, not `spec.templates`)."""
    glob = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return (re.fullmatch(glob, path) is not None or path.startswith((pattern + ".", pattern + "["))
            or (pattern.endswith((".", "[")) and path.startswith(pattern)))


def parse_comments(text: str, template: str, ref: str = "") -> tuple[list[Waiver], list[Finding]]:
    """The waivers written as Jinja comments in a template's text, and an `invalid-waiver` finding
    for each `kvalidate:` comment that is not one."""
    lines = text.splitlines()
    waivers: list[Waiver] = []
    bad: list[Finding] = []
    for m in _COMMENT.finditer(text):
        first = text.count("\n", 0, m.start()) + 1
        last = text.count("\n", 0, m.end()) + 1
        body = " ".join(m.group("body").split())
        ignore = _IGNORE.fullmatch(body)
        rules = tuple(r.strip() for r in ignore.group("rules").split(",") if r.strip()) if ignore else ()
        reason = ignore.group("reason").strip() if ignore else ""
        if not ignore or not rules or not reason:
            what = ("names no rule" if ignore and not rules else "gives no reason" if ignore
                    else "is not `ignore[RULE] reason`")
            bad.append(Finding(Severity.WARNING, "invalid-waiver",
                               f"kvalidate comment {body.strip()!r} {what}: it waives nothing "
                               "(write {# kvalidate: ignore[RULE] reason #})",
                               file=template, line=first, template=template, template_line=first, ref=ref))
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        line_end = text.find("\n", m.end())
        harm = _changes_output(text[line_start:m.start()], text[m.end():len(text) if line_end < 0 else line_end],
                               m.group(0))
        if harm:
            bad.append(Finding(Severity.WARNING, "invalid-waiver",
                               f"this kvalidate comment changes the rendered text: {harm}; start it at column 0, "
                               "alone on the line above the defect or before the text of the defect's line",
                               file=template, line=first, template=template, template_line=first, ref=ref))
        covered = list(range(first, last + 1))
        below = last + 1
        while below <= len(lines) and not _ANY_COMMENT.sub("", lines[below - 1]).strip() \
                and _ANY_COMMENT.search(lines[below - 1]):
            covered.append(below)  # a stacked comment line: reach on below it
            below += 1
        covered.append(below)
        waivers.append(Waiver(rules, reason, template, template, first, tuple(covered), ref=ref))
    return waivers, bad


_TAGS_ONLY = re.compile(r"(?:\s*\{%.*?%\})+\s*")


def _changes_output(before: str, after: str, comment: str) -> str:
    """Why a waiver comment changes what the template writes, or "". Ansible renders with
    trim_blocks: the newline right after a comment is removed, so a comment that ends a line joins
    what precedes it on that line (its indentation, or text) to the next line; `{#-` and `-#}`
    strip the whitespace around the comment."""
    if comment.startswith("{#-") or comment.endswith("-#}"):
        return "its trim marker ({#- or -#}) removes the whitespace next to it"
    if after.strip():
        return ""  # text follows on the same line: the comment renders as nothing where it stands
    if before and not before.strip():
        return "it is indented, and Ansible (trim_blocks) joins that indentation to the next line"
    if before.strip() and not _TAGS_ONLY.fullmatch(before):
        return "it ends a line of text, and Ansible (trim_blocks) removes the newline after it, joining the lines"
    return ""


def template_waivers(rendered: Iterable[tuple[str, str]], read: Callable[[str, str], str | None]
                     ) -> tuple[list[Waiver], list[Finding]]:
    """The comment waivers of every rendered (ref, template); `read(ref, template)` gives its text
    (None when it cannot be read)."""
    waivers: list[Waiver] = []
    bad: list[Finding] = []
    for ref, template in sorted(set(rendered)):
        text = read(ref, template)
        if text is None or "kvalidate" not in text:
            continue
        w, b = parse_comments(text, template, ref)
        waivers += w
        bad += b
    return waivers, bad


def apply(defects: Sequence[Defect], waivers: Sequence[Waiver], rendered: Collection[tuple[str, str]],
          judge: bool = True) -> list[Finding]:
    """Mark every defect a waiver matches WAIVED (with the waiver's reason and place); fixed defects
    are left alone. Returns a `stale-waiver` finding for each waiver that matched nothing where the run
    could have shown it (`rendered`: (ref, template) pairs); none when `judge` is False (a shard, a
    host filter: the run saw only part of what the waiver is about)."""
    used: set[int] = set()
    for d in defects:
        if d.status is Status.FIXED:
            continue
        for i, w in enumerate(waivers):
            if w.matches(d):
                used.add(i)
                if d.status is not Status.WAIVED:
                    d.status, d.reason = Status.WAIVED, f"{w.reason} (waiver {w.label})"
    if not judge:
        return []
    templates = {t for _, t in rendered}
    stale: list[Finding] = []
    for i, w in enumerate(waivers):
        if i in used:
            continue
        if w.from_config:
            if not any(fnmatch.fnmatchcase(t, w.template) for t in templates):
                continue
        elif (w.ref, w.template) not in rendered:
            continue
        unknown = [r for r in w.rules if not any(fnmatch.fnmatchcase(k, r) for k in CATALOG)]
        note = f" (no rule {', '.join(unknown)} exists)" if unknown else ""
        rules = ",".join(w.rules)
        where = f"template {w.template}" if not w.from_config else f"templates {w.template}"
        message = (f"waiver ignore[{rules}] matches no defect of {where} in this run{note}: "
                   "remove it, or run the cells it was written for")
        if w.from_config:
            stale.append(Finding(Severity.WARNING, "stale-waiver", message, file=w.origin, line=w.line))
        else:
            stale.append(Finding(Severity.WARNING, "stale-waiver", message, file=w.origin, line=w.line,
                                 template=w.template, template_line=w.line, ref=w.ref))
    return stale
