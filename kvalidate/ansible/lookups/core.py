"""Lookups, as ansible-core 2.18 runs them, but reading only the checkout and a configured env map.

`LOOKUPS` maps a lookup name (short and `ansible.builtin.`) to `fn(ctx, terms, kwargs) -> list`.
Provided: template, vars, env (from `LookupEnv.env` only), password (deterministic, writes
nothing), file, fileglob, first_found (inside the checkout only), inventory_hostnames, varnames,
and the loop lookups behind `with_*` (items, list, dict, indexed_items, nested, together,
subelements, sequence). Any other lookup (pipe, url, ...) raises `ForbiddenLookup`, which becomes
a `forbidden-lookup` finding.

`run_lookup` reproduces `Templar._lookup`'s result handling: a list for `query`/`wantlist`, else
the items joined with ',' (or the single non-text item).
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import posixpath
import random
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ansible.errors import AnsibleLookupError
from ansible.utils.native_jinja import NativeJinjaText
from jinja2.exceptions import TemplateNotFound, UndefinedError
from jinja2.loaders import BaseLoader, split_template_path
from jinja2.runtime import Undefined

from kvalidate.ansible.filters import patterns
from kvalidate.ansible.filters.patterns import compile_pattern
from kvalidate.ansible.lookups import loops
from kvalidate.ansible.variables import MISSING, Scope
from kvalidate.model import LineMap

if TYPE_CHECKING:
    from kvalidate.ansible.templar import RenderVars, Templar
    from kvalidate.trees.directory import Tree

# Absolute paths in variables (playbook_dir, role_path, template_fullpath) are shown under this
# root; lookups map them back into the checkout and refuse anything else.
CHECKOUT_ROOT = "/checkout"


class ForbiddenLookup(Exception):
    """A lookup kvalidate does not run (it would touch the machine or the network)."""


@dataclass
class LookupEnv:
    """What lookups may read: the checkout, an env map, the inventory, and where they run."""

    tree: Tree | None
    templar: Templar
    env: Mapping[str, str] = field(default_factory=dict)
    host_patterns: Callable[[str], list[str]] | None = None
    search_dirs: list[str] = field(default_factory=list)  # role dir first, then playbook dir
    # (tree path, text, its LineMap) of each lookup('template')
    on_template: Callable[[str, Any, LineMap], None] | None = None
    password_seed: str = "kvalidate"
    # Fixed passwords by path or file name: what lookup('password') reads from an existing file.
    passwords: Mapping[str, str] = field(default_factory=dict)


def tree_path(path: str) -> str | None:
    """A path as a variable shows it -> its path in the checkout (None if outside)."""
    if path.startswith(CHECKOUT_ROOT + "/") or path == CHECKOUT_ROOT:
        path = path[len(CHECKOUT_ROOT) + 1:]
    elif path.startswith("/"):
        return None
    norm = posixpath.normpath(path) if path else ""
    if norm == ".." or norm.startswith("../"):
        return None
    return "" if norm == "." else norm


def find_file(ctx: LookupEnv, subdir: str, term: str) -> str | None:
    """Ansible's `find_file_in_search_path`: <dir>/<subdir>/<term>, then <dir>/<term>."""
    if ctx.tree is None:
        return None
    if term.startswith("/"):
        p = tree_path(term)
        return p if p is not None and ctx.tree.is_file(p) else None
    for d in ctx.search_dirs:
        for cand in (posixpath.join(d, subdir, term), posixpath.join(d, term)):
            p = tree_path(cand)
            if p is not None and ctx.tree.is_file(p):
                return p
    return None


class IncludeLoader(BaseLoader):
    """What a rendered template's `{% include %}`, `{% import %}` and `{% extends %}` read: a name
    is looked up in each directory of the search path Ansible gives Jinja (`include_loader`), in
    the checkout only (`..` and paths outside it are not found). Compiled once per process
    (`SandboxEnvironment.compile_include`), named by their path in the checkout."""

    def __init__(self, tree: Tree, dirs: list[str]) -> None:
        self.tree = tree
        self.dirs = dirs

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)  # TemplateNotFound for `..`
        for d in self.dirs:
            p = tree_path(posixpath.join(d, *pieces))
            if p is not None and self.tree.is_file(p):
                return self.tree.read_text(p), p, _up_to_date
        raise TemplateNotFound(template)

    def load(self, environment: Any, name: str, globals: Any = None) -> Any:  # noqa: A002 - Jinja's name
        source, path, _ = self.get_source(environment, name)
        return environment.compile_include(source, path)


def _up_to_date() -> bool:
    return True


