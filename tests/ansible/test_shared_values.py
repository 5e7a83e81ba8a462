"""Values shared between the scopes of a host (variables.Scope._shared): a variable computed in one
role's scope (or an earlier play's) is taken in another only when everything it read has the same
raw value there and nothing it read changed since; a run gives exactly what it gives with reuse
(and so sharing) off, and sharing does happen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kvalidate.ansible import Engine, Inventory
from kvalidate.ansible.templar import Templar
from kvalidate.ansible.variables import Scope
from kvalidate.trees.directory import DirTree

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  vars: {play_word: first}
  roles: [a, b]
- hosts: all
  gather_facts: false
  vars: {play_word: second}
  roles:
    - a
    - {role: b, b_param: from-param}
"""
GROUP_VARS = {
    "base": "base-{{ inventory_hostname }}",
    "derived": "{{ base }}/{{ mark }}",
    "by_play": "{{ play_word }}-{{ base }}",
    "via_hostvars": "{{ hostvars['h2'].peer_mark | default('none') }}",
    "rendered": "{{ lookup('template', 'side.j2') }}",
    "counter_src": "{{ counter | default(0) }}",
}
A_TASKS = """\
- name: a renders
  template: {src: out.j2, dest: "/etc/a-{{ play_word }}.txt"}
- name: a changes a variable the shared values read
  set_fact:
    counter: "{{ (counter | default(0) | int) + 1 }}"
    peer_mark: "{{ inventory_hostname }}-{{ play_word }}"
"""
B_TASKS = """\
- name: b renders
  template: {src: out.j2, dest: "/etc/b-{{ play_word }}.txt"}
"""
OUT = """\
derived={{ derived }} by_play={{ by_play }} counter={{ counter_src }} peer={{ via_hostvars }}
param={{ b_param | default('-') }} rendered={{ rendered | trim }}
"""


def _tree(root: Path) -> DirTree:
    files = {
        "site.yml": PLAYBOOK,
        "roles/a/tasks/main.yml": A_TASKS, "roles/a/defaults/main.yml": "mark: default-mark\n",
        "roles/a/templates/out.j2": OUT, "roles/a/templates/side.j2": "side of {{ inventory_hostname }}\n",
        # b overrides `mark`: `derived` differs there and must not come from a's scope
        "roles/b/tasks/main.yml": B_TASKS, "roles/b/defaults/main.yml": "mark: b-mark\n",
        "roles/b/templates/out.j2": OUT, "roles/b/templates/side.j2": "side of {{ inventory_hostname }}\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return DirTree(root)


def _run(tree: DirTree, templar: Templar) -> tuple[list[tuple[str, str, str]], list[str]]:
    inv = Inventory.from_data({"h1": ["g"], "h2": ["g"]}, group_vars={"all": dict(GROUP_VARS)})
    run = Engine(tree, inv, templar=templar).run_playbook("site.yml")
    return [(r.host, r.dest, r.text) for r in run.renderings], [f.message for f in run.findings]


def test_a_run_gives_what_it_gives_without_sharing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _tree(tmp_path)
    shared: list[int] = []
    original = Scope._shared

    def counting(self: Scope, name: str) -> Any:
        hit = original(self, name)
        if hit is not None:
            shared.append(1)
        return hit

    monkeypatch.setattr(Scope, "_shared", counting)
    with_sharing = _run(tree, Templar())
    assert shared, "values are shared between scopes"
    monkeypatch.setenv("KVALIDATE_NO_REUSE", "1")
    without = _run(tree, Templar())
    assert with_sharing == without
    texts = {dest: text for host, dest, text in without[0] if host == "h1"}
    assert "derived=base-h1/default-mark" in texts["/etc/a-first.txt"]
    assert "derived=base-h1/b-mark" in texts["/etc/b-first.txt"]
    assert "by_play=second-base-h1" in texts["/etc/a-second.txt"]
    # set_fact between the reads: a value that read `counter` (or another host's peer_mark) is not kept
    assert "counter=1" in texts["/etc/b-first.txt"] and "counter=2" in texts["/etc/b-second.txt"]
    assert "peer=h2-first" in texts["/etc/b-first.txt"] and "peer=h2-second" in texts["/etc/b-second.txt"]
    assert "param=from-param" in texts["/etc/b-second.txt"]


def test_an_impure_value_is_not_shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`rendered` renders a template through a lookup, a rendering of its own each time it is
    computed: once per host in each play's scope (the roles find it in the play's scope). Taken
    in the second play from the first, it would lose the second play's renderings."""
    tree = _tree(tmp_path)
    with_sharing = [r for r in _run(tree, Templar())[0] if r[1] == ""]
    monkeypatch.setenv("KVALIDATE_NO_REUSE", "1")
    assert with_sharing == [r for r in _run(tree, Templar())[0] if r[1] == ""]
    assert len(with_sharing) == 4  # 2 hosts x 2 plays
