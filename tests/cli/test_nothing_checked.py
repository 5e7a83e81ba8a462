"""Nothing checked is not a pass: a run that would read or render no file is exit 2 with the reason,
naming what exists; an extra variable nothing reads is a warning naming the closest known names;
report destinations are refused before anything runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import kvalidate.api
import kvalidate.report.json_report
from kvalidate.cli import main
from kvalidate.model import Finding, Result, SetupError, Severity
from kvalidate.pinned import embedded_demo

DEMO = embedded_demo()
OK = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def refuse(*_: Any, **__: Any) -> Any:
    raise AssertionError("the run started")


# -- kvalidate validate -------------------------------------------------------------------------------

def test_validate_a_directory_of_templates_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "calico-typha.yml.j2").write_text("kind: {{ x }}\n")
    (tmp_path / "calico-node.yml.j2").write_text("kind: {{ x }}\n")
    (tmp_path / "make-ssl.sh.j2").write_text("echo\n")
    code, out, err = run(["validate", str(tmp_path)], capsys)
    assert (code, out) == (2, [])
    assert err == [f"kvalidate: nothing to validate in {tmp_path}: no *.yaml, *.yml, *.json file in it (it holds "
                   "2 *.yml.j2, 1 *.sh.j2); templates are rendered by `kvalidate check CHECKOUT` (or `kvalidate "
                   "render TEMPLATE`), not read"]


def test_validate_an_empty_directory_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ok.yaml"
    f.write_text(OK)
    (tmp_path / "empty").mkdir()
    code, _, err = run(["validate", str(f), str(tmp_path / "empty")], capsys)  # one empty argument is enough
    assert code == 2 and err == [f"kvalidate: nothing to validate in {tmp_path / 'empty'}: no *.yaml, *.yml, "
                                 "*.json file in it (it is empty)"]


def test_crds_from_an_empty_directory_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ok.yaml"
    f.write_text(OK)
    (tmp_path / "crds").mkdir()
    code, _, err = run(["validate", str(f), "--crds", str(tmp_path / "crds")], capsys)
    assert code == 2 and err[0].startswith(f"kvalidate: nothing to validate in {tmp_path / 'crds'}")


# -- kvalidate check: hosts, inventories, scenarios ----------------------------------------------------

def test_unknown_host_is_exit_2_naming_the_hosts(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(kvalidate.api, "run_check", refuse)
    code, _, err = run(["check", str(DEMO), "--no-config", "--host", "node2", "--host", "nosuchhost"], capsys)
    assert (code, err) == (2, ["kvalidate: --host nosuchhost: no such host in the cell default; "
                               "the hosts are node1, node2, node3"])


def test_a_host_of_any_cell_of_the_matrix_is_a_host(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The demo's `ha` layout has instance-3, `default` has not: the host check spans every cell (and
    shard), so a shard of default-layout cells only is not refused for it."""
    seen: list[tuple[str, ...]] = []
    monkeypatch.setattr(kvalidate.api, "run_check", lambda options, progress, **_: seen.append(options.hosts) or Result(
        files=1))
    assert main(["check", str(DEMO), "--host", "instance-3", "-f", "json=/dev/null"]) == 0
    assert seen == [("instance-3",)]
    layouts = set()
    for i in range(1, 26):  # every shard of one cell: those of the default layout have no instance-3
        options = kvalidate.api.plan(kvalidate.api.CheckRequest(checkout=DEMO, hosts=("instance-3",), shard=f"{i}/25"))
        layouts.add(options.cells[0].layout)
    assert layouts == {"default", "ha"}
    code, _, err = run(["check", str(DEMO), "--host", "instance-9"], capsys)
    assert code == 2 and err[0].startswith("kvalidate: --host instance-9: no such host in any of the 25 cells; "
                                           "the hosts are instance-1, instance-2, instance-3")