def include_loader(ctx: LookupEnv, source: str, lookup: bool = False) -> IncludeLoader | None:
    """The loader for templates included by `source` (a tree path). ansible-core 2.18's template
    action searches `ansible_search_path`, the playbook directory and the template's directory,
    each as `DIR/templates` then `DIR`; lookup('template') the template's directory first, then
    `ansible_search_path` likewise."""
    if ctx.tree is None:
        return None
    here = posixpath.dirname(f"{CHECKOUT_ROOT}/{source}")
    dirs = [*ctx.search_dirs, here] if not lookup else ctx.search_dirs
    out = [here] if lookup else []
    for d in dirs:
        out += [posixpath.join(d, "templates"), d]
    return IncludeLoader(ctx.tree, list(dict.fromkeys(out)))


def _template(ctx: LookupEnv, terms: list[Any], kw: dict[str, Any], rv: RenderVars) -> list[Any]:
    out = []
    for term in terms:
        path = find_file(ctx, "templates", str(term))
        if path is None or ctx.tree is None:
            raise AnsibleLookupError(f"the template file {term} could not be found for the lookup")
        text = ctx.tree.read_text(path)
        locals_ = {**rv.locals, **template_vars(path, None), **dict(kw.get("template_vars") or {})}
        loader = include_loader(ctx, path, lookup=True)
        if kw.get("convert_data", True):
            res, lines = ctx.templar.render_lookup_mapped(text, rv.scope, path, locals_, loader)
        else:  # text that must never be literal_eval'd later
            rendered, lines = ctx.templar.render_file_mapped(text, rv.scope, path, locals_, loader)
            res = NativeJinjaText(rendered)
        if ctx.on_template is not None:
            ctx.on_template(path, res, lines)
        out.append(res)
    return out


def template_vars(path: str, dest: str | None) -> dict[str, Any]:
    """generate_ansible_template_vars, with fixed host, owner and dates (renders are reproducible)."""
    full = f"{CHECKOUT_ROOT}/{path}"
    return {"template_host": "kvalidate", "template_path": path, "template_fullpath": full,
            "template_uid": "root", "template_destpath": dest, "template_run_date": "2025-01-01 00:00:00",
            "template_mtime": "2025-01-01 00:00:00", "ansible_managed": "Ansible managed"}


def _vars(ctx: LookupEnv, terms: list[Any], kw: dict[str, Any], rv: RenderVars) -> list[Any]:
    out = []
    for term in terms:
        if not isinstance(term, str):
            raise AnsibleLookupError(f"Invalid setting identifier, \"{term}\" is not a string, it is a {type(term)}")
        value = rv.scope.get_value(term) if rv.scope is not None else MISSING
        if value is MISSING or isinstance(value, Undefined):
            if "default" in kw:
                out.append(kw["default"])
                continue
            if isinstance(value, Undefined):
                str(value)  # raises the undefined error, naming the variable
            raise AnsibleLookupError(f"No variable found with this name: {term}")
        out.append(value)
    return out


def _env(ctx: LookupEnv, terms: list[Any], kw: dict[str, Any], rv: RenderVars) -> list[Any]:
    return [ctx.env.get(str(t).split()[0], kw.get("default", "")) for t in terms]


def _password(ctx: LookupEnv, terms: list[Any], kw: dict[str, Any], rv: RenderVars) -> list[Any]:
    out = []
    for term in terms:
        path, *params = str(term).split()
        seeded = ctx.passwords.get(path, ctx.passwords.get(posixpath.basename(path)))
        if seeded is not None:
            out.append(seeded)
            continue
        opts = dict(p.split("=", 1) for p in params if "=" in p) | {k: str(v) for k, v in kw.items()}
        length = int(opts.get("length", 20))
        chars = _charset(opts.get("chars", "ascii_letters,digits,.,:-_"))
        seed = hashlib.sha256(f"{ctx.password_seed}:{path}:{opts.get('seed', '')}".encode()).hexdigest()
        out.append("".join(random.Random(seed).choices(chars, k=length)))
    return out


def _charset(spec: str) -> str:
    parts, out = spec.replace(",,", ",\0").split(","), []
    for p in parts:
        p = p.replace("\0", ",")
        out.append(getattr(string, p, p))
    return "".join(dict.fromkeys("".join(out)))


def _file(ctx: LookupEnv, terms: list[Any], kw: dict[str, Any], rv: RenderVars) -> list[Any]:
    out = []
    for term in terms:
        path = find_file(ctx, "files", str(term))
        if path is None or ctx.tree is None:
            raise AnsibleLookupError(f"The 'file' lookup had an issue accessing the file '{term}'")
        text = ctx.tree.read_text(path)
        text = text.rstrip() if kw.get("rstrip", True) else text
        out.append(text.lstrip() if kw.get("lstrip", False) else text)
    return out


