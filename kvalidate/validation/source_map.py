"""Rendered line -> template line: which line of a template produced a line of its output.

A rendering made by kvalidate's engine carries the exact map, recorded while Jinja rendered it
(`model.LineMap`, made by `ansible.linemap`): `locate` reads it. `template_line` is the fallback
for a text with no map (a `copy: content:` rendering, whose source is a task file): it matches
text, a heuristic that inside loops can point at another iteration's line.
"""

from __future__ import annotations

import re

from kvalidate.model import LineMap

_EXPR = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")


def _pattern(src: str) -> tuple[re.Pattern[str] | None, float]:
    """A template line as a regex over its rendered form (expressions as wildcards), and how much of
    it is literal text (exact literal lines score highest)."""
    if not src or (src.startswith(("{%", "{#")) and src.endswith(("%}", "#}"))):
        return None, 0.0
    parts = _EXPR.split(src)
    if len(parts) == 1:
        return re.compile(re.escape(src)), 2.0
    return re.compile(".*".join(re.escape(p) for p in parts), re.DOTALL), 1.0 + sum(map(len, parts)) / 1000


def _anchors(template: list[str], rendered: list[str]) -> list[tuple[int, int]]:
    """(rendered index, template index) of literal lines found exactly once on each side, in order."""
    count_t: dict[str, int] = {}
    for line in template:
        count_t[line.strip()] = count_t.get(line.strip(), 0) + 1
    count_r: dict[str, int] = {}
    for line in rendered:
        count_r[line.strip()] = count_r.get(line.strip(), 0) + 1
    where = {line.strip(): i for i, line in enumerate(template)}
    pairs = []
    for i, line in enumerate(rendered):
        text = line.strip()
        if text and count_r[text] == 1 and count_t.get(text) == 1 and not _EXPR.search(text):
            pairs.append((i, where[text]))
    ordered: list[tuple[int, int]] = []
    for r, t in pairs:  # keep a monotone chain: a crossing anchor is a coincidence, not a map
        if not ordered or t > ordered[-1][1]:
            ordered.append((r, t))
    return ordered


def template_line(template: list[str], rendered: list[str], line: int) -> int:
    """Best guess of the template line that produced rendered line `line` (1-based; 0 if unknown).

    Jinja keeps no map from output lines to template lines, so this matches text. Literal lines
    that occur once in both texts are anchors; a rendered line between two anchors came from the
    template lines between them: the one whose literal parts (expressions as wildcards) match it,
    else the expression there that can print several lines (`to_nice_yaml`, loops).
    """
    if not (0 < line <= len(rendered)) or not template:
        return 0
    target = rendered[line - 1].strip()
    if not target:
        return 0
    anchors = _anchors(template, rendered)
    lo, hi = -1, len(template)
    for r, t in anchors:
        if r == line - 1:
            return t + 1
        if r < line - 1:
            lo = t
        elif hi == len(template):
            hi = t
            break
    best, best_score = 0, -1.0
    span = max(hi - lo, 1)
    for i in range(lo + 1, hi):
        rx, weight = _pattern(template[i].strip())
        if rx is not None and rx.fullmatch(target):
            score = weight - (i - lo) / (span * 10)
            if score > best_score:
                best, best_score = i + 1, score
    if best:
        return best
    for i in range(lo + 1, hi):  # a multi-line expression or loop body printed it
        if "{{" in template[i] or template[i].lstrip().startswith("{%"):
            return i + 1
    return 0


def locate(lines: LineMap, template: str, line: int) -> tuple[str, int]:
    """(template file, template line) that wrote rendered line `line` of a rendering of
    `template`, from its exact map: the file is `template` unless an included or extended template
    wrote the line; the line is 0 when unknown."""
    file, tline = lines.at(line)
    return file or template, tline
