"""Findings -> defects: one problem in one place, whatever cells, hosts and refs show it.

Findings are one defect when they share the template (or the file, without a template), the
template line, the rule, the field path and the message once host-specific values are normalised
(IP addresses, host names, rendered line numbers). The defect's `id` hashes the same key without the
template line, plus the rank of the defect among those with the same key (ordered by line), so that
an edit elsewhere in the template keeps every id; a baseline and a `--base` comparison match on it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Sequence

from kvalidate.model import Cell, Defect, Finding, Result, Severity, Status

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:/\d{1,3})?(?![\w:])")
# line numbers of the rendered output: they move with the host's values, the template line does not
_RENDERED_LINE = re.compile(r"\b(line|lines) \d+(?:-\d+)?")

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1}


def _ip(match: re.Match[str]) -> str:
    text = match.group(0)
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return text
    return "<ip>"


def normalise(message: str, hosts: Iterable[str] = ()) -> str:
    """`message` with the values that differ per host replaced: addresses by `<ip>`, the given
    host names by `<host>`."""
    out = _IPV4.sub(_ip, message)
    out = _IPV6.sub(_ip, out)
    names = sorted({h for h in hosts if h}, key=len, reverse=True)
    if names:
        pattern = re.compile(r"(?<![\w.-])(?:" + "|".join(re.escape(h) for h in names) + r")(?![\w-]|\.\w)")
        out = pattern.sub("<host>", out)
    return out


def identity(message: str) -> str:
    """The part of a normalised message a defect's id rests on: rendered line numbers dropped."""
    return _RENDERED_LINE.sub(r"\1 N", message)


def _where(f: Finding) -> str:
    return f.template or f.file


def group(findings: Sequence[Finding], cells: Sequence[Cell] = ()) -> list[Defect]:
    """The defects of `findings`, errors first, then by template, line and rule. `cells` gives
    each defect the shortest reproduce command of the cells that show it."""
    hosts = {f.host for f in findings if f.host}
    by_key: dict[tuple[str, int, str, str, str], list[Finding]] = {}
    for f in findings:
        key = (_where(f), f.template_line if f.template else f.line, f.rule, f.path,
               normalise(f.message, hosts))
        by_key.setdefault(key, []).append(f)
    commands = {c.name: c.command for c in cells if c.command}
    # an automatic cell reproduces each template it opens with only what that template's
    # assignment changes (Cell.reproduce): shorter than the whole cell's command
    shorter = {c.name: c.reproduce for c in cells if c.reproduce}
    defects: list[Defect] = []
    rank: dict[tuple[str, str, str, str, str, str], int] = {}
    for key in sorted(by_key, key=lambda k: (k[0], k[1], k[2], k[3], k[4])):
        where, line, rule, path, message = key
        members = by_key[key]
        first = members[0]
        severity = min((f.severity for f in members), key=lambda s: _SEVERITY_ORDER[s])
        stable = (where, rule, path, identity(message), first.kind, first.name)
        n = rank.get(stable, 0)
        rank[stable] = n + 1
        digest = hashlib.sha256("\x1f".join((*stable, str(n))).encode("utf-8")).hexdigest()[:16]
        raw = {f.message for f in members}
        cell_names = sorted({f.cell for f in members if f.cell})
        reproduce = sorted((shorter.get(c, {}).get(where) or commands[c] for c in cell_names if c in commands),
                           key=lambda c: (len(c), c))
        context = min(members, key=lambda f: (f.ref, f.cell, f.host, f.file, f.line))
        defects.append(Defect(
            id=digest, severity=severity, rule=rule, message=first.message if len(raw) == 1 else message,
            template=where, template_line=line, path=path, kind=first.kind, name=first.name,
            cells=cell_names, hosts=sorted({f.host for f in members if f.host}),
            refs=sorted({f.ref for f in members if f.ref}), count=len(members),
            file=context.file, line=context.line, command=reproduce[0] if reproduce else "",
            findings=list(members)))
    defects.sort(key=lambda d: (_SEVERITY_ORDER[d.severity], d.template, d.template_line, d.rule, d.path))
    return defects


def attach(result: Result) -> Result:
    """Group `result.findings` into `result.defects`, keeping what an earlier grouping (a report
    read back, a shard) established about a defect of the same id: trigger, status, reason."""
    known = {d.id: d for d in result.defects}
    result.defects = group(result.findings, result.cells)
    for d in result.defects:
        old = known.get(d.id)
        if old is not None:
            d.trigger, d.trigger_note, d.status, d.reason = old.trigger, old.trigger_note, old.status, old.reason
            d.command = d.command or old.command
    found = {d.id for d in result.defects}
    result.defects.extend(d for d in known.values() if d.status is Status.FIXED and d.id not in found)
    return result


def compare(head: Sequence[Defect], base: Sequence[Defect]) -> list[Defect]:
    """`--base REF`: the defects of the working tree (`head`) against those of the base ref (`base`),
    each side grouped on its own, matched by id (so a defect whose line moved is the same defect).
    An active head defect is NEW when the base has no defect of its id, else UNCHANGED (a waived
    one stays waived); a base defect whose id the head lacks is appended as FIXED, with its base-side
    template line, context and refs."""
    base_ids = {d.id for d in base}
    head_ids = {d.id for d in head}
    out = list(head)
    for d in out:
        if d.status is Status.ACTIVE:
            d.status = Status.UNCHANGED if d.id in base_ids else Status.NEW
    for d in base:
        if d.id not in head_ids:
            d.status, d.reason = Status.FIXED, ""
            d.findings = []  # reported, never counted: the report's findings are the working tree's
            out.append(d)
    return out


def apply_baseline(defects: Iterable[Defect], known: Iterable[str], reason: str) -> int:
    """`--baseline REPORT.json`: every blocking (active or new) defect whose id is in `known` becomes
    KNOWN with `reason` (the baseline's name). Returns how many did."""
    ids = set(known)
    n = 0
    for d in defects:
        if d.status.blocking and d.id in ids:
            d.status, d.reason = Status.KNOWN, reason
            n += 1
    return n


def baseline_ids(report: Result) -> set[str]:
    """The defect ids a report (read back from JSON) holds as present: its defects, or its findings
    grouped when it has none (a report of an older kvalidate); fixed ones are not present."""
    if report.findings and not report.defects:
        attach(report)
    return {d.id for d in report.defects if d.status is not Status.FIXED}
