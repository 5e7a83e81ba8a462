"""Variable precedence, differential: a fixture defines `v_LEVEL` at every level up to LEVEL
(dependency defaults < role defaults < group_vars all < parent group < child group < host_vars <
play vars < vars_files < dependency vars < role vars < block vars < task vars < include_vars <
set_fact < role params < extra vars), so each line of the rendered report names the winner.
Real ansible-playbook and kvalidate's engine must render the same report for every host, including
chained defaults and `hostvars` of another host (which has no role defaults)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_oracle import LOCAL, ansible_playbook

from kvalidate.ansible import Engine, load_inventory
from kvalidate.trees.directory import DirTree

ROOT = Path(__file__).resolve().parent / "fixtures" / "precedence"
EXTRA = {"v_extra_vars": "extra_vars"}


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    theirs = ansible_playbook(ROOT, "inventory/hosts.ini", "site.yml", EXTRA, tmp_path_factory.mktemp("prec"))
    tree = DirTree(ROOT)
    run = Engine(tree, load_inventory(tree, "inventory/hosts.ini"), extra_vars={**LOCAL, **EXTRA}).run_playbook(
        "site.yml")
    assert run.findings == []
    return {(r.host, r.dest): r.text for r in run.renderings}, theirs


@pytest.mark.parametrize("host", ["h1", "h2"])
def test_precedence_same_as_ansible(both: tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]],
                                    host: str) -> None:
    ours, theirs = both
    report = theirs[(host, "/out/report.txt")]
    assert ours[(host, "/out/report.txt")] == report
    for line in report.splitlines()[:16]:  # every level wins over the ones below it
        name, value = line.split(": ")
        assert name == f"v_{value}"
