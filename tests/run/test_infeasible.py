"""run/infeasible.py: in an automatic cell, the checkout refusing the assignment is a note; in a
cell the user named, the same findings stay errors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kvalidate.model import Cell, Finding, Result, Severity
from kvalidate.run.infeasible import infeasible, split_infeasible

DOCUMENTED = {"kube_webhook_token_auth_url": "https://...", "peers": None, "cilium_ipsec_key": None,
              "crio_runtimes": None}
DEFINED = frozenset({"crio_runtimes"})  # the cri-o role builds it with set_fact


def f(rule: str, message: str) -> Finding:
    return Finding(Severity.ERROR, rule, message, cell="c")


@pytest.mark.parametrize(("finding", "refused"), [
    (f("task-failed", "task 'vSphere | check user': external_vsphere_user is missing"), True),
    (f("load-error", "the role 'network_plugin/cloud' was not found"), True),
    (f("load-error", "roles/x/tasks/main.yml:3: mapping values are not allowed here"), False),  # a broken file
    (f("undefined-variable", "task 'Create webhook config': 'kube_webhook_token_auth_url' is undefined"), True),
    (f("undefined-variable", "task 'Calico | Create calico manifests': 'rbac_resources' is undefined"), False),
    (f("undefined-variable", "task 'Calico | Configure peering': 'peers' is undefined"), True),  # docs name it
    (f("duplicate-key", "duplicate field \"data.x\""), False),
])
def test_what_is_the_checkout_refusing_the_assignment(finding: Finding, refused: bool) -> None:
    assert infeasible(finding, DOCUMENTED, DEFINED) is refused


def test_a_name_nothing_documents_is_the_checkouts_defect_in_a_template_too() -> None:
    documented = Finding(Severity.ERROR, "undefined-variable", "task 't': 'cilium_ipsec_key' is undefined",
                         template="roles/cilium/templates/secret.yml.j2")
    dangling = replace(documented, message="task 't': 'v1' is undefined")  # `crio_version >= v1.26.0`
    built = replace(documented, message="task 't': 'crio_runtimes' is undefined")  # the run skipped its set_fact
    assert infeasible(documented, DOCUMENTED, DEFINED)
    assert not infeasible(dangling, DOCUMENTED, DEFINED)
    assert not infeasible(built, DOCUMENTED, DEFINED)


def test_only_automatic_cells_move_them_to_the_notes() -> None:
    findings = [f("task-failed", "task 't': no"), f("duplicate-key", "dup")]
    auto = split_infeasible(Result(findings=list(findings)), Cell("c", auto=True), DOCUMENTED)
    assert [x.rule for x in auto.findings] == ["duplicate-key"]
    assert [x.rule for x in auto.infeasible] == ["task-failed"] and auto.errors == 1
    named = split_infeasible(Result(findings=list(findings)), Cell("c"), DOCUMENTED)
    assert named.findings == findings and named.infeasible == []
