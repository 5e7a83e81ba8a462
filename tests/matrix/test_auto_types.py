"""Automatic coverage gives a variable only values of its type in the base cell, values that select
something the checkout has, and never invents a value for an input: flags.Known, typed_truth,
typed_gate, auto_axes with what the base cell knows, read_names."""

from __future__ import annotations

from typing import Any

import pytest

from kvalidate.matrix.auto.flags import (
    MISSING,
    UNKNOWN,
    Known,
    auto_axes,
    compatible,
    read_names,
    typed_gate,
    typed_truth,
    used_names,
)

BASE = {"is_master": True, "flag": False, "storage_class": "", "plugin": "calico", "cidr": 32, "hosts_name": "node1",
        "rbac": True, "pools": ["a"], "cfg": {"a": 1}}
VALID_PLUGINS = {"calico", "cilium"}


def known(**over: Any) -> Known:
    values = {**BASE, **over}
    per_host = {"hosts_name": ["node1", "node2"], "is_master": [True, False]}
    return Known({}, lambda n: values.get(n, MISSING), lambda n: n in per_host,
                 lambda n, v: n != "plugin" or v in VALID_PLUGINS or v == "none",
                 hosts=lambda n: per_host.get(n, [values.get(n, MISSING)]))


def docs(name: str) -> Any:
    return {"webhook_url": "https://...", "storage_class": "documented-class"}.get(name)


@pytest.mark.parametrize(("value", "values"), [
    (True, [True, False]),
    ("eth0", ["eth0"]),  # a string keeps its value: never true, and "" only when the checkout expects it
    (["x"], [["x"], []]),
    (3, [3]),
    ("", []),  # empty: no true value to invent
    (None, []),
    (MISSING, []),
    (UNKNOWN, []),  # no raw default to fall back on
])
def test_typed_truth(value: Any, values: list[Any]) -> None:
    assert typed_truth(value) == values


def test_typed_truth_falls_back_to_the_raw_default_when_the_value_is_unknown() -> None:
    assert typed_truth(UNKNOWN, "{{ a and b }}") == [True, False]
    assert typed_truth("eth0", empty_ok=True) == ["eth0", ""]


@pytest.mark.parametrize(("literal", "value", "ok"), [
    ("cilium", "calico", True), (1, 2.5, True), (True, False, True), ("x", MISSING, True),
    (True, "", False), ("true", True, False), (1, "1", False), ("a", ["a"], False),
])
def test_compatible(literal: Any, value: Any, ok: bool) -> None:
    assert compatible(literal, value) is ok


@pytest.mark.parametrize(("gate", "values", "why"), [
    ({"flag": True}, {"flag": True}, ""),
    ({"pools": True}, {"pools": ["a"]}, ""),  # a non-empty list already opens `when: pools`
    ({"pools": False}, {"pools": []}, ""),
    ({"storage_class": True}, {"storage_class": "documented-class"}, ""),  # empty: the documented value
    ({"webhook_url": True}, {"webhook_url": "https://..."}, ""),  # no default: the documented value
    ({"undocumented": True}, {}, "`undocumented` must be set"),
    ({"cidr": True}, {"cidr": 32}, ""),
    ({"plugin": "cilium"}, {"plugin": "cilium"}, ""),
    ({"plugin": "cloud"}, {}, "selects no role or task file"),  # no network_plugin/cloud role
    ({"plugin": "none"}, {"plugin": "none"}, ""),  # selects nothing: the include is skipped
    ({"flag": "yes"}, {}, "is not of the type"),
    ({"hosts_name": True}, {}, ""),  # differs between hosts, already true: left alone
    ({"hosts_name": False}, {}, "differs between hosts"),  # true on every host
    ({"is_master": False}, {}, ""),  # false on the second host: the template renders there
])
def test_typed_gate(gate: dict[str, Any], values: dict[str, Any], why: str) -> None:
    got, reason = typed_gate(gate, known(), docs)
    assert got == values
    assert (why in reason) if why else reason == ""


def test_a_gate_read_through_default_has_the_type_of_its_literal() -> None:
    assert typed_gate({"webhook": True}, known(), docs, {"webhook": False}) == ({"webhook": True}, "")
    assert typed_gate({"webhook": True}, known(), docs)[1]  # without it: an input nobody documents


SOURCE = """
{% if version %}{{ version }}{% endif %}{% if path %}{% endif %}{% if path != '' %}{{ path }}{% endif %}
{% if plugin == 'calico' %}a{% elif plugin == 'cloud' %}b{% elif plugin == 'cilium' %}c{% endif %}
{% if flag %}{% endif %}{% if storage_class %}{{ storage_class }}{% endif %}{% if cidr == '32' %}{% endif %}
{% if hosts_name %}{% endif %}{% if rbac %}{% endif %}{% if late | default(false) %}{% endif %}
"""


def test_axes_take_the_type_and_valid_values_of_each_variable() -> None:
    gate, axes = auto_axes(SOURCE, {}, known=known(version="1.15", path="/run"))
    assert gate == {}
    assert axes == {
        "path": ["/run", ""],  # compared with "": the empty string is a value the template expects
        "plugin": ["calico", "cilium"],  # 'cloud' names no role the checkout has
        "flag": [True, False],
        "rbac": [True, False],  # a default expression that yields a boolean
        "late": [True, False],  # undefined, read as `| default(false)`: a boolean
    }  # version: a guard; storage_class: empty, no true value; cidr: '32' is not an int; hosts_name: per host


def test_read_names_leaves_out_locals_and_guarded_names() -> None:
    source = ("{% set x = 1 %}{{ url }}{{ lb.port | default(6443) }}{% if opt is defined %}{{ opt }}{% endif %}"
              "{% for i in items %}{{ i }}{% endfor %}{{ maybe | d('') }}"
              "{% macro inc(d) %}{{ d }}{% endmacro %}{{ inc(counter) }}{{ range(3) | list }}")
    assert read_names(source) == {"url", "items", "counter"}
    assert used_names(source) == {"url", "items", "counter", "lb", "opt", "maybe"}  # guarded ones too
