"""Actions the engine runs itself (`ACTIONS`), and the simulator hook for every other module.

- `template`: renders `src` (found in the role's `templates/`, then beside the playbook) with the
  task's variables plus Ansible's `template_*` variables, records a `Rendering`, and returns
  the module's result (`checksum` is the SHA-1 of the text, as Ansible's). A render failure is a
  finding, and the host goes on (unlike Ansible), so one finding does not hide the others.
- `set_fact` (with `cacheable`; 'yes'/'no'/'true'/'false' strings become booleans, as in 2.18),
  `include_vars` (file, `dir`, `name`), `group_by` (`key`, `parents`), `add_host`, `assert`,
  `fail`, `debug`, `meta` (no-op), `set_stats`.
- `copy` with `content:` is recorded as a `Rendering` with `via="copy"` (its text is templated
  by the task, and is often YAML), then simulated like any other module.
- anything else: arguments are templated (as Ansible would, so undefined names are findings),
  then the simulator gives the result; None -> `DEFAULT_RESULT`.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ansible.module_utils.parsing.convert_bool import boolean

from kvalidate.ansible.conditions import check_when, short
from kvalidate.ansible.errors import render_finding
from kvalidate.ansible.loader import LoadError, yaml_line
from kvalidate.ansible.lookups.core import find_file, include_loader, template_vars, tree_path
from kvalidate.ansible.templar import OMIT_TOKEN
from kvalidate.ansible.types import DEFAULT_RESULT, ModuleCall, Rendering
from kvalidate.ansible.variables import Scope
from kvalidate.model import Finding, Severity

if TYPE_CHECKING:
    from kvalidate.ansible.engine import Engine
    from kvalidate.ansible.types import TaskCtx


class TaskFailed(Exception):
    """An assert or fail task failed (the host stops, as in Ansible)."""


Action = Callable[["Engine", Mapping[str, Any], Any, Scope, str, list[str], "TaskCtx"], dict[str, Any]]


def _args(engine: Engine, args: Any, scope: Scope) -> dict[str, Any]:
    value = engine.templar.template(args, scope)
    if not isinstance(value, Mapping):
        return {"_raw_params": value}
    return {k: v for k, v in value.items() if v != OMIT_TOKEN}


def _template(engine: Engine, task: Mapping[str, Any], args: Any, scope: Scope, host: str, targets: list[str],
              ctx: TaskCtx) -> dict[str, Any]:
    a = _args(engine, args, scope)
    src, dest = str(a.get("src", "")), str(a.get("dest", ""))
    path = find_file(engine.lookup_env, "templates", src)
    if path is None:
        raw = args.get("src") if isinstance(args, Mapping) else args
        raise LoadError(f"Could not find or access '{src}'", ctx.file or src, task_line(engine, ctx.file, task, raw))
    name = str(task.get("name") or "template")
    target = str(engine.templar.template(task.get("delegate_to"), scope) or host)
    try:
        loader = include_loader(engine.lookup_env, path)
        text, lines = engine.templar.render_file_mapped(engine.tree.read_text(path), scope, path,
                                                        template_vars(path, dest), loader)
    except Exception as e:
        engine.add_finding(render_finding(e, template=path, host=target, dest=dest, task=name))
        return {"changed": False, "failed": True, "msg": str(e)}
    engine.result.renderings.append(Rendering(
        template=path, role=ctx.role.role.name if ctx.role else "", dest=dest, host=target, task=name,
        item=engine.current.get("item"), text=text, via="template", vars_host=host, lines=lines))
    data = text.encode()
    return {"changed": True, "failed": False, "dest": dest, "src": path, "checksum": hashlib.sha1(data).hexdigest(),
            "md5sum": hashlib.md5(data).hexdigest(), "size": len(data), "state": "file",  # noqa: S324
            "mode": a.get("mode", "0644"), "owner": a.get("owner", "root"), "group": a.get("group", "root"),
            "uid": 0, "gid": 0}


def task_line(engine: Engine, file: str, task: Mapping[str, Any], needle: Any) -> int:
    """The 1-based line of `needle` (a task argument as written) in the task `task` of `file`: the
    first line naming it from the task's `name:` line to the next task; else the `name:` line; 0 when
    not found. Task data carries no positions (the YAML is loaded without them)."""
    try:
        lines = engine.tree.read_text(file).splitlines() if file else []
    except Exception:  # noqa: BLE001 - only used to locate a finding
        return 0
    start, end, name = 0, len(lines), task.get("name")
    if name is not None:
        pattern = re.compile(r"(\s*)(-\s+)?name:\s*(['\"]?)" + re.escape(str(name)) + r"\3\s*(#.*)?$")
        found = next(((i, m) for i, ln in enumerate(lines) if (m := pattern.match(ln))), None)
        if found is None:
            name = None
        else:
            start, m = found
            indent = len(m.group(1)) - (0 if m.group(2) else 2)  # the task's own `- ` column
            end = next((j for j in range(start + 1, len(lines))
                        if re.match(r"\s*- ", lines[j]) and len(lines[j]) - len(lines[j].lstrip()) <= indent), end)
    text = str(needle) if needle is not None else ""
    if text:
        for i in range(start, end):
            if text in lines[i]:
                return i + 1
    return start + 1 if name is not None else 0


def _fact_hosts(engine: Engine, task: Mapping[str, Any], scope: Scope, targets: list[str]) -> list[str]:
    """Where a task's facts go: StrategyBase._process_pending_results (2.18) gives them to the
    delegated host alone under `delegate_facts` (`get_delegated_hosts`), else to the task's hosts
    (every host of the batch under run_once)."""
    if task.get("delegate_to") is not None and boolean(task.get("delegate_facts", False), strict=False):
        return [str(engine.templar.template(task["delegate_to"], scope))]
    return targets


def _set_fact(engine: Engine, task: Mapping[str, Any], args: Any, scope: Scope, host: str, targets: list[str],
              ctx: TaskCtx) -> dict[str, Any]:
    a = _args(engine, args, scope)
    cacheable = boolean(a.pop("cacheable", False), strict=False)
    facts = {k: boolean(v, strict=False) if isinstance(v, str) and v.lower() in ("true", "false", "yes", "no")
             else v for k, v in a.items()}
    for t in _fact_hosts(engine, task, scope, targets):
        engine.set_var(t, "nonpersistent", facts)
        if cacheable:
            engine.set_facts(t, facts)
    if engine.origins is not None:
        for k in facts:
            engine.note_origin([k], cacheable, lambda k=k: (
                f"set by set_fact {'with' if cacheable else 'without'} cacheable: true in "
                f"{ctx.file}:{task_line(engine, ctx.file, task, f'{k}:') or task_line(engine, ctx.file, task, None)}"))
    return {"changed": False, "failed": False, "ansible_facts": facts}


def _include_vars(engine: Engine, task: Mapping[str, Any], args: Any, scope: Scope, host: str,
                  targets: list[str], ctx: TaskCtx) -> dict[str, Any]:
    a = _args(engine, args, scope)
    raw = a.get("file", a.get("_raw_params"))
    data: dict[str, Any] = {}
    if a.get("dir"):
        d = tree_path(posixpath.join(ctx.role.role.path if ctx.role else ctx.base, "vars", str(a["dir"])))
        for n in engine.tree.list_dir(d or ""):
            if n.endswith((".yml", ".yaml", ".json")):
                data.update(engine.files.yaml(f"{d}/{n}") or {})
    elif raw:
        path = find_file(engine.lookup_env, "vars", str(raw))
        if path is None:
            raise LoadError(f"Could not find or access '{raw}'", ctx.file or str(raw),
                            task_line(engine, ctx.file, task, raw))
        loaded = engine.files.yaml(path)
        data = dict(loaded) if isinstance(loaded, Mapping) else {}
    if a.get("name"):
        data = {str(a["name"]): data}
    for t in _fact_hosts(engine, task, scope, targets):
        engine.set_var(t, "vars_cache", data)
    if engine.origins is not None:
        engine.note_origin(data, False, lambda: (
            f"loaded by include_vars in {ctx.file}:{task_line(engine, ctx.file, task, None)} (never cached)"))
    return {"changed": False, "failed": False, "ansible_facts": data}


def _group_by(engine: Engine, task: Mapping[str, Any], args: Any, scope: Scope, host: str, targets: list[str],
              ctx: TaskCtx) -> dict[str, Any]:
    a = _args(engine, args, scope)
    parents = a.get("parents", ["all"])
    parents = [parents] if isinstance(parents, str) else list(parents)
    key = str(a.get("key", a.get("_raw_params", ""))).replace(" ", "_").replace("-", "_")
    engine.add_to_group(host, key, [p for p in parents if p != "all"])
    return {"changed": False, "failed": False, "add_group": key, "parent_groups": parents}


def _add_host(engine: Engine, task: Mapping[str, Any], args: Any, scope: Scope, host: str, targets: list[str],
              ctx: TaskCtx) -> dict[str, Any]:
    a = _args(engine, args, scope)
    name = str(a.pop("name", a.pop("hostname", a.pop("host", ""))))
    groups = a.pop("groups", a.pop("group", a.pop("groupname", [])))
    for g in [groups] if isinstance(groups, str) else list(groups):
        engine.add_to_group(name, str(g))
    engine.inventory.host_vars.setdefault(name, {}).update(a)
    engine.resolver.changed(name, list(a))  # values cached from its old variables
    return {"changed": True, "failed": False, "add_host": {"host_name": name}}


def _assert(engine: Engine, task: Mapping[str, Any], args: Any, scope: Scope, host: str, targets: list[str],
            ctx: TaskCtx) -> dict[str, Any]:
    a = dict(args) if isinstance(args, Mapping) else {}
    that = a.get("that")
    for cond in that if isinstance(that, list) else [that]:
        if cond is not None and not check_when(engine, [cond], scope):
            msg = engine.templar.template(a.get("fail_msg", a.get("msg", f"Assertion failed: {cond}")), scope)
            raise TaskFailed(f"assertion failed ({cond}): {msg}")
    return {"changed": False, "failed": False, "msg": "All assertions passed"}


def _fail(engine: Engine, task: Mapping[str, Any], args: Any, scope: Scope, host: str, targets: list[str],
          ctx: TaskCtx) -> dict[str, Any]:
    a = _args(engine, args, scope)
    raise TaskFailed(str(a.get("msg", "Failed as requested from task")))


def _pause(engine: Engine, task: Mapping[str, Any], args: Any, scope: Scope, host: str, targets: list[str],
           ctx: TaskCtx) -> dict[str, Any]:
    """plugins/action/pause.py (2.18) without a terminal: no wait, `user_input` empty; the simulator
    may answer the prompt (a user who confirms what they run)."""
    a = _args(engine, args, scope)
    result: dict[str, Any] = {"changed": False, "rc": 0, "stderr": "", "stdout": "Paused for 0.0 minutes",
                              "start": None, "stop": None, "delta": 0, "echo": True, "user_input": ""}
    call = ModuleCall(module="pause", args=a, host=host, task_name=str(task.get("name") or "pause"),
                      role=ctx.role.role.name if ctx.role else "")
    answer = engine.simulator(call) if engine.simulator else None
    return {**result, **(answer or {})}


def _noop(engine: Engine, task: Mapping[str, Any], args: Any, scope: Scope, host: str, targets: list[str],
          ctx: TaskCtx) -> dict[str, Any]:
    return {"changed": False, "failed": False}


ACTIONS: dict[str, Action] = {
    "template": _template, "set_fact": _set_fact, "include_vars": _include_vars, "group_by": _group_by,
    "add_host": _add_host, "assert": _assert, "fail": _fail, "debug": _noop, "meta": _noop,
    "set_stats": _noop, "pause": _pause, "wait_for_connection": _noop, "gather_facts": _noop, "setup": _noop,
}


def _simulate(engine: Engine, task: Mapping[str, Any], module: str, args: Any, scope: Scope, host: str,
              targets: list[str], ctx: TaskCtx) -> dict[str, Any]:
    a = _args(engine, args, scope)
    target = str(engine.templar.template(task.get("delegate_to"), scope) or host)
    call = ModuleCall(module=short(module), args=a, host=target, task_name=str(task.get("name") or module),
                      role=ctx.role.role.name if ctx.role else "")
    if call.module == "copy" and "content" in a:
        # `copy: content:` writes a templated text: a rendering too (the task file is its source)
        content = a["content"]
        # plugins/action/copy.py (2.18): a dict or list is written as `json.dumps(content)`,
        # anything else as `to_bytes(content)` (str() for a non-string)
        text = json.dumps(content) if isinstance(content, dict | list) else (
            content if isinstance(content, str) else str(content))
        engine.result.renderings.append(Rendering(
            template=ctx.file, role=call.role, dest=str(a.get("dest", "")), host=target, task=call.task_name,
            item=engine.current.get("item"), text=text, via="copy", vars_host=host))
    result = engine.simulator(call) if engine.simulator else None
    if result is None:
        return {k: (list(v) if isinstance(v, list) else v) for k, v in DEFAULT_RESULT.items()}
    out = dict(result)
    # TaskExecutor._execute (2.18): a result without `failed` fails when its `rc` is not 0; one
    # without `changed` did not change
    if "failed" not in out:
        out["failed"] = "rc" in out and out["rc"] not in (0, "0")
    out.setdefault("changed", False)
    facts = out.get("ansible_facts")
    if isinstance(facts, Mapping) and facts and not out["failed"]:
        # StrategyBase._process_pending_results: a module's ansible_facts are host facts (cached)
        for t in _fact_hosts(engine, task, scope, targets):
            engine.set_facts(t, facts)
    return out


def run_action(engine: Engine, task: Mapping[str, Any], module: str, args: Any, scope: Scope, host: str,
               targets: list[str], ctx: TaskCtx) -> dict[str, Any]:
    action = ACTIONS.get(short(module))
    engine.count_run(host)
    try:
        if action is not None:
            result = action(engine, task, args, scope, host, targets, ctx)
        else:
            result = _simulate(engine, task, module, args, scope, host, targets, ctx)
    except (TaskFailed, LoadError) as e:
        if isinstance(e, LoadError):  # a `src` that is not there: located at the task (file and line)
            engine.add_finding(Finding(severity=Severity.ERROR, rule="load-error", host=host, file=e.path,
                                       line=e.line, template=e.path, template_line=e.line,
                                       message=f"task '{task.get('name', module)}': {e}"))
        else:
            line = yaml_line(task)
            engine.add_finding(Finding(severity=Severity.ERROR, rule="task-failed", host=host, file=ctx.file,
                                       line=line, template=ctx.file, template_line=line,
                                       message=f"task '{task.get('name', module)}': {e}"))
        if not engine.ignores_errors(task):
            for t in targets:
                engine.fail_host(t)
        return {"changed": False, "failed": True, "msg": str(e)}
    if "failed_when" in task and task.get("register"):
        s = scope.derive_inner({str(task["register"]): result})
        result["failed"] = check_when(engine, [task["failed_when"]], s)
    return result
