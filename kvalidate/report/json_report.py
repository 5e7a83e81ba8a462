"""`{"defects": [...], "findings": [...], "summary": {...}}`: the machine-readable report, a baseline
(`--baseline`), and `kvalidate merge`'s input. Defects come first: one per problem and place, each
with the cells, hosts and refs that show it; the findings are every (cell, host) occurrence."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any, TextIO

from kvalidate.defects import attach
from kvalidate.model import Cell, Defect, Finding, Result, RunStats, SetupError, Severity, Status

_FIELDS = {f.name for f in fields(Finding)}
_CELL_FIELDS = {f.name for f in fields(Cell)}
_DEFECT_FIELDS = {f.name for f in fields(Defect)} - {"findings", "severity", "status"}


def write(result: Result, out: TextIO) -> None:
    if result.findings and not result.defects:
        attach(result)
    doc: dict[str, Any] = {"defects": [d.to_dict() for d in result.defects],
                           "findings": [f.to_dict() for f in result.findings], "summary": result.summary()}
    if result.cells:
        doc["cells"] = [c.to_dict() for c in result.cells]
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
        summary = doc.get("summary", {})
        cells = [Cell(**{k: v for k, v in c.items() if k in _CELL_FIELDS}) for c in doc.get("cells", [])]
        # per-run counters of a matrix (kvalidate.run.check): the merged text report tabulates them
        stats = RunStats.from_dict(summary)
        defects = [Defect(**{**{k: v for k, v in d.items() if k in _DEFECT_FIELDS},
                             "severity": Severity(d["severity"]), "status": Status(d.get("status", "active"))})
                   for d in doc.get("defects", [])]
        notes = [str(n) for n in summary.get("notes", [])]
        return Result(findings=findings, documents=int(summary.get("documents", 0)),
                      files=int(summary.get("files", 0)), cells=cells, stats=stats, defects=defects, notes=notes,
                      category=str(summary.get("category", "")), infeasible=infeasible,
                      cel_skipped=int(summary.get("cel_skipped", 0)))
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
        out.defects.extend(r.defects)  # what each shard established (trigger, status) is kept by id
    out.sort()
    return attach(out)
