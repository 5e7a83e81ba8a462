"""Whole-task reuse (ansible/taskmemo.py): a sequence of engines ("cells") sharing one Templar, with
tasks memoized, gives exactly what each gives alone with reuse off (renderings, findings, what
later tasks see of registered results and facts, failed hosts), whatever changed between them; and
a cell run again replays its tasks instead of running them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import kvalidate.ansible.taskmemo as taskmemo
from kvalidate.ansible import Engine, Inventory
from kvalidate.ansible.templar import Templar
from kvalidate.ansible.types import Simulator
from kvalidate.kubespray.simulate import make_simulator, with_written_files
from kvalidate.trees.directory import DirTree

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  roles: [r]
- hosts: all
  gather_facts: false
  tasks:
    - name: after the role
      template: {src: roles/r/templates/after.j2, dest: /etc/after.txt}
"""
TASKS = """\
- name: facts
  set_fact:
    joined: "{{ value }}-{{ w }}"
- name: cacheable facts
  set_fact:
    cached_one: "{{ value * 2 }}"
    cacheable: true
- name: a command
  command: "echo {{ value }}"
  register: out
  failed_when: out.rc != 0 or value == 'boom'
- name: a loop over items, with a variable that depends on the item
  template: {src: item.j2, dest: "/etc/item-{{ item }}.txt"}
  loop: "{{ items }}"
  when: item != 9
  register: looped
- name: run once
  set_fact:
    once: "{{ inventory_hostname }}-{{ w }}"
  run_once: true
- name: peer
  set_fact:
    peer: "{{ hostvars['h2'].joined | default('none') }}"
- name: "rendered through a lookup (a side effect, never memoized)"
  set_fact:
    via_lookup: "{{ rendered }}"
  when: use_lookup | default(false)
- name: an assertion
  assert:
    that: value != 'stop'
- name: render
  template: {src: t.j2, dest: /etc/t.txt}
"""
DEFAULTS = """\
value: 1
w: 0
items: [1, 2, 9]
by_item: "{{ (item | default(1)) + w }}"
rendered: "{{ lookup('template', 'item.j2', template_vars={'item': 5}) }}"
"""
TEMPLATE = """\
joined={{ joined }} cached={{ cached_one }} out={{ out.rc }} failed={{ out.failed }}
looped={{ looped.results | map(attribute='skipped', default=false) | list }}
once={{ once }} peer={{ peer }} lookup={{ via_lookup | default('-') }}
"""


