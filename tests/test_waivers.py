"""Waivers: template comments and kvalidate.yaml `ignore:` entries mark defects waived (never drop
them), and a waiver that matches nothing where the run rendered its template is a stale-waiver."""

from __future__ import annotations

import re

import jinja2
import pytest

from kvalidate.defects import group
from kvalidate.model import Defect, Finding, Severity, Status
from kvalidate.waivers import Waiver, apply, parse_comments, template_waivers

TPL = "roles/x/templates/ds.yml.j2"


def _defect(rule: str = "duplicate-key", line: int = 5, path: str = "spec.template.spec.nodeSelector",
            template: str = TPL, ref: str = "") -> Defect:
    [d] = group([Finding(Severity.ERROR, rule, f"{rule} at {path}", path=path, file="n1/ds.yml", line=line + 2,
                         template=template, template_line=line, host="n1", cell="c", ref=ref)])
    return d


def _config(template: str, *rules: str, path: str = "", line: int = 7) -> Waiver:
    return Waiver(rules, "known", template, "kvalidate.yaml", line, path=path, from_config=True)


def test_comment_on_the_line_before_and_on_the_line_itself() -> None:
    text = ("a: 1\n"
            "{# kvalidate: ignore[duplicate-key] kept for old clusters #}\n"
            "b: 2\n"
            "{# kvalidate: ignore[required, unknown-field]   reason   on two\n   lines #}c: 3\n")
    waivers, bad = parse_comments(text, TPL)
    assert bad == []
    first, second = waivers
    assert (first.rules, first.reason, first.line, first.lines) == (("duplicate-key",), "kept for old clusters",
                                                                     2, (2, 3))
    # a comment over lines 4-5 that the text of line 5 follows: it covers its own lines and line 6
    assert (second.rules, second.reason, second.line, second.lines) == (("required", "unknown-field"),
                                                                        "reason on two lines", 4, (4, 5, 6))
    assert first.matches(_defect(line=3)) and first.matches(_defect(line=2))
    assert not first.matches(_defect(line=4)) and not first.matches(_defect(line=1))
    assert not first.matches(_defect(line=3, rule="required"))
    assert second.matches(_defect(line=5, rule="unknown-field"))


def test_stacked_comments_reach_the_first_line_below_them() -> None:
    text = "{# kvalidate: ignore[a] one #}\n{# kvalidate: ignore[b] two #}\n{# plain note #}\nx: 1\ny: 2\n"
    waivers, _ = parse_comments(text, TPL)
    assert [w.lines for w in waivers] == [(1, 2, 3, 4), (2, 3, 4)]


@pytest.mark.parametrize(("comment", "why"), [
    ("{# kvalidate: ignore[duplicate-key] #}", "gives no reason"),
    ("{# kvalidate: ignore[] because #}", "names no rule"),
    ("{# kvalidate: skip duplicate-key because #}", "is not `ignore[RULE] reason`"),
])
def test_a_malformed_waiver_waives_nothing_and_says_so(comment: str, why: str) -> None:
    waivers, bad = parse_comments(f"a: 1\n{comment}\nb: 2\n", TPL, ref="v1")
    assert waivers == []
    [f] = bad
    assert (f.rule, f.severity, f.template, f.template_line, f.ref) == ("invalid-waiver", Severity.WARNING, TPL, 2,
                                                                        "v1")
    assert why in f.message


@pytest.mark.parametrize(("text", "harmful"), [
    ("a:\n{# kvalidate: ignore[r] why #}\n  b: 1\n", ""),  # column 0, alone: renders as nothing
    ("a:\n{# kvalidate: ignore[r] why #}  b: 1\n", ""),  # column 0, before the line's text
    # after a tag only: the tag's newline goes anyway
    ("{% if x %}{# kvalidate: ignore[r] why #}\na:\n{% endif %}\n", ""),
    ("a:\n  {# kvalidate: ignore[r] why #}\n  b: 1\n", "indented"),
    ("a:\n  b: 1 {# kvalidate: ignore[r] why #}\n  c: 2\n", "ends a line of text"),
    ("a:\n{#- kvalidate: ignore[r] why #}\n  b: 1\n", "trim marker"),
    ("a:\n{# kvalidate: ignore[r] why -#}\n  b: 1\n", "trim marker"),
])
def test_a_comment_that_changes_the_rendering_is_flagged(text: str, harmful: str) -> None:
    """Ansible renders with trim_blocks: what the warning claims is what Jinja does."""
    env = jinja2.Environment(trim_blocks=True)
    # the text as meant without the comment: a comment alone on its line takes its line with it
    without = re.sub(r"^\{#-? kvalidate[^#]*-?#\}\n|\{#-? kvalidate[^#]*-?#\}", "", text, flags=re.MULTILINE)
    changes = env.from_string(text).render(x=True) != env.from_string(without).render(x=True)
    waivers, bad = parse_comments(text, TPL)
    assert len(waivers) == 1  # still a waiver: the defect it is about is waived
    assert changes == bool(harmful)
    assert [harmful in f.message for f in bad] == ([True] if harmful else [])


