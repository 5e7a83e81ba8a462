"""Automatic coverage's look behind the includes a run skips (`Engine(record_gates=True)` only).

A dynamic `include_tasks`/`include_role` whose `when` is false is never opened by Ansible, so the
`template`, `assert` and `fail` tasks behind it are never met: the credential checks of the vSphere
or Azure drivers (`include_tasks: vsphere-credentials-check.yml` inside a role the base cell skips),
every network plugin but the one the base cell runs (`include_role: name: "network_plugin/{{
kube_network_plugin }}"`). Peeking walks such a file without running anything: every task it finds
is recorded as a `TemplateGate` or `CheckGate` with the include's conditions in front of its own,
as the run would have recorded it had the include been taken. An include whose name is one
variable (`prefix{{ var }}suffix`) is peeked once per value for which the checkout has the role or
task file, with `var == 'value'` added to its conditions, and the values are recorded as a
`NameChoice` (automatic coverage gives such a variable only values that select something).

Nothing runs: no module, no `set_fact`, no finding and no rendering is kept (a loop's lookup may
render, its output is dropped). Loops over an include are not peeked (its name and condition are
per item); a name that cannot be templated from the first host's variables is not peeked.
"""

from __future__ import annotations

import fnmatch
import glob
import posixpath
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kvalidate.ansible.conditions import action_of, conditions_of, short
from kvalidate.ansible.errors import is_internal
from kvalidate.ansible.loader import LoadError, find_role, load_role, role_entry, task_file
from kvalidate.ansible.lookups.core import tree_path
from kvalidate.ansible.tasks import loop_items, record_gate, record_lenient, set_search_dirs
from kvalidate.ansible.types import NameChoice, RoleCtx, TaskCtx

if TYPE_CHECKING:
    from kvalidate.ansible.engine import Engine

INCLUDE_TASKS = frozenset({"include_tasks", "import_tasks", "include"})
INCLUDE_ROLE = frozenset({"include_role", "import_role"})
MAX_DEPTH = 8
MAX_TASKS = 20_000  # per run: peeking is bounded whatever the checkout's includes do
_NAME = re.compile(r"([^{}]*)\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}([^{}]*)")


def has_loop(task: Mapping[str, Any]) -> bool:
    return "loop" in task or any(str(k).startswith("with_") for k in task)


def name_pattern(raw: Any) -> tuple[str, str, str] | None:
    """`prefix{{ var }}suffix` -> (prefix, var, suffix); None for any other name."""
    m = _NAME.fullmatch(raw) if isinstance(raw, str) else None
    return (m[1], m[2], m[3]) if m else None


def selected(raw: Any, name: str) -> tuple[str, ...]:
    """For an include named by one variable that resolved to `name`, the condition that value
    stands for (`kube_network_plugin == 'calico'`), recorded with what the run found behind it."""
    pattern = name_pattern(raw)
    if pattern is None:
        return ()
    prefix, var, suffix = pattern
    if not (name.startswith(prefix) and name.endswith(suffix)) or len(name) < len(prefix) + len(suffix):
        return ()
    return (f"{var} == {name[len(prefix):len(name) - len(suffix)]!r}",)


def peek_include(engine: Engine, task: Mapping[str, Any], kind: str, raw: Any, hosts: list[str], ctx: TaskCtx,
                 ran: set[str], args: Mapping[str, Any] | None = None) -> None:
    """Record what is behind a dynamic include that `hosts` did not take (`ran`: the names they
    did include). `kind` is "tasks" or "role"."""
    if not engine.record_gates or not hosts or has_loop(task):
        return
    renderings, findings = len(engine.result.renderings), len(engine.result.findings)
    current = dict(engine.current)
    try:
        _peek_include(engine, task, kind, raw, hosts[0], ctx, ran, args or {})
    finally:
        del engine.result.renderings[renderings:]
        del engine.result.findings[findings:]
        engine.current = current


