"""--playbook, --limit and --fact-cache on Kubespray-shaped trees written here: which file a playbook
name runs (thin root wrappers of playbooks/, full root playbooks of old checkouts), unusable names,
and a limited upgrade whose load balancer config reads a control plane's fact that the facts
playbook sets without `cacheable: true` (the release-2.27 fallback_ip shape) and with it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kvalidate.kubespray.checkout import open_checkout
from kvalidate.kubespray.playbooks import available_playbooks, fact_cache_mode, facts_playbook, playbook_path
from kvalidate.model import Cell, SetupError
from kvalidate.run.cell import prepare, run_cell
from kvalidate.trees.directory import DirTree

PLAY = "- hosts: all\n  gather_facts: false\n  tasks: []\n"
NEW = {  # 2.23+: thin root playbooks import playbooks/<name with underscores>
    "cluster.yml": "- name: Install\n  ansible.builtin.import_playbook: playbooks/cluster.yml\n",
    "upgrade-cluster.yml": "- name: Upgrade\n  ansible.builtin.import_playbook: playbooks/upgrade_cluster.yml\n",
    "_config.yml": "theme: jekyll-theme-slate\n",
    "galaxy.yml": "namespace: kubernetes_sigs\nname: kubespray\n",
    "playbooks/cluster.yml": PLAY, "playbooks/upgrade_cluster.yml": PLAY, "playbooks/facts.yml": PLAY,
    "playbooks/install_etcd.yml": PLAY,
    "roles/kubespray-defaults/defaults/main.yml": "x: 1\n",
}
OLD = {  # 2021: the full playbooks at the root
    "cluster.yml": PLAY, "upgrade-cluster.yml": PLAY, "facts.yml": PLAY, "reset.yml": PLAY,
    "roles/kubespray-defaults/defaults/main.yml": "x: 1\n",
}


@pytest.mark.parametrize(("files", "name", "path"), [
    (NEW, "", "playbooks/cluster.yml"), (NEW, "cluster.yml", "playbooks/cluster.yml"),
    (NEW, "upgrade-cluster.yml", "playbooks/upgrade_cluster.yml"),
    (NEW, "upgrade-cluster", "playbooks/upgrade_cluster.yml"),
    (NEW, "facts.yml", "playbooks/facts.yml"), (NEW, "playbooks/install_etcd.yml", "playbooks/install_etcd.yml"),
    (OLD, "upgrade-cluster.yml", "upgrade-cluster.yml"), (OLD, "reset.yml", "reset.yml"), (OLD, "", "cluster.yml"),
])
def test_playbook_names(tree_at: Callable[[dict[str, str]], Path], files: dict[str, str], name: str,
                        path: str) -> None:
    assert playbook_path(open_checkout(DirTree(tree_at(files))), name) == path


def test_facts_playbook_and_listing(tree_at: Callable[[dict[str, str]], Path], tmp_path: Path) -> None:
    new = open_checkout(DirTree(tree_at(NEW)))
    assert facts_playbook(new) == "playbooks/facts.yml"
    assert available_playbooks(new) == ["cluster.yml", "upgrade-cluster.yml", "facts.yml", "install_etcd.yml"]
    (tmp_path / "old").mkdir()
    for rel, text in OLD.items():
        (tmp_path / "old" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "old" / rel).write_text(text)
    assert facts_playbook(open_checkout(DirTree(tmp_path / "old"))) == "facts.yml"


@pytest.mark.parametrize(("name", "says"), [
    ("scale.yml", "no playbook 'scale.yml' in .* \\(playbooks: cluster.yml, upgrade-cluster.yml, facts.yml, "
                  "install_etcd.yml\\)"),
    ("galaxy.yml", "no playbook 'galaxy.yml'"), ("../../etc/passwd", "not a path inside the checkout"),
])
def test_unknown_playbooks_are_setup_errors(tree_at: Callable[[dict[str, str]], Path], name: str, says: str) -> None:
    with pytest.raises(SetupError, match=says):
        playbook_path(open_checkout(DirTree(tree_at(NEW))), name)


def test_fact_cache_mode() -> None:
    assert fact_cache_mode("", "node3") == "facts.yml"
    assert fact_cache_mode("none", "node3") == "none"
    assert fact_cache_mode("none", "") == ""
    with pytest.raises(SetupError, match="expected one of facts.yml, none"):
        fact_cache_mode("jsonfile", "node3")


def _upgrade_tree(cacheable: bool) -> dict[str, str]:
    fact = "    fallback_ip: \"{{ ansible_default_ipv4.address }}\"\n" + ("    cacheable: true\n" if cacheable else "")
    return {
        "playbooks/cluster.yml": PLAY,
        "playbooks/facts.yml": "- hosts: k8s_cluster\n  gather_facts: false\n  roles: [kubespray-defaults]\n",
        "playbooks/upgrade_cluster.yml": (
            "- import_playbook: facts.yml\n"
            "- hosts: kube_node:!kube_control_plane\n  gather_facts: false\n  roles: [kubespray-defaults, lb]\n"),
        "roles/kubespray-defaults/defaults/main.yml": "loadbalancer_apiserver_port: 6443\n",
        "roles/kubespray-defaults/tasks/main.yaml": "- name: Set fallback_ip\n  set_fact:\n" + fact,
        "roles/lb/tasks/main.yml": "- name: Write lb config\n  template:\n    src: lb.cfg.j2\n    dest: /etc/lb.cfg\n",
        "roles/lb/templates/lb.cfg.j2": (
            "frontend api\n{% for host in groups['kube_control_plane'] %}\n"
            "  server {{ host }} {{ hostvars[host]['access_ip'] | default(hostvars[host]['fallback_ip']) }}:6443\n"
            "{% endfor %}\n"),
    }


def _upgrade(tree: Path, **cell: str) -> tuple[list[str], dict[str, str]]:
    inputs = prepare(open_checkout(DirTree(tree)), Cell("c", playbook="upgrade-cluster.yml", **cell))
    run = run_cell(inputs)
    return [f"{f.template}:{f.template_line} {f.host} {f.message}" for f in run.findings], \
        {r.host: r.text for r in run.renderings}


def test_limited_upgrade_reads_an_uncached_fact(tree_at: Callable[[dict[str, str]], Path]) -> None:
    findings, texts = _upgrade(tree_at(_upgrade_tree(cacheable=False)), limit="node3")
    assert texts == {}
    assert findings == [
        "roles/lb/templates/lb.cfg.j2:3 node3 task 'Write lb config': hostvars['node1']['fallback_ip'] is "
        "undefined: node1 is outside --limit 'node3' and fallback_ip was set by set_fact without cacheable: true in "
        "roles/kubespray-defaults/tasks/main.yaml:3; not in the fact cache of a --limit run"]


def test_limited_upgrade_with_the_fact_cached(tree_at: Callable[[dict[str, str]], Path]) -> None:
    tree = tree_at(_upgrade_tree(cacheable=True))
    findings, texts = _upgrade(tree, limit="node3")
    assert findings == []
    assert texts == {"node3": "frontend api\n  server node1 10.0.0.11:6443\n  server node2 10.0.0.12:6443\n"}
    # nothing cached: the control planes' facts are gone whatever the facts playbook does
    findings, _ = _upgrade(tree, limit="node3", fact_cache="none")
    assert len(findings) == 1 and "set by set_fact with cacheable: true in roles/kubespray-defaults/tasks/main.yaml:3" \
        in findings[0] and "--fact-cache none: nothing is cached" in findings[0]


def test_without_limit_every_host_runs(tree_at: Callable[[dict[str, str]], Path]) -> None:
    findings, texts = _upgrade(tree_at(_upgrade_tree(cacheable=False)))
    assert findings == [] and sorted(texts) == ["node3"]


def test_a_limit_without_hosts_is_a_setup_error(tree_at: Callable[[dict[str, str]], Path]) -> None:
    with pytest.raises(SetupError, match="--limit 'node9' leaves no host of cell c to run on"):
        _upgrade(tree_at(_upgrade_tree(cacheable=False)), limit="node9")


def test_no_facts_playbook_needs_fact_cache_none(tree_at: Callable[[dict[str, str]], Path]) -> None:
    files = {k: v for k, v in _upgrade_tree(cacheable=True).items() if k != "playbooks/facts.yml"}
    files["playbooks/upgrade_cluster.yml"] = files["playbooks/upgrade_cluster.yml"].split("\n", 1)[1]
    tree = tree_at(files)
    with pytest.raises(SetupError, match="has no playbooks/facts.yml or facts.yml"):
        _upgrade(tree, limit="node3")
    findings, _ = _upgrade(tree, limit="node3", fact_cache="none")
    assert len(findings) == 1 and "set by set_fact with cacheable: true" in findings[0]