def test_inventory_with_every_host_commented_out_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Kubespray's inventory/sample/inventory.ini (2.27, master): host lines are comments."""
    inv = tmp_path / "inventory.ini"
    inv.write_text("[kube_control_plane]\n# node1 ansible_host=95.54.0.12  # ip=10.3.0.1\n\n"
                   "[etcd:children]\nkube_control_plane\n\n[kube_node]\n# node4 ansible_host=95.54.0.15\n")
    monkeypatch.setattr(kvalidate.api, "run_check", refuse)
    code, _, err = run(["check", str(DEMO), "--no-config", "--inventory", str(inv)], capsys)
    assert (code, err) == (2, [f"kvalidate: inventory {inv} declares no host, so nothing would be rendered "
                               "(groups: kube_control_plane, etcd, kube_node); add or uncomment its host lines"])


def test_unknown_scenario_names_the_closest(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(kvalidate.api, "run_check", refuse)
    code, _, err = run(["check", str(DEMO), "--no-config", "--scenario", "ubuntu24-calico-aio"], capsys)
    assert (code, err) == (2, [
        f"kvalidate: no CI scenario 'ubuntu24-calico-aio' in {DEMO} (looked in tests/files); did you mean "
        f"ubuntu24-calico-all-in-one, ubuntu24-calico-ha-haproxy or debian12-calico-typha? (3 scenarios: "
        f"ls {DEMO}/tests/files/*.yml)"])


@pytest.mark.parametrize("how", ["absolute", "from the current directory", "tree path", "name"])
def test_a_scenario_inside_the_checkout_by_any_path(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    planned: list[str] = []
    monkeypatch.setattr(kvalidate.api, "run_check", lambda options, progress, **_: planned.extend(
        c.scenario for c in options.cells) or Result(files=1))
    monkeypatch.chdir(DEMO.parent)
    arg = {"absolute": str(DEMO / "tests/files/ubuntu24-calico-all-in-one.yml"),
           "from the current directory": f"{DEMO.name}/tests/files/ubuntu24-calico-all-in-one.yml",
           "tree path": "tests/files/ubuntu24-calico-all-in-one.yml", "name": "ubuntu24-calico-all-in-one"}[how]
    assert main(["check", str(DEMO), "--no-config", "--scenario", arg, "-f", "json=/dev/null"]) == 0
    assert planned == ["tests/files/ubuntu24-calico-all-in-one.yml"]


def test_a_scenario_outside_the_checkout_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "mine.yml"
    outside.write_text("kube_network_plugin: calico\n")
    code, _, err = run(["check", str(DEMO), "--no-config", "--scenario", str(outside)], capsys)
    assert (code, err) == (2, [f"kvalidate: scenario {outside} is not inside the checkout {DEMO}"])


def test_a_run_that_renders_nothing_is_exit_2(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(kvalidate.api, "run_check", lambda options, progress, **_: Result())
    code, out, err = run(["check", str(DEMO), "--no-config"], capsys)
    assert (code, out) == (2, [])
    assert err == [f"kvalidate: nothing was checked: the cell default of {DEMO} rendered no file and reported "
                   "nothing"]


def test_no_rendering_with_error_findings_reports_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every host stopped by a failed assert: the findings say why nothing rendered (exit 1)."""
    failed = Finding(Severity.ERROR, "task-failed", "assert failed", template="roles/x/tasks/main.yml")
    monkeypatch.setattr(kvalidate.api, "run_check", lambda options, progress, **_: Result(findings=[failed]))
    result = kvalidate.api.check(kvalidate.api.CheckRequest(checkout=DEMO, use_config=False))
    assert result.findings == [failed] and result.exit_code() == 1
    monkeypatch.setattr(kvalidate.api, "run_check", lambda options, progress, **_: Result(findings=[
        Finding(Severity.WARNING, "no-schema", "x")]))
    with pytest.raises(SetupError, match="nothing was checked"):
        kvalidate.api.check(kvalidate.api.CheckRequest(checkout=DEMO, use_config=False))


def test_merging_reports_that_checked_nothing_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"findings": [], "summary": {"files": 0, "documents": 0}}))
    code, _, err = run(["merge", str(empty), str(empty)], capsys)
    assert (code, err) == (2, ["kvalidate: nothing was checked: the 2 report(s) merged checked no file"])


# -- extra variables nothing reads ----------------------------------------------------------------------

def _json_run(args: list[str], tmp_path: Path) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "r.json"
    code = main([*args, "-f", f"json={report}"])
    return code, json.loads(report.read_text())


def test_a_typo_in_an_extra_var_is_a_warning_with_the_closest_name(tmp_path: Path) -> None:
    code, data = _json_run(["check", str(DEMO), "--no-config", "--layout", "ha", "-e", "typha_enabeld=true",
                            "-e", "ansible_user=ci", "-e", "calico_felix_prometheusmetricsport={{ my_port }}",
                            "-e", "my_port=9091"], tmp_path)
    unused = [f for f in data["findings"] if f["rule"] == "unused-extra-var"]
    assert [(f["severity"], f["message"], f["file"]) for f in unused] == [(
        "warning", "extra var 'typha_enabeld' (-e/--vars) is read by no role, playbook, template or inventory "
        "of the checkout, so it changes nothing: did you mean typha_enabled?", "")]
    _, clean = _json_run(["check", str(DEMO), "--no-config", "--layout", "ha"], tmp_path)
    assert code == (1 if clean["summary"]["errors"] else 0)  # a warning: the exit code is the clean run's
    assert data["summary"]["warnings"] == clean["summary"]["warnings"] + 1


def test_a_typo_in_the_matrix_file_is_located_there(tmp_path: Path) -> None:
    config = tmp_path / "kvalidate.yaml"
    config.write_text("vars:\n  kube_network_plugin: calico\naxes:\n  typha_enabled: [true]\n"
                      "  calico_ipam_hostlocal: [true]\n")
    _, data = _json_run(["check", str(DEMO), "--config", str(config)], tmp_path)
    unused = [(f["message"], f["file"], f["line"]) for f in data["findings"] if f["rule"] == "unused-extra-var"]
    assert unused == [(f"extra var 'calico_ipam_hostlocal' (set in {config}) is read by no role, playbook, "
                       "template or inventory of the checkout, so it changes nothing: did you mean "
                       "calico_ipam_host_local?", str(config), 5)]


def test_a_var_of_the_users_inventory_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "group_vars" / "all").mkdir(parents=True)
    (tmp_path / "group_vars" / "all" / "site.yml").write_text("cluster_name: \"{{ site_domain }}\"\n")
    (tmp_path / "hosts.ini").write_text("[kube_control_plane]\nnode1\n[etcd]\nnode1\n[kube_node]\nnode1\n")
    monkeypatch.setattr(kvalidate.api, "run_check", lambda options, progress, **_: Result(files=1))
    result = kvalidate.api.check(kvalidate.api.CheckRequest(
        checkout=DEMO, use_config=False, inventory=tmp_path / "hosts.ini",
        extra_vars={"site_domain": "example.com", "site_domian": "x"}))
    found = [f for f in result.findings if f.rule == "unused-extra-var"]
    assert [f.message.split("'")[1] for f in found] == ["site_domian"]
    assert found[0].message.endswith("did you mean site_domain?")


# -- report destinations: refused before anything runs ------------------------------------------------

@pytest.mark.parametrize(("command", "target"), [
    (["check", str(DEMO)], (kvalidate.api, "check")),
    (["demo"], (kvalidate.api, "check")),
    (["validate", str(DEMO / "kvalidate.yaml")], (kvalidate.api, "validate_paths")),
    (["merge", "r.json"], (kvalidate.report.json_report, "read")),
])
@pytest.mark.parametrize("formats", [
    ["-f", "json=/nonexistent-dir/r.json"],
    ["-f", "json", "-f", "sarif"],
    ["-f", "text", "-f", "json"],
    ["-f", "text", "-f", "text="],
])
def test_reports_are_checked_before_the_run(command: list[str], target: tuple[Any, str], formats: list[str],
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(*target, refuse)
    code, out, err = run([*command, *formats], capsys)
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].startswith(("kvalidate: cannot write report /nonexistent-dir/r.json: no such directory",
                              "kvalidate: -f json and -f sarif would both write to stdout",
                              "kvalidate: -f text and -f json would both write to stdout",
                              "kvalidate: -f text and -f text would both write to stdout")), err


def test_text_and_github_may_share_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(OK + "dta: {}\n")
    code, out, _ = run(["validate", str(bad), "-f", "text", "-f", "github"], capsys)
    assert code == 1 and any(line.startswith("::error ") for line in out) and any(
        line.startswith(f"{bad}:5:1: error unknown-field") for line in out)
