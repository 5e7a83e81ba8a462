"""CRD `x-kubernetes-validations` (CEL) on a custom resource: `kvalidate.cel`'s problems as
validation findings' parts. celpy is imported only when a schema has rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kvalidate import cel  # its evaluate() loads celpy on first call, never at import
from kvalidate.model import Severity, field_path

Path_ = tuple[str | int, ...]


@dataclass
class Tally:
    """What the rules of a run did not do: rule evaluations skipped (transition rules on create,
    syntax kvalidate cannot evaluate, its time limit). The run summary shows the count."""

    cel_skipped: int = 0


def cel_findings(schema: dict[str, Any] | None, obj: Any, minor: str, prefix: Path_ = (),
                 tally: Tally | None = None, *, defaulted: bool = False) -> Iterator[tuple[Severity, str, Path_, str]]:
    """(severity, rule id, path relative to the object, message) for every rule problem; the
    message starts with the field path as the API server prints it (`<nil>` for the root)."""
    if not isinstance(schema, dict) or not cel.has_rules(schema):
        return
    outcome = cel.evaluate(schema, obj, minor, defaulted=defaulted)
    if tally is not None:
        tally.cel_skipped += outcome.skipped
    for p in outcome.problems:
        shown = field_path((*prefix, *p.path)) or "<nil>"
        severity = Severity.WARNING if p.severity == "warning" else Severity.ERROR
        yield severity, p.rule_id, p.path, f"{shown}: {p.message}"
