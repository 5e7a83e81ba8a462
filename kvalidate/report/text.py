"""`file:line:col: severity rule: message`, one finding a line; for a matrix (more than one cell
or ref) the command that reproduces each failing cell and tables of cells and templates with their
counts; then the totals line (always last, scripts read it)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import TextIO

from kvalidate.model import Finding, Result, Severity

MAX_ROWS = 25  # rows per table; the rest is counted on one line


def location(f: Finding) -> str:
    return f"{f.file}:{f.line}:{f.column}" if f.line else f.file


def context(f: Finding) -> str:
    """Where a rendered finding comes from (empty for plain files)."""
    parts = []
    if f.template:
        parts.append(f"template {f.template}" + (f":{f.template_line}" if f.template_line else ""))
    for label, value in (("host", f.host), ("cell", f.cell), ("ref", f.ref)):
        if value:
            parts.append(f"{label} {value}")
    return ", ".join(parts)


def write(result: Result, out: TextIO) -> None:
    for f in result.findings:
        message = f.message.replace("\n", "\n    ")  # continuation lines stay under their finding
        out.write(f"{location(f)}: {f.severity.value} {f.rule}: {message}\n")
        ctx = context(f)
        if ctx:
            out.write(f"    ({ctx})\n")
    if len(result.cells) > 1 or len(result.stats.runs) > 1:
        write_matrix(result, out)
        out.write("\n")
    if result.notes or result.infeasible:
        write_notes(result, out)
        out.write("\n")
    s = result.summary()
    line = (f"{s['files']} file(s), {s['documents']} document(s): "
            f"{s['errors']} error(s), {s['warnings']} warning(s)")
    out.write(line + "\n")
    if s["no_schema_kinds"]:
        out.write("not validated (no schema): " + ", ".join(s["no_schema_kinds"]) + "\n")


def _key(cell: str, ref: str) -> str:
    return f"{cell} @ {ref}" if ref else cell


def _table(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[object]], more: str) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        cells = [str(v).ljust(widths[0]) if i == 0 else str(v).rjust(widths[i]) for i, v in enumerate(r)]
        out.write("  ".join(cells).rstrip() + "\n")
    if more:
        out.write(more + "\n")


def write_matrix(result: Result, out: TextIO) -> None:
    """Reproduce commands of the cells with errors, then cells x templates with counts."""
    errors: Counter[tuple[str, str]] = Counter()
    warnings: Counter[tuple[str, str]] = Counter()
    per_template: dict[str, Counter[str]] = defaultdict(Counter)
    template_cells: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for f in result.findings:
        key = (f.cell, f.ref)
        (errors if f.severity is Severity.ERROR else warnings)[key] += 1
        where = f.template or f.file or "(no template)"
        per_template[where]["error" if f.severity is Severity.ERROR else "warning"] += 1
        if f.severity is Severity.ERROR:
            template_cells[where].add(key)
    recorded = result.stats.runs
    files = {r.label: r.files for r in recorded.values()}
    kube = {r.label: r.kube for r in recorded.values()}
    minors = result.stats.kube_minor
    commands = {c.name: c.command for c in result.cells}
    shorter = {c.name: c.reproduce for c in result.cells if c.reproduce}
    failing = sorted(errors, key=lambda k: (-errors[k], k))
    if failing:
        out.write("\nreproduce a failing cell:\n")
        for cell, ref in failing[:MAX_ROWS]:
            # an automatic cell: each failing template with only what its own assignment changes
            own = {f.template: shorter[cell][f.template] for f in result.findings
                   if f.cell == cell and f.ref == ref and f.severity is Severity.ERROR
                   and f.template in shorter.get(cell, {})}
            whole = any(f.cell == cell and f.ref == ref and f.severity is Severity.ERROR
                        and f.template not in own for f in result.findings)
            lines = [(f"{_key(cell, ref)} ({t.rsplit('/', 1)[-1]})", c) for t, c in sorted(own.items())]
            if whole or not own:
                lines.append((_key(cell, ref), commands.get(cell, "")))
            for label, command in lines:
                if command and ref:
                    command += f" --ref {ref}"
                out.write(f"  {label}: {command or '(no command recorded)'}\n")
        if len(failing) > MAX_ROWS:
            out.write(f"  ... and {len(failing) - MAX_ROWS} more failing cell(s)\n")
    # every (cell, ref) run: as check recorded them, else the cells (a merged report)
    seen = {k[0] for k in [*errors, *warnings]}
    listed = [(r.cell, r.ref) for r in recorded.values()] or [
        (c.name, "") for c in result.cells if c.name not in seen]
    runs = list(dict.fromkeys([*failing, *sorted(warnings), *listed]))
    shown = [k for k in runs if errors[k] or warnings[k]][:MAX_ROWS]
    clean = len(runs) - len([k for k in runs if errors[k] or warnings[k]])
    rows = [(_key(*k), kube.get(_key(*k)) or minors.get(k[0], ""), files.get(_key(*k), ""), errors[k], warnings[k])
            for k in shown]
    out.write(f"\ncells: {len(result.cells)}\n")
    _table(out, ("cell", "kube", "files", "errors", "warnings"), rows,
           f"({clean} cell run(s) without findings)" if clean else "")
    if per_template:
        tpl_rows = sorted(per_template, key=lambda t: (-per_template[t]["error"], t))
        trows = [(t, len(template_cells[t]), per_template[t]["error"], per_template[t]["warning"])
                 for t in tpl_rows[:MAX_ROWS]]
        out.write("\n")
        _table(out, ("template", "cells with errors", "errors", "warnings"), trows,
               f"... and {len(tpl_rows) - MAX_ROWS} more template(s)" if len(tpl_rows) > MAX_ROWS else "")


def write_notes(result: Result, out: TextIO) -> None:
    """What automatic coverage did not run, and the findings of its cells that say an assignment
    is infeasible (the checkout refusing it), each once with its hosts: notes, not errors."""
    out.write("notes (automatic coverage; not errors):\n")
    for note in result.notes:
        out.write(f"  {note}\n")
    hosts: dict[tuple[str, str, str, str, str], list[str]] = defaultdict(list)
    for f in result.infeasible:
        hosts[(f.cell, f.ref, f.file or f.template, f.rule, f.message)].append(f.host)
    if hosts:
        out.write(f"  {len(result.infeasible)} finding(s) of automatic cells are the checkout refusing the "
                  "assignment (infeasible), not defects:\n")
    for (cell, ref, where, rule, message), on in list(hosts.items())[:MAX_ROWS]:
        names = ", ".join(h for h in on if h)
        out.write(f"    {_key(cell, ref)}: {where + ': ' if where else ''}{rule}: {message}"
                  + (f" ({names})" if names else "") + "\n")
    if len(hosts) > MAX_ROWS:
        out.write(f"    ... and {len(hosts) - MAX_ROWS} more\n")
