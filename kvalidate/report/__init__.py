"""Reporters: one function per format over the whole Result. REPORTERS = {name: write}."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import TextIO

from kvalidate.model import Result, SetupError
from kvalidate.report import github, json_report, junit, sarif, text

Reporter = Callable[[Result, TextIO], None]

REPORTERS: dict[str, Reporter] = {
    "text": text.write,
    "json": json_report.write,
    "junit": junit.write,
    "sarif": sarif.write,
    "github": github.write,
}


def parse_formats(specs: Sequence[str] | None) -> list[tuple[str, str | None]]:
    """`--format NAME[=PATH]` arguments -> (format, path or None for stdout); default: text."""
    out: list[tuple[str, str | None]] = []
    for spec in specs or ["text"]:
        name, _, path = spec.partition("=")
        if name not in REPORTERS:
            raise SetupError(f"unknown format {name!r}: choose from {', '.join(REPORTERS)}")
        out.append((name, path or None))
    return out


def write_reports(result: Result, formats: Sequence[tuple[str, str | None]]) -> None:
    """Every requested report: to its file, or to stdout."""
    with ExitStack() as stack:
        for name, path in formats:
            stream: TextIO = sys.stdout
            if path:
                try:
                    stream = stack.enter_context(open(path, "w", encoding="utf-8"))  # noqa: SIM115
                except OSError as e:
                    raise SetupError(f"cannot write report {path}: {e.strerror or e}") from e
            REPORTERS[name](result, stream)
