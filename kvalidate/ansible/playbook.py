"""Playbook structure: plays, roles (meta dependencies, `roles:` entries, `import_role` and
`include_role` with `tasks_from`), blocks (`when` inherited, `rescue`, `always`), and
`import_*`/`include_*` of tasks and playbooks. Single tasks are run by `tasks.py`.

Hosts move through a play together, task by task (Ansible's linear strategy), so a `set_fact` on
one host is visible through `hostvars` to the next task of every other host. An `include_*` is
evaluated per host; hosts that include the same file run it together, as Ansible batches them.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from jinja2.exceptions import UndefinedError

from kvalidate.ansible.conditions import action_of, check_when, short
from kvalidate.ansible.errors import render_finding
from kvalidate.ansible.loader import LoadError, Role, find_role, load_role, role_entry, task_file, yaml_line
from kvalidate.ansible.lookups.core import tree_path
from kvalidate.ansible.peek import INCLUDE_ROLE, INCLUDE_TASKS, peek_include, selected
from kvalidate.ansible.tasks import execute_task, loop_items, when_despite_loop_error
from kvalidate.ansible.types import PlayState, RoleCtx, TaskCtx
from kvalidate.ansible.variables import Scope
from kvalidate.model import Finding, Severity

if TYPE_CHECKING:
    from kvalidate.ansible.engine import Engine



def load_failure(engine: Engine, e: LoadError) -> None:
    engine.add_finding(Finding(severity=Severity.ERROR, rule="load-error", message=str(e), file=e.path,
                               line=e.line, template=e.path, template_line=e.line))


def _static_scope(engine: Engine, extra: Mapping[str, Any] | None = None) -> Scope:
    return Scope(engine.resolver, "", [dict(extra or {}), engine.extra_vars])


def run_playbook_file(engine: Engine, path: str, playbook_dir: str | None = None,
                      import_vars: Mapping[str, Any] | None = None, import_when: tuple[Any, ...] = ()) -> None:
    """Run the plays of `path`. `playbook_dir` is the directory of the playbook given on the command
    line; a play of an imported playbook sees the directory of the file that holds it (PlaybookExecutor
    sets the loader's basedir to the play's `_included_path`). `import_vars` and `import_when` come
    from the `import_playbook` entries that led here (PlaybookInclude.load_data: the import's vars
    over each play's own, its `when` before every block of each play; the outer import's last)."""
    try:
        plays = engine.files.yaml(path)
    except LoadError as e:
        load_failure(engine, e)
        return
    imported = playbook_dir is None
    here = posixpath.dirname(path)
    for entry in plays if isinstance(plays, list) else []:
        if not isinstance(entry, Mapping):
            continue
        imp = entry.get("import_playbook", entry.get("ansible.builtin.import_playbook"))
        if imp is not None:
            own = entry.get("vars")
            scope_vars = {**(own if isinstance(own, Mapping) else {}), **(import_vars or {})}
            target = str(engine.templar.template(imp, _static_scope(engine, scope_vars)))
            when = entry.get("when")
            conds = (*import_when, *(when if isinstance(when, list) else [when] if when is not None else []))
            run_playbook_file(engine, posixpath.normpath(posixpath.join(here, target)), None,
                              scope_vars, tuple(conds))
        elif "hosts" in entry:
            pdir = here if imported else str(playbook_dir)
            run_play(engine, entry, here, pdir, import_vars or {}, import_when, path)


def make_role(engine: Engine, name: str, params: Mapping[str, Any], base: str,
              parent: RoleCtx | None = None, public: bool = True, **froms: str) -> RoleCtx:
    path = find_role(engine.files, name, base, parent.role.path if parent else "")
    if path is None:
        raise LoadError(f"the role '{name}' was not found", base)
    role = load_role(engine.files, path, name, froms.get("defaults_from", "main"), froms.get("vars_from", "main"))
    parents = (parent.role, *parent.parents) if parent else ()
    return RoleCtx(role=role, params=dict(params), parents=parents, public=public)


def _with_deps(engine: Engine, rc: RoleCtx, base: str, out: list[RoleCtx]) -> None:
    for dep in rc.role.dependencies:
        name, params, _ = role_entry(dep)
        _with_deps(engine, make_role(engine, name, params, base, rc), base, out)
    out.append(rc)


def _prescan(engine: Engine, tasks: Any, base: str, out: list[RoleCtx], direct: list[Role],
             depth: int = 0) -> None:
    """Static imports make roles public for the whole play: find `import_role` (and follow
    `import_tasks`) before the play runs, as Ansible does when it parses the play."""
    if depth > 20 or not isinstance(tasks, list):
        return
    for t in tasks:
        if not isinstance(t, Mapping):
            continue
        for key in ("block", "rescue", "always"):
            _prescan(engine, t.get(key), base, out, direct, depth + 1)
        module, args = action_of(t)
        if short(module) == "import_role" and isinstance(args, Mapping):
            try:
                rc = make_role(engine, str(args.get("name")), {}, base, None, True, **_froms(args))
                _with_deps(engine, rc, base, out)
                direct.append(rc.role)  # IncludeRole.get_block_list: myplay.roles.append(actual_role)
            except LoadError as e:
                load_failure(engine, e)
        elif short(module) == "import_tasks":
            fname = args.get("file") if isinstance(args, Mapping) else args
            if isinstance(fname, str) and "{{" not in fname:
                p = posixpath.normpath(posixpath.join(base, fname))
                if engine.tree.is_file(p):
                    _prescan(engine, engine.files.yaml(p), posixpath.dirname(p), out, direct, depth + 1)


def _froms(args: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(args[k]) for k in ("defaults_from", "vars_from") if k in args}


def run_play(engine: Engine, play: Mapping[str, Any], base: str, playbook_dir: str,
             import_vars: Mapping[str, Any] | None = None, import_when: tuple[Any, ...] = (), file: str = "") -> None:
    """Run one play of the playbook file `file` (its tasks' findings are located there)."""
    own_vars = play.get("vars")
    play_vars = {**(own_vars if isinstance(own_vars, Mapping) else {}), **(import_vars or {})}
    static = _static_scope(engine, play_vars)
    try:
        pattern = engine.templar.template(play.get("hosts", ""), static)
    except Exception as e:
        engine.add_finding(render_finding(e, task=f"play {play.get('name', '')}", task_file=file,
                                          task_line=yaml_line(play)))
        return
    # get_hosts(pattern, ignore_restrictions=True): --limit (the subset) applies, failed hosts stay
    hosts_all = [h for h in engine.inventory.match(pattern if isinstance(pattern, list | str) else str(pattern))
                 if engine.in_limit(h)]
    for h in hosts_all:
        if h not in engine.inventory.hosts:
            engine.implicit_localhost(h)
    engine.played.update(hosts_all)
    hosts = [h for h in hosts_all if not engine.host_state(h).failed]
    public: list[RoleCtx] = []
    direct: list[Role] = []  # Play.roles: the play's roles, then every imported or included role
    try:
        for entry in play.get("roles") or []:
            name, params, _ = role_entry(entry)
            own = make_role(engine, name, params, base)
            _with_deps(engine, own, base, public)
            direct.append(own.role)
    except LoadError as e:
        load_failure(engine, e)
        return
    for key in ("pre_tasks", "tasks", "post_tasks"):
        _prescan(engine, play.get(key), base, public, direct)
    vars_files: list[dict[str, Any]] = []
    for vf in play.get("vars_files") or []:
        p = tree_path(posixpath.join(base, str(engine.templar.template(vf, static))))
        try:
            data = engine.files.yaml(p) if p is not None else None
        except LoadError as e:
            load_failure(engine, e)
            continue
        vars_files.append(dict(data) if isinstance(data, Mapping) else {})
    engine.play = PlayState(name=str(play.get("name", "")), hosts=hosts, vars=dict(play_vars),
                            vars_files=vars_files, public=public, playbook_dir=playbook_dir,
                            hosts_all=hosts_all)
    for role in direct:
        engine.add_play_role(role)
    engine.reset_play_scopes()
    if not hosts:
        return
    ctx = TaskCtx(base=base, conditions=import_when, file=file)
    run_tasks(engine, play.get("pre_tasks") or [], hosts, ctx)
    for entry in play.get("roles") or []:
        name, params, when = role_entry(entry)
        rc = next((r for r in public if r.role.name == name and dict(r.params) == params and not r.parents), None)
        if rc is not None:
            run_role(engine, rc, hosts, replace(ctx, conditions=import_when + ((when,) if when is not None else ())))
    run_tasks(engine, play.get("tasks") or [], hosts, ctx)
    run_tasks(engine, play.get("post_tasks") or [], hosts, ctx)


def run_role(engine: Engine, rc: RoleCtx, hosts: list[str], ctx: TaskCtx, tasks_from: str = "main",
             dedup: bool = True) -> None:
    play = engine.play
    key = (rc.role.path, repr(sorted(rc.params.items(), key=str)))
    completed: set[str] = play.ran_roles.setdefault(key, set()) if play is not None else set()
    if dedup and not rc.role.allow_duplicates:
        # Role.has_run(host): a role runs once per play and host, once one of its tasks ran there
        hosts = [h for h in hosts if h not in completed]
        if not hosts:
            return
    for dep in rc.role.dependencies:
        name, params, when = role_entry(dep)
        try:
            dep_rc = make_role(engine, name, params, ctx.base, rc, public=rc.public)
        except LoadError as e:
            load_failure(engine, e)
            continue
        conds = ctx.conditions + ((when,) if when is not None else ())
        run_role(engine, _public_twin(engine, dep_rc), hosts, replace(ctx, conditions=conds, vars=()))
    path = task_file(engine.files, rc.role.path, tasks_from)
    if path is None:
        return
    tasks = _task_list(engine, path)
    before = {h: engine.task_runs.get(h, 0) for h in hosts}
    run_tasks(engine, tasks, hosts, TaskCtx(role=rc, conditions=ctx.conditions, vars=ctx.vars,
                                            base=posixpath.dirname(path), file=path, include_when=ctx.include_when))
    completed.update(h for h in hosts if engine.task_runs.get(h, 0) > before[h])


def _task_list(engine: Engine, path: str) -> Any:
    if any(fnmatch.fnmatchcase(path, pat) for pat in engine.skip_task_files):
        return []
    try:
        return engine.files.yaml(path) or []
    except LoadError as e:
        load_failure(engine, e)
        return []


def _public_twin(engine: Engine, rc: RoleCtx) -> RoleCtx:
    """The already-loaded RoleCtx of the play for the same role (keeps role scope caches shared)."""
    for r in engine.play.public if engine.play else []:
        if r.role.path == rc.role.path and dict(r.params) == dict(rc.params):
            return r
    return rc


def run_tasks(engine: Engine, tasks: Any, hosts: list[str], ctx: TaskCtx) -> None:
    for task in tasks if isinstance(tasks, list) else []:
        active = [h for h in hosts if not engine.host_state(h).failed]
        if not active:
            return
        if not isinstance(task, Mapping):
            continue
        if "block" in task:
            _run_block(engine, task, active, ctx)
            continue
        module, args = action_of(task)
        if short(module) in INCLUDE_TASKS:
            _include_tasks(engine, task, short(module), args, active, ctx)
        elif short(module) in INCLUDE_ROLE:
            _include_role(engine, task, short(module), args, active, ctx)
        else:
            execute_task(engine, task, module, args, active, ctx)


def _run_block(engine: Engine, task: Mapping[str, Any], hosts: list[str], ctx: TaskCtx) -> None:
    conds = ctx.conditions + ((task["when"],) if task.get("when") is not None else ())
    inner = replace(ctx, conditions=conds, vars=ctx.vars + (dict(task.get("vars") or {}),))
    ok_before = {h for h in hosts if not engine.host_state(h).failed}
    run_tasks(engine, task.get("block"), hosts, inner)
    failed = [h for h in hosts if h in ok_before and engine.host_state(h).failed]
    if failed and task.get("rescue"):
        for h in failed:
            engine.host_state(h).failed = False
        run_tasks(engine, task.get("rescue"), failed, inner)
    run_tasks(engine, task.get("always"), hosts, inner)


def _per_host(engine: Engine, task: Mapping[str, Any], hosts: list[str], ctx: TaskCtx,
              ) -> list[tuple[str, Scope, Mapping[str, Any]]]:
    """(host, scope, loop vars) for each host and item whose `when` holds."""
    out: list[tuple[str, Scope, Mapping[str, Any]]] = []
    task_vars = ctx.vars + (dict(task.get("vars") or {}),)
    conds = (*ctx.conditions, task.get("when"))
    for host in hosts:
        scope = engine.task_scope(host, ctx.role, list(task_vars))
        try:
            try:
                items = loop_items(engine, task, scope, ctx)
            except UndefinedError as loop_error:
                if not when_despite_loop_error(engine, conds, scope, loop_error):  # undefined loop + false when
                    continue
                raise
            for top in items if items is not None else [{}]:
                s = engine.task_scope(host, ctx.role, list(task_vars), top) if top else scope
                if check_when(engine, conds, s):
                    out.append((host, s, top))
        except Exception as e:
            engine.add_finding(render_finding(e, host=host, task=str(task.get("name", "")), task_file=ctx.file,
                                              task_line=yaml_line(task)))
            engine.host_state(host).failed = not engine.ignores_errors(task)
    return out


def _include_tasks(engine: Engine, task: Mapping[str, Any], kind: str, args: Any, hosts: list[str],
                   ctx: TaskCtx) -> None:
    raw = args.get("file", args.get("_raw_params")) if isinstance(args, Mapping) else args
    tvars = dict(task.get("vars") or {})
    if kind == "import_tasks":
        fname = engine.templar.template(raw, engine.task_scope(hosts[0], ctx.role, [*ctx.vars, tvars]))
        conds = ctx.conditions + ((task["when"],) if task.get("when") is not None else ())
        _run_file(engine, str(fname), hosts, replace(ctx, conditions=conds, vars=ctx.vars + (tvars,)))
        return
    batches: dict[tuple[str, int], tuple[list[str], Mapping[str, Any]]] = {}
    for host, scope, top in _per_host(engine, task, hosts, ctx):
        fname = str(engine.templar.template(raw, scope))
        batch = batches.setdefault((fname, id(top) if top else 0), ([], top))
        batch[0].append(host)
    inc = ctx.include_when + ((task["when"],) if task.get("when") is not None else ())
    if engine.record_gates:
        peek_include(engine, task, "tasks", raw, hosts, ctx, {f for f, _ in batches})
    for (fname, _), (group, top) in batches.items():
        picked = selected(raw, fname) if engine.record_gates else ()
        _run_file(engine, fname, group, replace(ctx, vars=ctx.vars + (tvars, dict(top)), include_when=inc + picked))


def _run_file(engine: Engine, fname: str, hosts: list[str], ctx: TaskCtx) -> None:
    path = tree_path(posixpath.join(ctx.base, fname))
    if path is None or not engine.tree.is_file(path):
        alt = tree_path(posixpath.join(ctx.role.role.path, "tasks", fname)) if ctx.role else None
        path = alt if alt is not None and engine.tree.is_file(alt) else path
    if path is None:
        return
    tasks = _task_list(engine, path)
    run_tasks(engine, tasks, hosts, replace(ctx, base=posixpath.dirname(path), file=path))


def _role_names(engine: Engine, raw: Any, groups: list[tuple[list[str], Mapping[str, Any]]], ctx: TaskCtx,
                tvars: Mapping[str, Any]) -> set[str]:
    """The role names an include_role resolved to for the hosts that took it (peeking skips them)."""
    out: set[str] = set()
    for group, top in groups:
        try:
            out.add(str(engine.templar.template(raw, engine.task_scope(group[0], ctx.role, [*ctx.vars, tvars],
                                                                          top or None))))
        except Exception:  # noqa: BLE001, S112 - the run itself reports it, next
            continue
    return out


def _include_role(engine: Engine, task: Mapping[str, Any], kind: str, args: Any, hosts: list[str],
                  ctx: TaskCtx) -> None:
    args = args if isinstance(args, Mapping) else {"name": args}
    tvars = dict(task.get("vars") or {})
    tasks_from = str(args.get("tasks_from", "main"))
    if kind == "import_role":
        conds = ctx.conditions + ((task["when"],) if task.get("when") is not None else ())
        groups: list[tuple[list[str], Mapping[str, Any]]] = [(list(hosts), {})]
    else:
        conds = ctx.conditions
        outer = ctx
        ctx = replace(ctx, include_when=ctx.include_when + ((task["when"],) if task.get("when") is not None else ()))
        by_top: dict[int, tuple[list[str], Mapping[str, Any]]] = {}
        for host, _, top in _per_host(engine, task, hosts, ctx):
            by_top.setdefault(id(top) if top else 0, ([], top))[0].append(host)
        groups = list(by_top.values())
        if engine.record_gates:
            peek_include(engine, task, "role", args.get("name"), hosts, outer,
                         _role_names(engine, args.get("name"), groups, ctx, tvars), args)
    for group, top in groups:
        scope = engine.task_scope(group[0], ctx.role, [*ctx.vars, tvars], top or None)
        name = str(engine.templar.template(args.get("name"), scope))
        try:
            rc = make_role(engine, name, {}, ctx.base, ctx.role, public=kind == "import_role"
                           or bool(args.get("public")), **_froms(args))
        except LoadError as e:
            load_failure(engine, e)
            continue
        rc = _public_twin(engine, replace(rc, included=ctx.role is not None))
        if kind == "include_role":
            engine.add_play_role(rc.role)
        if rc.public and engine.play is not None and rc not in engine.play.public:
            engine.play.public.append(rc)
            engine.reset_play_scopes()
        inner = replace(ctx, conditions=conds, vars=ctx.vars + (tvars, dict(top or {})))
        if engine.record_gates and kind == "include_role":
            inner = replace(inner, include_when=inner.include_when + selected(args.get("name"), name))
        run_role(engine, rc, group, inner, tasks_from, dedup=False)
