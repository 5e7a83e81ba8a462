from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from kvalidate.kubespray.simulate import (
    ModuleCall,
    load_rules,
    lookup_capture_name,
    make_simulator,
    oracle_rules,
    parse_rules,
    short_name,
    simulate,
    templates_args,
    with_written_files,
)
from kvalidate.model import SetupError


def call(module: str, args: dict[str, Any] | None = None, task: str = "t", role: str = "r") -> ModuleCall:
    return ModuleCall(module=module, args=args or {}, host="node1", task_name=task, role=role)


@pytest.mark.parametrize(("c", "expected"), [
    # filesystem probes of a fresh host
    (call("stat", {"path": "/usr"}), {"stat": {"exists": True, "writeable": True}}),
    (call("ansible.builtin.stat", {"path": "/etc/resolv.conf"}), {"stat": {"exists": True, "isreg": True}}),
    (call("stat", {"path": "/etc/kubernetes/admin.conf"}), {"stat": {"exists": False}}),
    (call("stat", {"path": "/opt"}), {"stat": {"exists": True, "isdir": True}}),
    # commands whose output Kubespray parses
    (call("command", {"_raw_params": "/usr/local/bin/kubeadm token create"}),
     {"rc": 0, "stdout": "abcdef.0123456789abcdef", "stdout_lines": ["abcdef.0123456789abcdef"]}),
    (call("shell", {"cmd": "kubeadm init phase upload-certs --upload-certs"}), {"rc": 0}),
    (call("command", {"_raw_params": "docker info -f '{{.CgroupDriver}}'"}), {"stdout": "systemd"}),
    (call("command", {"_raw_params": "/usr/local/bin/calicoctl.sh get ippool default-pool -o json"}),
     {"rc": 1, "failed": True, "stderr_lines": ["resource does not exist"]}),
    (call("command", {"_raw_params": "which resolvconf"}), {"rc": 1}),
    (call("command", {"_raw_params": "systemctl is-active --quiet NetworkManager"}), {"rc": 3}),
    (call("command", {"_raw_params": "systemctl is-active systemd-resolved"}), {"rc": 0, "stdout": "active"}),
    # etcd: unhealthy at the first check (a new cluster), healthy once "waited for"
    (call("shell", {"cmd": "etcdctl endpoint --cluster status"}, task="Configure | Check if etcd cluster is healthy",
          role="etcd"), {"rc": 1}),
    (call("shell", {"cmd": "etcdctl endpoint --cluster status"}, task="Configure | Wait for etcd cluster to be healthy",
          role="etcd"), {"rc": 0, "stdout": ""}),
    # defaults per module, then '*'
    (call("command", {"_raw_params": "true"}), {"rc": 0, "stdout": "", "stdout_lines": [], "changed": False}),
    (call("slurp", {"src": "/etc/kubernetes/kubeadm-config.yaml"}), {"failed": True}),
    (call("kube", {"filename": "x"}), {"changed": False}),
    (call("community.general.modprobe", {"name": "br_netfilter"}), {"changed": False}),
    (call("find", {"paths": "/etc"}), {"files": [], "matched": 0}),
])
def test_rules(c: ModuleCall, expected: dict[str, Any]) -> None:
    result = simulate(c)
    assert result is not None
    for key, value in expected.items():
        if isinstance(value, dict):
            assert {k: result[key][k] for k in value} == value
        else:
            assert result[key] == value


@pytest.mark.parametrize(("src", "text"), [
    ("/etc/resolv.conf", "nameserver 10.0.0.2\nsearch example.internal\n"),
    ("/etc/kubernetes/ssl/ca.crt", "-----BEGIN CERTIFICATE-----"),
])
def test_slurp_content_is_base64(src: str, text: str) -> None:
    result = simulate(call("slurp", {"src": src}))
    assert result is not None
    assert result["encoding"] == "base64"
    assert base64.b64decode(result["content"]).decode().startswith(text)
    assert "content_text" not in result


@pytest.mark.parametrize("module", ["set_fact", "ansible.builtin.template", "include_tasks", "group_by"])
def test_engine_modules_are_declined(module: str) -> None:
    assert simulate(call(module)) is None


def test_results_are_fresh_copies() -> None:
    first = simulate(call("stat", {"path": "/usr"}))
    assert first is not None
    first["stat"]["exists"] = False
    again = simulate(call("stat", {"path": "/usr"}))
    assert again is not None and again["stat"]["exists"] is True


def test_upload_certs_key_parses_like_kubespray() -> None:
    result = simulate(call("command", {"_raw_params": "kubeadm init phase upload-certs --upload-certs"}))
    assert result is not None
    assert re.fullmatch("[0-9a-f]{64}", result["stdout_lines"][-1])


