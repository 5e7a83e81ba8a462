"""A task that fails for itself (an undefined variable in its arguments, `when` or loop, a failed
`assert`) is a finding located at the task: the task file and the task's first line, as `file`/`line`
and `template`/`template_line`, so that every report can point at it. Before, such findings had
no file at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvalidate.ansible import Engine, Inventory
from kvalidate.ansible.loader import Files, yaml_line
from kvalidate.trees.directory import DirTree

ROLE = "roles/demo/tasks/main.yml"
PLAYBOOK = "- hosts: all\n  gather_facts: false\n  roles: [demo]\n"
FIRST = "- name: Fine\n  set_fact:\n    ok: 1\n\n"

# (tasks/main.yml, playbook, rule, file, line)
CASES = [
    (FIRST + "- name: Undefined arg\n  set_fact:\n    x: \"{{ nope }}\"\n", PLAYBOOK, "undefined-variable", ROLE, 5),
    (FIRST + "- name: Check\n  assert:\n    that: [ok == 2]\n", PLAYBOOK, "task-failed", ROLE, 5),
    (FIRST + "- name: Looped\n  debug: {msg: x}\n  loop: \"{{ nope }}\"\n", PLAYBOOK, "undefined-variable", ROLE, 5),
    (FIRST + "- name: Gate\n  debug: {msg: x}\n  when: nope > 1\n", PLAYBOOK, "undefined-variable", ROLE, 5),
    # inside a block: the task's own line, not the block's
    (FIRST + "- block:\n    - name: Outer ok\n      set_fact: {a: 1}\n    - name: Inner\n      set_fact:\n"
     "        y: \"{{ nope }}\"\n", PLAYBOOK, "undefined-variable", ROLE, 8),
    # a task of the play itself: located in the playbook
    ("", "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Play task\n      fail: {msg: stop}\n",
     "task-failed", "site.yml", 4),
    # the play's own hosts pattern: the play's line
    ("", "- name: First play\n  hosts: all\n  gather_facts: false\n\n- name: Broken\n  hosts: \"{{ nope }}\"\n",
     "undefined-variable", "site.yml", 5),
]


@pytest.mark.parametrize(("tasks", "playbook", "rule", "file", "line"), CASES)
def test_a_failing_task_is_located_at_the_task(tmp_path: Path, tasks: str, playbook: str, rule: str, file: str,
                                               line: int) -> None:
    for rel, text in {"site.yml": playbook, ROLE: tasks}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    result = Engine(DirTree(tmp_path), Inventory.from_data({"node1": []})).run_playbook("site.yml")
    assert [(f.rule, f.file, f.line, f.template, f.template_line) for f in result.findings] == [
        (rule, file, line, file, line)]


def test_yaml_line_of_list_items_only(tmp_path: Path) -> None:
    (tmp_path / "t.yml").write_text("# comment\n- name: a\n  x: {k: 1}\n\n-   name: b\n- plain\n")
    data = Files(DirTree(tmp_path)).yaml("t.yml")
    assert [yaml_line(data[0]), yaml_line(data[1])] == [2, 5]
    assert yaml_line(data[0]["x"]) == 0  # a mapping value, not a list item
    assert yaml_line({"name": "a", "x": {"k": 1}}) == 0  # an equal mapping that was never parsed
