"""Inventory: hosts, groups (with children), group and host variables, host facts.

Built from plain data (`Inventory.from_data`, what the Kubespray layer generates for CI layouts)
or read from a hosts file in INI or YAML with `group_vars/` and `host_vars/` beside it
(`load_inventory`, in `inventory_file.py`). Group variable precedence is Ansible's: `all`
lowest, then groups by depth (a child beats its parent), then by name; host vars beat them all.
`match()` implements host patterns (`a:b`, `a,b`, `a:&b`, `a:!b`, `all`, `*` wildcards,
`group[0]`, `group[1:]`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# ansible.constants.LOCALHOST: names a pattern matches as the implicit localhost when nothing else does
LOCALHOST_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass
class Group:
    name: str
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)


class Inventory:
    """Mutable during a run only through `add_host_to_group` (group_by, add_host)."""

    def __init__(self, hosts: Iterable[str], groups: Mapping[str, Group],
                 host_vars: Mapping[str, Mapping[str, Any]] | None = None,
                 facts: Mapping[str, Mapping[str, Any]] | None = None, source: str = "") -> None:
        self.hosts: list[str] = list(dict.fromkeys(hosts))
        self.groups: dict[str, Group] = {n: Group(g.name, list(g.hosts), list(g.children), dict(g.vars))
                                         for n, g in groups.items()}
        self.groups.setdefault("all", Group("all"))
        self.groups.setdefault("ungrouped", Group("ungrouped"))
        self.host_vars: dict[str, dict[str, Any]] = {h: dict((host_vars or {}).get(h, {})) for h in self.hosts}
        self.facts: dict[str, dict[str, Any]] = {h: dict((facts or {}).get(h, {})) for h in self.hosts}
        self.source = source  # path of the inventory file in the tree ("" for plain data)

    @classmethod
    def from_data(cls, hosts: Mapping[str, Iterable[str]], group_vars: Mapping[str, Mapping[str, Any]] | None = None,
                  host_vars: Mapping[str, Mapping[str, Any]] | None = None,
                  facts: Mapping[str, Mapping[str, Any]] | None = None,
                  children: Mapping[str, Iterable[str]] | None = None) -> Inventory:
        """hosts: host -> its groups (direct membership); children: group -> child groups."""
        groups: dict[str, Group] = {}
        for host, names in hosts.items():
            for g in names:
                groups.setdefault(g, Group(g)).hosts.append(host)
        for parent, kids in (children or {}).items():
            grp = groups.setdefault(parent, Group(parent))
            for kid in kids:
                groups.setdefault(kid, Group(kid))
                grp.children.append(kid)
        for g, gv in (group_vars or {}).items():
            groups.setdefault(g, Group(g)).vars.update(gv)
        return cls(hosts, groups, host_vars, facts)

    # -- structure --------------------------------------------------------------------------------
    def _parents(self) -> dict[str, list[str]]:
        parents: dict[str, list[str]] = {}
        for g in self.groups.values():
            for kid in g.children:
                parents.setdefault(kid, []).append(g.name)
        return parents

    def members(self, group: str) -> list[str]:
        """`groups[group]`: own hosts, then descendants' (inventory order for `all`)."""
        if group == "all":
            return list(self.hosts)
        if group == "ungrouped":
            return [h for h in self.hosts if not self.direct_groups(h)] + list(self.groups["ungrouped"].hosts)
        out: list[str] = []
        seen: set[str] = set()
        todo = [group]
        while todo:
            g = todo.pop(0)
            if g in seen or g not in self.groups:
                continue
            seen.add(g)
            out += [h for h in self.groups[g].hosts if h not in out]
            todo += self.groups[g].children
        return out

    def direct_groups(self, host: str) -> list[str]:
        return [g.name for g in self.groups.values() if host in g.hosts and g.name not in ("all", "ungrouped")]

    def groups_map(self) -> dict[str, list[str]]:
        return {name: self.members(name) for name in self.groups}

    def group_names(self, host: str) -> list[str]:
        names = {g for g in self.groups if g != "all" and host in self.members(g)}
        return sorted(names or {"ungrouped"})

    def depth(self, group: str) -> int:
        parents = self._parents()
        seen: set[str] = set()

        def d(g: str) -> int:
            if g == "all" or g in seen:
                return 0
            seen.add(g)
            return 1 + max((d(p) for p in parents.get(g, [])), default=0)

        return d(group)

    def group_chain(self, host: str) -> list[Group]:
        """The host's groups, lowest precedence first: all, then by (depth, name)."""
        names = [g for g in self.group_names(host) if g in self.groups]
        ordered = sorted(names, key=lambda g: (self.depth(g), g))
        return [self.groups["all"], *(self.groups[g] for g in ordered)]

    def add_host_to_group(self, host: str, group: str, parents: Iterable[str] = ()) -> None:
        if host not in self.hosts:
            self.hosts.append(host)
            self.host_vars.setdefault(host, {})
            self.facts.setdefault(host, {})
        grp = self.groups.setdefault(group, Group(group))
        if host not in grp.hosts:
            grp.hosts.append(host)
        for p in parents:
            pg = self.groups.setdefault(p, Group(p))
            if group not in pg.children:
                pg.children.append(group)

    # -- host patterns ----------------------------------------------------------------------------
    def match(self, pattern: str | list[str]) -> list[str]:
        """Hosts matching an Ansible host pattern, in pattern order (InventoryManager.get_hosts with
        the default `order: inventory` keeps the order patterns are evaluated in: `etcd:kube_node`
        lists etcd hosts first; `&` and `!` parts only filter)."""
        parts = pattern if isinstance(pattern, list) else re.split(r"[:,](?![^\[]*\])", pattern.strip())
        # order_patterns: plain patterns first, then intersections, then exclusions
        ordered = sorted((p.strip() for p in parts if p.strip()), key=lambda p: {"&": 1, "!": 2}.get(p[0], 0))
        chosen: list[str] = []
        for raw in ordered:
            if raw.startswith("!"):
                drop = set(self._one(raw[1:]))
                chosen = [h for h in chosen if h not in drop]
            elif raw.startswith("&"):
                keep = set(self._one(raw[1:]))
                chosen = [h for h in chosen if h in keep]
            else:
                found = self._one(raw)
                if not found and raw in LOCALHOST_NAMES:
                    found = [raw]  # InventoryManager._enumerate_matches: the implicit localhost
                chosen += [h for h in found if h not in chosen]
        return chosen

    def _one(self, pat: str) -> list[str]:
        sub = re.fullmatch(r"(.+)\[(-?\d*)(?::(-?\d*))?\]", pat)
        if sub:
            hosts = self._one(sub.group(1))
            start = int(sub.group(2)) if sub.group(2) else 0
            if sub.group(3) is None and ":" not in pat[pat.rfind("["):]:
                return [hosts[start]] if -len(hosts) <= start < len(hosts) else []
            end = int(sub.group(3)) + 1 if sub.group(3) else None
            return hosts[start:end]
        if pat in ("all", "*"):
            return list(self.hosts)
        if pat in self.groups:
            return self.members(pat)
        if pat in self.hosts:
            return [pat]
        if any(c in pat for c in "*?["):
            groups = [g for g in self.groups if fnmatch.fnmatchcase(g, pat)]
            out = [h for h in self.hosts if fnmatch.fnmatchcase(h, pat)]
            for g in groups:
                out += [h for h in self.members(g) if h not in out]
            return out
        return []
