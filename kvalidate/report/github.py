"""GitHub Actions workflow commands: `::error file=F,line=L,col=C,title=T::message`.

Escaping follows the runner's rules (actions/toolkit `command.ts`): in the message `%`, CR and LF;
in properties also `:` and `,`.
"""

from __future__ import annotations

from typing import TextIO

from kvalidate.model import Result, Severity
from kvalidate.report.text import context


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def write(result: Result, out: TextIO) -> None:
    for f in result.findings:
        level = "error" if f.severity is Severity.ERROR else "warning"
        # Annotate the template when the finding came from one: that is the file in the PR.
        file, line = (f.template, f.template_line) if f.template else (f.file, f.line)
        props = [f"file={escape_property(file)}"]
        if line:
            props.append(f"line={line}")
            if not f.template and f.column:
                props.append(f"col={f.column}")
        props.append(f"title={escape_property('kvalidate ' + f.rule)}")
        ctx = context(f)
        message = f.message + (f"\n{f.file}:{f.line} ({ctx})" if f.template else "")
        out.write(f"::{level} {','.join(props)}::{escape_data(message)}\n")
    s = result.summary()
    out.write(f"::notice title=kvalidate::{s['errors']} error(s), {s['warnings']} warning(s) in "
              f"{s['documents']} document(s)\n")
