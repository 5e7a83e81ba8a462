"""autochecks.py: the checkout's assert/fail tasks as rules on automatic-coverage assignments."""

from __future__ import annotations

from typing import Any

import pytest

from kvalidate.ansible.types import CheckGate
from kvalidate.matrix.auto.constraints import CheckRules
from kvalidate.matrix.auto.pack import pack, template_plans

DEFAULTS = {"typha_enabled": False, "calico_datastore": "kdd", "kube_proxy_strict_arp": False,
            "kube_vip_arp_enabled": False, "derived": "{{ x }}"}
TYPHA_KDD = CheckGate("assert", ("typha_enabled",), ('calico_datastore == "kdd"',), DEFAULTS)
VIP_ARP = CheckGate("fail", ("kube_vip_arp_enabled", "not kube_proxy_strict_arp | bool"), (), DEFAULTS)


@pytest.mark.parametrize(("checks", "values", "rejected"), [
    ([TYPHA_KDD], {"typha_enabled": True, "calico_datastore": "etcd"}, True),
    ([TYPHA_KDD], {"typha_enabled": True}, False),  # the default datastore is kdd
    ([TYPHA_KDD], {"calico_datastore": "etcd"}, False),  # not triggered without typha
    ([VIP_ARP], {"kube_vip_arp_enabled": True}, True),
    ([VIP_ARP], {"kube_vip_arp_enabled": True, "kube_proxy_strict_arp": True}, False),
    ([VIP_ARP], {"unrelated": 1}, False),
    # undecidable: a fact, an expression default, an unknown filter; never a reason to drop
    ([CheckGate("assert", ("typha_enabled",), ("ansible_os_family == 'Debian'",), DEFAULTS)],
     {"typha_enabled": True}, False),
    ([CheckGate("assert", ("typha_enabled",), ("derived == 'y'",), DEFAULTS)], {"typha_enabled": True}, False),
    ([CheckGate("assert", ("typha_enabled",), ("x | ipaddr",), DEFAULTS)], {"typha_enabled": True}, False),
    # already failing with the defaults alone (an unconditional fail): not the assignment's doing
    ([CheckGate("fail", (), (), DEFAULTS)], {"typha_enabled": True}, False),
    ([CheckGate("assert", ("{{ broken",), ("x",), DEFAULTS)], {"typha_enabled": True}, False),
])
def test_rejects(checks: list[CheckGate], values: dict[str, Any], rejected: bool) -> None:
    assert CheckRules(checks).rejects(values) is rejected


def test_touched_limits_the_checks_consulted() -> None:
    rules = CheckRules([TYPHA_KDD])
    bad = {"typha_enabled": True, "calico_datastore": "etcd"}
    assert rules.rejects(bad, ["calico_datastore"]) and not rules.rejects(bad, ["other"])


def test_pack_never_builds_a_cell_an_assert_rejects() -> None:
    from kvalidate.ansible.types import TemplateGate

    typha = "{% if typha_secure %}a{% endif %}"
    node = "{% if calico_datastore == 'etcd' %}x{% endif %}"
    defaults = {**DEFAULTS, "typha_secure": False}
    gates = [TemplateGate("typha.j2", "calico", ("typha_enabled",), defaults),
             TemplateGate("node.j2", "calico", (), defaults)]
    plans = template_plans(gates, {"typha.j2": typha, "node.j2": node}.get)
    packed = pack(plans, checks=CheckRules([TYPHA_KDD]))
    groups = packed.groups
    assert packed.rejected == 0
    assert not any(g.get("typha_enabled") is True and g.get("calico_datastore") == "etcd" for g in groups)
    assert any(g.get("calico_datastore") == "etcd" for g in groups)  # still covered, in another cell
    unchecked = pack(plans).groups
    assert any(g.get("typha_enabled") is True and g.get("calico_datastore") == "etcd" for g in unchecked)


VSPHERE = CheckGate("fail", ("vsphere_csi_enabled", "inventory_hostname == groups['kube_control_plane'][0]",
                             "external_vsphere_user is not defined or not external_vsphere_user"), (),
                    {"vsphere_csi_enabled": False})
ETCD = CheckGate("assert", (), ("etcd_deployment_type in ['host', 'kubeadm'] or container_manager == 'docker'",),
                 {"etcd_deployment_type": "host", "container_manager": "containerd"})
GUARD = CheckGate("assert", ("not ignore_assert_errors",), ("typha_enabled | bool",), {"ignore_assert_errors": False})


def docs(name: str) -> Any:
    return {"external_vsphere_user": "administrator@vsphere.local"}.get(name)


def test_a_condition_on_the_hosts_place_holds_on_some_host() -> None:
    assert CheckRules([VSPHERE]).rejects({"vsphere_csi_enabled": True})  # group membership: not a reason to give up


@pytest.mark.parametrize(("checks", "values", "repaired", "why"), [
    ([VSPHERE], {"vsphere_csi_enabled": True},  # a documented input no default supplies: its example
     {"vsphere_csi_enabled": True, "external_vsphere_user": "administrator@vsphere.local"}, ""),
    ([VIP_ARP], {"kube_vip_arp_enabled": True},  # the other boolean
     {"kube_vip_arp_enabled": True, "kube_proxy_strict_arp": True}, ""),
    ([ETCD], {"etcd_deployment_type": "docker"},  # a literal the check names, of the variable's type
     {"etcd_deployment_type": "docker", "container_manager": "docker"}, ""),
    ([VIP_ARP], {"kube_vip_arp_enabled": True, "kube_proxy_strict_arp": False},  # never the assignment's own value
     None, "not kube_proxy_strict_arp | bool"),
    ([TYPHA_KDD], {"typha_enabled": True, "calico_datastore": "etcd"}, None, 'calico_datastore == "kdd"'),
])
def test_repair(checks: list[CheckGate], values: dict[str, Any], repaired: dict[str, Any] | None, why: str) -> None:
    assert CheckRules(checks, docs).repair(values) == (repaired, why)


def test_variables_that_switch_the_checks_off_are_guards() -> None:
    from kvalidate.matrix.auto.constraints import check_guards

    assert check_guards([GUARD, VIP_ARP, TYPHA_KDD]) == {"ignore_assert_errors"}


def test_no_placeholder_for_a_variable_the_code_defines() -> None:
    rules = CheckRules([VSPHERE], docs, defined={"external_vsphere_user"})
    assert rules.repair({"vsphere_csi_enabled": True})[0] is None
