"""`{"findings": [...], "summary": {...}}`: the machine-readable report, and `kvalidate merge`'s input."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TextIO

from kvalidate.model import Cell, Finding, Result, SetupError, Severity

_FIELDS = {f.name for f in fields(Finding)}
_CELL_FIELDS = {f.name for f in fields(Cell)}
_RUN_STATS = ("runs", "kube_minor")


def write(result: Result, out: TextIO) -> None:
    doc = {"findings": [f.to_dict() for f in result.findings], "summary": result.summary()}
    if result.cells:
        doc["cells"] = [c.to_dict() for c in result.cells]
    json.dump(doc, out, indent=2, sort_keys=False, default=str)
    out.write("\n")


def read(path: str) -> Result:
    """A JSON report back into a Result (for `kvalidate merge`); a bad file is a SetupError."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        findings = [Finding(**{**{k: v for k, v in f.items() if k in _FIELDS}, "severity": Severity(f["severity"])})
                    for f in doc["findings"]]
        summary = doc.get("summary", {})
        cells = [Cell(**{k: v for k, v in c.items() if k in _CELL_FIELDS}) for c in doc.get("cells", [])]
        # per-run counters of a matrix (kvalidate.run.check): the merged text report tabulates them
        stats = {k: dict(summary[k]) for k in _RUN_STATS if isinstance(summary.get(k), dict)}
        return Result(findings=findings, documents=int(summary.get("documents", 0)),
                      files=int(summary.get("files", 0)), cells=cells, stats=stats)
    except OSError as e:
        raise SetupError(f"cannot read report {path}: {e.strerror or e}") from e
    except (ValueError, KeyError, TypeError) as e:
        raise SetupError(f"{path} is not a kvalidate JSON report: {e}") from e


def merge(results: list[Result]) -> Result:
    """Shard reports into one: findings concatenated and sorted, counts summed, cells united."""
    out = Result()
    names: set[str] = set()
    for r in results:
        out.findings.extend(r.findings)
        out.documents += r.documents
        out.files += r.files
        for k in _RUN_STATS:
            if k in r.stats:
                out.stats.setdefault(k, {}).update(r.stats[k])
        for c in r.cells:
            if c.name not in names:
                names.add(c.name)
                out.cells.append(c)
    out.findings.sort(key=Finding.sort_key)
    return out
