"""Running one task on a list of hosts: `when` (inherited conditions too), `loop`/`with_*` with
`loop_control`, task `vars:`, `run_once` (the result and facts go to every host, as in
ansible-core 2.18), `delegate_to`, `register`, `failed_when`, `ignore_errors`; the action itself
comes from `ACTIONS` (actions.py) or, for a module that would touch a machine, from the
simulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from ansible.utils.unsafe_proxy import AnsibleUnsafeText
from jinja2.exceptions import UndefinedError

from kvalidate.ansible.actions import run_action, task_line
from kvalidate.ansible.conditions import action_of, check_when, conditions_of, short
from kvalidate.ansible.errors import is_internal, render_finding
from kvalidate.ansible.loader import yaml_line
from kvalidate.ansible.lookups.core import CHECKOUT_ROOT, find_file, run_lookup
from kvalidate.ansible.reuse import PURE_LOOKUPS
from kvalidate.ansible.taskmemo import run_memoized, task_key
from kvalidate.ansible.templar import RenderVars
from kvalidate.ansible.types import CheckGate, TemplateGate
from kvalidate.ansible.variables import Scope

if TYPE_CHECKING:
    from kvalidate.ansible.engine import Engine
    from kvalidate.ansible.types import TaskCtx

def loop_items(engine: Engine, task: Mapping[str, Any], scope: Scope, ctx: TaskCtx,
               lenient: bool = False) -> list[dict[str, Any]] | None:
    """The loop-variable layers of a looped task (None without a loop). `lenient` (automatic
    coverage's recording only): a term that hits an undefined name stays as written."""
    items: Any = None
    template = engine.templar.template_lenient if lenient else engine.templar.template
    if "loop" in task:
        items = template(task["loop"], scope)
        if not isinstance(items, list):
            raise TypeError(f"Invalid data passed to 'loop', it requires a list, got this instead: {items}")
    else:
        for key, value in task.items():
            if key.startswith("with_"):
                name = key[5:]
                # TaskExecutor._get_loop_items: first_found terms are templated leniently
                terms = (engine.templar.template_lenient(value, scope) if name == "first_found"
                         else template(value, scope))
                terms = terms if isinstance(terms, list) else [terms]
                module, _ = action_of(task)
                kwargs: dict[str, Any] = {}
                if name == "first_found":
                    kwargs["_subdir"] = {"include_vars": "vars", "template": "templates"}.get(short(module), "files")
                set_search_dirs(engine, ctx)
                if name not in PURE_LOOKUPS:
                    engine.templar.reuse.taint_now()  # files, the inventory: not reused (as in a template)
                items = run_lookup(engine.lookup_env, RenderVars(scope, None, engine.templar.env.globals),
                                   name, terms, kwargs, True)
                break
    if items is None:
        return None
    lc = task.get("loop_control") or {}
    var, index_var = str(lc.get("loop_var", "item")), lc.get("index_var")
    out = []
    for i, item in enumerate(items):
        top: dict[str, Any] = {var: item, "ansible_loop_var": var}
        if index_var:
            top[str(index_var)] = i
            top["ansible_index_var"] = str(index_var)
        if lc.get("extended"):
            top["ansible_loop"] = {"allitems": items, "index": i + 1, "index0": i, "revindex": len(items) - i,
                                   "revindex0": len(items) - i - 1, "first": i == 0, "last": i == len(items) - 1,
                                   "length": len(items), "previtem": items[i - 1] if i else None,
                                   "nextitem": items[i + 1] if i + 1 < len(items) else None}
        out.append(top)
    return out


def when_despite_loop_error(engine: Engine, conds: Any, scope: Scope, loop_error: UndefinedError) -> bool:
    """TaskExecutor (2.18) when the loop is undefined: the task is skipped if its conditional,
    evaluated without the loop variable, is false, and fails with the loop's error otherwise; the
    loop's error also takes precedence over an error of the conditional itself (which typically
    reads the loop variable)."""
    try:
        return check_when(engine, conds, scope)
    except Exception as when_error:
        if is_internal(when_error):
            raise
        raise loop_error from when_error


def set_search_dirs(engine: Engine, ctx: TaskCtx) -> None:

    dirs = [f"{CHECKOUT_ROOT}/{ctx.role.role.path}"] if ctx.role else []
    if ctx.base and (not ctx.role or not ctx.base.startswith(ctx.role.role.path)):
        dirs.append(f"{CHECKOUT_ROOT}/{ctx.base}")
    pdir = engine.play.playbook_dir if engine.play else ""
    dirs.append(f"{CHECKOUT_ROOT}/{pdir}".rstrip("/"))
    engine.lookup_env.search_dirs = dirs


def _skipped(conds: Any) -> dict[str, Any]:
    flat = conditions_of(conds)
    return {"changed": False, "skipped": True, "skip_reason": "Conditional result was False",
            "false_condition": flat[-1] if flat else None}


def execute_task(engine: Engine, task: Mapping[str, Any], module: str, args: Any, hosts: list[str],
                 ctx: TaskCtx) -> None:

    name = str(task.get("name") or module)
    role = ctx.role.role.name if ctx.role else ""
    conds = (*ctx.conditions, task.get("when"))
    task_vars = [*ctx.vars, dict(task.get("vars") or {})]
    run_once = bool(engine.templar.template(task.get("run_once", False), engine.task_scope(hosts[0], ctx.role,
                                                                                          task_vars)))
    set_search_dirs(engine, ctx)
    for host in hosts[:1] if run_once else hosts:
        targets = run_once_hosts(engine, hosts) if run_once else [host]
        scope = engine.task_scope(host, ctx.role, task_vars)
        engine.current = {"host": host, "task": name, "role": role, "item": None}
        key = task_key(engine, task, module, args, host, targets, ctx, run_once)
        if key is None:
            _run_on(engine, task, module, args, host, targets, scope, ctx, conds, task_vars, name)
        else:
            run_memoized(engine, key, scope, partial(_run_on, engine, task, module, args, host, targets, scope, ctx,
                                                     conds, task_vars, name, inner=True))


def _run_on(engine: Engine, task: Mapping[str, Any], module: str, args: Any, host: str, targets: list[str],
            scope: Scope, ctx: TaskCtx, conds: Any, task_vars: list[Mapping[str, Any]], name: str,
            inner: bool = False) -> None:
    """One host's run of a task (`targets`: where its result and facts go). `inner` (a memoized run,
    taskmemo.py): each loop item's scope is derived from `scope` itself, so that what the task reads
    through it is recorded as read in `scope` (the same layers, read when the item starts: a memoized
    task changes no group or role scope)."""
    try:
        try:
            items = loop_items(engine, task, scope, ctx)
        except UndefinedError as loop_error:
            if engine.record_gates:
                record_lenient(engine, task, module, args, scope, conds, ctx)
            if not when_despite_loop_error(engine, conds, scope, loop_error):
                _register(engine, task, targets, _skipped(conds), ctx)
                return
            raise
        if items is None:
            if engine.record_gates:
                record_gate(engine, module, args, scope, conds, ctx)
            if check_when(engine, conds, scope):
                result = run_action(engine, task, module, args, scope, host, targets, ctx)
            else:
                result = _skipped(conds)
        else:
            results = []
            for top in items:
                s = scope.derive_inner(top) if inner else engine.task_scope(host, ctx.role, task_vars, top)
                var = top["ansible_loop_var"]
                engine.current["item"] = top[var]
                if engine.record_gates:
                    record_gate(engine, module, args, s, conds, ctx)
                if check_when(engine, conds, s):
                    r = run_action(engine, task, module, args, s, host, targets, ctx)
                else:
                    r = _skipped(conds)
                results.append({**r, var: top[var], "ansible_loop_var": var})
            result = {"results": results, "changed": any(r.get("changed") for r in results),
                      "msg": "All items completed", "skipped": bool(results) and all(
                          r.get("skipped") for r in results)}
    except Exception as e:
        engine.add_finding(render_finding(e, host=host, task=name, task_file=ctx.file, task_line=yaml_line(task)))
        if not engine.ignores_errors(task):
            for t in targets:
                engine.fail_host(t)
        # TaskExecutor.run: an error of the task (its loop, `when` or arguments) is its result,
        # registered as any other (what `ignore_errors` and `rescue` then see), unsafe as every
        # registered result (its message may quote the `{{ }}` that failed)
        _register(engine, task, targets, {"failed": True, "msg": AnsibleUnsafeText(str(e))}, ctx)
        return
    _register(engine, task, targets, result, ctx)


def run_once_hosts(engine: Engine, hosts: list[str]) -> list[str]:
    """Where a `run_once` task's result and facts go: StrategyBase.get_task_hosts gives every host of
    the play (`_hosts_cache`: the play's pattern under --limit, failed hosts included), not only the
    hosts running the task, so a host that skipped the include around it gets them too."""
    play = engine.play
    if play is None:
        return list(hosts)
    return list(dict.fromkeys([*play.hosts_all, *hosts]))


def record_lenient(engine: Engine, task: Mapping[str, Any], module: str, args: Any, scope: Scope, conds: Any,
                   ctx: TaskCtx, peeked: bool = False) -> None:
    """A template task whose loop hits an undefined name (`{{ 'a' if cfg.with_networks else 'b'
    }}` with `with_networks` missing from the default dict): record it for each item that can be
    read leniently, so that automatic coverage still sees the template and what it reads."""
    try:
        items = loop_items(engine, task, scope, ctx, lenient=True)
    except Exception as e:  # noqa: BLE001 - still unreadable: not recorded
        if is_internal(e):
            raise
        return
    for top in items or []:
        record_gate(engine, module, args, engine.task_scope(scope.host, ctx.role, [*ctx.vars,
                    dict(task.get("vars") or {})], top), conds, ctx, peeked)


def record_gate(engine: Engine, module: str, args: Any, scope: Scope, conds: Any, ctx: TaskCtx,
                peeked: bool = False) -> None:
    """Automatic coverage's hook: a `template` task met (before its `when` is checked) becomes a
    `TemplateGate` (template path, its gating conditions, role defaults), an `assert` or `fail`
    task a `CheckGate`. Best effort and free of side effects on the run: a `src` that cannot be
    templated here is not recorded."""

    if short(module) in ("assert", "fail"):
        conds = tuple(str(c) for c in conditions_of((*ctx.include_when, *conditions_of(conds)))
                      if not isinstance(c, bool))
        that = args.get("that") if isinstance(args, Mapping) and short(module) == "assert" else None
        check = CheckGate(short(module), conds, tuple(str(c) for c in conditions_of(that) if not isinstance(c, bool)),
                          engine.scope_defaults(ctx.role), {scope.host: scope})
        if check.that or check.module == "fail":
            _record(engine, check, engine.result.checks, scope)
        return
    if short(module) != "template" or not isinstance(args, Mapping):
        return
    try:
        src = engine.templar.template(args.get("src", ""), scope)
    except Exception as e:  # noqa: BLE001 - an unresolvable src is simply not recorded
        if is_internal(e):
            raise
        return
    path = find_file(engine.lookup_env, "templates", str(src))
    if path is None:
        return
    texts = tuple(str(c) for c in conditions_of((*ctx.include_when, *conditions_of(conds)))
                  if not isinstance(c, bool))
    gate = TemplateGate(path, ctx.role.role.name if ctx.role else "", texts, engine.scope_defaults(ctx.role),
                        {scope.host: scope}, peeked)
    _record(engine, gate, engine.result.gates, scope)


def _record(engine: Engine, gate: TemplateGate | CheckGate, into: list[Any], scope: Scope) -> None:
    """Add `gate` once; met again on another host, keep that host's variables too (up to 3)."""
    existing = engine.gate_index.get(gate)
    if existing is None:
        engine.gate_index[gate] = gate
        into.append(gate)
    elif len(existing.scopes) < 3:
        existing.scopes.setdefault(scope.host, scope)


def _register(engine: Engine, task: Mapping[str, Any], targets: list[str], result: dict[str, Any],
              ctx: TaskCtx | None = None) -> None:
    if task.get("register"):
        name = str(task["register"])
        for t in targets:
            engine.set_var(t, "nonpersistent", {name: result})
        if engine.origins is not None:
            file = ctx.file if ctx is not None else ""
            engine.note_origin([name], False, lambda: (
                f"registered by task '{task.get('name', '')}' in {file}:{task_line(engine, file, task, 'register')} "
                "(a registered result is never cached)"))
