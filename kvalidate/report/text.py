"""`file:line:col: severity rule: message`, one finding a line, then a summary."""

from __future__ import annotations

from typing import TextIO

from ..model import Finding, Result


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
    s = result.summary()
    line = (f"{s['files']} file(s), {s['documents']} document(s): "
            f"{s['errors']} error(s), {s['warnings']} warning(s)")
    out.write(line + "\n")
    if s["no_schema_kinds"]:
        out.write("not validated (no schema): " + ", ".join(s["no_schema_kinds"]) + "\n")
