"""SARIF 2.1.0 (OASIS), as read by GitHub code scanning.

A finding from a rendered template is located in the template (the file a pull request changes),
with the rendered file as a related location; plain files are located in themselves.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from kvalidate import __version__
from kvalidate.model import Finding, Result, Severity
from kvalidate.rules import registry

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def _location(uri: str, line: int, column: int) -> dict[str, Any]:
    loc: dict[str, Any] = {"artifactLocation": {"uri": uri}}
    if line > 0:
        region: dict[str, Any] = {"startLine": line}
        if column > 0:
            region["startColumn"] = column
        loc["region"] = region
    return {"physicalLocation": loc}


def _result(f: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    res: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index[f.rule],
        "level": "error" if f.severity is Severity.ERROR else "warning",
        "message": {"text": f.message},
    }
    if f.template:
        res["locations"] = [_location(f.template, f.template_line, 0)]
        related = _location(f.file, f.line, f.column)
        related["id"] = 0
        related["message"] = {"text": "rendered output"}
        res["relatedLocations"] = [related]
    else:
        res["locations"] = [_location(f.file, f.line, f.column)]
    props = {k: v for k, v in (("path", f.path), ("apiVersion", f.apiVersion), ("kind", f.kind),
                               ("name", f.name), ("host", f.host), ("cell", f.cell), ("ref", f.ref),
                               ("dest", f.dest)) if v}
    if props:
        res["properties"] = props
    return res


def write(result: Result, out: TextIO) -> None:
    rules = sorted({f.rule for f in result.findings})
    known = registry()
    rule_index = {r: i for i, r in enumerate(rules)}
    driver: dict[str, Any] = {
        "name": "kvalidate",
        "version": __version__,
        "rules": [{"id": r, "shortDescription": {"text": known[r].summary if r in known else r}} for r in rules],
    }
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver},
                  "results": [_result(f, rule_index) for f in result.findings]}],
    }
    json.dump(log, out, indent=2)
    out.write("\n")
