"""Reuse of evaluations across cells (ansible/reuse.py): a sequence of engines ("cells") sharing one
Templar renders exactly what each renders alone with reuse off, whatever changed between them (types,
dict order, included templates, files read by lookups, other hosts' variables), and reuse does
happen when nothing an evaluation read changed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from kvalidate.ansible import Engine, Inventory
from kvalidate.ansible.reuse import Store, value_key
from kvalidate.ansible.templar import Templar
from kvalidate.trees.directory import DirTree

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  roles: [r]
"""
TASKS = """\
- name: facts
  set_fact:
    joined: "{{ value }}-{{ other | default('none') }}"
- name: render
  template: {src: t.j2, dest: "/etc/{{ inventory_hostname }}.txt"}
  when: value is defined
- name: render a file's text
  template: {src: f.j2, dest: /etc/f.txt}
- name: render per item
  template: {src: item.j2, dest: "/etc/{{ item.key }}.txt"}
  loop: "{{ big | dict2items }}"
  when: item.value.enabled
"""
DEFAULTS = """\
value: 1
big:
  a: {enabled: true, v: "{{ value }}"}
  b: {enabled: "{{ value == 1 }}", v: "{{ value | string }}-b"}
peer: "{{ hostvars['h2'].get('mark', 'nomark') }}"
"""
TEMPLATE = """\
value={{ value }} type={{ value | type_debug }} joined={{ joined }}
{% for k in mapping | default({}) %}{{ k }},{% endfor %}
peer={{ peer }} hosts={{ groups['all'] | join(',') }}
{% include 'inc.j2' %}
"""


def _tree(root: Path, inc: str = "included v1", data: str = "data v1") -> Path:
    files = {
        "site.yml": PLAYBOOK, "roles/r/tasks/main.yml": TASKS, "roles/r/defaults/main.yml": DEFAULTS,
        "roles/r/templates/t.j2": TEMPLATE, "roles/r/templates/inc.j2": inc + "\n",
        "roles/r/templates/item.j2": "{{ item.key }}={{ item.value.v }} {{ value }}\n",
        "roles/r/files/data.txt": data + "\n",
        "roles/r/templates/f.j2": "{{ lookup('file', 'data.txt') }}\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def _run(tree: DirTree, extra: Mapping[str, Any], templar: Templar,
         host_vars: Mapping[str, Any] | None = None) -> tuple[list[tuple[str, str, str]], list[str], dict[str, int]]:
    inv = Inventory.from_data({"h1": ["g"], "h2": ["g"]}, host_vars=dict(host_vars or {}))
    run = Engine(tree, inv, extra_vars=dict(extra), templar=templar).run_playbook("site.yml")
    return ([(r.host, r.dest, r.text) for r in run.renderings], [f.message for f in run.findings], run.reuse)


CELLS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {}),
    ({}, {}),  # the same cell again: everything reused
    ({"value": True}, {}),  # True == 1 in Python, yet renders "True"
    ({"value": 1.0}, {}),
    ({"value": "1"}, {}),
    ({"value": 1, "mapping": {"x": 1, "y": 2}}, {}),
    ({"value": 1, "mapping": {"y": 2, "x": 1}}, {}),  # same dict, other order
    ({"value": 2, "other": "o"}, {}),
    ({}, {"h2": {"mark": "m2"}}),  # another host's variable, read through hostvars
    ({}, {}),
]


def test_cells_render_as_without_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = DirTree(_tree(tmp_path))
    shared = Templar()
    reused = 0
    for extra, host_vars in CELLS:
        monkeypatch.delenv("KVALIDATE_NO_REUSE", raising=False)
        with_reuse = _run(tree, extra, shared, host_vars)
        monkeypatch.setenv("KVALIDATE_NO_REUSE", "1")
        without = _run(tree, extra, Templar(), host_vars)
        assert with_reuse[:2] == without[:2], extra
        assert without[2] == {"done": 0, "reused": 0}
        reused += with_reuse[2]["reused"]
        assert with_reuse[0], "the cell renders"
    texts = {t for r in (_run(tree, e, Templar(), h)[0] for e, h in CELLS) for _, _, t in r}
    assert any("type=bool" in t for t in texts) and any("type=float" in t for t in texts)
    assert any("y,x," in t for t in texts) and any("x,y," in t for t in texts)
    assert any("peer=m2" in t for t in texts)
    assert reused > 0


