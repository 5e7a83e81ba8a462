"""Values kept between scopes, differential: two plays of two roles whose defaults define the same
name, variables read in both roles and again in the next play after `set_fact` changed what they
read. Real ansible-playbook templates every variable at each use; kvalidate's engine caches values
per scope and shares them between the scopes of a host (`variables.Scope._shared`), which must not
change a byte, with reuse on or off."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_oracle import LOCAL, ansible_playbook

from kvalidate.ansible import Engine, load_inventory
from kvalidate.trees.directory import DirTree

ROOT = Path(__file__).resolve().parent / "fixtures" / "shared_scopes"


@pytest.fixture(scope="module")
def theirs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], str]:
    return ansible_playbook(ROOT, "inventory/hosts.ini", "site.yml", {}, tmp_path_factory.mktemp("shared"))


@pytest.mark.parametrize("reuse", ["on", "off"])
def test_shared_scopes_same_as_ansible(theirs: dict[tuple[str, str], str], reuse: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    if reuse == "off":
        monkeypatch.setenv("KVALIDATE_NO_REUSE", "1")
    tree = DirTree(ROOT)
    run = Engine(tree, load_inventory(tree, "inventory/hosts.ini"), extra_vars=dict(LOCAL)).run_playbook("site.yml")
    assert run.findings == []
    ours = {(r.host, r.dest): r.text for r in run.renderings if r.dest}
    assert ours == theirs
    assert "derived=base-h1/b-mark" in theirs[("h1", "/out/b-first.txt")]
    assert "counter=2 peer=h2-second" in theirs[("h1", "/out/b-second.txt")]
