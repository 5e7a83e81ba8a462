"""`{"findings": [...], "summary": {...}}`: the machine-readable report, and `kvalidate merge`'s input."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, TextIO

from kvalidate.model import Cell, Finding, Result, RunStats, SetupError, Severity

_FIELDS = {f.name for f in fields(Finding)}
_CELL_FIELDS = {f.name for f in fields(Cell)}


def write(result: Result, out: TextIO) -> None:
    doc: dict[str, Any] = {"findings": [f.to_dict() for f in result.findings], "summary": result.summary()}
    if result.cells:
        doc["cells"] = [c.to_dict() for c in result.cells]
    if result.notes:
        doc["notes"] = list(result.notes)
    if result.infeasible:
        doc["infeasible"] = [f.to_dict() for f in result.infeasible]
    json.dump(doc, out, indent=2, sort_keys=False, default=str)
    out.write("\n")


def read(path: str) -> Result:
    """A JSON report back into a Result (for `kvalidate merge`); a bad file is a SetupError."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        findings = [_finding(f) for f in doc["findings"]]
        infeasible = [_finding(f) for f in doc.get("infeasible", [])]
        notes = [str(n) for n in doc.get("notes", [])]
        summary = doc.get("summary", {})
        cells = [Cell(**{k: v for k, v in c.items() if k in _CELL_FIELDS}) for c in doc.get("cells", [])]
        # per-run counters of a matrix (kvalidate.run.check): the merged text report tabulates them
        stats = RunStats.from_dict(summary)
        return Result(findings=findings, documents=int(summary.get("documents", 0)),
                      files=int(summary.get("files", 0)), cells=cells, stats=stats, infeasible=infeasible, notes=notes)
    except OSError as e:
        raise SetupError(f"cannot read report {path}: {e.strerror or e}") from e
    except (ValueError, KeyError, TypeError) as e:
        raise SetupError(f"{path} is not a kvalidate JSON report: {e}") from e


def _finding(f: Any) -> Finding:
    return Finding(**{**{k: v for k, v in f.items() if k in _FIELDS}, "severity": Severity(f["severity"])})


def merge(results: list[Result]) -> Result:
    """Shard reports into one: findings concatenated and sorted, counts summed, cells united."""
    out = Result()
    for r in results:
        out.merge(r)
    out.sort()
    return out
