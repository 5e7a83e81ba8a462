"""Exact template lines: the engine records, while rendering, which template line wrote each output
line (ansible/linemap.py), for every construct of the language; findings and `render --validate`
use that map.

Each table case is a set of template files (the first is rendered), its variables, and the
expected rendered lines, each with the template line that wrote it (`file:line` when another file
wrote it). The rendered text is part of the expectation, so a case cannot pass on a wrong render.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvalidate.ansible import Engine, Inventory, render_template_mapped
from kvalidate.ansible.codecache import engine_fingerprint, valid_code
from kvalidate.ansible.environment import GuardedCodeGenerator
from kvalidate.ansible.linemap import LineCodeGenerator
from kvalidate.ansible.lookups.core import IncludeLoader
from kvalidate.ansible.templar import Templar
from kvalidate.api import render
from kvalidate.cli import main
from kvalidate.model import LineMap
from kvalidate.schemas.store import SchemaStore
from kvalidate.trees.directory import DirTree
from kvalidate.validation.renderings import check_renderings
from kvalidate.validation.source_map import template_line

Case = tuple[dict[str, str], dict[str, object], list[tuple[str, int | str]]]

CASES: dict[str, Case] = {
    "plain lines": (
        {"t.j2": "a: 1\nb: {{ x }}\nc: 3\n"}, {"x": "X"},
        [("a: 1", 1), ("b: X", 2), ("c: 3", 3)]),
    "expressions mid-line": (
        {"t.j2": "name: {{ a }}-{{ b }}\nnext: {{ a }}\nlast: 1\n"}, {"a": "A", "b": "B"},
        [("name: A-B", 1), ("next: A", 2), ("last: 1", 3)]),
    "for loop, several iterations": (
        {"t.j2": "ports:\n{% for p in ps %}\n  - name: p{{ p }}\n    port: {{ p }}\n    proto: TCP\n{% endfor %}\n"
                 "end: 1\n"},
        {"ps": [1, 2, 3]},
        [("ports:", 1), ("  - name: p1", 3), ("    port: 1", 4), ("    proto: TCP", 5),
         ("  - name: p2", 3), ("    port: 2", 4), ("    proto: TCP", 5),
         ("  - name: p3", 3), ("    port: 3", 4), ("    proto: TCP", 5), ("end: 1", 7)]),
    "nested loops": (
        {"t.j2": "{% for a in xs %}\n{% for b in ys %}\n{{ a }}{{ b }}: x\n{% endfor %}\nafter{{ a }}: 1\n"
                 "{% endfor %}\n"},
        {"xs": [1, 2], "ys": ["a", "b"]},
        [("1a: x", 3), ("1b: x", 3), ("after1: 1", 5), ("2a: x", 3), ("2b: x", 3), ("after2: 1", 5)]),
    "if / elif / else": (
        {"t.j2": "{% if v == 1 %}\none: 1\n{% elif v == 2 %}\ntwo: 2\ntwo2: 2\n{% else %}\nother: 0\n{% endif %}\n"
                 "end: {{ v }}\n"},
        {"v": 2},
        [("two: 2", 4), ("two2: 2", 5), ("end: 2", 9)]),
    "else branch": (
        {"t.j2": "{% if v == 1 %}\none: 1\n{% elif v == 2 %}\ntwo: 2\n{% else %}\nother: 0\n{% endif %}\n"},
        {"v": 3},
        [("other: 0", 6)]),
    "macro defined and called: every line at the call": (
        {"t.j2": "{% macro port(n) %}\n- name: p{{ n }}\n  port: {{ n }}\n{% endmacro %}\nports:\n"
                 "{{ port(1) }}{{ port(2) }}end: 1\n"},
        {},
        [("ports:", 5), ("- name: p1", 6), ("  port: 1", 6), ("- name: p2", 6), ("  port: 2", 6), ("end: 1", 6)]),
    "call block": (
        {"t.j2": "{% macro wrap() %}\nw:\n{{ caller() }}{% endmacro %}\n{% call wrap() %}\n  in: 1\n{% endcall %}\n"
                 "x: 1\n"},
        {},
        [("w:", 4), ("  in: 1", 4), ("x: 1", 7)]),
    "include: the included file's lines": (
        {"t.j2": "a: 1\n{% include 'part.j2' %}\n\nb: {{ x }}\n", "templates/part.j2": "p1: {{ x }}\np2: 2\n"},
        {"x": "X"},
        [("a: 1", 1), ("p1: X", "templates/part.j2:1"), ("p2: 2", "templates/part.j2:2"), ("b: X", 4)]),
    # Jinja drops an included file's last newline and trim_blocks the tag's: the next text runs on;
    # that line's first character came from the included file
    "include whose last line runs on": (
        {"t.j2": "a: 1\n{% include 'part.j2' %}\nb: {{ x }}\n", "templates/part.j2": "p1: {{ x }}\np2: 2\n"},
        {"x": "X"},
        [("a: 1", 1), ("p1: X", "templates/part.j2:1"), ("p2: 2b: X", "templates/part.j2:2")]),
    "include in a loop": (
        {"t.j2": "{% for i in [1, 2] %}\n{% include 'item.j2' %}\n\n{% endfor %}\nend: 1\n",
         "templates/item.j2": "- i: {{ i }}\n  lit: 1\n"},
        {},
        [("- i: 1", "templates/item.j2:1"), ("  lit: 1", "templates/item.j2:2"),
         ("- i: 2", "templates/item.j2:1"), ("  lit: 1", "templates/item.j2:2"), ("end: 1", 5)]),
    "include without context: the include line": (
        {"t.j2": "a: 1\n{% include 'lit.j2' without context %}\n\nb: 2\n", "templates/lit.j2": "l1: 1\nl2: 2\n"},
        {},
        [("a: 1", 1), ("l1: 1", 2), ("l2: 2", 2), ("b: 2", 4)]),
    "import of macros: lines at the call": (
        {"t.j2": "{% import 'm.j2' as m %}\nports:\n{{ m.port(7) }}end: 1\n",
         "templates/m.j2": "{% macro port(n) %}\n- name: p{{ n }}\n  port: {{ n }}\n{% endmacro %}\n"},
        {},
        [("ports:", 2), ("- name: p7", 3), ("  port: 7", 3), ("end: 1", 3)]),
    "from import": (
        {"t.j2": "{% from 'm.j2' import port with context %}\n{{ port(1) }}end: 1\n",
         "templates/m.j2": "{% macro port(n) %}\nport: {{ n }}\n{% endmacro %}\n"},
        {},
        [("port: 1", 2), ("end: 1", 2)]),
    "extends and blocks": (
        {"t.j2": "{% extends 'base.j2' %}\n{% block body %}\nc1: {{ x }}\nc2: 2\n{% endblock %}\n",
         "templates/base.j2": "head: 1\n{% block body %}\ndefault: 1\n{% endblock %}\ntail: 1\n"},
        {"x": "X"},
        [("head: 1", "templates/base.j2:1"), ("c1: X", 3), ("c2: 2", 4), ("tail: 1", "templates/base.j2:5")]),
    "set block printed later: the print line": (
        {"t.j2": "{% set blk %}\ns1: {{ x }}\ns2: 2\n{% endset %}\nfirst: 1\n{{ blk }}last: 1\n"},
        {"x": "X"},
        [("first: 1", 5), ("s1: X", 6), ("s2: 2", 6), ("last: 1", 6)]),
    "set of a value": (
        {"t.j2": "{% set v = x ~ '!' %}\na: 1\nb: {{ v }}\n"}, {"x": "X"},
        [("a: 1", 2), ("b: X!", 3)]),
    "to_nice_yaml, to_yaml, indent: every line at the expression": (
        {"t.j2": "kind: X\ndata:\n  {{ d | to_nice_yaml | indent(2) }}\nflow: {{ d | to_yaml }}\n"
                 "list:\n{{ l | to_nice_yaml }}end: 1\n"},
        {"d": {"a": 1, "b": [1, 2]}, "l": ["x", "y"]},
        # the empty lines: the newline after each `}}` ends a line the value began
        [("kind: X", 1), ("data:", 2), ("  a: 1", 3), ("  b:", 3), ("  - 1", 3), ("  - 2", 3), ("", 3),
         ("flow: a: 1", 4), ("b: [1, 2]", 4), ("", 4), ("list:", 5), ("- x", 6), ("- y", 6), ("end: 1", 6)]),
    "filter block: the statement's line": (
        {"t.j2": "a: 1\n{% filter indent(2, true) %}\nf1: 1\nf2: {{ x }}\n{% endfilter %}\nz: 1\n"},
        {"x": "X"},
        [("a: 1", 1), ("  f1: 1", 2), ("  f2: X", 2), ("z: 1", 6)]),
    "whitespace control": (
        {"t.j2": "a: 1\n{%- if x %}\n\nb: 2\n{% endif -%}\n\n\nc: {{- x }}\nd: 4\n"}, {"x": "X"},
        [("a: 1", 1), ("b: 2", 4), ("c:X", 8), ("d: 4", 9)]),
    "raw block": (
        {"t.j2": "a: 1\n{% raw %}\nr: {{ not_rendered }}\n{% endraw %}\nb: {{ x }}\n"}, {"x": "X"},
        [("a: 1", 1), ("", 2), ("r: {{ not_rendered }}", 3), ("b: X", 5)]),
    "comments": (  # the text around a comment is one constant; the comment's lines wrote nothing
        {"t.j2": "{# a comment\n   on two lines #}\na: 1\n{# own line #}\nb: 2 {# inline #} x\nc: 3\n"}, {},
        [("a: 1", 3), ("b: 2  x", 5), ("c: 3", 6)]),
    "a #jinja2: header line counts": (
        {"t.j2": "#jinja2: trim_blocks: False\na: 1\n{% if true %}\nb: {{ x }}\n{% endif %}\n"}, {"x": "X"},
        [("a: 1", 2), ("", 3), ("b: X", 4)]),
    "trailing newlines Ansible restores": (
        {"t.j2": "a: {{ x }}\nb: 2\n\n\n"}, {"x": "X"},
        [("a: X", 1), ("b: 2", 2), ("", 3), ("", 4)]),
    "no final newline": (
        {"t.j2": "a: 1\nb: {{ x }}"}, {"x": "X"},
        [("a: 1", 1), ("b: X", 2)]),
    "loop.cycle and loop.index": (
        {"t.j2": "{% for i in xs %}\n{{ loop.index }}: {{ loop.cycle('a', 'b') }}\n  v: 1\n{% endfor %}\n"},
        {"xs": [7, 8, 9]},
        [("1: a", 2), ("  v: 1", 3), ("2: b", 2), ("  v: 1", 3), ("3: a", 2), ("  v: 1", 3)]),
    "recursive loop: one value, at the for line": (
        {"t.j2": "{% for n in tree recursive %}\n- {{ n.name }}\n{% if n.kids %}\n{{ loop(n.kids) }}{% endif %}"
                 "{% endfor %}\nend: 1\n"},
        {"tree": [{"name": "a", "kids": [{"name": "b", "kids": []}]}, {"name": "c", "kids": []}]},
        [("- a", 1), ("- b", 1), ("- c", 1), ("end: 1", 5)]),
}


def _render_case(tmp_path: Path, files: dict[str, str], variables: dict[str, object]) -> tuple[str, LineMap]:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    tree = DirTree(tmp_path)
    main_name = next(iter(files))
    loader = IncludeLoader(tree, ["/checkout/templates", "/checkout"])
    return Templar.shared().render_file_mapped(tree.read_text(main_name), None, main_name, variables, loader)


def _table(text: str, lines: LineMap) -> list[tuple[str, int | str]]:
    rows = text.split("\n")
    if text.endswith("\n"):
        rows.pop()
    assert len(rows) == len(lines.lines)
    out: list[tuple[str, int | str]] = []
    for i, row in enumerate(rows):
        file, line = lines.at(i + 1)
        out.append((row, f"{file}:{line}" if file else line))
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_each_rendered_line_names_the_template_line_that_wrote_it(tmp_path: Path, case: str) -> None:
    files, variables, expected = CASES[case]
    text, lines = _render_case(tmp_path, files, variables)
    assert _table(text, lines) == expected


def test_the_map_holds_for_every_template_of_the_demo() -> None:
    """On the embedded demo's templates the map is complete (one entry per output line), every line
    of a literal-only stretch names the template line holding that very text."""
    root = Path(__file__).resolve().parents[2] / "templates_under_test"
    engine = Engine(DirTree(root), Inventory.from_data({"node1": ["kube_control_plane", "etcd", "kube_node"]}))
    renderings = engine.run_playbook("cluster.yml").renderings
    assert len(renderings) > 5
    for r in renderings:
        assert r.lines is not None
        source = (root / r.template).read_text().splitlines()
        rendered = r.text.splitlines()
        assert len(r.lines.lines) == len(rendered), r.template
        for n, row in enumerate(rendered, 1):
            file, tline = r.lines.at(n)
            if not file and row.strip() and "{" not in source[tline - 1] and "%" not in source[tline - 1]:
                assert source[tline - 1] == row, (r.template, n)


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: c
      image: i
      ports:
{% for p in ports %}
        - name: port-{{ loop.index }}
          containerPort: {{ p }}
          protocol: TCP
{% endfor %}
"""


