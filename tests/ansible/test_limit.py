"""--limit in the engine: the reason a template gets when it reads a fact of a host outside the
limit that the fact cache does not hold (where the name was set, and why it is not cached), the
limit's pattern errors, and what `fact_cache()` keeps. Which names are defined at all is the
differential test's (tests/differential/test_diff_limit.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kvalidate.ansible import Engine, Inventory
from kvalidate.ansible.patterns import check_limit, limit_hosts
from kvalidate.model import Finding, SetupError
from kvalidate.trees.directory import DirTree

FACTS = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Address
      set_fact:
        addr: "{{ inventory_hostname }}-addr"
    - name: Cached address
      set_fact:
        cached_addr: "{{ inventory_hostname }}-c"
        cacheable: true
    - name: Probe
      command: probe
      register: probe_out
"""

SITE = """\
- hosts: all
  gather_facts: false
  roles:
    - lb
"""

ROLE_TASKS = """\
- name: Address
  set_fact:
    addr: "{{ inventory_hostname }}-addr"
- name: Probe
  command: probe
  register: probe_out
- name: Config
  template:
    src: lb.conf.j2
    dest: /etc/lb.conf
"""


def _tree(tmp_path: Path, template: str) -> DirTree:
    (tmp_path / "roles/lb/tasks").mkdir(parents=True)
    (tmp_path / "roles/lb/templates").mkdir(parents=True)
    (tmp_path / "facts.yml").write_text(FACTS)
    (tmp_path / "site.yml").write_text(SITE)
    (tmp_path / "roles/lb/tasks/main.yml").write_text(ROLE_TASKS)
    (tmp_path / "roles/lb/templates/lb.conf.j2").write_text(template)
    return DirTree(tmp_path)


def _inventory() -> Inventory:
    return Inventory.from_data({"cp1": ["cp"], "cp2": ["cp"], "w1": ["workers"]},
                               facts={h: {"ansible_default_ipv4": {"address": f"10.0.0.{i}"}}
                                      for i, h in enumerate(["cp1", "cp2", "w1"], 1)})


def _run(tree: DirTree, limit: str | None, cache: bool) -> tuple[list[Finding], dict[str, str]]:
    fact_cache: dict[str, dict[str, Any]] | None = None
    if cache:
        pre = Engine(tree, _inventory())
        pre.run_playbook("facts.yml")
        fact_cache = pre.fact_cache()
    engine = Engine(tree, _inventory(), limit=limit, fact_cache=fact_cache)
    run = engine.run_playbook("site.yml")
    return run.findings, {r.host: r.text for r in run.renderings}


LOOP = "{% for h in groups['cp'] %}server {{ hostvars[h]['VAR'] }}\n{% endfor %}\n"


def test_uncached_set_fact_of_a_host_outside_the_limit_names_where_it_was_set(tmp_path: Path) -> None:
    findings, texts = _run(_tree(tmp_path, LOOP.replace("VAR", "addr")), "w1", cache=True)
    assert texts == {}
    [f] = findings
    assert f.rule == "undefined-variable" and f.host == "w1"
    assert (f.template, f.template_line) == ("roles/lb/templates/lb.conf.j2", 1)
    assert ("hostvars['cp1']['addr'] is undefined: cp1 is outside --limit 'w1' and addr was set by set_fact "
            "without cacheable: true in roles/lb/tasks/main.yml:3; not in the fact cache of a --limit run") in f.message


def test_cached_fact_renders_and_registered_result_is_explained(tmp_path: Path) -> None:
    findings, texts = _run(_tree(tmp_path, LOOP.replace("VAR", "cached_addr")), "w1", cache=True)
    assert findings == []
    assert texts == {"w1": "server cp1-c\nserver cp2-c\n"}
    findings, _ = _run(_tree(tmp_path / "r", LOOP.replace("VAR", "probe_out")), "w1", cache=True)
    [f] = findings
    assert "probe_out was registered by task 'Probe' in roles/lb/tasks/main.yml:6" in f.message
    assert "a registered result is never cached" in f.message


def test_without_a_cache_gathered_facts_are_missing_too(tmp_path: Path) -> None:
    findings, _ = _run(_tree(tmp_path, LOOP.replace("VAR", "ansible_default_ipv4")), "w1", cache=False)
    [f] = findings
    assert "hostvars['cp1']['ansible_default_ipv4'] is undefined: cp1 is outside --limit 'w1' and " \
           "ansible_default_ipv4 is a gathered fact" in f.message


def test_without_limit_or_inside_it_nothing_changes(tmp_path: Path) -> None:
    tree = _tree(tmp_path, LOOP.replace("VAR", "addr"))
    findings, texts = _run(tree, None, cache=False)
    assert findings == [] and texts["w1"] == "server cp1-addr\nserver cp2-addr\n"
    findings, texts = _run(tree, "w1,cp*", cache=False)
    assert findings == [] and sorted(texts) == ["cp1", "cp2", "w1"]


def test_a_name_nothing_set_keeps_the_plain_message(tmp_path: Path) -> None:
    findings, _ = _run(_tree(tmp_path, LOOP.replace("VAR", "nowhere")), "w1", cache=True)
    [f] = findings
    assert "nowhere" in f.message and "outside --limit" not in f.message


@pytest.mark.parametrize(("pattern", "hosts"), [
    ("w1", {"w1"}), ("cp:!cp2", {"cp1"}), ("all:&workers", {"w1"}), ("cp*", {"cp1", "cp2"}),
    ("cp[0]", {"cp1"}), ("~c.2", {"cp2"}), ("cp1,w1", {"cp1", "w1"}), ("nope", set()),
    ("localhost", {"localhost"}),
])
def test_limit_patterns(pattern: str, hosts: set[str]) -> None:
    assert set(limit_hosts(_inventory(), pattern)) == hosts


@pytest.mark.parametrize(("pattern", "says"), [("@hosts.txt", "limit files"), ("", "no host pattern"),
                                                ("~a(b", "Invalid host list pattern"), ("cp[5]", "No hosts matched")])
def test_unusable_limits_are_setup_errors(pattern: str, says: str) -> None:
    with pytest.raises(SetupError, match=says):
        limit_hosts(_inventory(), pattern)
    assert check_limit("a:b") == "a:b"
