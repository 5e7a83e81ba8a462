"""Reporters: one function per format over the whole Result. REPORTERS = {name: write}."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from kvalidate.model import Result
from kvalidate.report import github, json_report, junit, sarif, text

Reporter = Callable[[Result, TextIO], None]

REPORTERS: dict[str, Reporter] = {
    "text": text.write,
    "json": json_report.write,
    "junit": junit.write,
    "sarif": sarif.write,
    "github": github.write,
}
