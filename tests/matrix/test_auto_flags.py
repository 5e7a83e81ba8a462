"""autocover.py: flags from the Jinja AST, defaults followed, task gates held open."""

from __future__ import annotations

import pytest

from kvalidate.matrix.auto.flags import auto_axes, conditionals_near, follow_defaults, gate_values, template_flags
from kvalidate.matrix.covering import covering_rows

TYPHA = """\
        volumeMounts:
          - name: typha-server
            mountPath: /etc/typha
{% if typha_secure %}
          - name: cacert
            mountPath: /etc/ca
{% endif %}
        env:
{% if calico_ipam_host_local | bool %}
          - name: USE_POD_CIDR
            value: "true"
{% endif %}
{% for peer in peers %}{% if peer.enabled %}x{% endif %}{% endfor %}
{% if calico_datastore == "kdd" %}kdd{% endif %}
"""


def test_template_flags_from_if_filters_and_comparisons() -> None:
    assert template_flags(TYPHA).values == {
        "typha_secure": [True, False], "calico_ipam_host_local": [True, False], "calico_datastore": ["kdd"]}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 'a' if use_a else 'b' }}", {"use_a": [True, False]}),
        ("{{ ipv6 | ternary('x', 'y') }}", {"ipv6": [True, False]}),
        ("{% if not a and (b or c == 1) %}{% endif %}", {"a": [True, False], "b": [True, False], "c": [1]}),
        ("{% if x in ['p', 'q'] %}{% endif %}", {"x": ["p", "q"]}),
        ("{% if svc is defined %}{% endif %}", {}),
        ("{% set local = 1 %}{% if local %}{% endif %}", {}),
        ("{% if broken %}", {}),
    ],
)
def test_flag_forms(source: str, expected: dict[str, list[object]]) -> None:
    assert template_flags(source).values == expected


def test_defaults_are_followed() -> None:
    flags = template_flags("{% if calico_use_typha %}{% endif %}")
    defaults = {"calico_use_typha": "{{ typha_enabled and calico_datastore == 'kdd' }}"}
    assert follow_defaults(flags, defaults).values == {
        "calico_use_typha": [True, False], "typha_enabled": [True, False], "calico_datastore": ["kdd"]}


@pytest.mark.parametrize(
    ("when", "gate"),
    [
        ("typha_enabled", {"typha_enabled": True}),
        (["kube_network_plugin == 'calico'", "typha_enabled | bool"],
         {"kube_network_plugin": "calico", "typha_enabled": True}),
        ("not calico_ipam_host_local", {"calico_ipam_host_local": False}),
        ("x in ['a', 'b'] and y != 'z'", {"x": "a"}),
        ("a or b", {"a": True}),
        (None, {}),
    ],
)
def test_gate_values(when: object, gate: dict[str, object]) -> None:
    assert gate_values(when) == gate  # type: ignore[arg-type]


def test_auto_axes_hold_the_gate_and_pair_the_flags() -> None:
    defaults = {"typha_secure": False, "calico_ipam_host_local": False, "calico_datastore": "etcd"}
    gate, axes = auto_axes(TYPHA, defaults, ["typha_enabled"])
    assert gate == {"typha_enabled": True}
    assert axes == {"typha_secure": [True, False], "calico_ipam_host_local": [True, False],
                    "calico_datastore": ["kdd", "etcd"]}
    rows = covering_rows(axes, 2)
    assert any(r["typha_secure"] and r["calico_ipam_host_local"] for r in rows)
    assert len(rows) < 2 * 2 * 2


AROUND = """\
env:
{% if secure %}
  - name: CA
    value: /ca
mounts:
  - path: /ca
{% endif %}
{% if metrics %}
  - name: METRICS
    value: "true"
{% endif %}
{% for item in items %}{% if item.on %}x{% endif %}{% endfor %}
{% if inventory_hostname in groups['x'] or ansible_os_family == 'Debian' %}h{% endif %}
{% if mode == 'a' %}a{% elif mode == 'b' %}b{% else %}c{% endif %}
port: {{ 1 if tls else 2 }}
v6: {{ ipv6 | ternary('a', 'b') }}
"""


@pytest.mark.parametrize(
    ("line", "window", "expected"),
    [
        # inside the metrics block; the secure block ends 3 lines above, the rest further down
        (10, 3, [("metrics", (True, False), 0), ("secure", (True, False), 3)]),
        (10, 2, [("metrics", (True, False), 0)]),
        (10, 6, [("metrics", (True, False), 0), ("secure", (True, False), 3), ("mode", ("a", "b"), 4),
                 ("tls", (True, False), 5), ("ipv6", (True, False), 6)]),
        # an if/elif chain: the values of every branch's test
        (14, 0, [("mode", ("a", "b"), 0)]),
        (15, 0, [("tls", (True, False), 0)]),
        (16, 0, [("ipv6", (True, False), 0)]),
        # loop variables and magic names are not variables a cell can set
        (12, 0, []),
        (13, 0, []),
    ],
)
def test_conditionals_near_a_line(line: int, window: int, expected: list[tuple[str, tuple[object, ...], int]]) -> None:
    found = conditionals_near(AROUND, line, window)
    assert [(n.name, n.values, n.distance) for n in found] == expected


def test_conditionals_near_a_broken_template() -> None:
    assert conditionals_near("{% if x %}", 1) == []
