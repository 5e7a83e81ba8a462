"""The example values a Kubespray checkout documents for its inputs: the commented-out settings of
the sample inventory (`# external_vsphere_vcenter_ip: "myvcenter.domain.com"` in
`inventory/sample/group_vars/all/vsphere.yml`) and of the role defaults
(`# kube_webhook_token_auth_url: https://...`), and the `name: value` lines of the roles' READMEs.

Automatic coverage gives such a value to a required input that no default supplies when it
switches on the feature that needs it (a credential its own check asserts, a URL a template
reads), rather than invent one or report the checkout's refusal as a defect (`placeholder`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from kvalidate.trees.directory import Tree

_COMMENTED = re.compile(r"^\s*#+\s*([A-Za-z_][A-Za-z0-9_]*):(?:\s+(.*?))?\s*$")
_PLAIN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*):(?:\s+(.*?))?\s*$")
_ENV_LOOKUP = re.compile(r"lookup\(\s*['\"]env['\"]")
_MAX_DEPTH = 6


def _walk(tree: Tree, directory: str, depth: int = 0) -> Iterator[str]:
    if depth > _MAX_DEPTH:
        return
    for name in tree.list_dir(directory):
        path = posixpath.join(directory, name)
        if tree.is_dir(path):
            yield from _walk(tree, path, depth + 1)
        elif tree.is_file(path):
            yield path


def _value(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text.strip()


def _block(lines: list[str], at: int) -> Any:
    """The value of a commented-out key written over the next commented lines, indented deeper
    (`# loadbalancer_apiserver:` / `#   address: 1.2.3.4` / `#   port: 1234`); None if none."""
    head = lines[at].split("#", 1)[1]
    indent = len(head) - len(head.lstrip())
    body = []
    for line in lines[at + 1:]:
        if not line.lstrip().startswith("#"):
            break
        text = line.split("#", 1)[1]
        if len(text) - len(text.lstrip()) <= indent or not text.strip():
            break
        body.append(text[indent + 1:] if len(text) > indent else text)
    if not body:
        return None
    value = _value("\n".join(body))
    return value if isinstance(value, (dict, list)) else None


def _read(tree: Tree, path: str) -> str:
    try:
        return tree.read_text(path)
    except (OSError, UnicodeDecodeError, ValueError):
        return ""


def documented_values(tree: Tree) -> dict[str, Any]:
    """name -> the first example value the checkout documents for it (None when documented
    without a value, `# azure_csi_tenant_id:`). Sample inventory first, then role defaults, then
    role READMEs; a role default read from the environment (`lookup('env', ...)`) documents an
    input without a value."""
    out: dict[str, Any] = {}
    sample = [p for p in _walk(tree, "inventory/sample") if p.endswith((".yml", ".yaml"))]
    roles = list(_walk(tree, "roles"))
    defaults = [p for p in roles if "/defaults/" in p and p.endswith((".yml", ".yaml"))]
    readmes = [p for p in roles if posixpath.basename(p).lower() == "readme.md"]
    for path in [*sample, *defaults]:
        lines = _read(tree, path).splitlines()
        for i, line in enumerate(lines):
            m = _COMMENTED.match(line)
            if m and m[1] not in out:
                out[m[1]] = _value(m[2]) if m[2] else _block(lines, i)
    for path in readmes:
        for line in _read(tree, path).splitlines():
            m = _PLAIN.match(line)
            if m and m[1] not in out:
                out[m[1]] = _value(m[2])
    for path in defaults:  # `cinder_auth_url: "{{ lookup('env', 'OS_AUTH_URL') }}"`: an input read from the environment
        for line in _read(tree, path).splitlines():
            m = _PLAIN.match(line)
            if m and m[1] not in out and m[2] and _ENV_LOOKUP.search(m[2]):
                out[m[1]] = None
    return out


def placeholder(name: str, documented: Mapping[str, Any]) -> Any:
    """The value automatic coverage gives an input the checkout documents but no default supplies:
    the documented example when it is a literal (`"myvcenter.domain.com"`, `https://...`), else
    (documented empty, or as an environment lookup) a string named after the variable, in the
    characters every Kubernetes name and URL accepts (`azure-csi-tenant-id`). None when the
    checkout does not document `name`."""
    if name not in documented:
        return None
    value = documented[name]
    literal = not (isinstance(value, str) and ("{{" in value or "{%" in value))
    if literal and value not in (None, "", [], {}):
        return value
    return name.replace("_", "-").lower()


_KEY = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*:")
_NAMED = re.compile(r"^\s*(?:-\s+)?(?:register|loop_var|index_var)\s*:\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)")


def defined_names(tree: Tree) -> frozenset[str]:
    """Every name the checkout could define a variable under: each uncommented YAML key of its
    roles, playbooks and sample inventory (role defaults and vars, `set_fact`, `vars:`, group_vars,
    keys of nested values too) and each `register`/`loop_var`. An over-approximation on purpose:
    a documented input found in none of them is one only the user can give (`peers`), while a
    variable the code defines and a run leaves undefined (`crio_runtimes`, a `set_fact` of the
    cri-o role) says something about the run, not about the user."""
    out: set[str] = set()
    paths = [p for top in ("roles", "playbooks", "inventory/sample") for p in _walk(tree, top)]
    paths += [n for n in tree.list_dir("") if tree.is_file(n)]
    for path in paths:
        if path.endswith((".yml", ".yaml")):
            for line in _read(tree, path).splitlines():
                m = _NAMED.match(line) or _KEY.match(line)
                if m:
                    out.add(m[1])
    return frozenset(out)


_TICKED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")


def mentioned_names(tree: Tree) -> frozenset[str]:
    """The variables the checkout's documentation names (`docs/`: a backticked name in the text,
    a key of an example inventory or code block), with or without an example value: inputs a
    user is told to give (`peers` for calico's BGP peering). Used to tell the checkout refusing an
    assignment from a defect, never as a value."""
    out: set[str] = set()
    for path in _walk(tree, "docs"):
        if not path.endswith((".md", ".yml", ".yaml")):
            continue
        for line in _read(tree, path).splitlines():
            out.update(_TICKED.findall(line))
            m = _KEY.match(line)
            if m:
                out.add(m[1])
    return frozenset(out)
