"""A `template` task whose `src` is not there (and an `include_vars` whose file is not there) is a
`load-error` finding located at the task: its file and the line of the argument. Before, it was a
render-error with no file and no line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvalidate.ansible import Engine, Inventory
from kvalidate.trees.directory import DirTree

PLAYBOOK = "- hosts: all\n  gather_facts: false\n  roles: [demo]\n"
OTHER = "- name: Present\n  template:\n    src: ok.j2\n    dest: /etc/ok\n"

# (tasks/main.yml, expected line of the finding, expected message tail)
CASES = [
    ("- name: Missing\n  template:\n    src: nope.j2\n    dest: /etc/x\n", 3, "Could not find or access 'nope.j2'"),
    (OTHER + "\n- name: Missing too\n  ansible.builtin.template:\n    dest: /etc/y\n    src: 'nope.j2'\n", 9,
     "Could not find or access 'nope.j2'"),
    ("- template:\n    src: nope.j2\n    dest: /etc/x\n", 2, "Could not find or access 'nope.j2'"),  # no name
    ("- name: Free form\n  template: src=nope.j2 dest=/etc/x\n", 2, "Could not find or access 'nope.j2'"),
    ("- name: Templated\n  template:\n    src: \"{{ which }}.j2\"\n    dest: /etc/x\n", 3,
     "Could not find or access 'nope.j2'"),
    # the same src in an earlier task of another name: the finding is at this task's line
    ("- name: First\n  template:\n    src: nope.j2\n    dest: /etc/a\n  ignore_errors: true\n"
     "- name: Second\n  template:\n    src: nope.j2\n    dest: /etc/b\n", 8, "Could not find or access 'nope.j2'"),
    ("- name: Vars\n  include_vars:\n    file: missing.yml\n", 3, "Could not find or access 'missing.yml'"),
]


@pytest.mark.parametrize(("tasks", "line", "message"), CASES)
def test_a_missing_src_is_located_at_the_task(tmp_path: Path, tasks: str, line: int, message: str) -> None:
    for rel, text in {"site.yml": PLAYBOOK, "roles/demo/tasks/main.yml": tasks,
                      "roles/demo/templates/ok.j2": "ok\n"}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    engine = Engine(DirTree(tmp_path), Inventory.from_data({"node1": []}), extra_vars={"which": "nope"})
    result = engine.run_playbook("site.yml")
    missing = [f for f in result.findings if "Could not find" in f.message]
    assert [(f.rule, f.file, f.line, f.template, f.template_line, f.host) for f in missing][-1:] == [
        ("load-error", "roles/demo/tasks/main.yml", line, "roles/demo/tasks/main.yml", line, "node1")]
    assert missing[-1].message.endswith(message)
