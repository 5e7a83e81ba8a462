"""Whole-task reuse and shared values against reuse off, on the cases a review of them found wrong
before they were fixed: each playbook runs its cells in a row with one shared Templar, and every cell
must give what it gives alone with reuse off (renderings with their item, findings, failed hosts)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from kvalidate.ansible import Engine, Inventory
from kvalidate.ansible.templar import Templar
from kvalidate.kubespray.simulate import make_simulator, with_written_files
from kvalidate.trees.directory import DirTree

# a loop item sets a variable a later item reads through another one
LOOP_WRITES = """\
- hosts: all
  gather_facts: false
  vars:
    a: "{{ a0 }}"
    c: "{{ a | int + d | int }}"
  tasks:
    - set_fact:
        a: "{{ item }}"
        out: "{{ lookup('vars', 'c') if item == 2 else 0 }}"
      loop: [1, 2]
    - template: {src: t.j2, dest: /etc/t}
"""
# failed_when is checked after the action set a variable it reads through another one
FAILED_WHEN = """\
- hosts: all
  gather_facts: false
  vars:
    a: "{{ a0 }}"
    c: "{{ a | int + d | int }}"
  tasks:
    - set_fact:
        a: 1
      register: r
      failed_when: c | int == 6
    - template: {src: t2.j2, dest: /etc/t}
"""
# group_by in one play, the implicit localhost reading `groups` in the next
LOCALHOST_GROUPS = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - template: {src: t3.j2, dest: /etc/t1}
- hosts: h1
  gather_facts: false
  tasks:
    - group_by: {key: newgroup}
- hosts: localhost
  gather_facts: false
  tasks:
    - template: {src: t3.j2, dest: /etc/t3}
"""
# a large dict (templated entry by entry) in a loop's arguments reading a value that depends on the item
LARGE_DICT_ITEM = """\
- hosts: all
  gather_facts: false
  vars:
    by_item: "{{ (item | default(1)) + w }}"
  tasks:
    - set_fact:
        k1: 1
        k2: 2
        k3: 3
        k4: 4
        k5: 5
        k6: 6
        k7: 7
        v: ["{{ by_item }}"]
      loop: [2]
    - template: {src: t4.j2, dest: /etc/t}
"""
# a run_once failure on a host that had failed already in an earlier cell
RUN_ONCE_FAILED = """\
- hosts: all
  gather_facts: false
  tasks:
    - assert: {that: "fail_me != inventory_hostname"}
    - assert: {that: "y != 1"}
      run_once: true
    - template: {src: t5.j2, dest: /etc/t}
"""
# a value rendering through a lookup, first computed in a loop where an earlier task was skipped
LOOKUP_ITEM = """\
- hosts: all
  gather_facts: false
  vars:
    rendered: "{{ lookup('template', 'side.j2') }}"
  tasks:
    - set_fact: {x: "{{ rendered }}"}
      when: warm | default(true)
    - template: {src: t6.j2, dest: "/etc/{{ item }}"}
      loop: [1]
"""
# copy with both src and content, the content omitted: the simulator records the file written
COPY_SRC = """\
- hosts: h1
  gather_facts: false
  tasks:
    - copy:
        src: "{{ s | default(omit) }}"
        content: "{{ c | default(omit) }}"
        dest: /etc/x
    - stat: {path: /etc/x}
      register: st
    - template: {src: t7.j2, dest: /etc/t}
"""
TEMPLATES = {
    "templates/t.j2": "out={{ out }} a={{ a }}\n", "templates/t2.j2": "failed={{ r.failed }}\n",
    "templates/t3.j2": "gl={{ gl }}\n", "templates/t4.j2": "v={{ v }}\n", "templates/t5.j2": "x\n",
    "templates/t6.j2": "{{ rendered }} {{ zz }}\n", "templates/side.j2": "side {{ inventory_hostname }}\n",
    "templates/t7.j2": "exists={{ st.stat.exists }}\n",
}
CASES: dict[str, tuple[str, list[dict[str, Any]], bool]] = {
    "loop-writes": (LOOP_WRITES, [{"a0": 0, "d": 5}, {"a0": 2, "d": 4}], False),
    "failed-when": (FAILED_WHEN, [{"a0": 0, "d": 5}, {"a0": 2, "d": 4}], True),
    "localhost-groups": (LOCALHOST_GROUPS, [{"gl": "{{ groups.keys() | sort }}"}], False),
    "large-dict-item": (LARGE_DICT_ITEM, [{"w": 0}, {"w": 1}], False),
    "run-once-failed": (RUN_ONCE_FAILED, [{"fail_me": "h2", "y": 1}, {"fail_me": "none", "y": 1}], False),
    "lookup-item": (LOOKUP_ITEM, [{"zz": 1}, {"zz": 2, "warm": False}], False),
    "copy-src": (COPY_SRC, [{"s": "a.txt"}, {"s": "a.txt", "w": 1}], True),
}


def _run(tree: DirTree, extra: Mapping[str, Any], templar: Templar, memo: bool, keep_going: bool) -> Any:
    engine = Engine(tree, Inventory.from_data({"h1": ["g"], "h2": ["g"]}), extra_vars=dict(extra), templar=templar,
                    keep_going=keep_going, simulator=with_written_files(make_simulator(), lambda host, path: None))
    if memo:
        engine.memo = ("test",)
    run = engine.run_playbook("site.yml")
    renderings = [(r.host, r.dest, r.text, r.item) for r in run.renderings]
    failed = {h: st.failed for h, st in engine.hosts.items()}
    return renderings, [f"{f.host}: {f.message}" for f in run.findings], failed


@pytest.mark.parametrize("case", sorted(CASES))
def test_cells_give_what_they_give_without_reuse(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    playbook, cells, keep_going = CASES[case]
    for name, text in {"site.yml": playbook, **TEMPLATES}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    tree = DirTree(tmp_path)
    shared = Templar()
    for extra in cells:
        monkeypatch.delenv("KVALIDATE_NO_REUSE", raising=False)
        got = _run(tree, extra, shared, True, keep_going)
        monkeypatch.setenv("KVALIDATE_NO_REUSE", "1")
        assert got == _run(tree, extra, Templar(), False, keep_going), extra
