"""End-to-end differential test: templates_under_test/cluster.yml run by real ansible-playbook
(local connection; test-only action plugins capture what `template` would write and the
arguments of `command`/`stat`) and by kvalidate's engine, over the same inventory. Every rendered
file and every module argument must be identical, and so must the set of (host, dest) pairs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kvalidate.ansible.engine import Engine
from kvalidate.ansible.inventory_file import load_inventory
from kvalidate.ansible.types import ModuleCall, RunResult
from kvalidate.trees.directory import DirTree

ROOT = Path(__file__).resolve().parents[2] / "templates_under_test"
PLUGINS = Path(__file__).resolve().parent / "oracle_plugins" / "action"
EXTRA = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}

EXPECTED = [
    ("node1", "/etc/etcd.env"), ("node2", "/etc/etcd.env"), ("node3", "/etc/etcd.env"),
    ("node1", "/etc/kubernetes/kubelet-config.yaml"), ("node2", "/etc/kubernetes/kubelet-config.yaml"),
    ("node3", "/etc/kubernetes/kubelet-config.yaml"), ("node3", "/etc/nginx/nginx.conf"),
    ("node3", "/etc/kubernetes/manifests/nginx-proxy.yml"), ("node1", "/etc/kubernetes/kubeadm-config.yaml"),
    ("node2", "/etc/kubernetes/kubeadm-config.yaml"), ("node1", "/etc/kubernetes/calico-config.yml"),
    ("node1", "/etc/kubernetes/calico-node.yml"), ("node2", "/etc/kubernetes/calico-config.yml"),
    ("node2", "/etc/kubernetes/calico-node.yml"), ("node1", "/etc/kubernetes/coredns-deployment.yml"),
    ("node1", "/etc/kubernetes/coredns-svc.yml"), ("node1", "/etc/kubernetes/dns-autoscaler.yml"),
]


# Every flag of templates_under_test's bug shapes on at once (the typha pair, kube-vip, haproxy, the
# mis-indented kubeReserved block): their renderings, bugs included, must be Ansible's too.
FLAGS_ON = {"typha_enabled": True, "typha_secure": True, "typha_prometheusmetricsenabled": True,
            "calico_bpf_enabled": True, "calico_ipam_host_local": True, "calico_felix_prometheusmetricsenabled": True,
            "kube_vip_enabled": True, "loadbalancer_apiserver_type": "haproxy", "kube_reserved": True,
            "system_reserved": True}


def run_oracle(out: Path, extra: dict[str, Any] | None = None) -> Path:
    env = {**os.environ, "KV_ORACLE_OUT": str(out), "ANSIBLE_ACTION_PLUGINS": str(PLUGINS),
           "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_LOCAL_TEMP": str(out / "_tmp"),
           "ANSIBLE_NOCOLOR": "1"}
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventory/sample/hosts.yml", "cluster.yml",
           *(a for k, v in EXTRA.items() for a in ("-e", f"{k}={v}"))]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_oracle(tmp_path_factory.mktemp("oracle"))


@pytest.fixture(scope="module")
def ours() -> tuple[RunResult, dict[tuple[str, str, str], dict[str, Any]]]:
    tree = DirTree(ROOT)
    calls: dict[tuple[str, str, str], dict[str, Any]] = {}

    def simulator(call: ModuleCall) -> None:
        calls[(call.host, call.module, call.task_name)] = call.args

    engine = Engine(tree, load_inventory(tree, "inventory/sample/hosts.yml"), extra_vars=EXTRA, simulator=simulator)
    return engine.run_playbook("cluster.yml"), calls


def _oracle_files(out: Path) -> dict[tuple[str, str], str]:
    return {(p.relative_to(out).parts[0], "/" + "/".join(p.relative_to(out).parts[1:])): p.read_text()
            for p in out.rglob("*") if p.is_file() and "_modules" not in p.parts and "_tmp" not in p.parts}


@pytest.mark.parametrize(("host", "dest"), EXPECTED, ids=[f"{h}:{d}" for h, d in EXPECTED])
def test_rendering_same_as_ansible(oracle: Path, ours: Any, host: str, dest: str) -> None:
    theirs = _oracle_files(oracle)
    mine = {(r.host, r.dest): r.text for r in ours[0].renderings if r.via == "template"}
    assert (host, dest) in theirs
    assert mine.get((host, dest)) == theirs[(host, dest)]


def test_same_set_of_renderings_and_no_findings(oracle: Path, ours: Any) -> None:
    mine = [(r.host, r.dest) for r in ours[0].renderings if r.via == "template"]
    assert sorted(mine) == sorted(_oracle_files(oracle)) == sorted(EXPECTED)
    assert ours[0].findings == []


def test_every_flag_on_same_as_ansible(tmp_path: Path) -> None:
    theirs = _oracle_files(run_oracle(tmp_path, FLAGS_ON))
    tree = DirTree(ROOT)
    run = Engine(tree, load_inventory(tree, "inventory/sample/hosts.yml"), extra_vars={**EXTRA, **FLAGS_ON},
                 simulator=lambda call: None).run_playbook("cluster.yml")
    mine = {(r.host, r.dest): r.text for r in run.renderings if r.via == "template"}
    assert run.findings == []
    assert {"/etc/kubernetes/calico-typha.yml", "/etc/kubernetes/manifests/kube-vip.yml",
            "/etc/haproxy/haproxy.cfg", "/etc/kubernetes/manifests/haproxy.yml"} <= {d for _, d in mine}
    assert sorted(mine) == sorted(theirs)
    for key, text in theirs.items():
        assert mine[key] == text, key


def test_module_arguments_same_as_ansible(oracle: Path, ours: Any) -> None:
    calls = ours[1]
    theirs = {(p.parts[-3], *p.stem.split(".", 1)): json.loads(p.read_text())
              for p in oracle.rglob("_modules/*.json")}
    assert {k: json.loads(json.dumps(v, sort_keys=True, default=str)) for k, v in calls.items()} == theirs


def test_lookup_template_recorded(ours: Any) -> None:
    lookups = [(r.host, r.template, r.task) for r in ours[0].renderings if r.via == "lookup"]
    assert ("node1", "roles/kubernetes-apps/ansible/templates/coredns-config.yml.j2",
            "Kubernetes Apps | Apply the CoreDNS config through kubectl") in lookups


def test_limited_run_finds_facts_of_hosts_outside_the_play() -> None:
    """Under --limit, hosts outside the play never set their facts: hostvars[cp]['main_access_ip']
    in nginx.conf (and of the other etcd members in etcd.env) is undefined, as in Ansible without
    a fact cache. The host goes on (unlike
    Ansible), so the static pod that reads the failed task's result is a finding too."""
    tree = DirTree(ROOT)
    engine = Engine(tree, load_inventory(tree, "inventory/sample/hosts.yml"), extra_vars=EXTRA, limit=["node3"])
    result = engine.run_playbook("cluster.yml")
    assert {r.host for r in result.renderings} == {"node3"}  # kubelet-config only
    assert [(f.rule, f.template, f.template_line, f.host) for f in result.findings] == [
        ("undefined-variable", "roles/etcd/templates/etcd.env.j2", 18, "node3"),
        ("undefined-variable", "roles/kubernetes/node/templates/loadbalancer/nginx.conf.j2", 14, "node3"),
        ("undefined-variable", "roles/kubernetes/node/templates/manifests/nginx-proxy.manifest.j2", 10, "node3")]
    assert all("main_access_ip" in f.message for f in result.findings[:2])
