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

import yaml

from kvalidate.ansible.inventory import Group, Inventory
from kvalidate.ansible.loader import Files, LoadError
from kvalidate.model import SetupError
from kvalidate.trees.directory import Tree


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
            if not section or kind not in ("hosts", "vars", "children"):
                # ansible-core's INI plugin: "Section [...] has unknown type: ..."
                raise LoadError(f"section {line} has unknown type: {kind}" if section else
                                f"invalid section header: {line}", path, n)
            groups.setdefault(section, Group(section))
            continue
        if kind == "vars":
            key, eq, val = line.partition("=")
            if not eq or not key.strip():
                raise LoadError(f"expected key=value, got: {line}", path, n)
            groups[section].vars[key.strip()] = _value(val.strip())
        elif kind == "children":
            groups.setdefault(line, Group(line))
            groups[section].children.append(line)
        else:
            try:
                parts = shlex.split(line, comments=True)
            except ValueError as e:  # "No closing quotation"
                raise LoadError(f"{e}: {line}", path, n) from e
            if not parts:
                continue
            host = parts[0]
            if host not in hosts:
                hosts.append(host)
            group = groups.setdefault(section, Group(section))
            if host not in group.hosts:
                group.hosts.append(host)
            for kv in parts[1:]:
                key, eq, val = kv.partition("=")
                if not eq or not key:
                    raise LoadError(f"expected key=value host variable assignment, got: {kv}", path, n)
                host_vars.setdefault(host, {})[key] = _value(val)
    return hosts, groups, host_vars


class _Shape(Exception):
    """A YAML inventory of the wrong shape: the message and the keys that lead to the value."""

    def __init__(self, message: str, keys: tuple[Any, ...]) -> None:
        super().__init__(message)
        self.keys = keys


def _mapping(value: Any, what: str, keys: tuple[Any, ...]) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _Shape(f"{what} must be a mapping, not {type(value).__name__}", keys)
    return value


def _walk_yaml(name: str, node: Any, hosts: list[str], groups: dict[str, Group],
               host_vars: dict[str, dict[str, Any]], keys: tuple[Any, ...] = (), depth: int = 0) -> None:
    """ansible-core's YAML inventory plugin: a group is a mapping of `hosts`, `vars`, `children`
    (each a mapping, or empty)."""
    keys = (*keys, name)
    if depth > 100:
        raise _Shape("groups nested more than 100 deep", keys)
    node = _mapping(node, f"group {name!r}", keys)
    group = groups.setdefault(str(name), Group(str(name)))
    for host, hv in _mapping(node.get("hosts"), f"hosts of group {name!r}", (*keys, "hosts")).items():
        host = str(host)
        if host not in hosts:
            hosts.append(host)
        if host not in group.hosts:
            group.hosts.append(host)
        host_vars.setdefault(host, {}).update(_mapping(hv, f"host {host!r}", (*keys, "hosts", host)))
    group.vars.update(_mapping(node.get("vars"), f"vars of group {name!r}", (*keys, "vars")))
    for child, sub in _mapping(node.get("children"), f"children of group {name!r}", (*keys, "children")).items():
        if str(child) not in group.children:
            group.children.append(str(child))
        _walk_yaml(child, sub, hosts, groups, host_vars, (*keys, "children"), depth + 1)


def yaml_line(text: str, keys: tuple[Any, ...]) -> int:
    """The 1-based line of the value at `keys` in a YAML mapping text (of the deepest key found; 0
    when the text cannot be composed): only called to locate an error."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return 0
    line = node.start_mark.line + 1 if node is not None else 0
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        found = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(key)), None)
        if found is None:
            break
        node, line = found, found.start_mark.line + 1
    return line


# ansible-core 2.18 DataLoader.find_vars_files (host_group_vars): `NAME` (a directory or a file),
# then NAME.yml, NAME.yaml, NAME.json; the first that exists is the only one read.
VARS_EXTENSIONS = ("", ".yml", ".yaml", ".json")


def vars_dir_files(tree: Tree, path: str) -> list[str]:
    """DataLoader._get_dir_vars_files: sorted, recursive into directories without an extension,
    files without an extension or with a YAML/JSON one, no hidden or backup (`~`) files."""
    out: list[str] = []
    for name in tree.list_dir(path):
        if name.startswith(".") or name.endswith("~"):
            continue
        full, ext = f"{path}/{name}", posixpath.splitext(name)[1]
        if tree.is_dir(full) and not ext:
            out += vars_dir_files(tree, full)
        elif tree.is_file(full) and (not ext or ext in VARS_EXTENSIONS):
            out.append(full)
    return out


def vars_files(tree: Tree, directory: str, name: str) -> list[str]:
    """The files that hold `group_vars/NAME` (or `host_vars/NAME`), in load order."""
    for ext in VARS_EXTENSIONS:
        p = f"{directory}/{name}{ext}"
        if tree.is_dir(p):
            return vars_dir_files(tree, p)
        if tree.is_file(p):
            return [p]
    return []


def _vars_of(files: Files, directory: str, name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in vars_files(files.tree, directory, name):
        data = files.yaml(p)
        if data:  # host_group_vars.load_found_files: empty files are skipped
            if not isinstance(data, Mapping):
                # ansible-core: "Could not process '...'" (combine_vars of a non-mapping): no run
                raise SetupError(f"cannot process {p}: variables must be a mapping")
            out.update(data)  # combine_vars, hash_behaviour=replace
    return out


def load_inventory(tree: Tree, path: str, facts: Mapping[str, Mapping[str, Any]] | None = None) -> Inventory:
    """An inventory file (INI or YAML) in the tree, with group_vars/ and host_vars/ beside it."""
    files = Files(tree)
    text = tree.read_text(path)
    hosts: list[str] = []
    groups: dict[str, Group] = {}
    host_vars: dict[str, dict[str, Any]] = {}
    if path.endswith((".yml", ".yaml", ".json")):
        data = files.yaml(path)
        try:
            for name, node in _mapping(data, "an inventory", ()).items():
                _walk_yaml(name, node, hosts, groups, host_vars)
        except _Shape as e:
            raise LoadError(str(e), path, yaml_line(text, e.keys)) from e
    else:
        hosts, groups, host_vars = _parse_ini(text, path)
    base = posixpath.dirname(path)
    for name in dict.fromkeys([*groups, "all", "ungrouped"]):
        gv = _vars_of(files, posixpath.join(base, "group_vars"), name)
        groups.setdefault(name, Group(name)).vars.update(gv)
    for host in hosts:
        host_vars.setdefault(host, {}).update(_vars_of(files, posixpath.join(base, "host_vars"), host))
    inv = Inventory(hosts, groups, host_vars, facts, source=path)
    return inv
