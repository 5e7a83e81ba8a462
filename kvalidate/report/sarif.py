"""SARIF 2.1.0 (OASIS), as read by GitHub code scanning: one result per defect.

- Located in the template, or the task file for a task that failed for itself, or the file for
  `kvalidate validate` (a relative URI, as the checkout names it, and the line); one rendered
  file:line as a related location. A finding on a whole cell (a worker that died) has no location.
- `partialFingerprints` `{"kvalidate/v1": defect id}`: the id leaves the line out, so code scanning
  keeps one alert across edits elsewhere in the template.
- `baselineState` from the defect's status: `new`, `unchanged` (`--base` unchanged, or known from
  `--baseline`), `absent` for a fixed one (with `kind: pass`, level `none`); none for an ordinary run.
  A waived defect carries a suppression (`inSource` for a template comment, `external` for a
  `kvalidate.yaml` ignore) with the reason as justification.
- Every rule of the catalog in `tool.driver.rules`, with its descriptions and `helpUri` (its
  section of docs/rules.md), so results of any rule resolve.
- `automationDetails.id` names the run (`kvalidate/check/kvalidate.yaml/release-2.27/`: code
  scanning's category is everything before the last `/`); `--sarif-category` sets it.
"""

from __future__ import annotations

import json
from typing import Any, TextIO
from urllib.parse import quote

from kvalidate import __version__
from kvalidate.catalog import PROJECT_URL, RuleInfo, help_uri
from kvalidate.model import Defect, Result, Severity, Status
from kvalidate.report.describe import defects, details
from kvalidate.rules import registry

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT = "kvalidate/v1"

_BASELINE = {Status.NEW: "new", Status.UNCHANGED: "unchanged", Status.KNOWN: "unchanged", Status.FIXED: "absent"}


def uri(path: str) -> str:
    """A path as a URI reference: relative paths stay relative (to the checkout's root), absolute
    ones become `file:` URIs; everything outside the unreserved characters is percent-encoded."""
    if path.startswith("/"):
        return "file://" + quote(path, safe="/")
    return quote(path, safe="/")


def _location(path: str, line: int, column: int = 0) -> dict[str, Any]:
    loc: dict[str, Any] = {"artifactLocation": {"uri": uri(path)}}
    if line > 0:
        region: dict[str, Any] = {"startLine": line}
        if column > 0:
            region["startColumn"] = column
        loc["region"] = region
    return {"physicalLocation": loc}


def _level(severity: Severity) -> str:
    return "error" if severity is Severity.ERROR else "warning"


def suppression_kind(d: Defect) -> str:
    """`inSource` when a comment in its own template waives it, `external` for a `kvalidate.yaml`
    ignore. The waiver's place ends its reason: `REASON (waiver ORIGIN:LINE)`."""
    return "inSource" if d.template and f"(waiver {d.template}:" in d.reason else "external"


def result_of(d: Defect, rule_index: dict[str, int], result: Result) -> dict[str, Any]:
    text = "\n".join([d.message, *(f"{k}: {v}" if k else v for k, v in details(d, result))])
    res: dict[str, Any] = {"ruleId": d.rule, "ruleIndex": rule_index[d.rule], "level": _level(d.severity),
                           "message": {"text": text}}
    if d.template:
        column = d.findings[0].column if d.findings and not d.findings[0].template else 0
        res["locations"] = [_location(d.template, d.template_line, column)]
        if d.file and d.file != d.template:
            related = _location(d.file, d.line)
            related["id"] = 0
            related["message"] = {"text": "rendered output"}
            res["relatedLocations"] = [related]
    res["partialFingerprints"] = {FINGERPRINT: d.id}
    if d.status in _BASELINE:
        res["baselineState"] = _BASELINE[d.status]
    if d.status is Status.FIXED:
        res["kind"], res["level"] = "pass", "none"
    if d.status is Status.WAIVED:
        res["suppressions"] = [{"kind": suppression_kind(d), "status": "accepted",
                                **({"justification": d.reason} if d.reason else {})}]
    props = {k: v for k, v in (
        ("status", d.status.value), ("path", d.path), ("kind", d.kind), ("name", d.name), ("cells", d.cells),
        ("hosts", d.hosts), ("refs", d.refs), ("count", d.count), ("trigger", d.trigger),
        ("triggerNote", d.trigger_note), ("command", d.command), ("reason", d.reason)) if v not in ("", [], None)}
    res["properties"] = props
    return res


def _rule(info: RuleInfo) -> dict[str, Any]:
    full = f"{info.summary} {info.doc.strip()}".strip()
    return {"id": info.id, "shortDescription": {"text": info.summary}, "fullDescription": {"text": full},
            "helpUri": help_uri(info.id), "defaultConfiguration": {"level": _level(info.severity)},
            "properties": {"family": info.family.value}}


def write(result: Result, out: TextIO) -> None:
    found = defects(result)
    known = registry()
    rules = [_rule(known[r]) for r in sorted(known)]
    for r in sorted({d.rule for d in found} - set(known)):  # never, while the catalog is complete
        rules.append({"id": r, "shortDescription": {"text": f"kvalidate rule {r}."}, "helpUri": help_uri(r)})
    rule_index = {r["id"]: i for i, r in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "kvalidate", "version": __version__, "informationUri": PROJECT_URL,
                            "rules": rules}},
        "results": [result_of(d, rule_index, result) for d in found],
    }
    if result.category:
        run["automationDetails"] = {"id": result.category.rstrip("/") + "/"}
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    json.dump(log, out, indent=2)
    out.write("\n")