def test_custom_rules(tmp_path: Path) -> None:
    p = tmp_path / "rules.yml"
    p.write_text("rules:\n  - module: command\n    match: {_any: 'etcdctl'}\n    result: {rc: 0, stdout: ok}\n"
                 "defaults:\n  '*': {changed: true}\n")
    sim = make_simulator(load_rules(p))
    assert sim(call("command", {"_raw_params": "etcdctl endpoint health"})) == {
        "rc": 0, "stdout": "ok", "stdout_lines": ["ok"], "changed": False}
    assert sim(call("stat", {"path": "/usr"})) == {"changed": True}


@pytest.mark.parametrize("data", [[], {"rules": ["x"]}, {"defaults": ["x"]}, {"rules": [{"match": "x"}]}])
def test_bad_rules(data: object) -> None:
    with pytest.raises(SetupError):
        parse_rules(data)


@pytest.mark.parametrize(("module", "short"), [
    ("ansible.builtin.command", "command"), ("kube", "kube"), ("community.general.modprobe", "modprobe")])
def test_short_name(module: str, short: str) -> None:
    assert short_name(module) == short


@pytest.mark.parametrize(("module", "args", "expected"), [
    ("ansible.builtin.command", {"_raw_params": "{{ bin_dir }}/kubeadm token create"}, True),
    ("stat", {"path": "{{ x }}"}, True),
    ("file", {"path": "{{ downloads.runc.dest }}", "state": "directory"}, False),
    ("copy", {"content": "{{ x }}", "dest": "/etc/x"}, True),
    ("copy", {"src": "a", "dest": "/etc/x"}, False),
    ("kube", {"stdin": "{{ lookup('template', item) }}"}, True),
    ("community.general.modprobe", {"name": "br_netfilter"}, False),
])
def test_templates_args(module: str, args: dict[str, Any], expected: bool) -> None:
    assert templates_args(module, args) is expected


@pytest.mark.parametrize(("raw", "task_vars", "expected"), [
    ("{{ lookup('template', item) }}", {"item": "coredns-sa.yml.j2"}, "coredns-sa.yml.j2"),
    ('{{ lookup("ansible.builtin.template", "a.yml.j2") | b64encode }}', {}, "a.yml.j2"),
    ("{{ lookup('template', item.file) }}", {"item": {"file": "x"}}, "apps : T-{'file': 'x'}"),
    ("kubectl apply -f -", {"item": "x"}, None),
])
def test_lookup_capture_name(raw: str, task_vars: dict[str, Any], expected: str | None) -> None:
    assert lookup_capture_name(raw, task_vars, "apps : T") == expected


@pytest.mark.parametrize(("c", "key", "kvalidate_value", "oracle_value"), [
    (call("command", {"_raw_params": "openssl x509 -in /etc/ssl/etcd/ssl/node-n1.pem -noout -serial"}),
     "stdout", "serial=0C0FFEE0C0FFEE0C0FFEE0C0FFEE0C0FFEE0C0FE", ""),
    (call("stat", {"path": "/etc/kubernetes/ssl/ca.crt"}, task="Check if kubeadm CA cert is accessible",
          role="kubernetes/kubeadm"), "stat", {"exists": True, "isdir": False, "islnk": False, "isreg": True,
                                               "readable": True, "mode": "0644", "pw_name": "root"},
     {"exists": False}),
    # the same path probed by another task keeps the fresh-host answer
    (call("stat", {"path": "/etc/kubernetes/ssl/ca.crt"}, task="Check if ca exists"), "stat",
     {"exists": False}, {"exists": False}),
])
def test_kvalidate_rules_extend_the_oracle(c: ModuleCall, key: str, kvalidate_value: Any,
                                           oracle_value: Any) -> None:
    ours, theirs = simulate(c), simulate(c, oracle_rules())
    assert ours is not None and theirs is not None
    assert (ours[key], theirs[key]) == (kvalidate_value, oracle_value)


def test_ctr_oci_spec_is_json() -> None:
    result = simulate(call("command", {"_raw_params": "/usr/local/bin/ctr oci spec"}))
    assert result is not None
    assert json.loads(result["stdout"])["ociVersion"] == "1.2.0"


def test_simulated_ca_is_a_real_certificate() -> None:
    result = simulate(call("slurp", {"src": "/etc/kubernetes/ssl/ca.crt"},
                           task="Fetch CA certificate from control plane node", role="kubernetes/kubeadm"))
    assert result is not None
    cert = x509.load_pem_x509_certificate(base64.b64decode(result["content"]))
    assert cert.subject.rfc4514_string() == "CN=kubernetes"


def test_no_cluster_answers_before_kubeadm_init() -> None:
    cmd = "/usr/local/bin/kubectl get nodes --selector=node-role.kubernetes.io/control-plane -o json"
    c = call("command", {"_raw_params": cmd},
             task="Check which kube-control nodes are already members of the cluster",
             role="kubernetes/control-plane")
    ours, theirs = simulate(c), simulate(c, oracle_rules())
    assert ours is not None and theirs is not None
    assert (ours["rc"], ours["failed"], theirs["rc"]) == (1, True, 0)


