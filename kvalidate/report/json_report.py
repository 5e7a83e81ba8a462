"""`{"findings": [...], "summary": {...}}`: the machine-readable report, and `kvalidate merge`'s input."""

from __future__ import annotations

import json
from typing import TextIO

from ..model import Result


def write(result: Result, out: TextIO) -> None:
    doc = {"findings": [f.to_dict() for f in result.findings], "summary": result.summary()}
    if result.cells:
        doc["cells"] = [{"name": c.name, "extra_vars": dict(c.extra_vars), "description": c.description,
                         "command": c.command} for c in result.cells]
    json.dump(doc, out, indent=2, sort_keys=False, default=str)
    out.write("\n")
