"""kvalidate.yaml's `ignore:` entries and `--changed-only`'s choice of templates."""

from __future__ import annotations

import json

import pytest

from kvalidate.cli import main
from kvalidate.matrix.config import IgnoreRule, parse_config
from kvalidate.matrix.plan import changed_filter
from kvalidate.model import SetupError

IGNORE = """\
vars: {a: 1}
ignore:
  - template: roles/*/templates/dns-autoscaler.yml.j2
    rule: duplicate-key
    reason: >
      kept: the second key is
      what our nodes need
  - {template: "roles/network_plugin/*", rule: [required, unknown-field], path: spec.template, reason: issue 42}
"""


def test_ignore_entries_are_read_with_their_lines() -> None:
    cfg = parse_config(IGNORE, "kvalidate.yaml")
    assert cfg.ignore == (
        IgnoreRule("roles/*/templates/dns-autoscaler.yml.j2", ("duplicate-key",),
                   "kept: the second key is what our nodes need", "", 3),
        IgnoreRule("roles/network_plugin/*", ("required", "unknown-field"), "issue 42", "spec.template", 8),
    )
    assert parse_config("vars: {a: 1}\n", "k.yaml").ignore == ()


@pytest.mark.parametrize(("text", "message"), [
    ("ignore:\n  - {template: x, rule: r}\n", 'kvalidate.yaml:2: ignore[0]: "reason" is a required property'),
    ("ignore:\n  - {template: x, rule: r, reason: '  '}\n", "kvalidate.yaml:2: ignore[0].reason:"),
    ("ignore:\n  - {rule: r, reason: why}\n", "kvalidate.yaml:2: ignore[0]: \"template\" is a required property"),
    ("ignore:\n  - {template: x, rule: [], reason: why}\n", "kvalidate.yaml:2: ignore[0].rule: [] is not valid"),
    ("ignore:\n  - {template: x, rule: r, reason: why, line: 3}\n", "kvalidate.yaml:2: ignore[0].line"),
])
def test_bad_ignore_entries_name_the_line(text: str, message: str) -> None:
    with pytest.raises(SetupError) as e:
        parse_config(text, "kvalidate.yaml")
    assert str(e.value).startswith(message)


def test_config_schema_describes_ignore(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config-schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    entry = schema["properties"]["ignore"]["items"]
    assert entry["required"] == ["template", "rule", "reason"]
    assert set(entry["properties"]) == {"template", "rule", "path", "reason"}


def test_changed_only_covers_changed_templates_and_those_of_changed_roles() -> None:
    accept = changed_filter({
        "roles/network_plugin/calico/templates/calico-typha.yml.j2",
        "roles/kubernetes/node/defaults/main.yml",
        "roles/etcd/vars/main.yml",
        "roles/kubernetes-apps/ansible/tasks/coredns.yml",
        "inventory/sample/group_vars/all/all.yml",
        "README.md",
    })
    assert accept("roles/network_plugin/calico/templates/calico-typha.yml.j2")
    assert not accept("roles/network_plugin/calico/templates/calico-node.yml.j2")
    assert accept("roles/kubernetes/node/templates/kubelet-config.v1beta1.yaml.j2")
    assert accept("roles/kubernetes/node/templates/sub/dir.j2")
    assert not accept("roles/kubernetes/control-plane/templates/kubeadm-config.v1beta4.yaml.j2")
    assert accept("roles/etcd/templates/etcd.env.j2")
    assert accept("roles/kubernetes-apps/ansible/templates/dns-autoscaler.yml.j2")
    assert not accept("roles/kubernetes-apps/helm/templates/x.j2")
    assert not changed_filter(set())("roles/etcd/templates/etcd.env.j2")