def _fileglob(ctx: LookupEnv, terms: list[Any], kw: dict[str, Any], rv: RenderVars) -> list[Any]:
    out: list[str] = []
    for term in terms:
        directory, pattern = posixpath.split(str(term))
        for d in [*ctx.search_dirs] if not directory.startswith("/") else [""]:
            for cand in (posixpath.join(d, "files", directory), posixpath.join(d, directory)):
                p = tree_path(cand)
                if p is None or ctx.tree is None or not ctx.tree.is_dir(p):
                    continue
                found = [posixpath.join(CHECKOUT_ROOT, p, n) for n in ctx.tree.list_dir(p)
                         if fnmatch.fnmatch(n, pattern) and ctx.tree.is_file(posixpath.join(p, n))]
                if found:
                    out += found
                    break
            else:
                continue
            break
    return out


def _first_found(ctx: LookupEnv, terms: list[Any], kw: dict[str, Any], rv: RenderVars) -> list[Any]:
    files: list[str] = []
    paths: list[str] = list(kw.get("paths", []))
    skip = bool(kw.get("skip"))
    for term in terms:
        if isinstance(term, Mapping):
            files += _split(term.get("files", []))
            paths += _split(term.get("paths", []))
            skip = skip or bool(term.get("skip"))
        elif isinstance(term, list):
            files += [str(t) for t in term]
        else:
            files += re.split(r"[,;]", str(term)) if kw.get("files") is None else []
    files += list(kw.get("files", []))
    subdir = str(kw.get("_subdir", "files"))
    for f in files:
        cands = [posixpath.join(p, f) for p in paths] if paths else [f]
        for cand in cands:
            try:  # first_found templates each name itself and skips the undefined ones
                cand = str(ctx.templar.template(cand, rv.scope))
            except UndefinedError:
                continue
            found = find_file(ctx, subdir, cand)
            if found is not None:
                return [f"{CHECKOUT_ROOT}/{found}"]
    if skip:
        return []
    raise AnsibleLookupError("No file was found when using first_found.")


def _split(value: Any) -> list[str]:
    """first_found splits string lists of names on ',' and ';'."""
    items = value if isinstance(value, list) else [value]
    return [part for v in items for part in re.split(r"[,;]", str(v)) if part]


def _hostnames(ctx: LookupEnv, terms: list[Any], kw: dict[str, Any], rv: RenderVars) -> list[Any]:
    if ctx.host_patterns is None:
        return []
    out: list[str] = []
    for term in terms:
        out += [h for h in ctx.host_patterns(str(term)) if h not in out]
    return out


def _varnames(ctx: LookupEnv, terms: list[Any], kw: dict[str, Any], rv: RenderVars) -> list[Any]:
    names = list(rv.scope) if rv.scope is not None else []
    out: list[str] = []
    for term in terms:
        search = compile_pattern(str(term)).search  # under a timeout, as the regex filters
        out += [n for n in names if patterns.timed(ctx.templar.env, term, functools.partial(_search_in, search, n))]
    return out


def _search_in(search: Callable[..., Any], name: str, timeout: float) -> Any:
    return search(name, timeout=timeout)


LookupFn = Callable[[LookupEnv, list[Any], dict[str, Any], "RenderVars"], list[Any]]
_PLAIN: dict[str, LookupFn] = {
    "template": _template, "vars": _vars, "env": _env, "password": _password, "file": _file,
    "fileglob": _fileglob, "first_found": _first_found, "inventory_hostnames": _hostnames,
    "varnames": _varnames, **loops.LOOP_LOOKUPS,
}
LOOKUPS: dict[str, LookupFn] = {**_PLAIN, **{f"ansible.builtin.{k}": v for k, v in _PLAIN.items()}}


def run_lookup(ctx: LookupEnv, rv: RenderVars, name: str, terms: list[Any], kwargs: dict[str, Any],
               wantlist: bool) -> Any:
    """Templar._lookup: run one lookup and shape its result like ansible-core 2.18."""
    fn = LOOKUPS.get(name)
    if fn is None:
        raise ForbiddenLookup(f"lookup plugin ({name}) is not allowed: kvalidate does not run it")
    errors = kwargs.pop("errors", "strict")
    kwargs.pop("allow_unsafe", None)
    for t in terms:
        if isinstance(t, Undefined):
            str(t)
    try:
        ran = fn(ctx, list(terms), kwargs, rv)
    except AnsibleLookupError:
        if errors in ("warn", "ignore"):
            return [] if wantlist else None
        raise
    if ran and not wantlist:
        if all(isinstance(r, str) for r in ran):
            joined = ",".join(ran)
            return NativeJinjaText(joined) if isinstance(ran[0], NativeJinjaText) else joined
        return ran[0] if len(ran) == 1 else ran
    return ran


__all__ = ["CHECKOUT_ROOT", "ForbiddenLookup", "LOOKUPS", "LookupEnv", "Scope", "find_file", "run_lookup",
           "template_vars", "tree_path"]
