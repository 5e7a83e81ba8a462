"""What every reporter says about a defect, worded once: where it is, its status, its trigger, how
far it spreads, one rendered file:line for context and the command that reproduces it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kvalidate.defects import attach
from kvalidate.model import Defect, Result, Severity, Status


def defects(result: Result) -> list[Defect]:
    """The result's defects (grouped now if nobody grouped its findings yet), in report order: as
    grouped (errors first, then template, line, rule), fixed ones last."""
    if result.findings and not result.defects:
        attach(result)
    return sorted(result.defects, key=lambda d: d.status is Status.FIXED)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def location(d: Defect) -> str:
    """`template:line`; for a plain file (`kvalidate validate`) `file:line:column`; for a finding on
    a whole cell (a worker that died, a cell past its deadline) `cell NAME`."""
    if not d.template:
        return f"cell {d.cells[0]}" if d.cells else "(no file)"
    if not d.template_line:
        return d.template
    column = d.findings[0].column if d.findings and not d.findings[0].template else 0
    return f"{d.template}:{d.template_line}" + (f":{column}" if column else "")


def value(v: Any) -> str:
    """A variable's value as `-e` would take it: strings bare when unambiguous, the rest as JSON."""
    if isinstance(v, str) and v and not any(c in v for c in " ,=\"'\n") and v not in ("true", "false", "null"):
        return v
    return json.dumps(v, sort_keys=True)


def trigger(d: Defect) -> str | None:
    """`a=true, b=false`; the note when no trigger could be confirmed (why, or that every cell shows
    it); None when nobody investigated."""
    if d.trigger is None:
        return d.trigger_note or None
    if d.trigger:
        return ", ".join(f"{k}={value(v)}" for k, v in d.trigger.items())
    return d.trigger_note or "none confirmed"


def status(d: Defect) -> str:
    """'' for an ordinary defect; else its status, with the waiver's reason or the baseline's name."""
    if d.status is Status.ACTIVE:
        return ""
    if d.reason:
        return f"{d.status.value}: {d.reason}" if d.status is Status.WAIVED else f"{d.status.value} ({d.reason})"
    return d.status.value


def spread(d: Defect) -> str:
    """`in 4 cell(s), 2 host(s)` (a single one by name: `in cell default, host node1`), with the
    refs when any; '' for a plain file."""
    parts = []
    if d.cells:
        parts.append(f"cell {d.cells[0]}" if len(d.cells) == 1 else f"{len(d.cells)} cell(s)")
    if d.hosts:
        parts.append(f"host {d.hosts[0]}" if len(d.hosts) == 1 else f"{len(d.hosts)} host(s)")
    if d.refs:
        parts.append("ref" + ("s " if len(d.refs) > 1 else " ") + ", ".join(d.refs))
    return "in " + ", ".join(parts) if parts else ""


def rendered(d: Defect) -> str:
    """One rendered file:line showing the defect ('' when the defect is in the file itself)."""
    if not d.file or d.file == d.template:
        return ""
    return f"{d.file}:{d.line}" if d.line else d.file


def reproduce(d: Defect, result: Result) -> str:
    """The defect's reproduce command, at a ref that shows it when the run read refs."""
    if not d.command:
        return ""
    if "--ref " in d.command or not d.refs:
        return d.command
    cells = {c.command: c.name for c in result.cells if c.command}
    cell = cells.get(d.command)
    refs = sorted({f.ref for f in d.findings if f.ref and (cell is None or f.cell == cell)}) or d.refs
    return f"{d.command} --ref {refs[0]}"


def header(d: Defect) -> str:
    """`template:line: severity rule: message` (continuation lines of the message indented)."""
    return f"{location(d)}: {d.severity.value} {d.rule}: {d.message}".replace("\n", "\n    ")


def details(d: Defect, result: Result) -> list[tuple[str, str]]:
    """(label, text) lines under the header, the empty ones left out."""
    out = [("status", status(d)), ("trigger", trigger(d) or ""), ("", spread(d)), ("rendered", rendered(d)),
           ("reproduce", reproduce(d, result))]
    return [(k, v) for k, v in out if v]


def block(d: Defect, result: Result, indent: str = "    ") -> list[str]:
    """The defect as the text report prints it: the header, then one indented line per detail."""
    return [header(d), *(f"{indent}{k}: {v}" if k else f"{indent}{v}" for k, v in details(d, result))]


def totals(result: Result, counted: Sequence[Defect]) -> str:
    """`9 defect(s) (8 errors, 1 warning) from 90 finding(s)`, then the statuses when any is not
    active (`; 1 new, 7 unchanged, 1 fixed`). Fixed defects are not counted, only named."""
    live = [d for d in counted if d.status is not Status.FIXED]
    errors = sum(1 for d in live if d.severity is Severity.ERROR)
    line = (f"{len(live)} defect(s) ({plural(errors, 'error')}, {plural(len(live) - errors, 'warning')}) "
            f"from {len(result.findings)} finding(s)")
    by_status: dict[Status, int] = {}
    for d in counted:
        by_status[d.status] = by_status.get(d.status, 0) + 1
    if set(by_status) - {Status.ACTIVE}:
        line += "; " + ", ".join(f"{n} {s.value}" for s, n in sorted(by_status.items(), key=lambda i: _ORDER[i[0]]))
    return line


_ORDER = {s: i for i, s in enumerate((Status.NEW, Status.ACTIVE, Status.UNCHANGED, Status.KNOWN, Status.WAIVED,
                                      Status.FIXED))}
