"""The findings automatic coverage met on Kubespray master that could have been engine gaps, decided
against real ansible-playbook (fixtures/autogaps/site.yml reproduces each shape): the engine must
fail where Ansible fails, register the failure as Ansible does, and report the error Ansible
reports. Each line of the report is one decision; Ansible's and the engine's reports must be equal."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_oracle import LOCAL, ansible_playbook

from kvalidate.ansible import Engine, load_inventory
from kvalidate.trees.directory import DirTree

ROOT = Path(__file__).resolve().parent / "fixtures" / "autogaps"
EXPECTED = """\
runtime default visible after include_role: False
runtime list failed: True
runtime list error names rt_bin_dir: True
manifests failed: True
manifests error names gone_list: True
start failed: True
start error is the loop's: True
start error is the skipped test's: False
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, list[str]]:
    theirs = ansible_playbook(ROOT, "inventory/hosts.ini", "site.yml", {}, tmp_path_factory.mktemp("gaps"))
    tree = DirTree(ROOT)
    run = Engine(tree, load_inventory(tree, "inventory/hosts.ini"), extra_vars=LOCAL).run_playbook("site.yml")
    ours = {(r.host, r.dest): r.text for r in run.renderings}
    return ours[("h1", "/out/report.txt")], theirs[("h1", "/out/report.txt")], [f.message for f in run.findings]


def test_the_engine_decides_as_ansible(reports: tuple[str, str, list[str]]) -> None:
    ours, theirs, _ = reports
    assert theirs == EXPECTED
    assert ours == theirs


def test_each_failure_is_a_finding_naming_its_cause(reports: tuple[str, str, list[str]]) -> None:
    _, _, messages = reports
    assert any("'rt_bin_dir' is undefined" in m for m in messages)  # youki: a defect of the checkout
    assert any("'gone_list' is undefined" in m for m in messages)  # rbac_resources: idem
    assert any("Start manifests" in m and "results" in m for m in messages)  # the loop's error...
    assert not any("'skipped' test" in m for m in messages)  # ...not the conditional's
