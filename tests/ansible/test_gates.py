"""Engine(record_gates=True): every `template` task met, rendered or skipped, with the conditions
that gate it (task, block, import, dynamic include, play role and meta dependency `when`) and the
role defaults in scope. Off by default: a run without it records nothing and renders the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvalidate.ansible import Engine, Inventory
from kvalidate.ansible.types import TemplateGate
from kvalidate.trees.directory import DirTree

FILES = {
    "site.yml": """\
- hosts: all
  gather_facts: false
  roles:
    - role: app
      when: app_enabled
""",
    "roles/app/meta/main.yml": "dependencies:\n  - role: dep\n    when: plugin == 'dep'\n",
    "roles/app/defaults/main.yml": "app_enabled: true\nflag: false\nsecure: \"{{ flag and tls }}\"\n",
    "roles/app/tasks/main.yml": """\
- name: plain
  template: {src: plain.j2, dest: /tmp/plain}
- name: gated
  template: {src: gated.j2, dest: /tmp/gated}
  when: flag | bool
- block:
    - name: in block
      template: {src: block.j2, dest: /tmp/block}
      when: ["inner", "other == 'x'"]
  when: outer
- import_tasks: imported.yml
  when: imp
- include_tasks: included.yml
  when: inc or true
- name: looped
  template: {src: "{{ item }}.j2", dest: "/tmp/{{ item }}"}
  loop: [one, missing]
  when: item != 'missing'
- name: rule
  assert:
    that: ["other != 'z'", "imp or true"]
  when: flag | bool
- name: stop
  fail: {msg: no}
  when: other == 'z'
""",
    "roles/app/tasks/imported.yml": "- template: {src: imported.j2, dest: /tmp/imported}\n",
    "roles/app/tasks/included.yml": "- template: {src: included.j2, dest: /tmp/included}\n  when: deep\n",
    "roles/dep/defaults/main.yml": "plugin: dep\ndep_flag: true\n",
    "roles/dep/tasks/main.yml": "- template: {src: dep.j2, dest: /tmp/dep}\n",
    **{f"roles/app/templates/{n}.j2": "x\n" for n in ("plain", "gated", "block", "imported", "included", "one")},
    "roles/dep/templates/dep.j2": "x\n",
}


# every gate but the role's and the dependency's is closed: skipped tasks are recorded too
EXTRA = {"outer": False, "inner": True, "other": "y", "imp": False, "inc": True, "deep": False}


@pytest.fixture
def gates(tmp_path: Path) -> dict[str, TemplateGate]:
    for rel, text in FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    inv = Inventory.from_data({"h1": ["g"], "h2": ["g"]})
    run = Engine(DirTree(tmp_path), inv, extra_vars=EXTRA, record_gates=True).run_playbook("site.yml")
    assert run.findings == []
    return {g.template.rsplit("/", 1)[1]: g for g in run.gates}


@pytest.mark.parametrize(("template", "conditions"), [
    ("dep.j2", ("app_enabled", "plugin == 'dep'")),
    ("plain.j2", ("app_enabled",)),
    ("gated.j2", ("app_enabled", "flag | bool")),
    ("block.j2", ("app_enabled", "outer", "inner", "other == 'x'")),
    ("imported.j2", ("app_enabled", "imp")),
    ("included.j2", ("inc or true", "app_enabled", "deep")),
    ("one.j2", ("app_enabled", "item != 'missing'")),
])
def test_gate_conditions(gates: dict[str, TemplateGate], template: str, conditions: tuple[str, ...]) -> None:
    assert gates[template].conditions == conditions


def test_every_template_task_once_and_unresolvable_src_skipped(gates: dict[str, TemplateGate]) -> None:
    assert sorted(gates) == ["block.j2", "dep.j2", "gated.j2", "imported.j2", "included.j2", "one.j2", "plain.j2"]
    assert gates["gated.j2"].template == "roles/app/templates/gated.j2" and gates["gated.j2"].role == "app"


@pytest.mark.parametrize(("template", "name", "value"), [
    ("gated.j2", "secure", "{{ flag and tls }}"),  # raw, untemplated
    ("gated.j2", "dep_flag", True),  # the running role's dependencies
    ("dep.j2", "plugin", "dep"),
])
def test_gate_defaults(gates: dict[str, TemplateGate], template: str, name: str, value: object) -> None:
    assert gates[template].defaults[name] == value


def test_off_by_default(tmp_path: Path) -> None:
    for rel, text in FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    inv = Inventory.from_data({"h1": ["g"]})
    opened = {**EXTRA, "flag": True, "outer": True, "other": "x", "imp": True, "deep": True}
    plain = Engine(DirTree(tmp_path), inv, extra_vars=opened).run_playbook("site.yml")
    recorded = Engine(DirTree(tmp_path), inv, extra_vars=opened, record_gates=True).run_playbook("site.yml")
    assert plain.gates == [] and recorded.gates
    assert [r.text for r in plain.renderings] == [r.text for r in recorded.renderings]
    assert [(r.template, r.dest) for r in plain.renderings] == [(r.template, r.dest) for r in recorded.renderings]


def test_assert_and_fail_tasks_are_recorded_as_checks(tmp_path: Path) -> None:
    from kvalidate.ansible.types import CheckGate

    for rel, text in FILES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    run = Engine(DirTree(tmp_path), Inventory.from_data({"h1": ["g"]}), extra_vars=EXTRA,
                 record_gates=True).run_playbook("site.yml")
    assert run.checks == [
        CheckGate("assert", ("app_enabled", "flag | bool"), ("other != 'z'", "imp or true")),
        CheckGate("fail", ("app_enabled", "other == 'z'"), ()),
    ]
    assert run.checks[0].defaults["flag"] is False
