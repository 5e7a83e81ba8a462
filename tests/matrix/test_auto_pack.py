"""autoplan.py: template gates -> pairwise assignments -> packed cells (no checkout needed)."""

from __future__ import annotations

from typing import Any

import pytest

from kvalidate.ansible.types import TemplateGate
from kvalidate.matrix.auto.flags import truth_values
from kvalidate.matrix.auto.pack import auto_plan, gate_groups, pack, template_plans
from kvalidate.matrix.covering import uncovered
from kvalidate.model import Cell

TYPHA = "{% if typha_secure %}a{% endif %}{% if calico_ipam_host_local %}b{% endif %}{% if metrics %}c{% endif %}"
NODE = "{% if calico_datastore == 'etcd' %}x{% endif %}{% if typha_secure %}y{% endif %}"
DEFAULTS = {"typha_enabled": False, "typha_secure": False, "calico_ipam_host_local": False, "metrics": False,
            "calico_datastore": "kdd", "kube_network_plugin": "calico", "plugins": ["a"]}
SOURCES = {"typha.j2": TYPHA, "node.j2": NODE, "plain.j2": "static\n", "gone.j2": None}


def gate(template: str, *conditions: str) -> TemplateGate:
    return TemplateGate(template, "calico", conditions, DEFAULTS)


GATES = [
    gate("typha.j2", "kube_network_plugin == 'calico'", "('kube_control_plane' in group_names)", "typha_enabled"),
    gate("node.j2", "kube_network_plugin == 'calico'"),
    gate("plain.j2", "kube_network_plugin == 'calico'"),
    gate("plain.j2", "kube_network_plugin == 'calico'"),  # met again (another host): one plan
    gate("gone.j2", "x"),  # unreadable: not planned
]


def plans() -> Any:
    return template_plans(GATES, SOURCES.get)


def test_one_plan_per_template_and_gate_with_magic_variables_left_out() -> None:
    got = {p.template: (dict(p.gate), dict(p.axes)) for p in plans()}
    assert got == {
        "typha.j2": ({"kube_network_plugin": "calico", "typha_enabled": True},
                     {"typha_secure": [True, False], "calico_ipam_host_local": [True, False],
                      "metrics": [True, False]}),
        "node.j2": ({"kube_network_plugin": "calico"},
                    {"calico_datastore": ["etcd", "kdd"], "typha_secure": [True, False]}),
        "plain.j2": ({"kube_network_plugin": "calico"}, {}),
    }


def test_every_pair_of_every_template_is_in_some_cell_with_its_gate_open() -> None:
    ps = plans()
    cells = auto_plan(Cell("base", extra_vars={"keep": 1}), ps).cells
    assert all(c.extra_vars["keep"] == 1 for c in cells)
    for p in ps:
        rows = [c.extra_vars for c in cells if all(c.extra_vars.get(k) == v for k, v in p.gate.items())]
        assert uncovered(p.axes, rows, 2) == []


def test_packing_merges_compatible_assignments() -> None:
    ps = plans()
    packed = pack(ps)
    n = packed.assignments
    assert n == sum(len(rows) for _, _, rows in gate_groups(ps))  # templates behind one gate share rows
    assert n <= sum(len(p.rows) for p in ps if p.axes) + 1  # plain.j2: its gate alone
    assert len(packed.groups) < n and packed.dropped == 0
    assert any(len(s) > 1 for s in packed.served)


def test_cap_drops_and_counts() -> None:
    packed = pack(plans(), max_cells=1)
    assert len(packed.groups) == 1 and packed.dropped > 0 and packed.assignments > 1


def test_names_description_and_summary() -> None:
    plan = auto_plan(Cell("ci1", scenario="tests/files/ci1.yml", layout="ha"), plans())
    assert [c.name for c in plan.cells][:2] == ["ci1+auto1", "ci1+auto2"]
    assert all(c.scenario == "tests/files/ci1.yml" and c.layout == "ha" for c in plan.cells)
    assert plan.cells[0].description.startswith("auto: ")
    assert plan.product == 8 + 4 + 1
    assert f"packed into {len(plan.cells)} cell(s)" in plan.summary()


@pytest.mark.parametrize(("default", "present", "values"), [
    (False, True, [True, False]),
    ("{{ a and b }}", True, [True, False]),
    ("{{ some_list }}", True, []),  # unknown type: the variable itself is not varied
    (["x"], True, [["x"], []]),
    ("eth0", True, ["eth0", ""]),
    (3, True, [3, 0]),
    ("", True, []),
    ([], True, []),
    (None, False, []),
])
def test_truth_values(default: object, present: bool, values: list[object]) -> None:
    assert truth_values(default, present) == values


@pytest.mark.parametrize(("when", "gate_value"), [
    ("plugins", ["a"]),  # a non-empty list default already holds `when: plugins` open
    ("not plugins", []),
    ("typha_enabled", True),
])
def test_gate_values_keep_the_type_of_the_default(when: str, gate_value: object) -> None:
    (p,) = template_plans([gate("plain.j2", when)], SOURCES.get)
    assert next(iter(p.gate.values())) == gate_value


