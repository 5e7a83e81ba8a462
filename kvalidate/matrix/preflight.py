"""What a planned `kvalidate check` is checked for before its first cell runs: that it can check something.

A run that would check nothing must not pass: `--host` names a host of no cell, or `--inventory` is a
hosts file whose host lines are all commented out (Kubespray's `inventory/sample/inventory.ini`), is
exit 2 naming what exists. An extra variable nothing in the checkout reads (`-e typha_enabeld=true`)
changes nothing in any rendering: a warning finding naming the closest known names
(`kubespray.names`), not a failure: a variable of another branch is legitimate in a multi-ref run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kvalidate.kubespray.checkout import Checkout
from kvalidate.kubespray.names import known_names, names_in_values, scan_text, unread_vars
from kvalidate.kubespray.scenario import CellSpec, cell_spec
from kvalidate.model import Cell, Finding, SetupError, Severity
from kvalidate.run.cell import inventory_base
from kvalidate.trees.directory import DirTree, Tree
from kvalidate.trees.git import GitTree

UNUSED_VAR = "unused-extra-var"


def _bases(cells: Sequence[Cell]) -> dict[str, CellSpec | None]:
    """The user's inventory of each cell, read once per file (SetupError when it has no host)."""
    out: dict[str, CellSpec | None] = {}
    for cell in cells:
        if cell.inventory and cell.inventory not in out:
            out[cell.inventory] = inventory_base(cell)
    return out


def check_inventories(cells: Sequence[Cell]) -> None:
    """Every `--inventory` (or matrix `inventory:`) of the run is readable and declares a host."""
    _bases(cells)


def check_hosts(checkout: Checkout, cells: Sequence[Cell], hosts: Sequence[str]) -> None:
    """SetupError naming the hosts that exist unless every host of `hosts` (`--host`) is a host of at
    least one of `cells` (all cells of the run, before sharding)."""
    if not hosts:
        return
    bases = _bases(cells)
    seen: dict[str, None] = {}
    for cell in cells:
        spec = cell_spec(checkout, cell, bases.get(cell.inventory) if cell.inventory else None)
        seen.update(dict.fromkeys(spec.inventory.hosts))
    missing = [h for h in dict.fromkeys(hosts) if h not in seen]
    if missing:
        cells_said = f"the cell {cells[0].name}" if len(cells) == 1 else f"any of the {len(cells)} cells"
        raise SetupError(f"--host {', '.join(missing)}: no such host in {cells_said}; "
                         f"the hosts are {', '.join(seen) or 'none'}")


def _config_line(config: str, name: str) -> int:
    """The line of the matrix file where `name` is first set as a key (0 if not found)."""
    try:
        text = Path(config).read_text(encoding="utf-8")
    except OSError:
        return 0
    key = re.compile(rf"(^|[\s{{,\-])['\"]?{re.escape(name)}['\"]?\s*:")
    for number, line in enumerate(text.splitlines(), 1):
        if key.search(line.split("#", 1)[0]):
            return number
    return 0


def _tree(root: Path, ref: str) -> Tree:
    return GitTree(root, ref) if ref else DirTree(root)


def checkout_names(root: Path, refs: Sequence[str]) -> frozenset[str]:
    """The names the checkout knows, at every ref of the run (a name of any one ref is known)."""
    names: set[str] = set()
    for ref in refs or ("",):
        tree = _tree(root, ref)
        try:
            names |= known_names(tree)
        finally:
            if isinstance(tree, GitTree):
                tree.close()
    return frozenset(names)


def inventory_names(cells: Iterable[Cell]) -> set[str]:
    """Names a user's inventory (outside the checkout) reads: its hosts file, group_vars, host_vars."""
    out: set[str] = set()
    for path in {c.inventory for c in cells if c.inventory}:
        p = Path(path)
        out |= known_names(DirTree(p.parent), ("group_vars", "host_vars"), top_level=False)
        try:
            out |= scan_text(p.read_bytes())
        except OSError:
            continue
    return out


def unused_var_findings(root: Path, refs: Sequence[str], cells: Sequence[Cell],
                        command_line: Mapping[str, Any], config: str = "") -> list[Finding]:
    """A warning per extra variable of the run (`-e`/`--vars`: `command_line`; the matrix file
    `config`: every other variable the cells set) that nothing in the checkout reads, with the closest
    known names. Variables read by another extra variable's value (`-e 'b={{ a }}'`) or by the user's
    inventory count as read."""
    given: dict[str, None] = {}
    values: list[Any] = []
    for cell in cells:
        given.update(dict.fromkeys(cell.extra_vars))
        values.extend(cell.extra_vars.values())
    given.update(dict.fromkeys(command_line))
    values.extend(command_line.values())
    if not given:
        return []
    known = checkout_names(root, refs)
    also = names_in_values(values) | inventory_names(cells)
    out = []
    for unread in unread_vars(given, known, also):
        if unread.name in command_line or not config:
            out.append(Finding(Severity.WARNING, UNUSED_VAR, unread.message("-e/--vars")))
        else:
            out.append(Finding(Severity.WARNING, UNUSED_VAR, unread.message(f"set in {config}"), file=config,
                               line=_config_line(config, unread.name)))
    return out
