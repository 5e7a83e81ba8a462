"""The run's name in reports (SARIF's automationDetails.id, GitHub code scanning's category):
derived from what a check runs, set by --sarif-category, kept through a JSON report and merge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvalidate.api import CheckRequest, category
from kvalidate.cli import main

OK = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\ndata:\n  a: b\n"


@pytest.mark.parametrize(("kw", "name"), [
    ({}, "kvalidate/check/kvalidate.yaml/worktree"),  # the checkout's matrix file
    ({"use_config": False}, "kvalidate/check/default/worktree"),
    ({"config": Path("ci/nightly.yaml")}, "kvalidate/check/nightly.yaml/worktree"),
    ({"scenarios": ("ubuntu24-calico-all-in-one", "tests/files/debian12-cilium.yml")},
     "kvalidate/check/ubuntu24-calico-all-in-one+debian12-cilium/worktree"),
    ({"refs": ("release-2.27", "origin/master")}, "kvalidate/check/kvalidate.yaml/release-2.27+origin-master"),
    ({"use_config": False, "layout": "ha", "auto": True}, "kvalidate/check/default+layout-ha+auto/worktree"),
    ({"use_config": False, "inventory": Path("inv/my hosts.yaml")},
     "kvalidate/check/default+inventory-my-hosts.yaml/worktree"),
    # pinned: a different hash for the same run would reset code scanning's alerts of that category
    ({"use_config": False, "extra_vars": {"typha_enabled": True}}, "kvalidate/check/default+vars-32839f86/worktree"),
])
def test_category_names_what_a_check_runs(tmp_path: Path, kw: dict[str, object], name: str) -> None:
    (tmp_path / "kvalidate.yaml").write_text("{}\n")
    assert category(CheckRequest(checkout=tmp_path, **kw)) == name  # type: ignore[arg-type]


def test_without_a_matrix_file_the_default_cell(tmp_path: Path) -> None:
    assert category(CheckRequest(checkout=tmp_path)) == "kvalidate/check/default/worktree"


def test_extra_vars_tell_runs_apart_whatever_their_order(tmp_path: Path) -> None:
    one = category(CheckRequest(checkout=tmp_path, extra_vars={"a": 1, "b": True}))
    assert one == category(CheckRequest(checkout=tmp_path, extra_vars={"b": True, "a": 1}))
    assert one != category(CheckRequest(checkout=tmp_path, extra_vars={"a": 1, "b": False}))


def _sarif_id(path: Path) -> str:
    return str(json.loads(path.read_text())["runs"][0]["automationDetails"]["id"])


def test_sarif_category_option_and_merge(tmp_path: Path) -> None:
    f = tmp_path / "ok.yaml"
    f.write_text(OK)
    out = tmp_path / "out"
    out.mkdir()
    assert main(["validate", str(f), "-f", f"sarif={out}/a.sarif"]) == 0
    assert _sarif_id(out / "a.sarif") == "kvalidate/validate/"
    assert main(["validate", str(f), "-f", f"sarif={out}/b.sarif", "-f", f"json={out}/b.json",
                 "--sarif-category", "nightly/release-2.27"]) == 0
    assert _sarif_id(out / "b.sarif") == "nightly/release-2.27/"
    assert json.loads((out / "b.json").read_text())["summary"]["category"] == "nightly/release-2.27"
    # merging shards keeps the run's name; the option still wins
    assert main(["merge", f"{out}/b.json", "-f", f"sarif={out}/m.sarif"]) == 0
    assert _sarif_id(out / "m.sarif") == "nightly/release-2.27/"
    assert main(["merge", f"{out}/b.json", "-f", f"sarif={out}/n.sarif", "--sarif-category", "x"]) == 0
    assert _sarif_id(out / "n.sarif") == "x/"
