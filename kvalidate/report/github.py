"""GitHub Actions workflow commands, one annotation per defect, located in the template (the file
a pull request changes): `::error file=T,line=L,title=RULE::message` with the trigger, the spread,
one rendered file:line and the reproduce command on the following lines of the message.

Errors come first, then warnings: GitHub shows only the first 10 annotations of each level per
step. Defects that do not fail the run (known, unchanged, waived) are notices; fixed ones are not
annotated. The last line is a notice with the totals. When `$GITHUB_STEP_SUMMARY` names a file (as
in every Actions step), the markdown report is appended to it too.

Escaping follows the runner's rules (actions/toolkit `command.ts`): in the message `%`, CR and LF;
in properties also `:` and `,`.
"""

from __future__ import annotations

import os
from typing import TextIO

from kvalidate.model import Defect, Result, SetupError, Severity, Status
from kvalidate.report import markdown
from kvalidate.report.describe import defects, details, totals

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"
_LEVELS = ("error", "warning", "notice")


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def level(d: Defect) -> str:
    if not d.status.blocking:
        return "notice"
    return "error" if d.severity is Severity.ERROR else "warning"


def annotation(d: Defect, result: Result) -> str:
    props = []
    if d.template:
        props.append(f"file={escape_property(d.template)}")
        if d.template_line:
            props.append(f"line={d.template_line}")
            column = d.findings[0].column if d.findings and not d.findings[0].template else 0
            if column:
                props.append(f"col={column}")
    props.append(f"title={escape_property(d.rule)}")
    text = "\n".join([d.message, *(f"{k}: {v}" if k else v for k, v in details(d, result))])
    return f"::{level(d)} {','.join(props)}::{escape_data(text)}"


def write(result: Result, out: TextIO) -> None:
    found = defects(result)
    shown = sorted((d for d in found if d.status is not Status.FIXED), key=lambda d: _LEVELS.index(level(d)))
    for d in shown:
        out.write(annotation(d, result) + "\n")
    out.write(f"::notice title=kvalidate::{escape_data(totals(result, found))} in {result.files} file(s)\n")
    summary = os.environ.get(STEP_SUMMARY, "")
    if summary:
        append_step_summary(result, summary)


def append_step_summary(result: Result, path: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as fh:
            markdown.write(result, fh)
    except OSError as e:
        raise SetupError(f"cannot append the step summary to {path} (${STEP_SUMMARY}): {e.strerror or e}") from e
