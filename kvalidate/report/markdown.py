"""A markdown summary for `$GITHUB_STEP_SUMMARY` and merge-request notes: a title with the totals,
the defects counted by status and severity, then a table of the defects (severity, rule,
template:line, message shortened, cells, trigger), capped at `MAX_ROWS` with "... and N more".

Messages and paths come from the checked files (untrusted): every cell is escaped so that nothing
in them can close the table, open a link or inject HTML."""

from __future__ import annotations

import html
from typing import TextIO

from kvalidate.catalog import help_uri
from kvalidate.model import Defect, Result, Severity, Status
from kvalidate.report.describe import defects, location, plural, totals, trigger

MAX_ROWS = 50
MAX_MESSAGE = 160
_STATUSES = (Status.NEW, Status.ACTIVE, Status.UNCHANGED, Status.KNOWN, Status.WAIVED, Status.FIXED)


def cell(text: str) -> str:
    """`text` safe inside a table cell: HTML and markdown punctuation escaped, one line."""
    out = html.escape(" ".join(text.split()), quote=False)
    for ch in "\\`*_[]|#~":
        out = out.replace(ch, "\\" + ch)
    return out


def code(text: str) -> str:
    """`text` as inline code inside a table cell (a backtick in it ends the span: no span then).
    Nothing is interpreted inside a code span but the table's `|`, which GitHub splits on first."""
    if "`" in text or "\n" in text or not text:
        return cell(text)
    return "`" + text.replace("|", "\\|") + "`"


def short(text: str, limit: int = MAX_MESSAGE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _severity(d: Defect) -> str:
    mark = "🔴 error" if d.severity is Severity.ERROR else "🟡 warning"
    return mark if d.status is Status.ACTIVE else f"{mark} ({d.status.value})"


def write(result: Result, out: TextIO) -> None:
    found = defects(result)
    title = result.category or "kvalidate"  # the run's name starts `kvalidate/`
    failing = sum(1 for d in found if d.blocks(result.fail_on))
    verdict = (f"**{plural(failing, 'defect')} fail{'s' if failing == 1 else ''} the run**" if failing
               else "**nothing fails the run**")
    lines = [f"### {cell(title)}", "",
             f"{verdict}: {cell(totals(result, found))}; {result.files} file(s), {result.documents} document(s)"
             + (f", {len(result.cells)} cell(s)" if result.cells else "") + ".", ""]
    if found:
        lines += ["| status | errors | warnings |", "|---|---:|---:|"]
        for s in _STATUSES:
            of = [d for d in found if d.status is s]
            if of:
                errors = sum(1 for d in of if d.severity is Severity.ERROR)
                lines.append(f"| {s.value} | {errors} | {len(of) - errors} |")
        lines += ["", "| severity | rule | where | message | cells | trigger |", "|---|---|---|---|---:|---|"]
        for d in found[:MAX_ROWS]:
            lines.append(f"| {_severity(d)} | [{cell(d.rule)}]({help_uri(d.rule)}) | {code(location(d))} "
                         f"| {cell(short(d.message))} | {len(d.cells) or ''} | {cell(trigger(d) or '')} |")
        if len(found) > MAX_ROWS:
            lines += ["", f"... and {len(found) - MAX_ROWS} more"]
        lines.append("")
    for note in result.notes:
        lines += [f"> {cell(note)}", ""]
    out.write("\n".join(lines) + "\n")
