"""JUnit XML: one testcase per checked file (rendering), failing when it has error findings.

Warnings go to the testcase's system-out. Layout as read by Jenkins, GitLab and GitHub test
reporters (testsuites > testsuite > testcase > failure).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TextIO

from kvalidate.model import Finding, Result, Severity
from kvalidate.report.text import location


def _case_key(f: Finding) -> tuple[str, str, str, str]:
    return (f.cell, f.host, f.file, f.ref)


def write(result: Result, out: TextIO) -> None:
    groups: dict[tuple[str, str, str, str], list[Finding]] = {}
    for name in result.checked:
        groups.setdefault(("", "", name, ""), [])
    for f in result.findings:
        key = _case_key(f)
        if key not in groups and ("", "", f.file, "") in groups and not any(key[:2]):
            key = ("", "", f.file, "")
        groups.setdefault(key, []).append(f)
    suites = ET.Element("testsuites", name="kvalidate")
    suite = ET.SubElement(suites, "testsuite", name="kvalidate")
    failures = 0
    for (cell, host, file, ref), findings in sorted(groups.items()):
        classname = ".".join(x for x in ("kvalidate", ref, cell, host) if x)
        case = ET.SubElement(suite, "testcase", name=file, classname=classname)
        errors = [f for f in findings if f.severity is Severity.ERROR]
        if errors:
            failures += 1
            fail = ET.SubElement(case, "failure", message=f"{len(errors)} error(s)", type="kvalidate")
            fail.text = "\n".join(f"{location(f)}: {f.rule}: {f.message}" for f in errors)
        warnings = [f for f in findings if f.severity is Severity.WARNING]
        if warnings:
            so = ET.SubElement(case, "system-out")
            so.text = "\n".join(f"{location(f)}: warning {f.rule}: {f.message}" for f in warnings)
    count = str(len(groups))
    for el in (suites, suite):
        el.set("tests", count)
        el.set("failures", str(failures))
        el.set("errors", "0")
    ET.indent(suites)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(suites, encoding="unicode"))
    out.write("\n")
