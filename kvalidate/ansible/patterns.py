"""`--limit`: the hosts of an inventory inside an ansible-playbook limit pattern, as ansible-core
2.18 evaluates it.

The pattern is handed to ansible-core's own `InventoryManager.subset` over a copy of the engine's
inventory (hosts, groups and children, built through its public methods), so its grammar is
ansible-core's, not a re-implementation: `,` separates patterns when present (then `:` does not),
else `:` does; `&` intersects, `!` excludes (plain parts first, then `&`, then `!`); `all` and `*`
match every host; globs and `~regex` match group and host names; `group[0]`, `group[1:]` pick
hosts of a group; a name that matches nothing is ignored (Ansible warns), and `localhost` is the
implicit localhost. A limit file (`@FILE`) is refused: a limit names hosts, never a file to read.

ansible-core's inventory manager (~10 ms of start-up) is imported when a limit is first evaluated,
not with the engine: most runs have no `--limit`.
"""

from __future__ import annotations

import contextlib
import io

from ansible.errors import AnsibleError

from kvalidate.ansible.inventory import Inventory
from kvalidate.model import SetupError


def check_limit(pattern: str) -> str:
    """The pattern as given, or SetupError if it cannot be a limit (empty, or a `@FILE`)."""
    from ansible.inventory.manager import split_host_pattern  # deferred: see the module docstring

    parts = [p for p in split_host_pattern(pattern) if p]
    if not parts:
        raise SetupError(f"--limit {pattern!r}: no host pattern")
    for p in parts:
        if p.startswith("@"):
            raise SetupError(f"--limit {pattern!r}: limit files (@FILE) are not supported; name the hosts or groups")
    return pattern


def limit_hosts(inventory: Inventory, pattern: str) -> list[str]:
    """The inventory hosts (and the implicit localhost, when named) inside `pattern`, in the order
    ansible-core lists them. An invalid pattern (a bad regex, an out-of-range index) is a SetupError."""
    from ansible.inventory.manager import InventoryManager  # deferred: see the module docstring
    from ansible.parsing.dataloader import DataLoader

    check_limit(pattern)
    quiet = io.StringIO()  # ansible-core's own warnings ("Could not match supplied host pattern")
    with contextlib.redirect_stderr(quiet), contextlib.redirect_stdout(quiet):
        manager = InventoryManager(loader=DataLoader(), sources=None)
        for name in inventory.groups:
            manager.add_group(name)
        for host in inventory.hosts:
            direct = [g.name for g in inventory.groups.values() if host in g.hosts and g.name != "all"]
            if not direct:
                manager.add_host(host)
            for g in direct:
                manager.add_host(host, g)
        for group in inventory.groups.values():
            for kid in group.children:
                if kid in manager.groups and kid != group.name:
                    manager.groups[group.name].add_child_group(manager.groups[kid])
        manager.reconcile_inventory()
        manager.subset(pattern)
        try:
            return [h.name for h in manager.get_hosts("all")] + [
                h.name for h in manager.get_hosts(["localhost"]) if h.name not in inventory.hosts]
        except AnsibleError as e:
            raise SetupError(f"--limit {pattern!r}: {' '.join(str(e).split())}") from None