def test_same_cell_again_is_all_reused(tmp_path: Path) -> None:
    tree = DirTree(_tree(tmp_path))
    templar = Templar()
    first = _run(tree, {}, templar)
    again = _run(tree, {}, templar)
    assert first[:2] == again[:2]
    assert first[2]["reused"] < again[2]["reused"]
    # what is never stored: the template reading a file (lookup), and what reads it
    assert again[2]["reused"] < again[2]["done"]


@pytest.mark.parametrize("change", ["inc", "data"])
def test_a_changed_file_is_read_again(tmp_path: Path, change: str) -> None:
    """Included templates and files read by a lookup are inputs: another tree (another ref) with
    another text renders its own, even with the same template and variables."""
    templar = Templar()
    one = _run(DirTree(_tree(tmp_path / "one")), {}, templar)
    kwargs = {"inc": "included v2"} if change == "inc" else {"data": "data v2"}
    two = _run(DirTree(_tree(tmp_path / "two", **kwargs)), {}, templar)
    expected = "included v2" if change == "inc" else "data v2"
    assert all(expected not in t for _, _, t in one[0])
    assert any(expected in t for _, _, t in two[0])
    assert two[:2] == _run(DirTree(tmp_path / "two"), {}, Templar())[:2]


def test_a_template_mutating_a_copy_leaves_reused_values_alone(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "roles/r/templates/t.j2").write_text(
        "{% set x = lst %}{% do x.append(9) %}{{ x }} {{ lst }}\n", encoding="utf-8")
    templar = Templar()
    extra = {"lst": [1, 2]}
    runs = [_run(DirTree(root), extra, templar) for _ in range(3)]
    assert runs[0][0] == runs[1][0] == runs[2][0] == _run(DirTree(root), extra, Templar())[0]
    assert runs[2][0][0][2] == "[1, 2, 9] [1, 2, 9]\n"  # one copy per render, appended to once
    assert runs[2][2]["reused"] > 0


def test_value_keys_are_type_and_order_strict() -> None:
    keys = [value_key(v) for v in (1, True, 1.0, "1", [1], (1,), {"a": 1, "b": 2}, {"b": 2, "a": 1}, -0.0, 0.0)]
    assert len(set(keys)) == len(keys)
    assert value_key({"a": [1, {"b": None}]}) == value_key({"a": [1, {"b": None}]})


def test_fingerprints_of_unkeyable_values_are_by_identity() -> None:
    store = Store()
    a, b = object(), object()
    assert store.fingerprint(a) == store.fingerprint(a) != store.fingerprint(b)
    assert store.fingerprint([1, {"x": 2}]) == store.fingerprint([1, {"x": 2}])
    assert store.fingerprint([1]) != store.fingerprint([True])


def test_large_dict_templates_only_the_entries_whose_inputs_changed(tmp_path: Path) -> None:
    """Lazy templating of large data: a dict of many entries (`downloads`) whose one input changed is
    templated again entry by entry, the entries that did not read it being reused; what it gives
    is what a run without reuse gives."""
    root = _tree(tmp_path)
    entries = {f"e{i}": {"url": f"https://x/{i}/{{{{ v{i % 3} }}}}", "n": i} for i in range(12)}
    entries["e0"]["bad"] = "{{ undefined_name if fail | default(false) else 'ok' }}"
    (root / "roles/r/defaults/main.yml").write_text(
        DEFAULTS + "v0: a\nv1: b\nv2: c\ndl: " + json.dumps(entries) + "\n", encoding="utf-8")
    (root / "roles/r/templates/t.j2").write_text("{{ dl.e4.url }} {{ dl | length }}\n", encoding="utf-8")
    templar = Templar()
    tree = DirTree(root)
    cells: list[dict[str, Any]] = [{}, {"v1": "B"}, {"v1": "B", "fail": True}, {}]
    for extra in cells:
        before = (templar.reuse.done, templar.reuse.reused)
        got = _run(tree, extra, templar)
        assert got[:2] == _run(tree, extra, Templar())[:2], extra
        if extra == {"v1": "B"}:
            assert any("https://x/4/B 12" in t for _, _, t in got[0]), got
            # 12 entries, 4 of which read v1: the others come from the store
            assert templar.reuse.reused - before[1] >= 8
    assert any("undefined_name" in m for m in _run(tree, cells[2], Templar())[1])
