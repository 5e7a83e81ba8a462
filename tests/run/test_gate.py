"""The pull-request gate end to end: `--base REF` (new, unchanged, fixed), `--changed-only`,
`--baseline` and `kvalidate baseline`, waivers in templates and kvalidate.yaml, `--fail-on`.

`--base` runs on a git repository built here from templates_under_test: commit `good` has the
calico-typha template with its metrics env block inside `env`, commit `bad` moves it below the
volumeMounts (the demo's pair bug) and adds lines above dns-autoscaler's duplicate nodeSelector, which
both commits have: that one is the same defect at a shifted line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from ksfixture import git, write_checkout

from kvalidate.cli import main
from kvalidate.pinned import embedded_demo

TYPHA = "roles/network_plugin/calico/templates/calico-typha.yml.j2"
AUTOSCALER = "roles/kubernetes-apps/ansible/templates/dns-autoscaler.yml.j2"
PAIR = ["--no-config", "-e", "typha_enabled=true", "-e", "typha_secure=true",
        "-e", "typha_prometheusmetricsenabled=true", "-j", "1"]
METRICS = """\
{% if typha_prometheusmetricsenabled %}
        - name: TYPHA_PROMETHEUSMETRICSENABLED
          value: "true"
        - name: TYPHA_PROMETHEUSMETRICSPORT
          value: "{{ typha_prometheusmetricsport }}"
{% endif %}
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def report(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def statuses(doc: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    return sorted((d["status"], d["rule"], d["template"], d["template_line"]) for d in doc["defects"])


def demo_copy(root: Path) -> Path:
    shutil.copytree(embedded_demo(), root)
    return root


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Commits `good` (typha's metrics env inside env) and `bad` (the demo as it is, its pair bug,
    and four more lines above dns-autoscaler's duplicate key); the work tree is at `bad`."""
    r = demo_copy(tmp_path / "repo")
    tpl = r / TYPHA
    buggy = tpl.read_text(encoding="utf-8")
    assert METRICS in buggy
    fixed = buggy.replace(METRICS, "").replace("{% if typha_secure %}\n", METRICS + "{% if typha_secure %}\n", 1)
    tpl.write_text(fixed, encoding="utf-8")
    git(r, "init", "-q", "-b", "main")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "good")
    git(r, "tag", "good")
    tpl.write_text(buggy, encoding="utf-8")
    autoscaler = r / AUTOSCALER
    autoscaler.write_text("# one\n# two\n# three\n# four\n" + autoscaler.read_text(encoding="utf-8"),
                          encoding="utf-8")
    git(r, "commit", "-qam", "bad")
    git(r, "tag", "bad")
    return r


def test_base_reports_the_introduced_bug_new(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    code, _, err = run(["check", str(repo), "--base", "good", *PAIR, "-f", f"json={out}"], capsys)
    assert code == 1, err
    doc = report(out)
    typha = [d for d in doc["defects"] if d["template"] == TYPHA]
    assert len(typha) == 6 and {d["status"] for d in typha} == {"new"}
    [dup] = [d for d in doc["defects"] if d["rule"] == "duplicate-key"]
    assert (dup["status"], dup["template"], dup["template_line"]) == ("unchanged", AUTOSCALER, 32)  # 28 at good
    assert {d["status"] for d in doc["defects"]} == {"new", "unchanged"}
    assert {f["ref"] for f in doc["findings"]} == {""}  # the report's findings are the working tree's
    assert doc["summary"]["defects"]["blocking"] == 6
    assert any(n.startswith("base good: 2 defect(s) there; here 6 new, 2 unchanged, 0 fixed")
               for n in doc["summary"]["notes"]), doc["summary"]["notes"]


def test_base_reports_the_fixed_bug_fixed(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(repo, "checkout", "-q", "good")
    out = tmp_path / "r.json"
    code, _, err = run(["check", str(repo), "--base", "bad", *PAIR, "-f", f"json={out}"], capsys)
    assert code == 0, err
    doc = report(out)
    fixed = [d for d in doc["defects"] if d["status"] == "fixed"]
    assert len(fixed) == 6 and {d["template"] for d in fixed} == {TYPHA}
    assert all(d["refs"] == ["bad"] and d["template_line"] > 0 and d["file"] for d in fixed)  # base-side places
    assert sorted(d["status"] for d in doc["defects"] if d not in fixed) == ["unchanged", "unchanged"]
    assert doc["summary"]["defects"]["total"] == 2  # fixed defects are listed, not counted
    assert not any(f["template"] == TYPHA for f in doc["findings"])


def test_base_of_the_same_commit_changes_nothing(repo: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    code, _, _ = run(["check", str(repo), "--base", "HEAD", *PAIR, "-f", f"json={out}"], capsys)
    assert code == 0
    assert {d["status"] for d in report(out)["defects"]} == {"unchanged"}


@pytest.mark.parametrize(("args", "message"), [
    (["--base", "nope"], "nope"),
    (["--base", "good", "--ref", "bad"], "--base compares the working tree with REF: it cannot be combined with --ref"),
    (["--changed-only"], "--changed-only needs --base REF"),
])
def test_base_usage_errors_are_exit_2(repo: Path, args: list[str], message: str,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["check", str(repo), *PAIR, *args], capsys)
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].startswith("kvalidate: ") and message in err[0]


def test_base_outside_a_git_repository_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = write_checkout(tmp_path / "plain")
    code, _, err = run(["check", str(plain), "--base", "main"], capsys)
    assert code == 2 and len(err) == 1 and "not a git repository" in err[0]


def test_changed_only_covers_what_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Automatic coverage for the changed templates only: a change elsewhere adds no cell; a change
    to the calico role's defaults covers its template, whose pair bug the automatic cells find."""
    r = write_checkout(tmp_path / "ks")
    git(r, "init", "-q", "-b", "main")
    git(r, "add", "-A")
    git(r, "commit", "-qm", "c")
    (r / "README.md").write_text("docs only\n")
    out = tmp_path / "a.json"
    code, _, err = run(["check", str(r), "--base", "HEAD", "--changed-only", "--host", "node1", "-j", "1",
                        "-e", "typha_enabled=true", "-f", f"json={out}"], capsys)
    assert code == 0, err
    assert "kvalidate: changed-only: 1 file(s) changed since HEAD; automatic coverage for 0 template(s) among " \
           "them or in their roles" in err
    assert [c["name"] for c in report(out)["cells"]] == ["default"]
    defaults = r / "roles/network_plugin/calico/defaults/main.yml"
    defaults.write_text(defaults.read_text() + "typha_replicas: 2\n")
    code, _, err = run(["check", str(r), "--base", "HEAD", "--changed-only", "--host", "node1", "-j", "1",
                        "-e", "typha_enabled=true", "-f", f"json={out}"], capsys)
    assert any(e.startswith("kvalidate: changed-only: 2 file(s) changed since HEAD; automatic coverage for 1 "
                            f"template(s) among them or in their roles: {TYPHA}")
               for e in err), err
    doc = report(out)
    assert len(doc["cells"]) > 1
    # the bug is old (unchanged): the gate passes, and the report still shows it
    assert code == 0
    assert {d["status"] for d in doc["defects"] if d["rule"] == "unknown-field"} == {"unchanged"}


def test_baseline_makes_the_same_run_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = demo_copy(tmp_path / "demo")
    bl = tmp_path / "baseline.json"
    default = ["--no-config", "-j", "1"]
    code, out, err = run(["baseline", str(demo), *default, "-o", str(bl)], capsys)
    assert (code, out) == (0, [])
    assert err[-1] == f"kvalidate: baseline {bl}: 2 defect(s) (2 error(s))"
    known = {d["id"] for d in report(bl)["defects"]}
    assert len(known) == 2
    code, _, _ = run(["check", str(demo), *default], capsys)
    assert code == 1
    out_json = tmp_path / "r.json"
    code, _, _ = run(["check", str(demo), *default, "--baseline", str(bl), "-f", f"json={out_json}"], capsys)
    assert code == 0
    doc = report(out_json)
    assert {(d["status"], d["reason"]) for d in doc["defects"]} == {("known", str(bl))}
    assert f"baseline {bl}: 2 defect(s) known" in doc["summary"]["notes"]
    # the typha cell: only its own defects are not known
    code, _, _ = run(["check", str(demo), *PAIR, "--baseline", str(bl), "-f", f"json={out_json}"], capsys)
    assert code == 1
    doc = report(out_json)
    active = [d for d in doc["defects"] if d["status"] == "active"]
    assert len(active) == 6 and {d["template"] for d in active} == {TYPHA}
    assert {d["id"] for d in doc["defects"] if d["status"] == "known"} == known
    # any -f json report is a baseline
    code, _, _ = run(["check", str(demo), *PAIR, "--baseline", str(out_json)], capsys)
    assert code == 0


@pytest.mark.parametrize(("fail_on", "code"), [("error", 1), ("warning", 1), ("never", 0)])
def test_fail_on(tmp_path: Path, fail_on: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    demo = demo_copy(tmp_path / "demo")
    assert run(["check", str(demo), "--no-config", "-j", "1", "--fail-on", fail_on], capsys)[0] == code


def test_waivers_in_templates_and_kvalidate_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = demo_copy(tmp_path / "demo")
    autoscaler = demo / AUTOSCALER
    lines = autoscaler.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[27] == "      nodeSelector:\n"  # line 28: the second key
    lines.insert(27, "{# kvalidate: ignore[duplicate-key] the second nodeSelector is the one we mean #}\n")
    lines.insert(0, "{# kvalidate: ignore[unknown-field] nothing like it here #}\n")
    autoscaler.write_text("".join(lines), encoding="utf-8")
    config = tmp_path / "k.yaml"
    config.write_text("""\
ignore:
  - template: roles/network_plugin/*/templates/*
    rule: [unknown-field, required]
    path: spec.template.spec.containers[0].volumeMounts
    reason: tracked in issue 42
  - {template: "roles/kubernetes/*", rule: api-validation, reason: no such defect}
  - {template: "roles/never/*", rule: required, reason: judged nowhere}
""")
    out = tmp_path / "r.json"
    args = ["check", str(demo), "--config", str(config), *PAIR[1:], "-f", f"json={out}"]
    code, _, err = run(args, capsys)
    assert code == 1, err  # typha's api-validation defects are not waived
    doc = report(out)
    got = {(d["status"], d["rule"], d["template"], d["template_line"], d["reason"]) for d in doc["defects"]
           if d["status"] == "waived" or d["rule"] == "stale-waiver"}
    assert got == {
        ("waived", "duplicate-key", AUTOSCALER, 30,
         f"the second nodeSelector is the one we mean (waiver {AUTOSCALER}:29)"),
        ("waived", "required", TYPHA, 119, f"tracked in issue 42 (waiver {config}:2)"),
        ("waived", "required", TYPHA, 121, f"tracked in issue 42 (waiver {config}:2)"),
        ("waived", "unknown-field", TYPHA, 120, f"tracked in issue 42 (waiver {config}:2)"),
        ("waived", "unknown-field", TYPHA, 122, f"tracked in issue 42 (waiver {config}:2)"),
        ("active", "stale-waiver", AUTOSCALER, 1, ""),
        ("active", "stale-waiver", str(config), 6, ""),  # roles/never/* matched no rendered template: not judged
    }
    waived = [d for d in doc["defects"] if d["status"] == "waived"]
    assert all(d["count"] > 0 for d in waived)  # counted and listed, never dropped
    assert doc["summary"]["defects"]["by_status"]["waived"] == 5
    # what remains blocking: typha's api-validation pair
    assert sorted(d["rule"] for d in doc["defects"] if d["status"] == "active" and d["severity"] == "error") == [
        "api-validation", "api-validation", "node-local-cluster-config"]
    # not judged when the run sees only some hosts (or a shard): the defect may be elsewhere
    code, _, err = run([*args, "--host", "node1"], capsys)
    assert code in (0, 1), err
    assert not [d for d in report(out)["defects"] if d["rule"] == "stale-waiver"]


def test_a_comment_waiver_is_read_at_the_ref(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With --base, each side's comments apply to that side: a waiver added by the change makes the
    old defect waived (not unchanged), and the base knows nothing of it."""
    autoscaler = repo / AUTOSCALER
    text = autoscaler.read_text(encoding="utf-8")
    anchor = "      tolerations:\n"
    lines = text.splitlines(keepends=True)
    second = max(i for i, line in enumerate(lines[:lines.index(anchor)]) if line == "      nodeSelector:\n")
    lines.insert(second, "{# kvalidate: ignore[duplicate-key] wanted #}\n")
    autoscaler.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "r.json"
    code, _, _ = run(["check", str(repo), "--base", "good", *PAIR, "-f", f"json={out}"], capsys)
    assert code == 1
    [dup] = [d for d in report(out)["defects"] if d["rule"] == "duplicate-key"]
    assert dup["status"] == "waived" and dup["reason"].startswith("wanted (waiver ")


def test_base_through_the_library_api(repo: Path) -> None:
    import kvalidate
    from kvalidate.model import Status

    seen: list[tuple[int, int]] = []
    request = kvalidate.CheckRequest(checkout=repo, use_config=False, base="good", extra_vars={
        "typha_enabled": True, "typha_secure": True, "typha_prometheusmetricsenabled": True})
    result = kvalidate.check(request, progress=lambda done, total, _found: seen.append((done, total)))
    assert seen == [(1, 2), (2, 2)]  # both sides, one progress
    assert sorted({d.status for d in result.defects}) == [Status.NEW, Status.UNCHANGED]
    assert ("", TYPHA) in result.templates and ("", AUTOSCALER) in result.templates
    assert all(f.ref == "" for f in result.findings)