@pytest.mark.parametrize(("c", "expected"), [
    (call("command", {"_raw_params": "/usr/local/bin/kubectl get nodes node1 -o jsonpath='{.spec.podCIDR}'"}),
     {"stdout": "10.233.64.0/24"}),
    (call("raw", {"_raw_params": "ip -4 route list 0/0 | sed 's/.*dev \\([[:alnum:]]*\\).*/\\1/'"}),
     {"stdout": "eth0"}),
    # file-writing modules echo their target, as the real ones do
    (call("copy", {"content": "a: 1", "dest": "/etc/kubernetes/patches/kube-apiserver0+strategic.yaml"}),
     {"dest": "/etc/kubernetes/patches/kube-apiserver0+strategic.yaml"}),
    (call("ansible.builtin.file", {"path": "/etc/x", "state": "absent"}), {"path": "/etc/x"}),
    (call("command", {"_raw_params": "true", "dest": "/x"}), {"rc": 0}),
])
def test_more_fresh_host_answers(c: ModuleCall, expected: dict[str, Any]) -> None:
    result = simulate(c)
    assert result is not None
    assert {k: result.get(k) for k in expected} == expected
    assert c.module != "command" or "dest" not in result


def test_stat_and_slurp_see_the_files_the_run_wrote_and_copies_of_controller_files() -> None:
    written = {("node1", "/etc/kubernetes/cloud_config"): "[Global]\n"}
    sim = with_written_files(make_simulator(), lambda host, path: written.get((host, path)))
    slurped = sim(call("slurp", {"src": "/etc/kubernetes//cloud_config"}))
    assert slurped is not None and base64.b64decode(slurped["content"]) == b"[Global]\n"
    stat = sim(call("stat", {"path": "/etc/kubernetes/cloud_config"}))
    assert stat is not None and stat["stat"]["exists"] and stat["stat"]["size"] == 9
    missing = sim(call("slurp", {"src": "/etc/kubernetes/other"}))
    assert missing is not None and missing["failed"]  # the oracle's rule: no such file
    # `copy: src:` of the user's file on the controller writes its destination (content unknown)
    assert sim(call("slurp", {"src": "/etc/kubernetes/cloud-sa.json"}))["failed"]  # type: ignore[index]
    sim(call("copy", {"src": "/my/creds/cloud-sa.json", "dest": "/etc/kubernetes/cloud-sa.json"}))
    copied = sim(call("slurp", {"src": "/etc/kubernetes/cloud-sa.json"}))
    assert copied is not None and b"/my/creds/cloud-sa.json" in base64.b64decode(copied["content"])
    sim(call("copy", {"src": "/etc/remote", "dest": "/etc/x", "remote_src": True}))
    assert sim(call("slurp", {"src": "/etc/x"}))["failed"]  # type: ignore[index]


def test_other_playbooks_answers() -> None:
    """reset.yml and remove-node.yml: the user confirms the prompt; the systemd module reports its
    unit's state (none of those reset.yml asks about runs); the etcd member list is JSON with the
    first three hosts' members."""
    prompt = "Are you sure you want to reset cluster state? Type 'yes' to reset your cluster."
    answer = simulate(call("pause", {"prompt": prompt}))
    assert answer is not None and answer["user_input"] == "yes"
    other = simulate(call("pause", {"seconds": 5}))
    assert other is not None and "user_input" not in other
    for module in ("systemd", "ansible.builtin.systemd_service"):
        unit = simulate(call(module, {"name": "NetworkManager"}))
        assert unit is not None and unit["status"]["ActiveState"] == "inactive"
    members = simulate(call("command", {"_raw_params": "/usr/local/bin/etcdctl member list -w json"}))
    assert members is not None
    assert [m["peerURLs"] for m in json.loads(members["stdout"])["members"]] == [
        [f"https://10.0.0.{i}:2380"] for i in (11, 12, 13)]


def test_rules_filtered_by_module_choose_the_first_matching_rule() -> None:
    # the per-module filter (`_module_rules`) must pick what a scan of every rule picks: a regex
    # module, a later rule of the same module, a "*" rule between them
    rules = parse_rules({"rules": [
        {"module": "com.*", "match": {"cmd": "^a"}, "result": {"stdout": "regex a"}},
        {"module": "*", "match": {"_task": "star"}, "result": {"stdout": "star"}},
        {"module": "command", "match": {"cmd": "b"}, "result": {"stdout": "exact b"}},
        {"module": "shell", "match": {}, "result": {"stdout": "shell"}},
    ], "defaults": {"*": {"stdout": "default"}}})
    cases = [("command", {"cmd": "abc"}, "t", "regex a"), ("command", {"cmd": "b"}, "star", "star"),
             ("ansible.builtin.command", {"cmd": "xb"}, "t", "exact b"), ("shell", {"cmd": "a"}, "t", "shell"),
             ("copy", {}, "t", "default"), ("command", {"cmd": "z"}, "t", "default")]
    for _ in range(2):  # the second time from the per-module cache
        for module, args, task, stdout in cases:
            result = simulate(call(module, args, task=task, role=""), rules)
            assert result is not None and result["stdout"] == stdout, (module, args, task)