@pytest.mark.parametrize(("exclude", "never"), [
    ([{"typha_secure": [True], "calico_ipam_host_local": [True]}],
     {"typha_secure": True, "calico_ipam_host_local": True}),
    ([{"typha_enabled": [True], "calico_datastore": ["etcd"]}], {"typha_enabled": True, "calico_datastore": "etcd"}),
])
def test_exclusions_hold_for_rows_and_packed_cells(exclude: list[dict[str, list[Any]]],
                                                   never: dict[str, Any]) -> None:
    ps = template_plans(GATES, SOURCES.get, exclude)
    cells = auto_plan(Cell("base"), ps, exclude=exclude).cells
    assert cells
    assert not any(all(c.extra_vars.get(k) == v for k, v in never.items()) for c in cells)
    for p in ps:  # the pairs not excluded are still all covered
        rows = [c.extra_vars for c in cells if all(c.extra_vars.get(k) == v for k, v in p.gate.items())]
        assert uncovered(p.axes, rows, 2, [r for r in exclude if set(r) <= set(p.axes)]) == []


def test_an_excluded_gate_drops_the_template() -> None:
    ps = template_plans(GATES, SOURCES.get, [{"typha_enabled": [True]}])
    assert "typha.j2" not in {p.template for p in ps}


def test_templates_behind_one_gate_share_rows_and_each_keeps_the_values_it_reads() -> None:
    config = "{% if a %}{% endif %}{% if b %}{% endif %}{% if root != '' %}{{ root }}{% endif %}"
    daemonset = "{% if c %}{% endif %}path: {{ root }}\n"
    defaults = {"a": False, "b": False, "c": False, "root": "/run/x", "plugin": "calico"}
    gates = [TemplateGate("config.j2", "p", ("plugin == 'cilium'",), defaults),
             TemplateGate("ds.j2", "p", ("plugin == 'cilium'",), defaults)]
    ps = template_plans(gates, {"config.j2": config, "ds.j2": daemonset}.get)
    ((gate, members, rows),) = gate_groups(ps)
    assert gate == {"plugin": "cilium"} and [p.template for p in members] == ["config.j2", "ds.j2"]
    for p in ps:  # one array over the union of the flags covers each template's own pairs
        assert uncovered(p.axes, rows, 2) == []
    plan = auto_plan(Cell("base"), ps)
    assert any(c.extra_vars.get("root") == "" for c in plan.cells)
    for cell in plan.cells:
        by_template = {part.template: part.minimal for part in plan.parts[cell.name]}
        if cell.extra_vars.get("root") == "":  # config.j2's flag, read by ds.j2 as well
            assert by_template["ds.j2"]["root"] == ""
        assert "a" not in by_template["ds.j2"]  # a flag ds.j2 does not read stays out of its command


def test_an_assignment_that_opens_a_template_open_in_the_base_cell_brings_its_documented_inputs() -> None:
    from kvalidate.matrix.auto.flags import Known

    service = "{% if kube_reserved %}Slice={{ slice }}{% endif %}"
    kubelet = "{% if kube_reserved %}reserved{% endif %}"
    defaults = {"kube_reserved": False, "container_manager": "containerd"}
    gates = [TemplateGate("containerd.service.j2", "c", ("container_manager == 'containerd'",), defaults),
             TemplateGate("kubelet.j2", "k", (), defaults)]
    ps = template_plans(gates, {"containerd.service.j2": service, "kubelet.j2": kubelet}.get,
                        known=lambda g: Known(g.defaults), placeholder={"slice": "kube.slice"}.get)
    plan = auto_plan(Cell("base"), ps)
    kubelet_rows = [p.values for parts in plan.parts.values() for p in parts if p.template == "kubelet.j2"]
    reserved = [v for v in kubelet_rows if v.get("kube_reserved") is True]
    assert reserved and all(v.get("slice") == "kube.slice" for v in reserved)  # the kubelet's own assignment


def test_an_input_the_code_defines_out_of_scope_gets_no_placeholder() -> None:
    from kvalidate.matrix.auto.flags import Known

    service = "{% if kube_reserved %}Slice={{ slice }}{% endif %}"
    gates = [TemplateGate("containerd.service.j2", "c", (), {"kube_reserved": False})]
    read = {"containerd.service.j2": service}.get
    docs = {"slice": "kube.slice"}.get
    (free,) = template_plans(gates, read, known=lambda g: Known(g.defaults), placeholder=docs)
    (scoped,) = template_plans(gates, read, known=lambda g: Known(g.defaults), placeholder=docs,
                               defined={"slice"})  # another role's default: its absence here is a defect
    assert free.inputs == {"slice": "kube.slice"} and scoped.inputs == {}


def test_a_templates_command_names_what_another_assignment_of_its_cell_set_and_it_reads() -> None:
    from kvalidate.matrix.auto.flags import Known

    service = "Slice={{ kube_reserved | string }}\n"  # reads the flag, tests nothing: no row of its own sets it
    kubelet = "{% if kube_reserved %}reserved{% endif %}"
    defaults = {"kube_reserved": False, "fail_swap": False, "container_manager": "containerd"}
    gates = [TemplateGate("containerd.service.j2", "c", ("container_manager == 'containerd'",), defaults),
             TemplateGate("kubelet.j2", "k", ("kubelet_enabled",), {**defaults, "kubelet_enabled": False})]
    ps = template_plans(gates, {"containerd.service.j2": service, "kubelet.j2": kubelet}.get,
                        known=lambda g: Known(g.defaults))
    plan = auto_plan(Cell("base"), ps)
    (cell,) = [c for c in plan.cells if any(p.template == "containerd.service.j2" for p in plan.parts[c.name])]
    (part,) = [p for p in plan.parts[cell.name] if p.template == "containerd.service.j2"]
    assert cell.extra_vars["kube_reserved"] is True  # the kubelet's row of that cell set it...
    assert part.minimal == {"kube_reserved": True}  # ...and the service's command names it
