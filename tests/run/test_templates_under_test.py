"""The embedded default: `kvalidate demo` (= `kvalidate check templates_under_test` over its matrix)
finds exactly the deliberate bugs of templates_under_test, in exactly the cells and hosts where
they render, and nothing else. A change to the templates, the matrix or the engine that loses a
bug, or adds a false finding, fails here.

The expected set is written as rules over the planned cells (not as a copy of the covering
array's rows), so a different pairwise generator keeps it valid while the pair bug must still
show in every (layout, kube minor) block. Beside it, one cell's typha findings are pinned line
by line.

Also here: the shapes of the bugs that later semantic rules will catch (templates_under_test/
README.md): the node-local advertise-address in ClusterConfiguration, hostvars of control planes
read by the worker's haproxy config under --limit, kube-vip's admin.conf mount.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kvalidate.ansible.engine import Engine
from kvalidate.ansible.types import RunResult
from kvalidate.cli import main
from kvalidate.kubespray.checkout import open_checkout
from kvalidate.kubespray.inputs import cell_inputs, engine_inventory
from kvalidate.kubespray.scenario import cell_spec
from kvalidate.model import Cell
from kvalidate.pinned import embedded_demo
from kvalidate.run.cell import run_cell
from kvalidate.trees.directory import DirTree

TYPHA = "roles/network_plugin/calico/templates/calico-typha.yml.j2"
AUTOSCALER = "roles/kubernetes-apps/ansible/templates/dns-autoscaler.yml.j2"
KUBELET = "roles/kubernetes/node/templates/kubelet-config.v1beta1.yaml.j2"
KUBEADM = "roles/kubernetes/control-plane/templates/kubeadm-config.v1beta4.yaml.j2"
KUBE_VIP = "roles/kubernetes/node/templates/manifests/kube-vip.manifest.j2"
MOUNTS = "spec.template.spec.containers[0].volumeMounts"
# (severity, rule, path): the env entries that land in volumeMounts when typha_secure and
# typha_prometheusmetricsenabled are both on
TYPHA_PAIR = [
    ("error", "api-validation", f"{MOUNTS}[2].name"),
    ("error", "required", f"{MOUNTS}[2].mountPath"),
    ("error", "unknown-field", f"{MOUNTS}[2].value"),
    ("error", "api-validation", f"{MOUNTS}[3].name"),
    ("error", "required", f"{MOUNTS}[3].mountPath"),
    ("error", "unknown-field", f"{MOUNTS}[3].value"),
]
# one cell's typha findings: (rule, path, rendered line, template line)
TYPHA_LINES = [
    ("api-validation", f"{MOUNTS}[2].name", 112, 119),
    ("required", f"{MOUNTS}[2].mountPath", 112, 119),
    ("unknown-field", f"{MOUNTS}[2].value", 113, 120),
    ("api-validation", f"{MOUNTS}[3].name", 114, 121),
    ("required", f"{MOUNTS}[3].mountPath", 114, 121),
    ("unknown-field", f"{MOUNTS}[3].value", 115, 122),
]
CONTROL_PLANES = {"default": ["instance-1"], "ha": ["instance-1", "instance-2"]}
Golden = set[tuple[str, str, str, str, str, str]]  # severity, rule, template, host, cell, path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("demo")
    assert main(["demo", "-j", "2", "-f", f"json={tmp}/report.json", "-f", f"text={tmp}/report.txt"]) == 1
    data: dict[str, Any] = json.loads((tmp / "report.json").read_text())
    data["text"] = (tmp / "report.txt").read_text().splitlines()
    return data


def _both(cell: dict[str, Any]) -> bool:
    v = cell["extra_vars"]
    return bool(v.get("typha_enabled") and v.get("typha_secure") and v.get("typha_prometheusmetricsenabled"))


def expected(cells: list[dict[str, Any]]) -> Golden:
    out: Golden = set()
    for c in cells:
        if c["name"] == "node-features":  # mis-indented kubeReserved: memory at the top level
            out |= {("warning", "unknown-field", KUBELET, h, c["name"], "memory")
                    for h in ("instance-1", "instance-2", "instance-3")}
            # kube-vip mounts admin.conf on the first control plane of a fresh 1.34 install
            out.add(("error", "kube-vip-admin-conf", KUBE_VIP, "instance-1", c["name"],
                     "spec.volumes[0].hostPath.path"))
        # dns-autoscaler renders on the first control plane of every cell
        out.add(("error", "duplicate-key", AUTOSCALER, "instance-1", c["name"], "spec.template.spec.nodeSelector"))
        if c["layout"] == "ha":  # two control planes: the node-local advertise-address is seen
            out |= {("error", "node-local-cluster-config", KUBEADM, h, c["name"], "apiServer.extraArgs[0].value")
                    for h in CONTROL_PLANES["ha"]}
        if _both(c):  # calico manifests render on every control plane
            out |= {(sev, rule, TYPHA, h, c["name"], path)
                    for h in CONTROL_PLANES[c["layout"]] for sev, rule, path in TYPHA_PAIR}
    return out


def test_demo_matrix(report: dict[str, Any]) -> None:
    cells = report["cells"]
    assert len(cells) == 25
    assert all(c["extra_vars"]["typha_enabled"] is True for c in cells)  # the gate is held
    blocks = {(c["layout"], c["kube_version"]) for c in cells if c["name"] != "node-features"}
    assert blocks == {("default", "1.32"), ("default", "1.34"), ("ha", "1.32"), ("ha", "1.34")}
    # pairwise: the two flags are on together in every block, and never in most cells
    assert {(c["layout"], c["kube_version"]) for c in cells if _both(c)} == blocks
    assert sum(map(_both, cells)) < len(cells) // 2


def test_demo_findings_are_the_golden_set(report: dict[str, Any]) -> None:
    found = {(f["severity"], f["rule"], f["template"], f["host"], f["cell"], f["path"]) for f in report["findings"]}
    assert len(found) == len(report["findings"])  # no finding reported twice
    assert found == expected(report["cells"])
    ha_cells = sum(c["layout"] == "ha" for c in report["cells"])
    assert report["summary"]["errors"] == 25 + 6 * 6 + 2 * ha_cells + 1 and report["summary"]["warnings"] == 3


def test_typha_pair_lines(report: dict[str, Any]) -> None:
    cell = next(c["name"] for c in report["cells"] if _both(c) and c["layout"] == "default")
    got = [(f["rule"], f["path"], f["line"], f["template_line"]) for f in report["findings"]
           if f["cell"] == cell and f["template"] == TYPHA]
    assert got == TYPHA_LINES
    unknown = next(f for f in report["findings"] if f["cell"] == cell and f["rule"] == "unknown-field")
    assert unknown["message"] == f'unknown field "{MOUNTS}[2].value"'
    assert unknown["dest"] == "/etc/kubernetes/calico-typha.yml" and unknown["kind"] == "Deployment"


def test_demo_text_report(report: dict[str, Any]) -> None:
    """One block per defect, led by the template line: the typha field is one block for its 4 cells."""
    lines = report["text"]
    assert lines[-1] == "443 file(s), 519 document(s): 10 defect(s) (9 errors, 1 warning) from 91 finding(s)"
    heads = [i for i, ln in enumerate(lines) if ln and not ln.startswith(" ")]
    head = lines.index(f'{TYPHA}:120: error unknown-field: unknown field "{MOUNTS}[2].value"')
    block = lines[head + 1:heads[heads.index(head) + 1]]
    assert "    in 4 cell(s), 2 host(s)" in block
    assert "    rendered: instance-1/etc/kubernetes/calico-typha.yml:113" in block
    [command] = [ln.split(": ", 1)[1] for ln in block if ln.startswith("    reproduce: ")]
    typha_cells = {c["command"] for c in report["cells"] if _both(c)}
    assert command in typha_cells and len(typha_cells) == 4
    assert sum(ln.startswith(f"{TYPHA}:") for ln in lines) == 6  # the six typha defects, each once
    assert not any(ln.startswith("instance-") for ln in lines)  # no block leads with a rendered path


def _run(layout: str, limit: list[str] | None = None, **extra: Any) -> RunResult:
    checkout = open_checkout(DirTree(embedded_demo()))
    inputs = cell_inputs(checkout, cell_spec(checkout, Cell("t", extra_vars=extra, layout=layout)))
    if limit is None:
        return run_cell(inputs)
    engine = Engine(checkout.tree, engine_inventory(inputs), extra_vars=inputs.extra_vars,
                    simulator=inputs.simulator, passwords=inputs.passwords, keep_going=True, limit=limit)
    return engine.run_playbook(inputs.playbook)


def _texts(run: RunResult, dest: str) -> dict[str, str]:
    return {r.host: r.text for r in run.renderings if r.dest == dest}


def test_checkout_shape() -> None:
    ck = open_checkout(DirTree(embedded_demo()))
    assert (ck.playbook, ck.defaults_role, ck.network_facts) == (
        "playbooks/cluster.yml", "kubespray_defaults", "roles/network_facts/tasks/main.yml")
    assert ck.checksums_file == "roles/kubespray_defaults/vars/main/checksums.yml" and ck.checksums_are_role_vars
    assert ck.kube_minors == ("1.34", "1.33", "1.32") and ck.default_kube_version == "1.34.2"
    assert ck.kubeadm_config_versions == ("v1beta4",) and not ck.inventory_needs_k8s_cluster
    assert ck.group_mappings["k8s_cluster"] == ("kube_node", "kube_control_plane", "calico_rr")


def test_cluster_configuration_carries_a_node_local_address() -> None:
    """Per control plane the ClusterConfiguration differs in advertise-address: the cluster-wide
    document holds a node-local value (kubeadm uploads the first one; every control plane then
    advertises the first node's IP); kvalidate.rules.node_local reports it (golden set above)."""
    configs = _texts(_run("ha"), "/etc/kubernetes/kubeadm-config.yaml")
    assert sorted(configs) == ["instance-1", "instance-2"]
    cluster = {h: next(d for d in yaml.safe_load_all(t) if d["kind"] == "ClusterConfiguration")
               for h, t in configs.items()}
    args = {h: {a["name"]: a["value"] for a in c["apiServer"]["extraArgs"]} for h, c in cluster.items()}
    assert args["instance-1"]["advertise-address"] == "10.0.0.11"
    assert args["instance-2"]["advertise-address"] == "10.0.0.12"
    for c in cluster.values():
        c["apiServer"]["extraArgs"] = [a for a in c["apiServer"]["extraArgs"] if a["name"] != "advertise-address"]
        c["etcd"]["external"].pop("certFile"), c["etcd"]["external"].pop("keyFile")
    assert cluster["instance-1"] == cluster["instance-2"]


def test_limited_run_reads_facts_of_control_planes() -> None:
    """`--limit` to the worker: the haproxy config reads hostvars[cp]['main_access_ip'] of hosts
    outside the play (undefined without a fact cache)."""
    run = _run("ha", limit=["instance-3"], loadbalancer_apiserver_type="haproxy")
    undefined = {(f.template, f.host) for f in run.findings if f.rule == "undefined-variable"}
    assert ("roles/kubernetes/node/templates/loadbalancer/haproxy.cfg.j2", "instance-3") in undefined
    assert _texts(_run("ha", loadbalancer_apiserver_type="haproxy"), "/etc/haproxy/haproxy.cfg")["instance-3"].count(
        ":6443 check") == 2


def test_kube_vip_mounts_admin_conf_on_every_control_plane() -> None:
    pods = {h: yaml.safe_load(t) for h, t in _texts(
        _run("ha", kube_vip_enabled=True), "/etc/kubernetes/manifests/kube-vip.yml").items()}
    assert sorted(pods) == ["instance-1", "instance-2"]
    for pod in pods.values():
        assert pod["spec"]["volumes"] == [{"hostPath": {"path": "/etc/kubernetes/admin.conf"}, "name": "kubeconfig"}]


@pytest.mark.parametrize(("scenario", "rules"), [
    ("ubuntu24-calico-all-in-one", set()),  # no dns-autoscaler there
    ("ubuntu24-calico-ha-haproxy", {"duplicate-key", "node-local-cluster-config"}),
    ("debian12-calico-typha", {"duplicate-key"}),  # typha_secure alone: no pair bug
])
def test_ci_scenarios(scenario: str, rules: set[str], tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    code = main(["check", str(embedded_demo()), "--no-config", "--scenario", scenario, "-f", f"json={out}"])
    assert {f["rule"] for f in json.loads(out.read_text())["findings"]} == rules
    assert code == (1 if rules else 0)
