"""What a task is and whether it runs: its module and arguments in every form Ansible accepts
(`module: args`, `action:`, `local_action:`, k=v strings), and `when` evaluated as ansible-core
2.18's `Conditional` does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ansible.parsing.splitter import parse_kv

from kvalidate.ansible.reuse import is_parsed, pin_parsed
from kvalidate.ansible.variables import Scope, is_possibly_template

if TYPE_CHECKING:
    from kvalidate.ansible.engine import Engine

TASK_KEYWORDS = frozenset({
    "name", "when", "loop", "loop_control", "vars", "register", "run_once", "delegate_to", "delegate_facts",
    "become", "become_user", "become_method", "become_flags", "become_exe", "tags", "ignore_errors",
    "ignore_unreachable", "failed_when", "changed_when", "until", "retries", "delay", "notify", "no_log",
    "environment", "check_mode", "diff", "any_errors_fatal", "throttle", "timeout", "args", "collections",
    "module_defaults", "listen", "debugger", "connection", "async", "poll", "remote_user", "port", "local_action",
    "action", "block", "rescue", "always", "apply",
})


def short(module: str) -> str:
    for prefix in ("ansible.builtin.", "ansible.legacy."):
        if module.startswith(prefix):
            return module[len(prefix):]
    return module


# action_of of the tasks of parsed files (held and never mutated for the whole process), by id
_ACTIONS: dict[int, tuple[Mapping[str, Any], tuple[str, Any]]] = {}


def action_of(task: Mapping[str, Any]) -> tuple[str, Any]:
    """(module name, raw args) of a task, for the `module: args`, `action:` and k=v forms. The
    answer for a task of a parsed file is computed once and shared: it is never mutated."""
    hit = _ACTIONS.get(id(task))
    if hit is not None and hit[0] is task:
        return hit[1]
    out = _action_of(task)
    if is_parsed(task):
        _ACTIONS[id(task)] = (task, out)
        pin_parsed(out[1])
    return out


def _action_of(task: Mapping[str, Any]) -> tuple[str, Any]:
    for key in ("action", "local_action"):
        if key in task:
            value = task[key]
            if isinstance(value, Mapping):
                value = dict(value)
                return str(value.pop("module", "")), {**value, **dict(task.get("args") or {})}
            module, _, rest = str(value).partition(" ")
            return module, {**parse_kv(rest, check_raw=True), **dict(task.get("args") or {})}
    for key, value in task.items():
        if key in TASK_KEYWORDS or key.startswith("with_"):
            continue
        if isinstance(value, str) and short(key) not in ("include_tasks", "import_tasks", "include",
                                                         "import_playbook", "include_role", "import_role"):
            value = parse_kv(value, check_raw=short(key) in ("command", "shell", "raw", "script"))
        if isinstance(value, Mapping):
            value = {**dict(value), **dict(task.get("args") or {})}
            if short(key) in ("command", "shell") and "cmd" in value:
                # ModuleArgsParser: `cmd:` is the free-form command (`_raw_params`)
                value["_raw_params"] = value.pop("cmd")
        return key, value
    return "", {}


def conditions_of(conds: Any) -> list[Any]:
    out: list[Any] = []
    for c in conds if isinstance(conds, list | tuple) else [conds]:
        if isinstance(c, list | tuple):
            out += conditions_of(c)
        elif c is not None:
            out.append(c)
    return out


def check_when(engine: Engine, conds: Any, scope: Scope) -> bool:
    """ansible-core 2.18 `Conditional._check_conditional` for every condition (all must hold)."""
    for c in conditions_of(conds):
        if isinstance(c, bool):
            if not c:
                return False
            continue
        text = str(c)
        if is_possibly_template(text):
            value = engine.templar.template(text, scope)
            if isinstance(value, bool):
                if not value:
                    return False
                continue
            if value == "":
                return False
            text = str(value)
        result = engine.templar.template("{% if " + text + " %} True {% else %} False {% endif %}", scope)
        if str(result).strip() != "True":
            return False
    return True
