"""kubespray/documented.py: the example values a checkout documents for its inputs, and the
placeholders automatic coverage gives an input no default supplies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kvalidate.kubespray.documented import defined_names, documented_values, mentioned_names, placeholder
from kvalidate.trees.directory import DirTree

TREE = {
    "inventory/sample/group_vars/all/vsphere.yml": (
        "## vSphere\n"
        '# external_vsphere_vcenter_ip: "myvcenter.domain.com"\n'
        '# external_vsphere_user: "administrator@vsphere.local" # or the VSPHERE_USER environment variable\n'
        "# azure_csi_tenant_id:\n"
        "# loadbalancer_apiserver:\n"
        "#   address: 1.2.3.4\n"
        "#   port: 1234\n"
        "\n"
        "# webhook_url: https://...\n"
        "defined_here: 1\n"),
    "inventory/sample/group_vars/all/oci.yml": '# external_oracle_auth_key: ""\n',
    "roles/csi/cinder/defaults/main.yml": (
        "cinder_auth_url: \"{{ lookup('env', 'OS_AUTH_URL') }}\"\n"
        "cinder_plain: x\n"
        "# external_vsphere_user: later-wins-not\n"),
    "roles/registry/README.md": "Settings:\n\n    registry_storage_class: fast\n",
    "roles/calico/tasks/main.yml": "- set_fact:\n    calico_facts: 1\n  register: calico_out\n",
    "docs/calico.md": "Peers are set with the `peers` variable:\n\n```yaml\npeers:\n  - router_id: 10.0.0.1\n```\n",
}


@pytest.fixture
def docs(tree_at: Callable[[dict[str, str]], Path]) -> dict[str, object]:
    return documented_values(DirTree(tree_at(TREE)))


def test_commented_examples_blocks_environment_lookups_and_readmes(docs: dict[str, object]) -> None:
    assert docs["external_vsphere_vcenter_ip"] == "myvcenter.domain.com"
    assert docs["external_vsphere_user"] == "administrator@vsphere.local"  # the sample inventory first
    assert docs["azure_csi_tenant_id"] is None  # documented without a value
    assert docs["loadbalancer_apiserver"] == {"address": "1.2.3.4", "port": 1234}  # a commented block
    assert docs["webhook_url"] == "https://..."
    assert docs["external_oracle_auth_key"] == ""
    assert docs["cinder_auth_url"] is None  # read from the environment: an input without a value
    assert docs["registry_storage_class"] == "fast"  # a role README
    assert "defined_here" not in docs and "cinder_plain" not in docs  # settings, not documented inputs


@pytest.mark.parametrize(("name", "value"), [
    ("external_vsphere_vcenter_ip", "myvcenter.domain.com"),  # the documented example
    ("loadbalancer_apiserver", {"address": "1.2.3.4", "port": 1234}),
    ("azure_csi_tenant_id", "azure-csi-tenant-id"),  # documented empty: a string named after it
    ("external_oracle_auth_key", "external-oracle-auth-key"),
    ("cinder_auth_url", "cinder-auth-url"),
    ("not_documented", None),
])
def test_placeholder(docs: dict[str, object], name: str, value: object) -> None:
    assert placeholder(name, docs) == value


def test_names_the_checkout_documentation_mentions(tree_at: Callable[[dict[str, str]], Path]) -> None:
    mentioned = mentioned_names(DirTree(tree_at(TREE)))
    assert {"peers", "router_id"} <= mentioned  # the text's backticked name, the example's keys
    assert "calico_facts" not in mentioned  # roles/ is not documentation


def test_names_the_checkout_code_defines(tree_at: Callable[[dict[str, str]], Path]) -> None:
    defined = defined_names(DirTree(tree_at(TREE)))
    assert {"defined_here", "cinder_auth_url", "cinder_plain", "calico_facts", "calico_out"} <= defined
    assert "external_vsphere_vcenter_ip" not in defined  # only ever commented out
    assert "peers" not in defined  # docs/ is not code
