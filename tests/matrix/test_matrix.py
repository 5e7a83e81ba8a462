"""covering.py, config.py, matrix.py and `kvalidate merge`."""

from __future__ import annotations

import itertools
import json
import shlex
from pathlib import Path

import pytest

from kvalidate.cli import main
from kvalidate.matrix.config import parse_config
from kvalidate.matrix.covering import covering_rows, uncovered
from kvalidate.matrix.expand import expand, parse_shard, reproduce, shard
from kvalidate.model import Cell, SetupError


@pytest.mark.parametrize(
    ("axes", "strength", "at_most"),
    [
        ({f"f{i}": [True, False] for i in range(10)}, 2, 10),
        ({f"f{i}": [True, False] for i in range(10)}, 3, 20),
        ({f"f{i}": [True, False] for i in range(30)}, 2, 14),
        ({"plugin": ["calico", "cilium", "flannel", "kube-ovn"], "typha": [True, False], "secure": [True, False],
          "kube": ["1.31", "1.32", "1.33"], "layout": ["default", "ha", "separate"]}, 2, 16),
        ({"a": [1, 2, 3]}, 2, 3),
    ],
)
def test_covering_arrays_cover_every_tuple_in_few_rows(axes: dict[str, list[object]], strength: int,
                                                       at_most: int) -> None:
    rows = covering_rows(axes, strength)
    assert uncovered(axes, rows, strength) == []
    assert len(rows) <= at_most
    full = 1
    for v in axes.values():
        full *= len(v)
    assert len(rows) <= full
    assert covering_rows(axes, strength) == rows  # deterministic


def test_uncovered_detects_a_missing_pair() -> None:
    axes = {"a": [True, False], "b": [True, False]}
    missing = uncovered(axes, [{"a": True, "b": True}])
    assert sorted(map(str, missing)) == sorted(map(str, [{"a": False, "b": False}, {"a": False, "b": True},
                                                         {"a": True, "b": False}]))


def test_exclusions_are_honoured_and_the_rest_still_covered() -> None:
    axes = {"plugin": ["calico", "cilium"], "typha": [True, False], "secure": [True, False]}
    rules = [{"plugin": ["cilium"], "typha": [True]}]
    rows = covering_rows(axes, 2, rules)
    assert not [r for r in rows if r["plugin"] == "cilium" and r["typha"]]
    assert uncovered(axes, rows, 2, rules) == []


def test_pairs_with_a_gate_find_the_typha_bug_shape() -> None:
    # three flags, the bug needs typha_secure and calico_ipam_host_local on together
    axes = {f: [True, False] for f in ("typha_enabled", "typha_secure", "calico_ipam_host_local", "x", "y")}
    rows = covering_rows(axes, 2)
    assert any(r["typha_secure"] and r["calico_ipam_host_local"] for r in rows)


MATRIX = """\
vars:
  kube_network_plugin: calico
axes:
  typha_enabled: [true, false]
  typha_secure: [true, false]
  calico_ipam_host_local: [true, false]
  calico_network_backend: [bird, vxlan]
pairwise:
  - [typha_enabled, typha_secure, calico_ipam_host_local]
layouts: [default, ha]
kube_versions: supported
exclude:
  - {typha_enabled: false, typha_secure: true}
  - {layout: ha, kube_version: "1.31"}
include:
  - {typha_enabled: true, layout: separate}
cells:
  typha-bug:
    vars: {typha_enabled: true, typha_secure: true, calico_ipam_host_local: true}
    kube_version: "1.33"
"""


def test_expand_crosses_products_covering_rows_and_dimensions() -> None:
    cfg = parse_config(MATRIX, "kvalidate.yaml")
    cells = expand(cfg, kube_versions=["1.31", "1.32"])
    names = [c.name for c in cells]
    assert len(names) == len(set(names))
    assert names[-1] == "typha-bug" and cells[-1].kube_version == "1.33"
    assert "layout=separate,typha_enabled=true" in names
    assert not [c for c in cells if c.layout == "ha" and c.kube_version == "1.31"]
    assert not [c for c in cells if c.extra_vars.get("typha_enabled") is False and c.extra_vars.get("typha_secure")]
    assert all(c.extra_vars["kube_network_plugin"] == "calico" for c in cells)
    generated = [c for c in cells if c.name not in ("typha-bug", "layout=separate,typha_enabled=true")]
    # pairwise rows (3 flags, minus excluded pairs) x 2 backends x (2 layouts x 2 minors - 1 excluded)
    rows = covering_rows({k: [True, False] for k in ("typha_enabled", "typha_secure", "calico_ipam_host_local")},
                         2, [{"typha_enabled": [False], "typha_secure": [True]}])
    assert len(generated) == len(rows) * 2 * 3
    full = 2 ** 4 * 2 * 2
    assert len(cells) < full


