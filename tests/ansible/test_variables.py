"""Lazy, memoized variables: values are templated once per host and scope, and exactly the
values that read a changed name are recomputed (set_fact, include_vars, group_by, another host's
facts through hostvars); task scopes reuse what does not depend on their own variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kvalidate.ansible import Engine, Inventory
from kvalidate.ansible.environment import _literal
from kvalidate.trees.directory import DirTree

DEFAULTS: dict[str, Any] = {
    "a": "{{ b }}-a", "b": "{{ c }}-b", "c": "c0", "peer": "{{ hostvars['h2']['ip_fact'] | default('none') }}",
    "in_group": "{{ 'extra' in group_names }}", "grp": "{{ grp_var | default('nogroup') }}",
    "uses_item": "{{ item | default('noitem') }}-{{ c }}", "n": "{{ groups['all'] | length }}",
}


def _engine(tmp_path: Path) -> Engine:
    inv = Inventory.from_data({"h1": ["g"], "h2": ["g"]}, group_vars={"extra": {"grp_var": "from-extra"}})
    return Engine(DirTree(tmp_path), inv, extra_vars={})


@pytest.mark.parametrize(("change", "name", "before", "after"), [
    (("h1", "nonpersistent", {"c": "c1"}), "a", "c0-b-a", "c1-b-a"),
    (("h1", "vars_cache", {"b": "B"}), "a", "c0-b-a", "B-a"),
    (("h2", "nonpersistent", {"ip_fact": "10.0.0.2"}), "peer", "none", "10.0.0.2"),
    (("h1", "nonpersistent", {"unrelated": 1}), "a", "c0-b-a", "c0-b-a"),
])
def test_change_recomputes_dependents(tmp_path: Path, change: tuple[str, str, dict[str, Any]], name: str,
                                      before: str, after: str) -> None:
    engine = _engine(tmp_path)
    engine.extra_vars.clear()
    scope = engine.play_scope("h1").derive([*engine.play_scope("h1").maps, DEFAULTS], persistent=True)
    assert scope.get_value(name) == before
    assert name in scope.cache or (scope.parent is not None and name in scope.parent.cache)
    engine.set_var(*change)
    assert scope.get_value(name) == after


def test_group_by_changes_groups_and_group_vars(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    scope = engine.play_scope("h1").derive([*engine.play_scope("h1").maps, DEFAULTS], persistent=True)
    assert (scope.get_value("in_group"), scope.get_value("n")) == (False, "2")
    engine.add_to_group("h1", "extra")
    scope = engine.play_scope("h1").derive([*engine.play_scope("h1").maps, DEFAULTS], persistent=True)
    assert (scope.get_value("in_group"), scope.get_value("grp")) == (True, "from-extra")


def test_task_scope_reuses_values_that_do_not_read_its_vars(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    base = engine.play_scope("h1").derive([*engine.play_scope("h1").maps, DEFAULTS], persistent=True)
    task = base.derive([{"item": "i1"}, *engine.play_scope("h1").maps, DEFAULTS])
    assert task.get_value("a") == "c0-b-a"
    assert "a" in base.cache and "a" not in task.cache  # stored where it is valid
    assert task.get_value("uses_item") == "i1-c0"
    assert "uses_item" in task.cache and "uses_item" not in base.cache
    assert base.get_value("uses_item") == "noitem-c0"


def test_rendered_literals_are_fresh_each_time() -> None:
    # eval_concat memoizes the parse of an output by its text: each render still gets its own
    # containers, equal to a fresh parse, and a failed parse still returns the text itself
    text = "{'a': [1, {'b': (2, 3)}], 'c': true, 'd': null}"
    first, second = _literal(text), _literal(text)
    assert first == second == {"a": [1, {"b": (2, 3)}], "c": True, "d": None}
    assert first is not second and first["a"] is not second["a"] and first["a"][1] is not second["a"][1]
    first["a"].append(9)
    assert _literal(text) == {"a": [1, {"b": (2, 3)}], "c": True, "d": None}
    bad = "[1, 2"
    assert _literal(bad) is bad and _literal(bad) is bad
