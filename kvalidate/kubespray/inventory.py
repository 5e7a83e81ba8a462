"""A user's own inventory as a cell: a hosts file (INI or YAML) with `group_vars/` and
`host_vars/` beside it, read from any `Tree` (the checkout, or the directory holding it).

The hosts file is parsed by the engine's reader (`kvalidate.ansible.inventory_file`). On top,
`group_vars/NAME` is read for every NAME in the directory, also groups the inventory does not
declare: Kubespray creates `k8s_cluster` at run time (`dynamic_groups`), and ansible-core loads
host_group_vars on demand, so `group_vars/k8s_cluster/` applies to it.
"""

from __future__ import annotations

import posixpath

from kvalidate.ansible.inventory_file import load_inventory
from kvalidate.ansible.loader import LoadError
from kvalidate.kubespray.facts import DEFAULT_OS
from kvalidate.kubespray.inputs import read_vars_dir
from kvalidate.kubespray.layouts import HostLayout
from kvalidate.kubespray.scenario import CellSpec
from kvalidate.model import SetupError
from kvalidate.trees.directory import Tree, TreeError


def inventory_cell(tree: Tree, path: str, name: str = "inventory", os: str = DEFAULT_OS) -> CellSpec:
    """The cell of the inventory file `path` in `tree` (no extra vars; the OS preset `os`)."""
    try:
        inv = load_inventory(tree, path)
    except LoadError as e:  # the file and line, as ansible-playbook names them: exit 2, not a finding
        where = f"{e.path}:{e.line}" if e.line else e.path
        raise SetupError(f"cannot read inventory {where} in {tree.label}: {e}") from e
    except (TreeError, OSError, ValueError) as e:
        raise SetupError(f"cannot read inventory {path} in {tree.label}: {e}") from e
    if not inv.hosts:  # Kubespray's inventory/sample/inventory.ini: every host line commented out
        declared = [g.name for g in inv.groups.values() if g.name not in ("all", "ungrouped")]
        raise SetupError(f"inventory {posixpath.join(tree.label, path)} declares no host, so nothing would be rendered "
                         f"(groups: {', '.join(declared) or 'none'}); add or uncomment its host lines")
    groups = {g.name: tuple(g.hosts) for g in inv.groups.values()
              if g.name not in ("all", "ungrouped") and (g.hosts or not g.children)}
    children = {g.name: tuple(g.children) for g in inv.groups.values() if g.children and g.name != "all"}
    group_vars = {g.name: dict(g.vars) for g in inv.groups.values() if g.vars}
    for g, v in read_vars_dir(tree, posixpath.join(posixpath.dirname(path), "group_vars")).items():
        group_vars.setdefault(g, v)  # groups the file declares already carry their group_vars
    host_vars = {h: dict(v) for h, v in inv.host_vars.items() if v}
    return CellSpec(name=name, inventory=HostLayout(tuple(inv.hosts), groups, children, host_vars), os=os,
                    layout="inventory", group_vars=group_vars, inventory_source=path)