def test_reproduce_command_types_values_as_ansible_reads_them() -> None:
    cfg = parse_config(MATRIX, "kvalidate.yaml")
    cell = expand(cfg, kube_versions=["1.32"])[-1]
    assert cell.command == reproduce(cell)
    assert cell.command == ("kvalidate check . --no-config --kube-version 1.33 -e kube_network_plugin=calico "
                            "-e '{\"typha_enabled\": true, \"typha_secure\": true, \"calico_ipam_host_local\": true}'")


@pytest.mark.parametrize(("extra_vars", "args"), [
    ({"a": "x"}, ["-e", "a=x"]),
    ({"a": "x y"}, ["-e", '{"a": "x y"}']),
    ({"a": ""}, ["-e", '{"a": ""}']),
    ({"a": "k=v"}, ["-e", '{"a": "k=v"}']),
    ({"a": 1, "b": [1], "c": "s"}, ["-e", "c=s", "-e", '{"a": 1, "b": [1]}']),
])
def test_reproduce_extra_vars_round_trip(extra_vars: dict[str, object], args: list[str]) -> None:
    from kvalidate.ansible import parse_extra_vars

    command = reproduce(Cell("c", extra_vars=extra_vars))
    assert shlex.split(command)[4:] == args
    assert parse_extra_vars([a for a in args if a != "-e"]) == extra_vars


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_partition_the_cells(count: int) -> None:
    cells = expand(parse_config(MATRIX, "kvalidate.yaml"), kube_versions=["1.31", "1.32"])
    parts = [shard(cells, i, count) for i in range(1, count + 1)]
    names = [c.name for p in parts for c in p]
    assert sorted(names) == sorted(c.name for c in cells)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert shard(list(reversed(cells)), 1, count) == parts[0]


@pytest.mark.parametrize(("spec", "ok"), [("1/1", True), ("2/4", True), ("0/4", False), ("5/4", False),
                                          ("a/b", False), ("3", False)])
def test_parse_shard(spec: str, ok: bool) -> None:
    if ok:
        assert parse_shard(spec)
    else:
        with pytest.raises(SetupError):
            parse_shard(spec)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("axes:\n  a: [1]\n  b: 3\n", "kvalidate.yaml:3: axes.b: 3 is not of type \"array\""),
        ("axes:\n  a: [1, 2]\nlayouts: [default, huge]\n", "kvalidate.yaml:3: layouts[1]:"),
        ("axes:\n  a: [1, 2]\npairwise:\n  - [a, c]\n", "kvalidate.yaml:4: pairwise names 'c', which is not an axis"),
        ("axis:\n  a: [1]\n", "kvalidate.yaml:1: axis:"),
        ("axes:\n  a: [1]\naxes:\n  b: [2]\n", "kvalidate.yaml:3: axes is set twice (first at line 1)"),
        ("axes: [1\n", "kvalidate.yaml:2: invalid YAML"),
        ("kube_versions: latest\n", "kvalidate.yaml:1: kube_versions:"),
        ("auto: true\nauto_max_cells: 0\n", "kvalidate.yaml:2: auto_max_cells: 0 is less than the minimum of 1"),
        ("auto: yes please\n", "kvalidate.yaml:1: auto: \"yes please\" is not of type \"boolean\""),
    ],
)
def test_bad_matrix_files_name_the_line(text: str, message: str) -> None:
    with pytest.raises(SetupError) as e:
        parse_config(text, "kvalidate.yaml")
    assert str(e.value).startswith(message)


