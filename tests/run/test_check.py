"""`kvalidate check` end to end on a small Kubespray-shaped checkout (tests/run/conftest.py)."""

from __future__ import annotations

import hashlib
import io
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from ksfixture import FILES as FILES_WITH_LB
from ksfixture import buggy_then_fixed_repo, git, write_checkout

from kvalidate.cli import main

BUG = ["-e", "typha_enabled=true", "-e", '{"typha_secure": true, "calico_ipam_host_local": true}']


def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_default_cell_is_clean(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", str(checkout), "-e", "typha_enabled=true"], capsys)
    assert code == 0, out
    assert out[-1] == "3 file(s), 3 document(s): 0 defect(s) (0 errors, 0 warnings) from 0 finding(s)"


def test_pair_of_flags_reports_the_field_the_line_and_the_template(
    checkout: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    before = tree_hash(checkout)
    code, _, _ = run(
        [
            "check",
            str(checkout),
            *BUG,
            "--host",
            "node1",
            "-f",
            f"json={tmp_path}/r.json",
            "--emit",
            str(tmp_path / "emit"),
        ],
        capsys,
    )
    assert code == 1
    report = json.loads((tmp_path / "r.json").read_text())
    unknown = [f for f in report["findings"] if f["rule"] == "unknown-field"]
    assert [(f["host"], f["path"], f["line"], f["template_line"]) for f in unknown] == [
        ("node1", "spec.template.spec.containers[0].volumeMounts[1].value", 26, 29)
    ]
    f = unknown[0]
    assert f["template"] == "roles/network_plugin/calico/templates/calico-typha.yml.j2"
    assert f["dest"] == "/etc/kubernetes/calico-typha.yml" and f["cell"] == "default"
    assert (tmp_path / "emit/node1/etc/kubernetes/calico-typha.yml").is_file()
    assert tree_hash(checkout) == before  # read-only


def test_scenario_cell(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "check",
            str(checkout),
            "--scenario",
            "ubuntu24-calico-typha",
            "-e",
            '{"typha_secure": true, "calico_ipam_host_local": true}',
        ],
        capsys,
    )
    assert code == 1
    assert "    in cell ubuntu24-calico-typha, host instance-1" in out


def test_matrix_file_pairwise_finds_the_pair(
    checkout: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (checkout / "kvalidate.yaml").write_text(
        "vars: {typha_enabled: true}\n"
        "axes:\n  typha_secure: [true, false]\n  calico_ipam_host_local: [true, false]\n"
        "  typha_replicas: [1, 2]\n"
        "pairwise:\n  - [typha_secure, calico_ipam_host_local, typha_replicas]\n"
    )
    code, _, _ = run(["check", str(checkout), "--host", "node1", "-f", f"json={tmp_path}/m.json", "-j", "2"], capsys)
    assert code == 1
    report = json.loads((tmp_path / "m.json").read_text())
    bad_cells = {f["cell"] for f in report["findings"] if f["rule"] == "unknown-field"}
    assert bad_cells and all("typha_secure=true" in c and "calico_ipam_host_local=true" in c for c in bad_cells)
    assert len(report["cells"]) < 8
    for c in report["cells"]:
        assert c["command"].startswith(f"kvalidate check {checkout}")
    # the shards of the same matrix add up to the whole
    names = set()
    for i in (1, 2):
        run(["check", str(checkout), "--shard", f"{i}/2", "-f", f"json={tmp_path}/s{i}.json"], capsys)
        names |= {c["name"] for c in json.loads((tmp_path / f"s{i}.json").read_text())["cells"]}
    assert names == {c["name"] for c in report["cells"]}


def test_refs_are_read_from_git_objects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo, tpl = buggy_then_fixed_repo(tmp_path / "repo")
    tpl.write_text("broken: [\n")  # the work tree is not what --ref reads
    code, _, _ = run(
        ["check", str(repo), *BUG, "--ref", "v1", "--ref", "main", "--host", "node1", "-f", f"json={tmp_path}/r.json"],
        capsys,
    )
    assert code == 1
    findings = json.loads((tmp_path / "r.json").read_text())["findings"]
    assert {f["ref"] for f in findings} == {"v1"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "/nonexistent/ks"], "kvalidate: cannot read checkout /nonexistent/ks: no such directory"),
        (["check", "--scenario", "nope"], "kvalidate: no CI scenario 'nope' in"),
        (["check", "--shard", "3/2"], "kvalidate: invalid --shard '3/2': I must be between 1 and N"),
        (["check", "--layout", "huge"], "kvalidate: unknown layout 'huge'"),
        (["check", "--playbook", "upgrade-cluster.yml"],
         "kvalidate: no playbook 'upgrade-cluster.yml' in"),
        (["check", "--limit", "node3", "--fact-cache", "memory"],
         "kvalidate: --fact-cache 'memory': expected one of facts.yml, none"),
        (["check", "--limit", "@hosts.txt"], "kvalidate: --limit '@hosts.txt': limit files (@FILE) are not supported"),
        (["check", "--limit", "nowhere"], "kvalidate: --limit 'nowhere' leaves no host of cell limit=nowhere to run"),
        (["check", "--limit", "node1"],  # the fixture has no facts playbook: facts.yml cannot be the cache
         "kvalidate: --fact-cache facts.yml: "),
    ],
)
def test_unusable_input_is_exit_2(
    checkout: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [args[0], *([str(checkout)] if not args[1].startswith("/") else []), *args[1:]]
    code, _, err = run(argv, capsys)
    assert code == 2 and len(err) == 1 and err[0].startswith(message), err


def test_not_a_checkout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["check", str(tmp_path)], capsys)
    assert code == 2 and err == [
        f"kvalidate: {tmp_path} is not a Kubespray checkout: no playbooks/cluster.yml and roles/"
    ]