def _tree(root: Path) -> DirTree:
    files = {
        "site.yml": PLAYBOOK, "roles/r/tasks/main.yml": TASKS, "roles/r/defaults/main.yml": DEFAULTS,
        "roles/r/templates/t.j2": TEMPLATE, "roles/r/templates/item.j2": "item={{ item }} by_item={{ by_item }}\n",
        "roles/r/templates/after.j2": "{{ joined }} {{ ansible_facts.cached_one | default('-') }}\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return DirTree(root)


Outcome = tuple[list[tuple[str, str, str, Any]], list[str], dict[str, bool]]


def _run(tree: DirTree, extra: Mapping[str, Any], templar: Templar, memo: bool = True, keep_going: bool = False,
         simulator: Simulator | None = None) -> Outcome:
    inv = Inventory.from_data({"h1": ["g"], "h2": ["g"]})
    engine = Engine(tree, inv, extra_vars=dict(extra), templar=templar, keep_going=keep_going, simulator=simulator)
    if memo:
        engine.memo = ("test",)
    run = engine.run_playbook("site.yml")
    renderings = [(r.host, r.dest, r.text, r.item) for r in run.renderings]
    failed = {h: st.failed for h, st in engine.hosts.items()}
    return renderings, [f"{f.host}: {f.message}" for f in run.findings], failed


CELLS: list[dict[str, Any]] = [
    {},
    {},  # the same cell again: every task replayed
    {"w": 1},  # by_item = item + w: a value that depends on the loop item and on w
    {"value": 2},
    {"value": True},  # True == 1 in Python, yet renders "True"
    {"value": "boom"},  # failed_when through the registered result
    {"value": "stop"},  # a failing assertion: the host fails, later tasks do not run there
    {"use_lookup": True},
    {"use_lookup": True},
    {"items": [9, 1]},
    {"items": [2]},
    # by_item is 2 for item 2 with w 0, and 2 read without the item with w 1: a run that recorded
    # it as a read of the task's scope would be wrongly replayed here (item 2 now gives 3)
    {"items": [2], "w": 1},
    {},
]


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many host runs of tasks each cell really ran (not replayed)."""
    counts = [0]
    record = taskmemo._record

    def counting(engine: Engine, run: Any) -> Any:
        counts[0] += 1
        return record(engine, run)

    monkeypatch.setattr(taskmemo, "_record", counting)
    return counts


def test_cells_give_what_they_give_without_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 recorded: list[int]) -> None:
    tree = _tree(tmp_path)
    shared = Templar()
    runs = []
    for extra in CELLS:
        monkeypatch.delenv("KVALIDATE_NO_REUSE", raising=False)
        recorded[0] = 0
        got = _run(tree, extra, shared)
        runs.append(recorded[0])
        monkeypatch.setenv("KVALIDATE_NO_REUSE", "1")
        assert got == _run(tree, extra, Templar(), memo=False), extra
    # the same cell again: only the loop whose template reads a variable that depends on the item
    # (`by_item`) ran again, on each host; every other task was replayed
    assert runs[0] > 2 and runs[1] == 2, runs
    assert 2 < runs[2] < runs[0]  # w changed: only what read it ran again
    assert runs[8] > 0  # the lookup's task is never stored: it runs every time
    texts = [t for extra in CELLS for _, _, t, _ in _run(tree, extra, Templar(), memo=False)[0]]
    assert "item=2 by_item=3\n" in texts and "item=2 by_item=2\n" in texts
    assert any("failed=True" in t for t in texts) and any("joined=True-0" in t for t in texts)


def test_a_failed_assertion_stops_the_host_on_replay(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    templar = Templar()
    first = _run(tree, {"value": "stop"}, templar)
    again = _run(tree, {"value": "stop"}, templar)
    assert first == again
    assert again[2] == {"h1": True, "h2": True}
    assert any("assertion failed" in m for m in again[1])
    assert not any(dest == "/etc/t.txt" for _, dest, _, _ in again[0])


def test_a_lookup_rendering_is_not_doubled(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    templar = Templar()
    counts = []
    for _ in range(3):
        renderings = _run(tree, {"use_lookup": True}, templar)[0]
        counts.append(sum(1 for _, dest, _, _ in renderings if dest == ""))
    assert counts == [2, 2, 2]  # one lookup rendering per host, every time


# The cases a review of whole-task reuse and shared values found wrong before they were fixed: each
# playbook runs its cells in a row with one shared Templar, every cell against reuse off.
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



def _stateful() -> Simulator:
    """A simulator whose `stat` sees the files `copy` wrote (a run's, as run.cell gives the engine)."""
    return with_written_files(make_simulator(), lambda host, path: None)


@pytest.mark.parametrize("case", sorted(CASES))
def test_review_cases_give_what_they_give_without_reuse(case: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    playbook, cells, keep_going = CASES[case]
    for name, text in {"site.yml": playbook, **TEMPLATES}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    tree = DirTree(tmp_path)
    shared = Templar()
    for extra in cells:
        monkeypatch.delenv("KVALIDATE_NO_REUSE", raising=False)
        got = _run(tree, extra, shared, True, keep_going, _stateful())
        monkeypatch.setenv("KVALIDATE_NO_REUSE", "1")
        assert got == _run(tree, extra, Templar(), False, keep_going, _stateful()), extra
