"""Templates that mutate containers, differential: ansible-core 2.18's AnsibleEnvironment is not
sandboxed, so `dict.pop`, `list.append`, `dict.__setitem__` work; and every access re-templates a
variable, so a mutation never reaches the variable itself (a later templating sees it unchanged).
kvalidate's sandbox allows the same calls on copies and keeps its cache as it was."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_helpers import scope_of
from ansible_oracle import ansible_render_file, ansible_template

from kvalidate.ansible.templar import Templar

# Kubespray's local-volume-provisioner-cm.yml.j2 (master), its key-renaming macro
CONVERT_KEYS = """{% macro convert_keys(mydict) -%}
  {% for key in mydict.keys() | list -%}
    {% set key_split = key.split('_') -%}
    {% set new_key = key_split[0] + key_split[1:] | map('capitalize') | join -%}
    {% set value = mydict.pop(key) -%}
    {{ mydict.__setitem__(new_key, value) -}}
    {{ convert_keys(value) if value is mapping else None -}}
  {% endfor -%}
{% endmacro -%}
{% for class_name, storage_class in classes.items() %}
{{ class_name }}: {{ convert_keys(storage_class) }}{{ storage_class | to_json }}
{% endfor %}
"""
VARS: dict[str, Any] = {
    "classes": {"local-storage": {"host_dir": "/mnt/disks", "mount_dir": "/mnt/disks",
                                  "block_cleaner_command": ["/scripts/shred.sh", "2"], "fs_type": "ext4"}},
    "mylist": "{{ [1, 2] }}", "plain": [1, 2], "d": {"a": 1, "b": {"c": 2}}, "ref": "{{ d }}",
}

# each row: templates rendered one after another over the same variables (the later ones see
# whether an earlier mutation reached the variable)
ROWS: list[tuple[str, list[str]]] = [
    ("append-templated-list", ["{{ mylist.append(3) }}{{ mylist }}", "{{ mylist }}"]),
    ("append-plain-list", ["{% do plain.append(3) %}{{ plain }}", "{{ plain }}"]),
    ("pop-dict", ["{{ d.pop('a') }}{{ d }}", "{{ d }}", "{{ ref }}"]),
    ("pop-nested", ["{{ d.b.pop('c') }}{{ d }}", "{{ d }}"]),
    ("setitem", ["{{ d.__setitem__('z', 9) }}{{ d | dictsort }}", "{{ d | dictsort }}"]),
    ("delitem-update", ["{{ d.__delitem__('a') }}{{ d.update({'y': 1}) }}{{ d }}", "{{ ref }}"]),
    ("getitem-contains", ["{{ d.__getitem__('a') }}{{ d.__contains__('b') }}"]),
    ("attr-filter-pop", ["{{ (d.b | attr('pop'))('c') }}{{ d }}", "{{ d }}", "{{ ref }}"]),
    ("local-set", ["{% set l = [1] %}{% do l.append(2) %}{{ l }}", "{{ plain }}"]),
]


def _outcome(f: Any) -> tuple[str, Any]:
    try:
        return "ok", f()
    except Exception as e:  # noqa: BLE001 - any failure counts as "error"
        return "error", type(e).__name__


@pytest.mark.parametrize(("name", "exprs"), ROWS, ids=[r[0] for r in ROWS])
def test_mutation_same_as_ansible(name: str, exprs: list[str]) -> None:
    t = Templar()
    scope = scope_of(dict(VARS), t)
    theirs_vars = dict(VARS)
    ours = [_outcome(lambda e=e: t.template(e, scope)) for e in exprs]  # type: ignore[misc]
    theirs = [_outcome(lambda e=e: ansible_template(e, theirs_vars)) for e in exprs]  # type: ignore[misc]
    assert ours == theirs
    assert all(kind == "ok" for kind, _ in ours)


def test_local_volume_provisioner_macro_same_as_ansible() -> None:
    t = Templar()
    scope = scope_of(dict(VARS), t)
    ours = [t.render_file(CONVERT_KEYS, scope, "cm.j2") for _ in range(2)]
    theirs = [ansible_render_file(CONVERT_KEYS, dict(VARS)) for _ in range(2)]
    assert ours == theirs
    assert '"blockCleanerCommand"' in ours[1]  # the second rendering sees the variable unrenamed again
