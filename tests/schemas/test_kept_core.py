"""The API kinds' index and schemas kept across runs (`CoreSchemas(minor, kept)`, what `run.cell`
hands in: the parsed-data cache): the same schemas as built from the data file, and a later process
reads no definitions file at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvalidate.ansible.codecache import DATA_PREFIX, CodeCache
from kvalidate.schemas import core
from kvalidate.schemas.store import SchemaStore

KINDS = [("apps/v1", "DaemonSet"), ("v1", "ConfigMap"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
         ("crd.projectcalico.org/v1", "FelixConfiguration"), ("v1", "NoSuchKind")]


def test_kept_schemas_are_the_built_ones_and_a_later_process_reads_no_data_file(tmp_path: Path) -> None:
    plain = core.CoreSchemas("1.33")
    expected = {k: plain.lookup(*k) for k in KINDS}
    assert expected[("apps/v1", "DaemonSet")] is not None and expected[("v1", "NoSuchKind")] is None

    first = CodeCache(tmp_path, DATA_PREFIX)
    built = core.CoreSchemas("1.33", first)
    assert {k: built.lookup(*k) for k in KINDS} == expected and built.index == plain.index
    first.flush()

    later = core.CoreSchemas("1.33", CodeCache(tmp_path, DATA_PREFIX))  # a new process: the file read afresh
    assert {k: later.lookup(*k) for k in KINDS} == expected and later.index == plain.index
    assert "_raw" not in vars(later)  # the 1.4 MB definitions were never parsed
    store = SchemaStore.for_version("1.33", kept=CodeCache(tmp_path, DATA_PREFIX))
    assert sorted(store.kinds()) == sorted(plain.index) and "_raw" not in vars(store.core)


def test_kept_entries_depend_on_the_code_that_built_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = CodeCache(tmp_path, DATA_PREFIX)
    core.CoreSchemas("1.33", cache).lookup("v1", "ConfigMap")
    cache.flush()
    monkeypatch.setattr(core, "_CODE", "other code")  # another kvalidate: its patches may differ
    other = core.CoreSchemas("1.33", CodeCache(tmp_path, DATA_PREFIX))
    assert other.lookup("v1", "ConfigMap") == core.CoreSchemas("1.33").lookup("v1", "ConfigMap")
    assert "_raw" in vars(other)  # built again from the data file, not read from the other code's entry


def test_a_kept_entry_of_another_shape_is_built_again(tmp_path: Path) -> None:
    cache = CodeCache(tmp_path, DATA_PREFIX)
    probe = core.CoreSchemas("1.33", cache)
    name = core.CoreSchemas("1.33").index[("v1", "ConfigMap")]
    cache.put_data(probe._kept_key(f"kind\x00{name}"), {"no": "defs"})
    cache.put_data(probe._kept_key("index"), ("not", "pairs"))
    cache.flush()
    again = core.CoreSchemas("1.33", CodeCache(tmp_path, DATA_PREFIX))
    assert again.lookup("v1", "ConfigMap") == core.CoreSchemas("1.33").lookup("v1", "ConfigMap")