def test_a_finding_in_the_third_iteration_points_at_the_loop_line(tmp_path: Path) -> None:
    """The finding of iteration 3 is at the template line that wrote it, not at a line whose text
    looks alike (the text matching it replaces said line 7's `- name` or another iteration's)."""
    path = tmp_path / "pod.yaml.j2"
    path.write_text(POD)
    out = render(path, {"ports": [80, 443, "http-alt"]}, validate=True)
    bad = [(f.rule, f.path, f.file, f.line, f.template, f.template_line) for f in out.result.findings]
    assert bad == [("type", "spec.containers[0].ports[2].containerPort", "<rendered>", 17, str(path), 12)]


EDGE = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: edge-proxy
spec:
  selector:
    matchLabels: {app: edge}
  template:
    metadata:
      labels: {app: edge}
    spec:
      containers:
        - name: proxy
          image: proxy:1
          ports:
            - name: web
              containerPort: 80
              hostPort: {{ web_port }}
            - name: stats
              containerPort: 9000
{% if not host_net %}
              hostPort: {{ stats_port }}
{% endif %}
{% for p in tcp_ports %}
            - name: tcp-{{ p }}
              containerPort: "{{ p | int }}"
{% if not host_net %}
              hostPort: "{{ p | int }}"
{% endif %}
{% endfor %}
{% for p in udp_ports %}
            - name: udp-{{ p }}
              containerPort: "{{ p | int }}"
              protocol: UDP
{% endfor %}
"""


def test_lines_that_look_alike_in_loops(tmp_path: Path) -> None:
    """The shape of ingress-nginx's string-port bug (our own template): a quoted `hostPort` in a loop
    after an unquoted one outside it, a UDP loop after a TCP loop with the same `containerPort` line.
    Matching text back to the template put the hostPorts at line 22 and the UDP port at line 26."""
    path = tmp_path / "edge.yaml.j2"
    path.write_text(EDGE)
    out = render(path, {"web_port": 80, "stats_port": 9000, "host_net": False, "tcp_ports": [7000, 7001],
                        "udp_ports": [5353]}, validate=True)
    assert [(f.path.rsplit(".", 2)[-2:], f.line, f.template_line) for f in out.result.findings] == [
        (["ports[2]", "containerPort"], 23, 26), (["ports[2]", "hostPort"], 24, 28),
        (["ports[3]", "containerPort"], 26, 26), (["ports[3]", "hostPort"], 27, 28),
        (["ports[4]", "containerPort"], 29, 33)]
    assert out.text is not None
    guessed = [template_line(EDGE.splitlines(), out.text.splitlines(), n) for n in (24, 29)]
    assert guessed == [22, 26]  # what text matching says: the exact map is what the findings use


def test_check_renderings_locates_engine_renderings_by_their_map(tmp_path: Path, store: SchemaStore) -> None:
    """The engine's renderings (template task and lookup('template')) carry their map, and the
    validation stage takes template lines from it."""
    for rel, text in {
        "site.yml": "- hosts: all\n  gather_facts: false\n  roles: [demo]\n",
        "roles/demo/tasks/main.yml": "- name: Pod\n  template:\n    src: pod.yaml.j2\n    dest: /etc/pod.yaml\n"
                                     "- name: Looked up\n  set_fact:\n"
                                     "    looked: \"{{ lookup('template', 'pod.yaml.j2') }}\"\n",
        "roles/demo/templates/pod.yaml.j2": POD,
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    engine = Engine(DirTree(tmp_path), Inventory.from_data({"node1": []}), extra_vars={"ports": [1, 2, "x"]})
    run = engine.run_playbook("site.yml")
    assert [(r.via, r.lines is not None) for r in run.renderings] == [("template", True), ("lookup", True)]
    result = check_renderings(run.renderings[:1], store)
    assert [(f.rule, f.line, f.template, f.template_line) for f in result.findings] == [
        ("type", 17, "roles/demo/templates/pod.yaml.j2", 12)]


def test_render_validate_reports_template_lines_not_rendered_ones(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pod.yaml.j2"
    path.write_text(POD)
    code = main(["render", str(path), "-e", '{"ports": [80, 443, "x"]}', "--validate", "-f", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert [(f["file"], f["line"], f["template"], f["template_line"]) for f in findings] == [
        ("<rendered>", 17, str(path), 12)]


def test_render_validate_names_an_included_template(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml.j2").write_text(POD.split("{% for")[0] + "{% for p in ports %}\n{% include 'port.j2' %}\n"
                                          "\n{% endfor %}\n")
    (tmp_path / "port.j2").write_text("        - containerPort: {{ p }}\n          protocol: TCP\n")
    out = render(tmp_path / "pod.yaml.j2", {"ports": [1, "x"]}, validate=True)
    assert [(f.line, f.template, f.template_line) for f in out.result.findings] == [
        (12, str(tmp_path / "port.j2"), 1)]


def test_render_template_mapped_gives_no_map_when_it_does_not_render(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("a: {{ nope }}\n")
    text, lines, findings = render_template_mapped(tmp_path / "t.j2", {})
    assert (text, lines, [(f.rule, f.template_line) for f in findings]) == (None, None, [("undefined-variable", 1)])


def test_a_render_error_in_an_included_template_names_it(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("a: 1\n{% include 'part.j2' %}\n")
    (tmp_path / "part.j2").write_text("p: 1\nq: {{ nope }}\n")
    _, _, findings = render_template_mapped(tmp_path / "t.j2", {})
    assert [(f.rule, f.template, f.template_line) for f in findings] == [
        ("undefined-variable", str(tmp_path / "part.j2"), 2)]


@pytest.mark.parametrize(("source", "line"), [
    ("#jinja2: trim_blocks: False\na: 1\nb: {{ nope.x }}\n", 3),  # the header line counts
    ("#jinja2: trim_blocks: False\na: 1\nb: {{ x }\n", 3),  # a syntax error too
    ("a: 1\nb: {{ x }\n", 2),
])
def test_render_errors_count_the_header_line(tmp_path: Path, source: str, line: int) -> None:
    (tmp_path / "t.j2").write_text(source)
    _, _, findings = render_template_mapped(tmp_path / "t.j2", {"x": 1})
    assert [f.template_line for f in findings] == [line]


@pytest.mark.parametrize("name", ["../outside.j2", "/etc/hostname", "missing.j2"])
def test_includes_read_only_the_checkout(tmp_path: Path, name: str) -> None:
    (tmp_path / "outside.j2").write_text("secret\n")
    inner = tmp_path / "in"
    inner.mkdir()
    (inner / "t.j2").write_text(f"{{% include '{name}' %}}\n")
    text, _, findings = render_template_mapped(inner / "t.j2", {})
    assert text is None and [f.rule for f in findings] == ["render-error"]
    assert "TemplateNotFound" in findings[0].message


def test_the_line_map_generator_is_part_of_the_cached_code() -> None:
    """The code cache stays correct: the generator that writes `kv_lines` is the environment's (its
    source is in kvalidate/ansible, hashed by `engine_fingerprint`, which names the cache file),
    and code using every construct, includes and imports included, passes the cache's check."""
    assert issubclass(GuardedCodeGenerator, LineCodeGenerator)
    assert engine_fingerprint()
    env = Templar.shared().env
    for src in ["{% include 'a' %}{% include 'b' without context %}{% include ['c', 'd'] ignore missing %}",
                "{% import 'm' as m %}{% from 'm' import a, b as c %}{% from 'm' import x with context %}{{ a() }}",
                "{% extends 'b' %}{% block a %}{{ super() }}{% endblock %}",
                "{% for i in x recursive %}{{ loop(i.c) }}{% endfor %}{% set y %}z{% endset %}{{ y }}",
                "{{ a ~ b }}{% filter upper %}{{ c }}{% endfilter %}"]:
        code = env.compile(src, name="t.j2", filename="t.j2")
        assert valid_code(code), src
        assert "kv_lines" in code.co_names


def test_an_unmapped_rendering_still_gets_a_guess(store: SchemaStore) -> None:
    """Only a text with no map (not made by the engine) falls back to matching text."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Plain:
        template: str
        dest: str
        host: str
        text: str
        role: str = ""
        via: str = "template"
        lines: LineMap | None = None

    r = Plain("t.j2", "/etc/t.yaml", "node1", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nbogus: 1\n")
    found = check_renderings([r], store, template_text=lambda p: "apiVersion: v1\nkind: Pod\n"
                             "metadata: {name: p}\n{# c #}\nbogus: 1\n").findings
    assert [(f.line, f.template_line) for f in found if f.rule == "unknown-field"] == [(4, 5)]
