"""Reading playbooks, task files, variable files and roles from a `Tree`.

YAML is read as Ansible reads it (PyYAML, YAML 1.1 booleans), with `!unsafe` values kept as
ansible-core's `AnsibleUnsafeText` (never templated) and `!vault` values replaced by a fixed
placeholder. Parsed files are cached per tree and path: a Kubespray run reads the same defaults
for every play. Across runs, parsed files are kept in the user's cache directory beside the
compiled templates (`codecache.DATA_CACHE`, keyed by a hash of the file's text, named by the
engine's code and PyYAML's version): a run reads them back with `marshal` (C speed) instead of
constructing them again in PyYAML's Python constructor (~0.1 s of a cold Kubespray run). Only data
of plain types is kept (no `!unsafe` text, no dates), with the line of every list-item mapping.

A role is `roles/<name>` next to the playbook or at the top of the tree (Kubespray's
`roles_path = roles:...`); `defaults/main.yml` or every file of `defaults/main/`, same for
`vars/`, and `meta/main.yml` dependencies.
"""

from __future__ import annotations

import hashlib
import itertools
import posixpath
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from ansible.utils.unsafe_proxy import AnsibleUnsafeText

from kvalidate.ansible.codecache import DATA_CACHE
from kvalidate.ansible.reuse import pin_parsed
from kvalidate.trees.directory import Tree, TreeError

VAULT_PLACEHOLDER = "kvalidate-vaulted-value"


class LoadError(Exception):
    """A playbook, task or vars file that cannot be read or parsed (a finding)."""

    def __init__(self, message: str, path: str, line: int = 0) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.kv_lines: list[tuple[dict[str, Any], int]] = []


