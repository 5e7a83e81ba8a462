"""Engine(record_gates=True) looks behind the dynamic includes the run skips (ansible/peek.py):
their template and assert/fail tasks are recorded with the include's conditions, an include named
by one variable is peeked once per role or task file that value would select (`NameChoice`), and
nothing of a peek is run, rendered or reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvalidate.ansible import Engine, Inventory
from kvalidate.ansible.types import CheckGate, NameChoice, RunResult
from kvalidate.trees.directory import DirTree

FILES = {
    "site.yml": """\
- hosts: all
  gather_facts: false
  roles:
    - role: app
""",
    "roles/app/defaults/main.yml": "feature_enabled: false\nplugin: alpha\nmode: host\ncfg: {name: x}\n",
    "roles/app/tasks/main.yml": """\
- name: credentials
  include_tasks: creds.yml
  when: feature_enabled
- name: plugin
  include_role:
    name: "plugins/{{ plugin }}"
  when: plugin != 'none'
- name: install
  include_tasks: "install_{{ mode }}.yml"
- name: per item
  include_tasks: looped.yml
  loop: [a]
  when: false
- name: lenient
  template: {src: "{{ item.file }}.j2", dest: "/tmp/{{ item.file }}"}
  with_items:
    - {file: plain}
    - {file: "{{ 'nets' if cfg.with_networks else 'plain' }}"}
  when: feature_enabled
""",
    "roles/app/tasks/creds.yml": """\
- name: check user
  fail: {msg: user is missing}
  when: user is not defined
- name: secret
  template: {src: secret.j2, dest: /tmp/secret}
- name: deeper
  include_tasks: deeper.yml
  when: deep_enabled
""",
    "roles/app/tasks/deeper.yml": "- template: {src: deep.j2, dest: /tmp/deep}\n",
    "roles/app/tasks/install_host.yml": "- template: {src: host.j2, dest: /tmp/host}\n",
    "roles/app/tasks/install_docker.yml": "- template: {src: docker.j2, dest: /tmp/docker}\n",
    "roles/app/tasks/looped.yml": "- template: {src: looped.j2, dest: /tmp/looped}\n",
    "roles/plugins/alpha/tasks/main.yml": "- template: {src: alpha.j2, dest: /tmp/alpha}\n",
    "roles/plugins/beta/defaults/main.yml": "beta_flag: true\n",
    "roles/plugins/beta/tasks/main.yml": """\
- template: {src: beta.j2, dest: /tmp/beta}
  when: beta_flag
- assert: {that: ["mode == 'host'"]}
""",
    "roles/plugins/gamma/defaults/main.yml": "gamma: 1\n",  # no tasks: not a value of `plugin`
    **{f"roles/app/templates/{n}.j2": "{{ feature_enabled }}\n"
       for n in ("secret", "deep", "host", "docker", "looped", "plain")},
    "roles/plugins/alpha/templates/alpha.j2": "a\n",
    "roles/plugins/beta/templates/beta.j2": "b\n",
}


def write(root: Path) -> DirTree:
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return DirTree(root)


@pytest.fixture
def run(tmp_path: Path) -> RunResult:
    result = Engine(write(tmp_path), Inventory.from_data({"h1": ["g"], "h2": ["g"]}),
                    record_gates=True).run_playbook("site.yml")
    assert result.findings == []
    return result


def gate_of(run: RunResult, name: str) -> tuple[tuple[str, ...], bool]:
    (g,) = [g for g in run.gates if g.template.endswith(f"/{name}.j2")]
    return g.conditions, g.peeked


@pytest.mark.parametrize(("template", "conditions", "peeked"), [
    ("secret", ("feature_enabled",), True),  # behind a skipped include
    ("deep", ("feature_enabled", "deep_enabled"), True),  # and one level further
    ("alpha", ("plugin != 'none'", "plugin == 'alpha'"), False),  # the run took it: the value it stands for
    ("beta", ("plugin != 'none'", "plugin == 'beta'", "beta_flag"), True),  # the other value of `plugin`
    ("host", ("mode == 'host'",), False),
    ("docker", ("mode == 'docker'",), True),
    ("plain", ("feature_enabled",), False),  # a loop with an undefined attribute, read leniently
])
def test_peeked_gates(run: RunResult, template: str, conditions: tuple[str, ...], peeked: bool) -> None:
    assert gate_of(run, template) == (conditions, peeked)


def test_looped_includes_are_not_peeked(run: RunResult) -> None:
    assert not any(g.template.endswith("/looped.j2") for g in run.gates)


def test_checks_behind_skipped_includes(run: RunResult) -> None:
    assert CheckGate("fail", ("feature_enabled", "user is not defined"), ()) in run.checks
    assert CheckGate("assert", ("plugin != 'none'", "plugin == 'beta'"), ("mode == 'host'",)) in run.checks


def test_values_of_a_variable_that_names_a_role_or_file(run: RunResult) -> None:
    assert NameChoice("plugin", ("alpha", "beta"), ("plugin != 'none'",)) in run.choices
    assert NameChoice("mode", ("docker", "host"), ()) in run.choices


def test_every_host_the_task_was_met_on_keeps_its_variables(run: RunResult) -> None:
    (g,) = [g for g in run.gates if g.template.endswith("/host.j2")]
    assert sorted(g.scopes) == ["h1", "h2"] and g.scopes["h2"]["mode"] == "host"
    (p,) = [g for g in run.gates if g.template.endswith("/beta.j2")]
    assert p.scopes["h1"]["beta_flag"] is True  # a peeked role's defaults are in its scope


def test_peeking_runs_renders_and_reports_nothing(tmp_path: Path) -> None:
    tree = write(tmp_path)
    inv = Inventory.from_data({"h1": ["g"]})
    plain = Engine(tree, inv).run_playbook("site.yml")
    recorded = Engine(tree, inv, record_gates=True).run_playbook("site.yml")
    assert [(r.template, r.dest, r.text) for r in plain.renderings] == [
        (r.template, r.dest, r.text) for r in recorded.renderings]
    assert plain.findings == recorded.findings == []
