"""The names a checkout knows (what `-e` is checked against): every identifier of the files an
Ansible run reads, whatever the construct that reads it; never what only a CI scenario sets."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kvalidate.kubespray.names import known_names, names_in_values, scanned_files, unread_vars
from kvalidate.matrix.preflight import checkout_names
from kvalidate.trees.directory import DirTree
from kvalidate.trees.git import GitTree

FILES = {
    "cluster.yml": "- import_playbook: playbooks/cluster.yml\n",
    "playbooks/cluster.yml": "- hosts: all\n  roles: [{role: calico, when: play_gate}]\n",
    "roles/calico/defaults/main.yml": "typha_enabled: false\ncalico_ipam_host_local: false\n",
    "roles/calico/tasks/main.yml": ("- template: {src: t.j2, dest: /x}\n"
                                    "  when: hostvars[inventory_hostname]['from_hostvars']\n"),
    "roles/calico/templates/t.j2": "{% if typha_secure %}{{ lookup('vars', 'from_lookup') }}{% endif %}\n",
    "roles/calico/vars/main.yml": "# only_in_a_comment\n",
    "inventory/sample/group_vars/all/all.yml": "sample_var: 1\n",
    "tests/files/scenario.yml": "only_set_by_a_scenario: true\n",
    "docs/readme.md": "only_in_docs\n",
    "roles/calico/files/logo.png": "\0binary_name\n",
}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    for path, text in FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return tmp_path


@pytest.mark.parametrize(("name", "known"), [
    ("typha_enabled", True), ("typha_secure", True), ("calico_ipam_host_local", True),
    ("from_hostvars", True), ("from_lookup", True), ("play_gate", True), ("sample_var", True),
    ("only_in_a_comment", True),  # a superset, on purpose: a reported name is really unread
    ("only_set_by_a_scenario", False), ("only_in_docs", False), ("binary_name", False), ("typha_enabeld", False),
])
def test_known_names(checkout: Path, name: str, known: bool) -> None:
    assert (name in known_names(DirTree(checkout))) is known


def test_the_same_names_from_git_objects(checkout: Path) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(checkout)}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "v1"]):
        subprocess.run(["git", "-C", str(checkout), *args], env=env, check=True, capture_output=True)
    (checkout / "roles/calico/defaults/main.yml").write_text("work_tree_only: 1\n")
    with GitTree(checkout, "main") as tree:
        assert known_names(tree) == known_names(DirTree(checkout)) - {"work_tree_only"} | {
            "typha_enabled", "calico_ipam_host_local", "false"}
        assert sorted(scanned_files(tree)) == sorted(scanned_files(DirTree(checkout)))
    # a multi-ref run knows the names of every ref
    assert {"work_tree_only", "typha_enabled"} <= checkout_names(checkout, ("main", ""))
    assert "work_tree_only" not in checkout_names(checkout, ("main",))


def test_unread_vars_and_their_closest_names() -> None:
    known = frozenset({"typha_enabled", "typha_secure", "kube_network_plugin", "kube_network_plugin_multus", "x"})
    got = unread_vars(["typha_enabeld", "kube_netwrok_plugin", "typha_enabled", "ansible_user", "zzz_unrelated",
                       "from_value"], known, also_read={"from_value"})
    assert [(u.name, u.closest) for u in got] == [
        ("kube_netwrok_plugin", ("kube_network_plugin", "kube_network_plugin_multus")),
        ("typha_enabeld", ("typha_enabled",)),
        ("zzz_unrelated", ()),
    ]
    assert got[1].message("-e/--vars").endswith("so it changes nothing: did you mean typha_enabled?")
    assert got[2].message("-e/--vars").endswith("so it changes nothing")


def test_names_in_values() -> None:
    assert names_in_values(["{{ a_b }}-x", {"k": ["{{ c | default(d) }}"]}, 3, None]) == {
        "a_b", "x", "k", "c", "default", "d"}