def _unsafe(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return AnsibleUnsafeText(loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return [AnsibleUnsafeText(v) if isinstance(v, str) else v for v in loader.construct_sequence(node)]
    return loader.construct_mapping(node)  # type: ignore[arg-type]


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> Any:
    """SafeConstructor.construct_yaml_seq, noting the line of every mapping item (a task, a play,
    a block): findings about a task are located at it (`yaml_line`)."""
    data: list[Any] = []
    yield data
    data.extend(loader.construct_sequence(node))
    for item, item_node in zip(data, node.value, strict=False):
        if isinstance(item, dict):
            loader.kv_lines.append((item, item_node.start_mark.line + 1))


_Loader.add_constructor("tag:yaml.org,2002:seq", _sequence)
_Loader.add_constructor("!unsafe", _unsafe)
_Loader.add_constructor("!vault", lambda loader, node: VAULT_PLACEHOLDER)
_Loader.add_constructor("!vault-encrypted", lambda loader, node: VAULT_PLACEHOLDER)


# Parsed YAML by file text, for the whole process: the cells of a matrix read the same roles.
# The engine never mutates parsed data (layers are read, templating builds new values).
_PARSED: dict[str, Any] = {}
# The 1-based line of each mapping that is a list item (tasks, plays, blocks) of the parsed files,
# by id: the objects live as long as _PARSED keeps them, and the entry holds them too, so an id is
# never reused while its entry exists.
_LINES: dict[int, tuple[Any, int]] = {}


def yaml_line(item: Any) -> int:
    """The line where `item` (a task, play or block mapping as parsed by `Files.yaml`) starts in its
    file; 0 when it was not read from a file."""
    entry = _LINES.get(id(item))
    return entry[1] if entry is not None and entry[0] is item else 0


def _parse(text: str) -> Any:
    key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()
    kept = DATA_CACHE.get_data(key)
    if isinstance(kept, tuple) and len(kept) == 2:
        restored = _restore(*kept)
        if restored is not _NOT_KEPT:
            return restored
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    for item, line in loader.kv_lines:
        _LINES[id(item)] = (item, line)
    encoded = _keepable(data, loader.kv_lines)
    if encoded is not None:
        DATA_CACHE.put_data(key, encoded)
    return data


def plain_yaml(text: str) -> Any:
    """`yaml.load(text, Loader=yaml.CSafeLoader)` (what the Kubespray layer reads: inventories,
    scenario files, the checksums file), kept across runs as the engine's files are; a new object
    at every call (callers may change what they get)."""
    key = hashlib.blake2b(b"plain\x00" + text.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()
    kept = DATA_CACHE.get_data(key)
    if isinstance(kept, tuple) and len(kept) == 1:
        return kept[0]
    data = yaml.load(text, Loader=yaml.CSafeLoader)  # libyaml: 10x SafeLoader, same types
    if _keepable(data, []) is not None:
        DATA_CACHE.put_data(key, (data,))
    return data


_NOT_KEPT = object()
_PLAIN = frozenset({str, int, float, bool, type(None)})  # exact types: AnsibleUnsafeText is not one


def _keepable(data: Any, lines: list[tuple[dict[str, Any], int]]) -> tuple[Any, tuple[Any, ...]] | None:
    """(data, ((path, line), ...)) for the cross-run cache: the path (keys and indexes from the top)
    of every list-item mapping with its line; None when the data holds anything but plain dicts,
    lists and scalars (an `!unsafe` text, a date, a set)."""
    paths: dict[int, tuple[Any, ...]] = {}
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        kind = type(value)
        if kind in _PLAIN:
            continue
        if kind is dict:
            if id(value) in paths:
                continue
            paths[id(value)] = path
            for k, v in value.items():
                if type(k) not in _PLAIN:
                    return None
                stack.append((v, (*path, k)))
        elif kind is list:
            if id(value) in paths:
                continue
            paths[id(value)] = path
            stack.extend((v, (*path, i)) for i, v in enumerate(value))
        else:
            return None
    found = []
    for item, line in lines:
        where = paths.get(id(item))
        if where is None:
            return None
        found.append((where, line))
    return data, tuple(found)


def _restore(data: Any, lines: Any) -> Any:
    """The data `_keepable` kept, its list-item mappings' lines registered (`yaml_line`)."""
    try:
        for path, line in lines:
            item = data
            for step in path:
                item = item[step]
            if type(item) is not dict or type(line) is not int:
                return _NOT_KEPT
            _LINES[id(item)] = (item, line)
    except (KeyError, IndexError, TypeError, ValueError):
        return _NOT_KEPT
    return data


_TREES: weakref.WeakKeyDictionary[Any, CachedTree] = weakref.WeakKeyDictionary()


def cached_tree(tree: Tree) -> CachedTree:
    """The memoizing view of `tree`, shared by every engine of the process that runs on the same
    tree object (a checkout is read-only while kvalidate runs; make a new Tree to see changes)."""
    if isinstance(tree, CachedTree):
        return tree
    try:
        hit = _TREES.get(tree)
        if hit is None:
            hit = _TREES[tree] = CachedTree(tree)
        return hit
    except TypeError:  # not weak-referenceable
        return CachedTree(tree)


_SERIALS = itertools.count(1)
_MERGED: dict[tuple[int, ...], dict[str, Any]] = {}  # vars_dir merges of parsed files (kept: ids stay theirs)


class CachedTree:
    """A `Tree` whose answers are memoized (a checkout does not change while kvalidate reads it)."""

    def __init__(self, tree: Tree) -> None:
        self.inner = tree
        self.serial = next(_SERIALS)  # names this tree in keys of work reused across cells (ids may be reused)
        self._is_file: dict[str, bool] = {}
        self._is_dir: dict[str, bool] = {}
        self._list: dict[str, list[str]] = {}
        self._text: dict[str, str] = {}

    @property
    def label(self) -> str:
        return self.inner.label

    def read_bytes(self, path: str) -> bytes:
        return self.inner.read_bytes(path)

    def read_text(self, path: str) -> str:
        hit = self._text.get(path)
        if hit is None:
            hit = self._text[path] = self.inner.read_text(path)
        return hit

    def is_file(self, path: str) -> bool:
        hit = self._is_file.get(path)
        if hit is None:
            hit = self._is_file[path] = self.inner.is_file(path)
        return hit

    def is_dir(self, path: str) -> bool:
        hit = self._is_dir.get(path)
        if hit is None:
            hit = self._is_dir[path] = self.inner.is_dir(path)
        return hit

    def list_dir(self, path: str) -> list[str]:
        hit = self._list.get(path)
        if hit is None:
            hit = self._list[path] = self.inner.list_dir(path)
        return list(hit)


class Files:
    """Cached YAML access to one tree."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self._cache: dict[str, Any] = {}

    def yaml(self, path: str) -> Any:
        if path in self._cache:
            return self._cache[path]
        try:
            text = self.tree.read_text(path)
        except TreeError as e:
            raise LoadError(str(e), path) from e
        if text in _PARSED:
            data = _PARSED[text]
        else:
            try:
                data = _parse(text)  # a SafeLoader subclass
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                raise LoadError(f"YAML error: {e}", path, (mark.line + 1) if mark else 0) from e
            _PARSED[text] = data
            pin_parsed(data)
        self._cache[path] = data
        return data

    def first(self, *paths: str) -> str | None:
        for p in paths:
            if self.tree.is_file(p):
                return p
        return None

    def vars_dir(self, base: str, name: str = "main") -> dict[str, Any]:
        """`<base>/main.yml` (or .yaml, or no extension), or every YAML file of `<base>/main/`."""
        merged: dict[str, Any] = {}
        path = self.first(*(f"{base}/{name}{ext}" for ext in (".yml", ".yaml", ".json", "")))
        if path is not None:
            files = [path]
        elif self.tree.is_dir(f"{base}/{name}"):
            files = _yaml_files(self.tree, f"{base}/{name}")
        else:
            files = []
        parts = []
        for f in files:
            data = self.yaml(f)
            if isinstance(data, Mapping):
                parts.append(data)
            elif data is not None:
                raise LoadError("a vars file must be a mapping", f)
        if len(parts) == 1 and type(parts[0]) is dict:
            return parts[0]  # the parsed file itself (kept for the process, never mutated)
        # the same parsed files give the same merged dict for the process: one object, so that what is
        # keyed by layers (variables._moved_names) holds across cells
        key = tuple(id(p) for p in parts)
        hit = _MERGED.get(key)
        if hit is None:
            for part in parts:
                merged.update(part)
            hit = _MERGED[key] = merged
            pin_parsed(merged)
        return hit


def _yaml_files(tree: Tree, directory: str) -> list[str]:
    out: list[str] = []
    for name in tree.list_dir(directory):
        p = f"{directory}/{name}"
        if tree.is_dir(p):
            out += _yaml_files(tree, p)
        elif name.endswith((".yml", ".yaml", ".json")):
            out.append(p)
    return out


@dataclass(frozen=True)
class Role:
    """A role as loaded from the tree (`path` is the role directory)."""

    name: str
    path: str
    defaults: Mapping[str, Any]
    vars: Mapping[str, Any]
    dependencies: tuple[Any, ...] = ()
    allow_duplicates: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)


def find_role(files: Files, name: str, playbook_dir: str, role_dir: str = "") -> str | None:
    """roles/<name> beside the playbook, at the tree root, or beside the current role."""
    cands = [posixpath.normpath(posixpath.join(playbook_dir, "roles", name)) if playbook_dir else "",
             f"roles/{name}", posixpath.normpath(posixpath.join(playbook_dir, name)) if playbook_dir else name]
    if role_dir:
        cands.append(posixpath.normpath(posixpath.join(posixpath.dirname(role_dir), name)))
    for c in cands:
        if c and not c.startswith("..") and files.tree.is_dir(c):
            return c
    return None


def load_role(files: Files, path: str, name: str, defaults_from: str = "main", vars_from: str = "main") -> Role:
    meta_path = files.first(f"{path}/meta/main.yml", f"{path}/meta/main.yaml")
    meta = files.yaml(meta_path) if meta_path else None
    meta = meta if isinstance(meta, Mapping) else {}
    deps = tuple(meta.get("dependencies") or ())
    allow = bool((meta.get("galaxy_info") or {}).get("allow_duplicates", meta.get("allow_duplicates", False)))
    return Role(name=name, path=path, defaults=files.vars_dir(f"{path}/defaults", defaults_from),
                vars=files.vars_dir(f"{path}/vars", vars_from), dependencies=deps, allow_duplicates=allow)


def task_file(files: Files, role_path: str, name: str) -> str | None:
    base = name if name.endswith((".yml", ".yaml")) else None
    if base:
        return files.first(f"{role_path}/tasks/{base}")
    return files.first(f"{role_path}/tasks/{name}.yml", f"{role_path}/tasks/{name}.yaml",
                       f"{role_path}/tasks/{name}")


ROLE_KEYWORDS = frozenset({"role", "name", "when", "tags", "become", "become_user", "become_method",
                           "delegate_to", "environment", "ignore_errors", "no_log", "vars", "apply",
                           "collections", "connection", "debugger", "any_errors_fatal", "check_mode",
                           "diff", "module_defaults", "run_once", "throttle", "timeout"})


def role_entry(entry: Any) -> tuple[str, dict[str, Any], Any]:
    """A `roles:`/`dependencies:` entry -> (role name, params, when)."""
    if isinstance(entry, str):
        return entry, {}, None
    name = str(entry.get("role", entry.get("name", "")))
    params = {k: v for k, v in entry.items() if k not in ROLE_KEYWORDS}
    params.update(entry.get("vars") or {})
    return name, params, entry.get("when")