def test_emit_inside_the_checkout_is_refused(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["check", str(checkout), "--emit", str(checkout / "out")], capsys)
    assert code == 2 and "never writes into the checkout" in err[0]


def test_auto_finds_the_pair_without_naming_a_flag(
    checkout: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # a third flag of the template's own, so that pairs are fewer than the product
    tpl = checkout / "roles/network_plugin/calico/templates/calico-typha.yml.j2"
    tpl.write_text(
        tpl.read_text() + "{% if typha_metrics %}\n---\napiVersion: v1\nkind: Service\n"
        "metadata: {name: typha-metrics}\n{% endif %}\n"
    )
    defaults = checkout / "roles/network_plugin/calico/defaults/main.yml"
    defaults.write_text(defaults.read_text() + "typha_metrics: false\n")
    code, _, err = run(["check", str(checkout), "--auto", "--host", "node1", "-f", f"json={tmp_path}/a.json"], capsys)
    assert code == 1
    assert err[0].startswith("kvalidate: auto coverage: 1 template gate(s), ")
    report = json.loads((tmp_path / "a.json").read_text())
    bad = {f["cell"] for f in report["findings"] if f["rule"] == "unknown-field"}
    cells = {c["name"]: c for c in report["cells"]}
    assert bad and all(cells[c]["extra_vars"]["typha_enabled"] is True for c in bad)
    assert all(cells[c]["extra_vars"]["typha_secure"] and cells[c]["extra_vars"]["calico_ipam_host_local"] for c in bad)
    assert 1 + 4 <= len(cells) < 1 + 2 * 2 * 2  # the base cell and fewer than the product of the three flags


def test_auto_in_the_matrix_file_and_over_refs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo, tpl = buggy_then_fixed_repo(tmp_path / "repo")
    config = tmp_path / "auto.yaml"
    config.write_text("auto: true\n")
    code, _, _ = run(
        [
            "check",
            str(repo),
            "--config",
            str(config),
            "--ref",
            "v1",
            "--ref",
            "main",
            "--host",
            "node1",
            "-f",
            f"json={tmp_path}/r.json",
        ],
        capsys,
    )
    assert code == 1
    findings = json.loads((tmp_path / "r.json").read_text())["findings"]
    assert {f["ref"] for f in findings if f["rule"] == "unknown-field"} == {"v1"}


def test_text_report_reproduces_each_defect_and_tabulates(
    checkout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["check", str(checkout), "--auto", "--host", "node1"], capsys)
    assert code == 1
    typha = "roles/network_plugin/calico/templates/calico-typha.yml.j2"
    field = "spec.template.spec.containers[0].volumeMounts[1].value"
    i = out.index(f'{typha}:29: error unknown-field: unknown field "{field}"')
    block = out[i + 1:next(j for j in range(i + 1, len(out)) if not out[j].startswith(" "))]
    assert "    in cell default+auto1, host node1" in block
    assert "    rendered: node1/etc/kubernetes/calico-typha.yml:26" in block
    [command] = [ln.split(": ", 1)[1] for ln in block if ln.startswith("    reproduce: ")]
    table = out[out.index("cells: 5 run(s), 1 with defects") + 1 :]
    assert table[:2] == ["errors  warnings  kube  files  cell", "     3         0  1.33      1  default+auto1"]
    assert table[3:5] == ["errors  warnings  cells  template", f"     3         0      1  {typha}"]
    assert out[-1] == "4 file(s), 4 document(s): 3 defect(s) (3 errors, 0 warnings) from 3 finding(s)"
    # the command alone renders that cell and finds the same field
    args = shlex.split(command)
    assert args[:4] == ["kvalidate", "check", str(checkout), "--no-config"]
    code, _, _ = run([*args[1:], "--host", "node1", "-f", f"json={tmp_path}/one.json"], capsys)
    again = json.loads((tmp_path / "one.json").read_text())
    assert code == 1 and len(again["cells"]) == 1
    assert [f["path"] for f in again["findings"] if f["rule"] == "unknown-field"] == [
        "spec.template.spec.containers[0].volumeMounts[1].value"
    ]


def test_identical_renderings_are_validated_once_per_worker(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kvalidate.validation.renderings as renderings
    from kvalidate.model import Cell
    from kvalidate.run.check import CheckOptions, Limits, run_check

    calls: list[str] = []
    real = renderings._relative_findings

    def counting(text: str, store: Any) -> Any:
        calls.append(text)
        return real(text, store)

    monkeypatch.setattr(renderings, "_relative_findings", counting)
    on = {"typha_enabled": True}
    cells = (Cell("a", extra_vars=on), Cell("b", extra_vars=on), Cell("c", extra_vars={**on, "typha_replicas": 2}))
    # in this process (no limits), where the calls are counted
    result = run_check(CheckOptions(checkout=checkout, cells=cells, jobs=1, limits=Limits.NONE))
    assert result.files == 9  # three hosts render calico-typha.yml in each cell
    assert len(calls) == len(set(calls)) == 2  # one text for a and b (all hosts), another for c


def test_a_ref_only_a_remote_has_is_found_as_git_switch_would(tmp_path: Path) -> None:
    from kvalidate.model import SetupError
    from kvalidate.trees.git import GitTree

    repo = write_checkout(tmp_path / "repo")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "one")
    git(repo, "branch", "release-1")
    git(repo, "commit", "-q", "--allow-empty", "-m", "two")
    git(tmp_path, "clone", "-q", str(repo), str(tmp_path / "clone"))
    clone = tmp_path / "clone"
    assert GitTree(clone, "release-1").commit == git(repo, "rev-parse", "release-1").strip()
    assert GitTree(clone, "main").commit == git(repo, "rev-parse", "main").strip()
    with pytest.raises(SetupError):
        GitTree(clone, "release-2")


def test_auto_builds_on_the_matrix_base_not_on_its_first_row(
    checkout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (checkout / "kvalidate.yaml").write_text(
        "vars: {typha_replicas: 3}\nlayouts: [all-in-one]\n"
        "axes:\n  typha_enabled: [true, false]\n  typha_secure: [true, false]\nauto: true\n"
    )
    code, _, _ = run(["check", str(checkout), "-f", f"json={tmp_path}/m.json"], capsys)
    assert code == 1
    cells = json.loads((tmp_path / "m.json").read_text())["cells"]
    auto = [c for c in cells if "+auto" in c["name"]]
    assert [c["name"] for c in cells if "+auto" not in c["name"]] == [
        "layout=all-in-one,typha_enabled=true,typha_secure=true",
        "layout=all-in-one,typha_enabled=true,typha_secure=false",
        "layout=all-in-one,typha_enabled=false,typha_secure=true",
        "layout=all-in-one,typha_enabled=false,typha_secure=false",
    ]
    assert auto and all(c["name"].startswith("layout=all-in-one+auto") for c in auto)
    assert all(c["layout"] == "all-in-one" and c["extra_vars"]["typha_replicas"] == 3 for c in auto)
    assert {tuple(sorted(c["extra_vars"])) for c in auto} == {
        ("calico_ipam_host_local", "kube_network_plugin", "typha_enabled", "typha_replicas", "typha_secure")
    }


def test_separate_layout_renders_only_etcd_on_the_etcd_host(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tut = Path(__file__).resolve().parents[2] / "templates_under_test"
    out = tmp_path / "emit"
    code = main(
        [
            "check",
            str(tut),
            "--no-config",
            "--layout",
            "separate",
            "-e",
            "typha_enabled=true",
            "--emit",
            str(out),
            "-f",
            f"json={tmp_path}/r.json",
        ]
    )
    capsys.readouterr()
    assert code == 1  # the duplicate nodeSelector of the apps role, on the control plane only
    etcd_host = sorted(str(p.relative_to(out / "instance-3")) for p in (out / "instance-3").rglob("*") if p.is_file())
    assert etcd_host == ["etc/etcd.env"]
    findings = json.loads((tmp_path / "r.json").read_text())["findings"]
    assert {f["host"] for f in findings} == {"instance-1"}


def test_merged_shards_print_the_same_matrix_tables(checkout: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (checkout / "kvalidate.yaml").write_text(
        "vars: {typha_enabled: true}\naxes:\n  typha_secure: [true, false]\n  calico_ipam_host_local: [true, false]\n")
    _, whole, _ = run(["check", str(checkout), "--host", "node1", "-j", "1"], capsys)
    for i in (1, 2):
        run(["check", str(checkout), "--host", "node1", "--shard", f"{i}/2", "-f", f"json={tmp_path}/s{i}.json"],
            capsys)
    code, merged, _ = run(["merge", f"{tmp_path}/s1.json", f"{tmp_path}/s2.json"], capsys)
    assert code == 1
    start = whole.index("cells: 4 run(s), 1 with defects")
    assert merged[merged.index("cells: 4 run(s), 1 with defects"):] == whole[start:]
    assert whole[start + 2].split()[:4] == ["3", "0", "1.33", "1"]  # minor and files per run kept


LIMITED = {
    "playbooks/facts.yml": "- hosts: k8s_cluster\n  gather_facts: false\n  roles: [kubespray_defaults]\n",
    "playbooks/upgrade_cluster.yml": (
        "- import_playbook: facts.yml\n"
        "- hosts: kube_node:!kube_control_plane\n  gather_facts: false\n  roles: [kubespray_defaults, lb]\n"),
    "upgrade-cluster.yml": "- name: Upgrade\n  ansible.builtin.import_playbook: playbooks/upgrade_cluster.yml\n",
    "roles/kubespray_defaults/tasks/main.yml":
        "- name: Set fallback_ip\n  set_fact:\n    fallback_ip: \"{{ ansible_default_ipv4.address }}\"\n",
    "roles/lb/tasks/main.yml": "- name: Write lb config\n  template:\n    src: lb.cfg.j2\n    dest: /etc/lb.cfg\n",
    "roles/lb/templates/lb.cfg.j2":
        "{% for h in groups['kube_control_plane'] %}\nserver {{ hostvars[h]['fallback_ip'] }}:6443\n{% endfor %}\n",
}


def test_limited_upgrade_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--playbook upgrade-cluster.yml --limit node3`: the worker's config reads a control plane's
    fact set without `cacheable: true`; the finding is at the template line, names the host, the fact
    and why, and the cell is named by the playbook and the limit. Without the limit, or with the fact
    cacheable, nothing; with no fact cache, the cacheable fact is missing too."""
    repo = write_checkout(tmp_path / "ks", {**FILES_WITH_LB, **LIMITED})
    code, out, _ = run(["check", str(repo), "--playbook", "upgrade-cluster.yml", "--limit", "node3"], capsys)
    assert code == 1
    assert out[0] == ("roles/lb/templates/lb.cfg.j2:2: error undefined-variable: task 'Write lb config': "
                      "hostvars['node1']['fallback_ip'] is undefined: node1 is outside --limit 'node3' and "
                      "fallback_ip was set by set_fact without cacheable: true in "
                      "roles/kubespray_defaults/tasks/main.yml:3; not in the fact cache of a --limit run")
    assert "    in cell playbook=upgrade-cluster.yml,limit=node3, host node3" in out
    code, out, _ = run(["check", str(repo), "--playbook", "upgrade-cluster.yml"], capsys)
    assert code == 0, out
    write_checkout(repo, {"roles/kubespray_defaults/tasks/main.yml": LIMITED[
        "roles/kubespray_defaults/tasks/main.yml"] + "    cacheable: true\n"})
    code, out, _ = run(["check", str(repo), "--playbook", "upgrade-cluster.yml", "--limit", "node3"], capsys)
    assert code == 0, out
    code, out, _ = run(["check", str(repo), "--playbook", "upgrade-cluster.yml", "--limit", "node3",
                        "--fact-cache", "none"], capsys)
    assert code == 1 and "--fact-cache none: nothing is cached" in out[0]


def test_cells_are_handed_out_largest_first_and_merged_in_task_order(tmp_path: Path) -> None:
    """Scheduling changes when a cell runs, never the result: two workers with the largest cell
    first give the same Result, field for field and in the same order, as one worker in task order."""
    from kvalidate.model import Cell
    from kvalidate.report.json_report import write
    from kvalidate.run.check import CheckOptions, Worker, cell_cost, largest_first, run_check

    tut = Path(__file__).resolve().parents[2] / "templates_under_test"
    on = {"typha_enabled": True}
    cells = (Cell("one", extra_vars=on, layout="all-in-one"), Cell("three", extra_vars=on, layout="separate"),
             Cell("bug", extra_vars={**on, "typha_secure": True, "calico_ipam_host_local": True}, layout="ha"),
             Cell("also-one", extra_vars=on, layout="all-in-one"))
    worker = Worker(CheckOptions(checkout=tut, cells=cells))
    assert [cell_cost(worker, "", c) for c in cells] == [1, 3, 3, 1]
    assert largest_first(worker, [("", c) for c in cells]) == [1, 2, 0, 3]
    assert cell_cost(worker, "", Cell("bad", layout="no-such-layout")) == 1  # its run reports the problem
    one = run_check(CheckOptions(checkout=tut, cells=cells, jobs=1))
    two = run_check(CheckOptions(checkout=tut, cells=cells, jobs=2))
    assert one.errors > 0 and one.checked[0].startswith("one:") and one.checked[-1].startswith("also-one:")

    def as_json(result: Any) -> str:
        """The report without `summary.reuse`: how many evaluations a worker reused depends on which
        cells it ran before (per-process stores), which is what scheduling changes."""
        out = io.StringIO()
        write(result, out)
        data = json.loads(out.getvalue())
        assert data["summary"].pop("reuse")["done"] > 0
        return json.dumps(data, indent=2)

    assert as_json(two) == as_json(one)
    assert two.checked == one.checked and list(two.stats.runs) == list(one.stats.runs)
