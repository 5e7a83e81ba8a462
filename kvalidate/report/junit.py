"""JUnit XML: one testcase per (template, rule) with defects, and one passing testcase per checked
file without any finding; never the same testcase twice.

A (template, rule) testcase fails when one of its defects fails the run (`--fail-on`, status), with
the text report's block of each such defect; the other defects of that testcase (warnings, known,
unchanged, waived) are listed in its system-out. `classname` is the template (the file for
`kvalidate validate`) and `name` the rule, stable from run to run; a clean file's testcase is
`classname` = the file (as the text report names it: `HOST/DEST` for a rendering), `name` = `no defect`.
Layout as read by Jenkins, GitLab and GitHub test reporters (testsuites > testsuite > testcase >
failure)."""

from __future__ import annotations

import functools
import re
from typing import TextIO

from kvalidate.model import Defect, Result, Status
from kvalidate.report.describe import block, defects, plural


@functools.cache
def _not_xml() -> re.Pattern[str]:
    """What XML 1.0 cannot carry (a template may render control characters into a message);
    compiled at first use: ~5 ms, which every command paid at start-up when it was module-level."""
    return re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _not_xml().sub("\ufffd", text)


def _clean_files(result: Result) -> list[str]:
    """The checked files (renderings without their cell prefix) that have no finding at all."""
    prefixes = sorted((f"{c.name}:" for c in result.cells), key=len, reverse=True)
    with_findings = {f.file for f in result.findings}
    out: set[str] = set()
    for label in result.checked:
        name = next((label[len(p):] for p in prefixes if label.startswith(p)), label)
        if name not in with_findings:
            out.add(name)
    return sorted(out)


def write(result: Result, out: TextIO) -> None:
    cases: dict[tuple[str, str], list[Defect]] = {}
    for d in defects(result):
        if d.status is Status.FIXED:
            continue
        where = d.template or (f"cell {d.cells[0]}" if d.cells else "(no file)")
        cases.setdefault((where, d.rule), []).append(d)
    import xml.etree.ElementTree as ET  # stdlib, loaded by the junit format only (start-up time)

    suites = ET.Element("testsuites", name="kvalidate")
    suite = ET.SubElement(suites, "testsuite", name=_xml(result.category or "kvalidate"))
    failures = 0
    for (where, rule), members in sorted(cases.items()):
        case = ET.SubElement(suite, "testcase", classname=_xml(where), name=rule)
        if members[0].template:
            case.set("file", _xml(members[0].template))
        failing = [d for d in members if d.blocks(result.fail_on)]
        others = [d for d in members if not d.blocks(result.fail_on)]
        if failing:
            failures += 1
            fail = ET.SubElement(case, "failure", type=rule,
                                 message=_xml(f"{plural(len(failing), 'defect')}: {failing[0].message}"))
            fail.text = _xml("\n".join("\n".join(block(d, result)) for d in failing))
        if others:
            ET.SubElement(case, "system-out").text = _xml("\n".join("\n".join(block(d, result)) for d in others))
    clean = _clean_files(result)
    for name in clean:
        ET.SubElement(suite, "testcase", classname=_xml(name), name="no defect")
    count = str(len(cases) + len(clean))
    for el in (suites, suite):
        el.set("tests", count)
        el.set("failures", str(failures))
        el.set("errors", "0")
    ET.indent(suites)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(suites, encoding="unicode"))
    out.write("\n")