def _peek_include(engine: Engine, task: Mapping[str, Any], kind: str, raw: Any, host: str, ctx: TaskCtx,
                  ran: set[str], args: Mapping[str, Any]) -> None:
    when = task.get("when")
    tvars = dict(task.get("vars") or {})
    sub = replace(ctx, include_when=ctx.include_when + ((when,) if when is not None else ()),
                  vars=ctx.vars + (tvars,))
    pattern = name_pattern(raw)
    targets: list[tuple[str, tuple[str, ...]]] = []
    if pattern is not None:
        prefix, var, suffix = pattern
        values = _candidates(engine, kind, pattern, ctx)
        if values:
            conds = tuple(str(c) for c in conditions_of((*ctx.include_when, *ctx.conditions, when))
                          if not isinstance(c, bool))
            choice = NameChoice(var, tuple(values), conds)
            if choice not in engine.result.choices:
                engine.result.choices.append(choice)
        targets = [(f"{prefix}{v}{suffix}", (f"{var} == {v!r}",)) for v in values
                   if f"{prefix}{v}{suffix}" not in ran]
    elif not ran:
        name = _template(engine, raw, host, ctx, tvars)
        if name is None:
            return
        targets = [(name, ())]
    for name, extra in targets:
        inner = replace(sub, include_when=sub.include_when + extra)
        if kind == "tasks":
            path = _tasks_path(engine, name, ctx)
            if path is not None:
                _peek_file(engine, path, host, inner, 0)
        else:
            _peek_role(engine, name, host, inner, args, 0)


def _template(engine: Engine, raw: Any, host: str, ctx: TaskCtx, tvars: Mapping[str, Any]) -> str | None:
    try:
        return str(engine.templar.template(raw, engine.task_scope(host, ctx.role, [*ctx.vars, tvars])))
    except Exception as e:  # noqa: BLE001 - a name the first host cannot template is not peeked
        if is_internal(e):
            raise
        return None


def _tasks_path(engine: Engine, fname: str, ctx: TaskCtx) -> str | None:
    """Where `_run_file` finds an included task file: beside the including file, else in the role."""
    for base in (ctx.base, posixpath.join(ctx.role.role.path, "tasks") if ctx.role else None):
        if base is None:
            continue
        path = tree_path(posixpath.join(base, fname))
        if path is not None and engine.tree.is_file(path):
            return path
    return None


def _candidates(engine: Engine, kind: str, pattern: tuple[str, str, str], ctx: TaskCtx) -> list[str]:
    """The values of the pattern's variable that name a role (or task file) the checkout has."""
    prefix, _, suffix = pattern
    head, stem = posixpath.split(prefix)
    dirs: list[str] = []
    if kind == "tasks":
        dirs = [posixpath.join(b, head) for b in (ctx.base, posixpath.join(ctx.role.role.path, "tasks")
                                                   if ctx.role else "") if b]
    else:
        dirs = [posixpath.join("roles", head)]
        if ctx.role is not None:
            dirs.append(posixpath.join(posixpath.dirname(ctx.role.role.path), head))
    out: list[str] = []
    for d in dirs:
        d = posixpath.normpath(d)
        try:
            names = engine.tree.list_dir(d) if engine.tree.is_dir(d) else []
        except OSError:
            continue
        for n in sorted(names):
            if not fnmatch.fnmatchcase(n, f"{glob.escape(stem)}*{glob.escape(suffix)}"):
                continue
            value = n[len(stem):len(n) - len(suffix)] if suffix else n[len(stem):]
            if not value or value in out or "/" in value:
                continue
            name = f"{prefix}{value}{suffix}"
            if kind == "tasks":
                ok = _tasks_path(engine, name, ctx) is not None
            else:
                path = find_role(engine.files, name, ctx.base, ctx.role.role.path if ctx.role else "")
                ok = path is not None and task_file(engine.files, path, "main") is not None
            if ok:
                out.append(value)
    return out


def _budget(engine: Engine) -> bool:
    engine.peeked_tasks += 1
    return engine.peeked_tasks <= MAX_TASKS


def _peek_role(engine: Engine, name: str, host: str, ctx: TaskCtx, args: Mapping[str, Any], depth: int) -> None:
    try:
        path = find_role(engine.files, name, ctx.base, ctx.role.role.path if ctx.role else "")
        if path is None:
            return
        froms = {k: str(args[k]) for k in ("defaults_from", "vars_from") if k in args}
        role = load_role(engine.files, path, name, froms.get("defaults_from", "main"), froms.get("vars_from", "main"))
    except LoadError:
        return
    parents = (ctx.role.role, *ctx.role.parents) if ctx.role else ()
    rc = RoleCtx(role=role, params={}, parents=parents, public=False, included=ctx.role is not None)
    _peek_rc(engine, rc, host, ctx, str(args.get("tasks_from", "main")), depth)


