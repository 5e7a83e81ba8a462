"""Schema lookups read only the pinned data (issue #11, item 5): a document's apiVersion and kind,
and the cell's component versions, never become a path to a file outside it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kvalidate.model import Source
from kvalidate.pinned import pinned_schemas
from kvalidate.schemas import components, pinned_crds
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation.validate import validate_text

PLANTED = {"type": "object", "required": ["planted"]}  # would be a `required` finding if it were read


def _plant(tmp_path: Path) -> str:
    """A schema file where `components/v1.XX/<group>_<version>_<Kind>.json` with a `../` group would
    have found it; returns that apiVersion."""
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "evil_v1_Evil.json").write_text(json.dumps(PLANTED))
    up = os.path.relpath(tmp_path / "x", pinned_schemas() / "components" / f"v{components.covered_minors()[0]}")
    assert (pinned_schemas() / "components" / f"v{components.covered_minors()[0]}" / up / "evil_v1_Evil.json").is_file()
    return f"{up}/evil/v1"


def test_component_lookup_never_leaves_the_pinned_data(tmp_path: Path) -> None:
    api_version = _plant(tmp_path)
    assert components.lookup("1.33", api_version, "Evil") is None
    assert components.unserved("1.33", api_version, "Evil") is None
    store = SchemaStore.for_version("1.33")
    text = f"apiVersion: {api_version}\nkind: Evil\nmetadata: {{name: e}}\n"
    assert [f.rule for f in validate_text(text, Source("t.yaml"), store=store)] == ["no-schema"]


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("kubeadm.k8s.io/v1beta3", "../../../../../../../../etc/passwd"),
        ("kubeadm.k8s.io/v1beta3", "K" * 300),  # used to be OSError: file name too long
        ("/etc/v1", "X"),
        ("kubeadm.k8s.io/v1beta3\x00", "ClusterConfiguration"),
    ],
)
def test_hostile_names_are_just_unknown(api_version: str, kind: str) -> None:
    assert components.lookup("1.33", api_version, kind) is None
    assert pinned_crds.pinned_crd_lookup(api_version, kind, {}) is None


def test_pinned_crds_never_leave_the_pinned_data(tmp_path: Path) -> None:
    """Neither the cell's calico_version nor the document picks a directory outside the pins."""
    project = pinned_schemas() / "crds" / "calico"
    evil = tmp_path / "3.99.0"
    evil.mkdir()
    (evil / "evil.org_v1_Evil.json").write_text(json.dumps(PLANTED))
    up = os.path.relpath(evil, project)
    for version in (up, str(evil), "../" * 12 + str(evil).lstrip("/")):
        entry = pinned_crds.pinned_crd_lookup("evil.org/v1", "Evil", {"calico_version": version})
        assert entry is None
        real = pinned_crds.pinned_crd_lookup("crd.projectcalico.org/v1", "BGPPeer", {"calico_version": version})
        assert real is not None and real.source.startswith("crds calico 3.")  # a pinned version, said so


def test_component_table_matches_the_files() -> None:
    """The lookup table (from MANIFEST.json) names exactly the component schema files."""
    root = pinned_schemas()
    on_disk = {str(p.relative_to(root)) for p in (root / "components").rglob("*.json")}
    in_table = {rel for minors in components._files().values() for rel in minors.values()}
    assert in_table == on_disk
