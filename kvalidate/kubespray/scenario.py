"""Cells as Kubespray runs them: a CI scenario, or the default cell a new user gets.

A CI scenario (`tests/files/X.yml`) runs as `ansible-playbook -e @tests/common_vars.yml
-e @tests/files/X.yml cluster.yml` on CI's inventory: no group_vars where CI keeps it outside the
checkout (master), the sample's group_vars where CI writes it into `inventory/sample`
(release-2.23..2.27, `checkout.ci_inventory_dir`); the hosts and groups of
its `cluster_layout` (or of `scenarios[mode]`, `mode` defaulting to `default`), the OS of its
`cloud_image`. The instance keys (`cloud_image`, `mode`, `vm_*`,
`cluster_layout`) stay in the extra vars, as in CI, where they are inert.

The default cell is what copying `inventory/sample` gives: its `group_vars/`, hosts node1 and
node2 (kube_control_plane, etcd, kube_node) and node3 (etcd, kube_node), Ubuntu 24.04 facts.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from kvalidate.ansible.loader import plain_yaml
from kvalidate.ansible.patterns import check_limit
from kvalidate.kubespray.checkout import Checkout, version_for_minor
from kvalidate.kubespray.facts import DEFAULT_OS
from kvalidate.kubespray.layouts import (
    CI_LAYOUTS,
    LEGACY_LAYOUTS,
    VAGRANT_LAYOUT,
    HostLayout,
    default_inventory,
    layout_inventory,
    legacy_layout_inventory,
    parse_cluster_layout,
    renamed,
)
from kvalidate.kubespray.playbooks import fact_cache_mode, playbook_path
from kvalidate.model import Cell, SetupError
from kvalidate.trees.directory import Tree, TreeError

COMMON_VARS = "tests/common_vars.yml"
SCENARIO_DIR = "tests/files"
PACKET_CI = "tests/cloud_playbooks/roles/packet-ci"
SAMPLE_GROUP_VARS = "inventory/sample/group_vars"


@dataclass(frozen=True)
class CellSpec:
    """What a cell runs with, before any templating. Vars are raw (strings may hold Jinja)."""

    name: str
    inventory: HostLayout
    os: str
    layout: str  # CI mode, "cluster_layout", "vagrant", or "sample" for the default cell
    extra_var_files: tuple[str, ...] = ()  # tree paths, lowest precedence first
    extra_vars: Mapping[str, Any] = field(default_factory=dict)  # merged, top-level keys replace
    group_vars_dir: str | None = None  # checkout path of the inventory's group_vars/, if any
    group_vars: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # already read (user inventory)
    inventory_source: str = ""  # inventory file path: `inventory_dir`, hence `credentials_dir`
    playbook: str = ""  # tree path of the playbook run ("" = the checkout's cluster.yml)
    limit: str = ""  # ansible-playbook --limit pattern ("" = every host)
    fact_cache: str = ""  # with a limit: "facts.yml" or "none" (kubespray.playbooks)


def read_vars_file(tree: Tree, path: str) -> dict[str, Any]:
    """A vars file (`-e @FILE`) as a mapping; SetupError if unreadable or not a mapping."""
    try:
        data = plain_yaml(tree.read_text(path))  # libyaml, kept across runs (ansible.loader)
    except (TreeError, yaml.YAMLError) as e:
        raise SetupError(f"cannot read vars file {path}: {e}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SetupError(f"vars file {path} is not a mapping")
    return data


def read_ci_layouts(tree: Tree) -> dict[str, tuple[tuple[str, ...], ...]]:
    """`scenarios:` of the checkout's packet-ci role (master/2.27), else master's CI_LAYOUTS."""
    path = f"{PACKET_CI}/vars/main.yml"
    if not tree.is_file(path):
        return dict(CI_LAYOUTS)
    scenarios = read_vars_file(tree, path).get("scenarios")
    if not isinstance(scenarios, dict):
        return dict(CI_LAYOUTS)
    try:
        return {str(k): parse_cluster_layout(v) for k, v in scenarios.items()}
    except ValueError as e:
        raise SetupError(f"{path}: {e}") from e


def find_scenario(tree: Tree, scenario: str) -> str:
    """Tree path of a scenario given as a path or a name (`ubuntu24-calico-all-in-one`; the
    `packet_`/`vagrant_` prefixes of <= 2.27 are tried too)."""
    base = posixpath.basename(scenario.removesuffix(".yml"))
    cands = [scenario, f"{SCENARIO_DIR}/{scenario}"] + [
        f"{SCENARIO_DIR}/{p}{base}.yml" for p in ("", "packet_", "vagrant_")]
    # the extension-less files beside the scenarios are bash env files, not vars
    for c in (c for c in cands if c.endswith((".yml", ".yaml"))):
        try:
            if tree.is_file(c):
                return c
        except TreeError:
            continue
    raise SetupError(f"no scenario {scenario!r} in {tree.label} (looked in {SCENARIO_DIR}/)")


def scenario_inventory(checkout: Checkout, path: str, data: Mapping[str, Any]) -> tuple[HostLayout, str]:
    """The CI inventory of a scenario file and its layout label."""
    tree, static = checkout.tree, checkout.inventory_needs_k8s_cluster
    if "cluster_layout" in data:
        try:
            return layout_inventory(parse_cluster_layout(data["cluster_layout"]),
                                    static_k8s_cluster=static), "cluster_layout"
        except ValueError as e:
            raise SetupError(f"{path}: cluster_layout: {e}") from e
    if tree.is_file(path.removesuffix(".yml") + ".rb"):
        return layout_inventory(VAGRANT_LAYOUT, prefix="k8s-", static_k8s_cluster=True), "vagrant"
    mode = str(data.get("mode", "default"))
    if tree.is_file(f"{PACKET_CI}/templates/inventory.j2") and mode in LEGACY_LAYOUTS:
        return legacy_layout_inventory(mode), mode
    layouts = read_ci_layouts(tree)
    if mode not in layouts:
        raise SetupError(f"{path}: unknown CI mode {mode!r} (known: {', '.join(layouts)})")
    return layout_inventory(layouts[mode], static_k8s_cluster=static), mode


def scenario_cell(checkout: Checkout, scenario: str) -> CellSpec:
    """The cell of a CI scenario (name or tree path), as CI runs it."""
    tree = checkout.tree
    path = find_scenario(tree, scenario)
    files = tuple(p for p in (COMMON_VARS,) if tree.is_file(p)) + (path,)
    merged: dict[str, Any] = {}
    for f in files:
        merged.update(read_vars_file(tree, f))
    data = read_vars_file(tree, path)
    inventory, layout = scenario_inventory(checkout, path, data)
    name = posixpath.basename(path).removesuffix(".yml")
    # CI's inventory inside the checkout (inventory/sample on release-2.23..2.27): its group_vars apply
    ci_dir = checkout.ci_inventory_dir
    gv = f"{ci_dir}/group_vars" if ci_dir and tree.is_dir(f"{ci_dir}/group_vars") else None
    return CellSpec(name=name, inventory=inventory, os=str(data.get("cloud_image") or DEFAULT_OS),
                    layout=layout, extra_var_files=files, extra_vars=merged, group_vars_dir=gv,
                    inventory_source=f"{ci_dir}/{name}.ini" if gv else "")


def default_cell(checkout: Checkout) -> CellSpec:
    """The cell of a copied `inventory/sample`: its group_vars, the 3-node default inventory."""
    gv = SAMPLE_GROUP_VARS if checkout.tree.is_dir(SAMPLE_GROUP_VARS) else None
    return CellSpec(name="default", inventory=default_inventory(checkout.inventory_needs_k8s_cluster),
                    os=DEFAULT_OS, layout="sample", group_vars_dir=gv,
                    inventory_source="inventory/sample/hosts.yml" if gv else "")


def with_overrides(cell: CellSpec, extra_vars: Mapping[str, Any] | None = None,
                   extra_var_files: Sequence[str] = (), inventory: HostLayout | None = None,
                   layout: str | None = None, os: str | None = None) -> CellSpec:
    """`-e`/`--vars` on top (highest precedence, top-level keys replace), `--layout`, `--os`.

    `extra_vars` must already hold the contents of `extra_var_files` (which may lie outside the
    checkout); the file names are kept to describe the cell.
    """
    merged = dict(cell.extra_vars)
    merged.update(extra_vars or {})
    return replace(cell, extra_vars=merged, extra_var_files=cell.extra_var_files + tuple(extra_var_files),
                   inventory=inventory or cell.inventory, layout=layout or cell.layout, os=os or cell.os)


def layout_by_name(checkout: Checkout, name: str) -> HostLayout:
    """`--layout NAME`: a CI mode of this checkout (hosts instance-1..N)."""
    tree = checkout.tree
    if tree.is_file(f"{PACKET_CI}/templates/inventory.j2") and name in LEGACY_LAYOUTS:
        return legacy_layout_inventory(name)
    layouts = read_ci_layouts(tree)
    if name not in layouts:
        raise SetupError(f"unknown layout {name!r} (known: {', '.join(layouts)})")
    return layout_inventory(layouts[name], static_k8s_cluster=checkout.inventory_needs_k8s_cluster)


def kube_version_value(checkout: Checkout, wanted: str) -> str:
    """The `kube_version` to render for a matrix value: "1.33" -> the newest 1.33 patch the
    checkout supports; a full supported version is kept, spelled as the branch spells it."""
    for v in checkout.kube_versions:
        if v.lstrip("v") == wanted.lstrip("v"):
            return v
    return version_for_minor(checkout, wanted)


def cell_spec(checkout: Checkout, cell: Cell, base: CellSpec | None = None) -> CellSpec:
    """A matrix `Cell` on this checkout: `base` (a user's inventory, `inventory.inventory_cell`),
    else its scenario, else the default cell; then its layout, OS, extra vars and Kubernetes
    version on top."""
    spec = base or (scenario_cell(checkout, cell.scenario) if cell.scenario else default_cell(checkout))
    extra = dict(cell.extra_vars)
    if cell.kube_version:
        extra["kube_version"] = kube_version_value(checkout, cell.kube_version)
    spec = with_overrides(spec, extra, inventory=layout_by_name(checkout, cell.layout) if cell.layout else None,
                          layout=cell.layout or None, os=cell.os or None)
    if base is None or cell.layout:  # a layout of ours, named as the checkout names its groups
        spec = replace(spec, inventory=renamed(spec.inventory, checkout.group_names))
    limit = check_limit(cell.limit) if cell.limit else ""
    return replace(spec, name=cell.name or spec.name, playbook=playbook_path(checkout, cell.playbook),
                   limit=limit, fact_cache=fact_cache_mode(cell.fact_cache, limit))