def _peek_rc(engine: Engine, rc: RoleCtx, host: str, ctx: TaskCtx, tasks_from: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    for dep in rc.role.dependencies:
        name, params, when = role_entry(dep)
        try:
            path = find_role(engine.files, name, ctx.base, rc.role.path)
            if path is None:
                continue
            role = load_role(engine.files, path, name)
        except LoadError:
            continue
        dep_rc = RoleCtx(role=role, params=dict(params), parents=(rc.role, *rc.parents), public=False)
        conds = ctx.conditions + ((when,) if when is not None else ())
        _peek_rc(engine, dep_rc, host, replace(ctx, conditions=conds, vars=()), "main", depth + 1)
    path = task_file(engine.files, rc.role.path, tasks_from)
    if path is not None:
        _peek_file(engine, path, host, replace(ctx, role=rc), depth)


def _peek_file(engine: Engine, path: str, host: str, ctx: TaskCtx, depth: int) -> None:
    key = (path, ctx.role.key if ctx.role else (), repr((ctx.conditions, ctx.include_when)))
    if depth > MAX_DEPTH or key in engine.peeked_files:
        return
    engine.peeked_files.add(key)
    if any(fnmatch.fnmatchcase(path, pat) for pat in engine.skip_task_files):
        return
    try:
        tasks = engine.files.yaml(path) or []
    except LoadError:
        return
    _peek_tasks(engine, tasks, host, replace(ctx, base=posixpath.dirname(path), file=path), depth)


def _peek_tasks(engine: Engine, tasks: Any, host: str, ctx: TaskCtx, depth: int) -> None:
    for task in tasks if isinstance(tasks, list) else []:
        if not isinstance(task, Mapping) or not _budget(engine):
            continue
        when = task.get("when")
        tvars = dict(task.get("vars") or {})
        if "block" in task:
            inner = replace(ctx, conditions=ctx.conditions + ((when,) if when is not None else ()),
                            vars=ctx.vars + (tvars,))
            for key in ("block", "rescue", "always"):
                _peek_tasks(engine, task.get(key), host, inner, depth)
            continue
        module, args = action_of(task)
        kind = short(module)
        if kind in INCLUDE_TASKS or kind in INCLUDE_ROLE:
            if has_loop(task):
                continue
            if kind in ("import_tasks", "import_role"):
                sub = replace(ctx, conditions=ctx.conditions + ((when,) if when is not None else ()))
            else:
                sub = replace(ctx, include_when=ctx.include_when + ((when,) if when is not None else ()))
            sub = replace(sub, vars=ctx.vars + (tvars,))
            role_args = args if isinstance(args, Mapping) and kind in INCLUDE_ROLE else {"name": args}
            raw = (role_args.get("name") if kind in INCLUDE_ROLE
                   else args.get("file", args.get("_raw_params")) if isinstance(args, Mapping) else args)
            pattern = name_pattern(raw)
            names: list[tuple[str, tuple[str, ...]]] = []
            if pattern is not None:
                prefix, var, suffix = pattern
                names = [(f"{prefix}{v}{suffix}", (f"{var} == {v!r}",))
                         for v in _candidates(engine, "role" if kind in INCLUDE_ROLE else "tasks", pattern, ctx)]
            else:
                name = _template(engine, raw, host, ctx, tvars)
                names = [(name, ())] if name is not None else []
            for name, extra in names:
                inner = replace(sub, include_when=sub.include_when + extra)
                if kind in INCLUDE_ROLE:
                    _peek_role(engine, name, host, inner, role_args, depth + 1)
                else:
                    path = _tasks_path(engine, name, ctx)
                    if path is not None:
                        _peek_file(engine, path, host, inner, depth + 1)
        elif kind in ("template", "assert", "fail"):
            _peek_record(engine, task, module, args, host, ctx, tvars)


def _peek_record(engine: Engine, task: Mapping[str, Any], module: str, args: Any, host: str, ctx: TaskCtx,
                 tvars: Mapping[str, Any]) -> None:
    conds = (*ctx.conditions, task.get("when"))
    try:
        scope = engine.task_scope(host, ctx.role, [*ctx.vars, tvars])
        set_search_dirs(engine, ctx)
        try:
            items = loop_items(engine, task, scope, ctx)
        except Exception as e:  # noqa: BLE001 - a loop the first host cannot evaluate: read leniently
            if is_internal(e):
                raise
            record_lenient(engine, task, module, args, scope, conds, ctx, peeked=True)
            return
        if items is None:
            record_gate(engine, module, args, scope, conds, ctx, peeked=True)
            return
        for top in items:
            record_gate(engine, module, args, engine.task_scope(host, ctx.role, [*ctx.vars, tvars], top), conds, ctx,
                        peeked=True)
    except Exception as e:  # noqa: BLE001 - peeking is best effort; kvalidate's own bugs still surface
        if is_internal(e):
            raise
