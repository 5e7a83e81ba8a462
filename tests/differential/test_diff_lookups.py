"""Differential table for lookups: kvalidate's engine vs ansible-core 2.18's own lookup plugins
(run through its Templar), on a small fixture tree. Absolute paths differ by design (kvalidate
shows the checkout under /checkout), so they are compared after mapping that root; `varnames`
order follows each side's variable dict, so it is compared sorted; `password` writes a file in
Ansible and is deterministic in kvalidate, so its row compares length and alphabet."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
from ansible_oracle import ansible_template

from kvalidate.ansible import Engine, Inventory
from kvalidate.ansible.lookups.core import CHECKOUT_ROOT
from kvalidate.trees.directory import DirTree

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "lookup"
VARS: dict[str, Any] = {"pre_x": "value-x", "pre_list": ["a", {"b": 1}], "pre_ref": "{{ pre_x }}-ref",
                        "d": {"k1": 1, "k2": [2]}, "users": [{"n": "u1", "l": [1, 2]}, {"n": "u2", "l": [3]}],
                        "scope": "pre"}
ENV = {"KV_TEST_ENV": "from-env"}
GROUPS = {"kube_control_plane": ["node1", "node2"], "kube_node": ["node1", "node2", "node3"], "etcd": ["node1"]}

ROWS: list[tuple[str, str]] = [
    ("template", "{{ lookup('template', 'inner.j2') }}"),
    ("template-fqcn-checksum", "{{ lookup('ansible.builtin.template', 'inner.j2') | checksum }}"),
    ("template-template_vars", "{{ lookup('template', 'inner.j2', template_vars={'extra': 42}) }}"),
    ("template-convert_data", "{{ lookup('template', 'dictish.j2') }}"),
    ("template-no-convert", "{{ lookup('template', 'dictish.j2', convert_data=False) }}"),
    ("template-missing", "{{ lookup('template', 'nope.j2') }}"),
    ("vars", "{{ lookup('vars', 'pre_x') }}"), ("vars-templated", "{{ lookup('vars', 'pre_ref') }}"),
    ("vars-dynamic-fqcn", "{{ lookup('ansible.builtin.vars', scope + '_list') }}"),
    ("vars-default", "{{ lookup('vars', 'nope', default='dflt') }}"), ("vars-missing", "{{ lookup('vars', 'nope') }}"),
    ("vars-query", "{{ query('vars', 'pre_x', 'scope') }}"),
    ("env", "{{ lookup('env', 'KV_TEST_ENV') }}"), ("env-default", "{{ lookup('env', 'KV_NOPE', default='d') }}"),
    ("env-missing", "{{ lookup('env', 'KV_NOPE') }}"),
    ("file", "{{ lookup('file', 'data.txt') }}"), ("file-no-rstrip", "{{ lookup('file', 'data.txt', rstrip=False) }}"),
    ("file-missing", "{{ lookup('file', 'nope.txt') }}"),
    ("fileglob", "{{ query('fileglob', 'glob/*.conf') | sort }}"),
    ("first_found", "{{ lookup('first_found', ['nope.txt', 'data.txt']) }}"),
    ("inventory_hostnames", "{{ query('inventory_hostnames', 'kube_node:!kube_control_plane') }}"),
    ("inventory_hostnames-and", "{{ query('inventory_hostnames', 'kube_node:&etcd') }}"),
    ("varnames", "{{ query('varnames', '^pre_') | sort }}"),
    ("items", "{{ query('items', [1, [2, 3]], 4) }}"), ("list", "{{ query('list', 1, 2) }}"),
    ("dict", "{{ query('dict', d) }}"), ("nested", "{{ query('nested', [1, 2], ['a', 'b']) }}"),
    ("together", "{{ query('together', [1, 2], ['a', 'b']) }}"),
    ("subelements", "{{ query('subelements', users, 'l') }}"),
    ("sequence", "{{ query('sequence', 'start=1 end=5 stride=2') }}"),
    ("sequence-format", "{{ query('sequence', 'start=1 count=3 format=node%d') }}"),
    ("indexed_items", "{{ query('indexed_items', ['a', 'b']) }}"),
    ("lookup-errors-ignore", "{{ lookup('file', 'nope.txt', errors='ignore') }}"),
]


def _ours(expr: str) -> tuple[str, Any]:
    inv = Inventory.from_data({h: [g for g, hs in GROUPS.items() if h in hs] for h in ("node1", "node2", "node3")})
    engine = Engine(DirTree(FIXTURE), inv, extra_vars=VARS, env=ENV)
    engine.lookup_env.search_dirs = [CHECKOUT_ROOT]
    try:
        out = engine.templar.template(expr, engine.play_scope("node1"))
    except Exception as e:  # noqa: BLE001 - any failure is "error" for the comparison
        return "error", type(e).__name__
    return "ok", _unroot(out, CHECKOUT_ROOT)


def _theirs(expr: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any]:
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("KV_NOPE", raising=False)
    variables = {**VARS, "ansible_search_path": [str(FIXTURE)], "groups": {"all": ["node1", "node2", "node3"],
                                                                          **GROUPS}}
    try:
        out = ansible_template(expr, variables)
    except Exception as e:  # noqa: BLE001
        return "error", type(e).__name__
    return "ok", _unroot(out, str(FIXTURE))


def _unroot(value: Any, root: str) -> Any:
    if isinstance(value, str):
        return value.replace(root, "<root>")
    if isinstance(value, list):
        return [_unroot(v, root) for v in value]
    return value


@pytest.mark.parametrize(("name", "expr"), ROWS, ids=[r[0] for r in ROWS])
def test_lookup_same_as_ansible(name: str, expr: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs = _ours(expr), _theirs(expr, monkeypatch)
    assert ours[0] == theirs[0], (ours, theirs)
    if ours[0] == "ok":
        assert ours[1] == theirs[1]


def test_password_lookup_shape_same_as_ansible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expr = "{{ lookup('password', '%s/creds length=24 chars=ascii_letters,digits') }}"
    theirs = _theirs(expr % tmp_path, monkeypatch)
    ours = _ours(expr % "/checkout/credentials")
    alphabet = set(string.ascii_letters + string.digits)
    assert theirs[0] == ours[0] == "ok"
    assert len(theirs[1]) == len(ours[1]) == 24
    assert set(theirs[1]) <= alphabet and set(ours[1]) <= alphabet
    assert _ours(expr % "/checkout/credentials") == ours  # deterministic
    assert not (FIXTURE / "credentials").exists()  # writes nothing
