"""Which variable names a Kubespray checkout knows: what `-e typha_enabeld=true` is checked against.

An extra variable (`-e`, `--vars`, a matrix file's `vars`/`axes`/`cells`) that nothing in the checkout
reads changes nothing in any rendering: almost always a typo (`typha_enabeld`), or a variable of another
branch. The known names are every identifier that appears in the files an Ansible run of the checkout
can read: roles (defaults, vars, tasks, handlers, meta, templates, files, filter plugins), playbooks,
the inventories under `inventory/` (group_vars, host_vars), top-level playbooks, `plugins/` and
`library/`. That is a superset of the variables read (a name in a comment counts too), on purpose: a
variable reported as unread must really be unread, whatever the reading construct (`{{ x }}`,
`when: x`, `vars[x_name]`, `hostvars[h]['x']`, `lookup('vars', 'x')`). CI scenario files
(`tests/files`) are not read: they *set* variables, which is not reading them.

One scan per tree and run: on Kubespray master (800 files, 2.5 MB; `extra_playbooks/` is left out,
its `roles` and `inventory` are symlinks to the real ones) it takes 0.13 s from the work tree and
0.09 s from git objects (`--ref`), plus 0.05 s for the closest names (docs/ci.md).
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kvalidate.trees.directory import Tree, TreeError

# where an Ansible run of the checkout reads variables from (directories walked recursively)
SCAN_DIRS = ("roles", "playbooks", "inventory", "plugins", "library", "filter_plugins",
             "group_vars", "host_vars")
SKIP_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".gz", ".tgz", ".zip", ".tar", ".pdf",
                 ".md", ".rst", ".txt")
MAX_FILE = 2 * 1024 * 1024  # a larger file is data, not something that reads variables
_IDENT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
# Ansible's own names: connection and magic variables, read by Ansible itself, never by the checkout's files
_ANSIBLE = re.compile(r"^(ansible_|inventory_|group_names$|groups$|hostvars$|play_hosts$|omit$|environment$)")


def _files(tree: Tree, path: str) -> Iterator[str]:
    for name in tree.list_dir(path):
        child = posixpath.join(path, name) if path else name
        if name.startswith(".") and name != ".":
            continue
        if tree.is_dir(child):
            yield from _files(tree, child)
        elif tree.is_file(child) and not name.lower().endswith(SKIP_SUFFIXES):
            yield child


def scanned_files(tree: Tree, dirs: Iterable[str] = SCAN_DIRS, top_level: bool = True) -> list[str]:
    """The files whose identifiers are the known names: `dirs` and, with `top_level`, the top-level
    playbooks."""
    out = [n for n in tree.list_dir("") if n.endswith((".yml", ".yaml")) and tree.is_file(n)] if top_level else []
    for d in dirs:
        if tree.is_dir(d):
            out.extend(_files(tree, d))
    return out


def scan_text(data: bytes) -> set[str]:
    """The identifiers of a file's contents (none for a binary or an oversized file)."""
    if len(data) > MAX_FILE or b"\0" in data[:1024]:
        return set()
    return {n.decode("ascii") for n in _IDENT.findall(data)}


def known_names(tree: Tree, dirs: Iterable[str] = SCAN_DIRS, top_level: bool = True) -> frozenset[str]:
    """Every identifier in the files an Ansible run of the checkout reads (`scanned_files`)."""
    names: set[str] = set()
    for path in scanned_files(tree, dirs, top_level):
        try:
            names |= scan_text(tree.read_bytes(path))
        except TreeError:
            continue
    return frozenset(names)


def names_in_values(values: Iterable[Any]) -> set[str]:
    """Identifiers in the string values of extra vars (`-e 'b={{ a }}'` reads `a`), nested included."""
    out: set[str] = set()
    stack = list(values)
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            out.update(n.decode("ascii") for n in _IDENT.findall(v.encode("utf-8", "replace")))
        elif isinstance(v, Mapping):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)
    return out


@dataclass(frozen=True)
class UnreadVar:
    """An extra variable nothing reads, and the known names closest to it (best first)."""

    name: str
    closest: tuple[str, ...]

    def message(self, where: str) -> str:
        hint = f": did you mean {' or '.join(self.closest)}?" if self.closest else ""
        return (f"extra var {self.name!r} ({where}) is read by no role, playbook, template or inventory "
                f"of the checkout, so it changes nothing{hint}")


def unread_vars(given: Iterable[str], known: frozenset[str], also_read: Iterable[str] = ()) -> list[UnreadVar]:
    """The names of `given` that neither `known` nor `also_read` contains (Ansible's own names such as
    `ansible_user` excepted), each with up to 3 closest known names (difflib, ratio >= 0.8)."""
    read = known | frozenset(also_read)
    out = []
    candidates: list[str] | None = None
    for name in sorted(set(given)):
        if name in read or _ANSIBLE.match(name):
            continue
        if candidates is None:  # variable-like names only: lower case, 3+ characters
            candidates = sorted(k for k in read if len(k) > 2 and k.islower())
        out.append(UnreadVar(name, tuple(difflib.get_close_matches(name, candidates, n=3, cutoff=0.8))))
    return out
