"""Reading an inventory file from a `Tree`: INI or YAML hosts, `group_vars/` and `host_vars/`
beside it (a `NAME.yml` file or a `NAME/` directory of YAML files, as Ansible reads them).

INI values are typed like ansible-core's INI plugin (`ast.literal_eval`, else the string);
`[group:vars]` and `[group:children]` sections are honoured.
"""

from __future__ import annotations

import ast
import posixpath
import shlex
from collections.abc import Mapping
from typing import Any

from kvalidate.ansible.inventory import Group, Inventory
from kvalidate.ansible.loader import Files, LoadError, _yaml_files
from kvalidate.tree import Tree


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parse_ini(text: str, path: str) -> tuple[list[str], dict[str, Group], dict[str, dict[str, Any]]]:
    hosts: list[str] = []
    groups: dict[str, Group] = {}
    host_vars: dict[str, dict[str, Any]] = {}
    section, kind = "ungrouped", "hosts"
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise LoadError(f"invalid section header: {line}", path, n)
            section, _, kind = line[1:-1].partition(":")
            kind = kind or "hosts"
            groups.setdefault(section, Group(section))
            continue
        if kind == "vars":
            key, _, val = line.partition("=")
            groups[section].vars[key.strip()] = _value(val.strip())
        elif kind == "children":
            groups.setdefault(line, Group(line))
            groups[section].children.append(line)
        else:
            parts = shlex.split(line, comments=True)
            if not parts:
                continue
            host = parts[0]
            if host not in hosts:
                hosts.append(host)
            group = groups.setdefault(section, Group(section))
            if host not in group.hosts:
                group.hosts.append(host)
            for kv in parts[1:]:
                key, _, val = kv.partition("=")
                host_vars.setdefault(host, {})[key] = _value(val)
    return hosts, groups, host_vars


def _walk_yaml(name: str, node: Mapping[str, Any] | None, hosts: list[str], groups: dict[str, Group],
               host_vars: dict[str, dict[str, Any]]) -> None:
    group = groups.setdefault(name, Group(name))
    node = node or {}
    for host, hv in (node.get("hosts") or {}).items():
        if host not in hosts:
            hosts.append(host)
        if host not in group.hosts:
            group.hosts.append(host)
        host_vars.setdefault(host, {}).update(hv or {})
    group.vars.update(node.get("vars") or {})
    for child, sub in (node.get("children") or {}).items():
        if child not in group.children:
            group.children.append(child)
        _walk_yaml(child, sub, hosts, groups, host_vars)


def _vars_of(files: Files, directory: str, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    paths = [p for p in (f"{directory}/{name}{ext}" for ext in ("", ".yml", ".yaml", ".json"))
             if files.tree.is_file(p)]
    if files.tree.is_dir(f"{directory}/{name}"):
        paths += _yaml_files(files.tree, f"{directory}/{name}")
    for p in paths:
        data = files.yaml(p)
        if isinstance(data, Mapping):
            out.update(data)
    return out


def load_inventory(tree: Tree, path: str, facts: Mapping[str, Mapping[str, Any]] | None = None) -> Inventory:
    """An inventory file (INI or YAML) in the tree, with group_vars/ and host_vars/ beside it."""
    files = Files(tree)
    text = tree.read_text(path)
    hosts: list[str] = []
    groups: dict[str, Group] = {}
    host_vars: dict[str, dict[str, Any]] = {}
    if path.endswith((".yml", ".yaml", ".json")):
        data = files.yaml(path) or {}
        for name, node in data.items():
            _walk_yaml(name, node, hosts, groups, host_vars)
    else:
        hosts, groups, host_vars = _parse_ini(text, path)
    base = posixpath.dirname(path)
    for name in list(groups) + ["all"]:
        gv = _vars_of(files, posixpath.join(base, "group_vars"), name)
        groups.setdefault(name, Group(name)).vars.update(gv)
    for host in hosts:
        host_vars.setdefault(host, {}).update(_vars_of(files, posixpath.join(base, "host_vars"), host))
    inv = Inventory(hosts, groups, host_vars, facts, source=path)
    return inv
