"""Hostile and broken templates end as findings, within bounded time, reading nothing outside
the checkout or the configured environment; render findings point at the template line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kvalidate.ansible import render_template
from kvalidate.ansible.templar import Templar

HOSTILE: list[tuple[str, str, dict[str, object], str]] = [
    ("mro", "{{ ''.__class__.__mro__ }}", {}, "sandbox"),
    ("subclasses", "{{ ''.__class__.__mro__[1].__subclasses__() }}", {}, "sandbox"),
    ("globals", "{{ cycler.__init__.__globals__ }}", {}, "sandbox"),
    ("lookup-self", "{{ lookup.__self__ }}", {}, "sandbox"),
    ("private-attr", "{{ self._TemplateReference__context }}", {}, "sandbox"),
    ("format-string", "{{ '{0.__class__}'.format('') }}", {}, "sandbox"),
    ("huge-range", "{{ range(10 ** 9) | list | length }}", {}, "sandbox"),
    ("huge-power", "{{ 10 ** 100000000 }}", {}, "sandbox"),
    ("huge-string", "{{ 'a' * 100000000 }}", {}, "sandbox"),
    ("nested-loops", "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}", {},
     "sandbox"),
    ("macro-recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", {}, "sandbox"),
    ("variable-cycle", "{{ a }}", {"a": "{{ b }}", "b": "{{ c }}", "c": "{{ a }}"}, "variable-cycle"),
    ("pipe-lookup", "{{ lookup('pipe', 'id') }}", {}, "forbidden-lookup"),
    ("url-lookup", "{{ lookup('url', 'http://example.com') }}", {}, "forbidden-lookup"),
    ("file-outside", "{{ lookup('file', '/etc/passwd') }}", {}, "render-error"),
    ("file-escape", "{{ lookup('file', '../../../../etc/passwd') }}", {}, "render-error"),
    ("fileglob-filter", "{{ '/etc/*' | fileglob }}", {}, "render-error"),
    ("expandvars-filter", "{{ '$HOME' | expandvars }}", {}, "render-error"),
    ("huge-product", "{{ range(10000) | product(range(10000)) | list | length }}", {}, "sandbox"),
    ("huge-permutations", "{{ range(50) | permutations | list | length }}", {}, "sandbox"),
    ("huge-center", "{{ 'x' | center(1000000000) }}", {}, "sandbox"),
    ("huge-indent", "{{ 'ab' | indent(1000000000) }}", {}, "sandbox"),
    ("huge-format-width", "{{ '%*s' | format(1000000000, 'x') }}", {}, "sandbox"),
    ("huge-nice-json-indent", "{{ {'a': [1]} | to_nice_json(indent=1000000000) }}", {}, "sandbox"),
    ("huge-lipsum", "{{ lipsum(100000000) }}", {}, "sandbox"),
    # a template whose source names no mutator has the cached values themselves: a method name
    # built at run time may not mutate them (Ansible would mutate a copy)
    ("dynamic-mutator-name", "{{ (mylist | attr('app' ~ 'end'))(3) }}", {"mylist": "{{ [1, 2] }}"}, "sandbox"),
    ("container-dunder-self", "{{ {}.__setitem__.__self__ }}", {}, "sandbox"),
    ("container-dunder-class", "{{ [].__class__ }}", {}, "sandbox"),
    ("container-dunder-init", "{{ {}.__init__.__globals__ }}", {}, "sandbox"),
]


@pytest.fixture(autouse=True)
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Templar.shared(), "deadline_s", 1.0)


@pytest.mark.parametrize(("name", "source", "variables", "rule"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_template_is_a_finding(tmp_path: Path, name: str, source: str, variables: dict[str, object],
                                       rule: str) -> None:
    path = tmp_path / f"{name}.j2"
    path.write_text("ok\n" + source + "\n")
    start = time.monotonic()
    text, findings = render_template(path, variables)
    assert time.monotonic() - start < 5
    assert text is None
    assert [(f.rule, f.template_line) for f in findings] == [(rule, 2)]


def test_env_lookup_reads_the_map_not_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KV_SECRET", "real-secret")
    path = tmp_path / "env.j2"
    path.write_text("[{{ lookup('env', 'KV_SECRET') }}][{{ lookup('env', 'KV_GIVEN') }}]\n")
    assert render_template(path, {}, env={"KV_GIVEN": "given"}) == ("[][given]\n", [])


def test_own_set_values_may_be_mutated(tmp_path: Path) -> None:
    path = tmp_path / "counter.j2"
    path.write_text("{% set c = {'n': 1} %}{% if c.update({'n': c.n + 1}) %}{% endif %}{{ c.n }}"
                    "{% set l = [] %}{% do l.append(1) %}{{ l }}\n")
    assert render_template(path, {}) == ("2[1]\n", [])


POSITION: list[tuple[str, str, dict[str, object], str, int, tuple[str, ...]]] = [
    ("undefined-line3", "a: 1\nb: 2\nc: {{ missing }}\n", {}, "undefined-variable", 3, ("missing",)),
    ("undefined-through-chain", "a: 1\nb: {{ outer }}\n", {"outer": "{{ inner }}x", "inner": "{{ leaf }}"},
     "undefined-variable", 2, ("outer", "inner", "leaf")),
    ("filter-error", "x\n\n\n\ny: {{ '10.0.0.1' | ansible.utils.ipaddr('bogus') }}\n", {}, "render-error", 5, ()),
    ("syntax-error", "x\n{% if %}\n", {}, "render-error", 2, ()),
    ("error-in-loop", "{% for i in [1, 2] %}\nv{{ i }}: {{ i | int + none_var }}\n{% endfor %}\n",
     {"none_var": None}, "render-error", 2, ()),
    ("undefined-attr", "l1\nl2\n{{ d.missing.deeper }}\n", {"d": {"a": 1}}, "undefined-variable", 3, ()),
]


@pytest.mark.parametrize(("name", "source", "variables", "rule", "line", "chain"), POSITION,
                         ids=[p[0] for p in POSITION])
def test_finding_points_at_template_line(tmp_path: Path, name: str, source: str, variables: dict[str, object],
                                         rule: str, line: int, chain: tuple[str, ...]) -> None:
    path = tmp_path / f"{name}.j2"
    path.write_text(source)
    text, findings = render_template(path, variables)
    assert text is None
    assert [(f.rule, f.template, f.template_line) for f in findings] == [(rule, str(path), line)]
    for name_ in chain:
        assert name_ in findings[0].message


@pytest.mark.parametrize("expr", ["{{ [nowhere, 1] | unique | length }}", "{{ [[1], [1]] | unique }}",
                                  "{{ [1, 1] | ansible.builtin.unique }}"])
def test_ansible_core_display_prints_nothing(capfd: pytest.CaptureFixture[str], expr: str) -> None:
    """ansible-core's `unique` warns through its Display when Jinja2's fails: nothing of kvalidate prints."""
    t = Templar()
    try:
        t.template(expr, None)
    except Exception:  # noqa: BLE001, S110 - only the output matters here
        pass
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