def test_config_entries_match_by_glob_rule_and_path_prefix() -> None:
    d = _defect(rule="unknown-field", path="spec.template.spec.containers[0].volumeMounts[2].value")
    assert _config("roles/*/templates/*.j2", "unknown-field").matches(d)
    assert _config("roles/*/templates/*.j2", "unknown-*").matches(d)
    assert not _config("roles/y/*", "unknown-field").matches(d)
    assert not _config("roles/*", "required").matches(d)
    for prefix in ("spec.template.spec.containers[0].volumeMounts", "spec.template.spec.containers[0]",
                   "spec.template.spec.containers[*].volumeMounts[*].value"):
        assert _config("roles/*", "unknown-field", path=prefix).matches(d), prefix
    for other in ("spec.template.spec.containers[0].volume", "spec.template.spec.containers[1]"):
        assert not _config("roles/*", "unknown-field", path=other).matches(d), other


def test_a_comment_applies_to_the_ref_whose_template_holds_it() -> None:
    [w], _ = parse_comments("{# kvalidate: ignore[duplicate-key] ok #}\nx: 1\n", TPL, ref="v2")
    assert w.matches(_defect(line=2, ref="v2"))
    assert not w.matches(_defect(line=2, ref="v1"))
    assert not w.matches(_defect(line=2))  # the work tree


def test_apply_marks_waived_with_the_reason_and_keeps_the_defect() -> None:
    d, other = _defect(line=3), _defect(line=9, rule="required")
    [w], _ = parse_comments("a: 1\n{# kvalidate: ignore[duplicate-key] kept on purpose #}\nb: 2\n", TPL)
    stale = apply([d, other], [w], {("", TPL)})
    assert stale == []
    assert (d.status, d.reason) == (Status.WAIVED, f"kept on purpose (waiver {TPL}:2)")
    assert d.findings and not d.blocks()
    assert (other.status, other.reason) == (Status.ACTIVE, "")


def test_fixed_defects_are_left_alone() -> None:
    d = _defect(line=3)
    d.status = Status.FIXED
    [w], _ = parse_comments("a: 1\n{# kvalidate: ignore[duplicate-key] ok #}\nb: 2\n", TPL)
    assert apply([d], [w], {("", TPL)})[0].rule == "stale-waiver"
    assert d.status is Status.FIXED


def test_stale_only_where_the_run_rendered_the_template() -> None:
    [comment], _ = parse_comments("{# kvalidate: ignore[nosuch-rule] typo #}\nx: 1\n", TPL, ref="v1")
    config = _config("roles/x/templates/*", "required", line=12)
    elsewhere = _config("roles/never/*", "required")
    stale = apply([], [comment, config, elsewhere], {("v1", TPL)})
    assert [(f.rule, f.severity, f.file, f.line, f.template, f.template_line, f.ref) for f in stale] == [
        ("stale-waiver", Severity.WARNING, TPL, 1, TPL, 1, "v1"),
        ("stale-waiver", Severity.WARNING, "kvalidate.yaml", 12, "", 0, ""),
    ]
    assert "(no rule nosuch-rule exists)" in stale[0].message
    assert "exists" not in stale[1].message
    assert apply([], [comment, config], {("v2", TPL)}) == [stale[1]]  # the comment's ref was not rendered
    assert apply([], [comment, config], {("v1", TPL)}, judge=False) == []


def test_template_waivers_read_each_rendered_template_once() -> None:
    reads: list[tuple[str, str]] = []
    texts = {TPL: "{# kvalidate: ignore[a] b #}\nx: 1\n{# kvalidate: nonsense #}\n", "plain.j2": "x: 1\n"}

    def read(ref: str, path: str) -> str | None:
        reads.append((ref, path))
        return texts.get(path)

    waivers, bad = template_waivers([("", TPL), ("", TPL), ("", "plain.j2"), ("", "gone.j2")], read)
    assert sorted(reads) == sorted([("", TPL), ("", "gone.j2"), ("", "plain.j2")])
    assert [(w.template, w.line) for w in waivers] == [(TPL, 1)]
    assert [(f.rule, f.line) for f in bad] == [("invalid-waiver", 3)]