def test_merge_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ok = tmp_path / "ok.yaml"
    ok.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndta: {}\n")
    assert main(["validate", str(ok), "-f", f"json={tmp_path}/1.json"]) == 0
    assert main(["validate", str(bad), "-f", f"json={tmp_path}/2.json"]) == 1
    capsys.readouterr()
    assert main(["merge", f"{tmp_path}/1.json", f"{tmp_path}/2.json", "-f", f"json={tmp_path}/m.json"]) == 1
    merged = json.loads((tmp_path / "m.json").read_text())
    assert merged["summary"]["documents"] == 2 and [f["path"] for f in merged["findings"]] == ["dta"]
    assert main(["merge", str(ok)]) == 2
    assert capsys.readouterr().err.startswith(f"kvalidate: {ok} is not a kvalidate JSON report")


def test_auto_settings_are_read() -> None:
    cfg = parse_config("auto: true\nauto_max_cells: 5\n", "kvalidate.yaml")
    assert (cfg.auto, cfg.auto_max_cells) == (True, 5)
    assert parse_config("axes: {a: [1]}\n", "kvalidate.yaml").auto_max_cells == 64


def test_config_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config-schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert set(schema["properties"]) >= {"axes", "pairwise", "kube_versions", "include", "exclude", "cells"}


def test_full_product_when_no_pairwise() -> None:
    cfg = parse_config("axes:\n  a: [1, 2]\n  b: [p, q, r]\n", "k.yaml")
    cells = expand(cfg)
    assert sorted((c.extra_vars["a"], c.extra_vars["b"]) for c in cells) == sorted(
        itertools.product([1, 2], ["p", "q", "r"]))


UPGRADE = """\
playbooks: [cluster.yml, upgrade-cluster.yml]
limits: ["", "kube_node:!kube_control_plane"]
exclude:
  - {playbook: cluster.yml, limit: "kube_node:!kube_control_plane"}
cells:
  node-upgrade-nocache:
    playbook: upgrade-cluster.yml
    limit: "kube_node:!kube_control_plane"
    fact_cache: none
"""


def test_playbook_limit_and_fact_cache_are_cells() -> None:
    """The node-based upgrade as cells: playbook and limit crossed (an exclusion drops a limited
    install), a named cell without the fact cache; names and reproduce commands carry them."""
    cells = expand(parse_config(UPGRADE, "kvalidate.yaml"))
    assert [(c.name, c.playbook, c.limit, c.fact_cache) for c in cells] == [
        ("playbook=cluster.yml", "cluster.yml", "", ""),
        ("playbook=upgrade-cluster.yml", "upgrade-cluster.yml", "", ""),
        ("playbook=upgrade-cluster.yml,limit=kube_node:!kube_control_plane", "upgrade-cluster.yml",
         "kube_node:!kube_control_plane", ""),
        ("node-upgrade-nocache", "upgrade-cluster.yml", "kube_node:!kube_control_plane", "none"),
    ]
    assert shlex.split(cells[-1].command)[4:] == ["--playbook", "upgrade-cluster.yml", "--limit",
                                                  "kube_node:!kube_control_plane", "--fact-cache", "none"]
    crossed = expand(parse_config("limits: [node3]\nfact_caches: [facts.yml, none]\n", "k.yaml"))
    assert [c.name for c in crossed] == ["limit=node3,fact_cache=facts.yml", "limit=node3,fact_cache=none"]


@pytest.mark.parametrize(("text", "message"), [
    ("fact_caches: [jsonfile]\n", "kvalidate.yaml:1: fact_caches[0]:"),
    ("cells:\n  c: {playbook: ''}\n", "kvalidate.yaml:2: cells.c.playbook:"),
    ("cells:\n  c: {fact_cache: memory}\n", "kvalidate.yaml:2: cells.c.fact_cache:"),
    ("limits: []\n", "kvalidate.yaml:1: limits: [] has less than 1 item"),
])
def test_bad_playbook_axes_name_the_line(text: str, message: str) -> None:
    with pytest.raises(SetupError) as e:
        parse_config(text, "kvalidate.yaml")
    assert str(e.value).startswith(message)


def test_config_schema_describes_the_playbook_axes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config-schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"playbooks", "limits", "fact_caches"} <= set(schema["properties"])
    named = schema["properties"]["cells"]["additionalProperties"]["properties"]
    assert {"playbook", "limit", "fact_cache"} <= set(named)
    assert "upgrade-cluster.yml" in schema["properties"]["playbooks"]["description"]
