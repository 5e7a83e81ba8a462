"""Render problems as findings that point at the template line.

Rules (the `rule` of a `Finding` made here):

- `undefined-variable`: an undefined value was output or used (the message names the variable,
  and the chain of variables whose templating led to it).
- `render-error`: any other failure while templating: a filter error, a type error, a syntax
  error in a template or a variable value, a missing template file.
- `variable-cycle`: a variable that depends on itself; the message names the chain.
- `forbidden-lookup`: a lookup kvalidate does not run (pipe, url, ...).
- `sandbox`: a template tried to escape the sandbox, or exceeded the time or size limits (a MemoryError
  too: the worker's memory cap, `run.workers.Limits`).
- `load-error`: a playbook, task, role or vars file that cannot be read or parsed.
- `task-failed`: an `assert` or `fail` task failed for a host (the host stops, as in Ansible).
- `internal-error`: a bug of kvalidate's, not of the template (`is_internal`); located in kvalidate's
  own code. With `KVALIDATE_DEBUG=1` it is raised instead, with its traceback.

`position()` walks the traceback like Jinja's own `rewrite_traceback_stack`: a frame whose
globals hold `__jinja_template__` belongs to a compiled template, and its Python line maps to a
template line. The innermost frame of a *named* template (a file) is the one reported; frames of
variable values (unnamed) only add to the chain.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

from kvalidate.ansible.lookups.core import ForbiddenLookup
from kvalidate.ansible.variables import UndefinedVariable, VariableCycle
from kvalidate.model import Finding, Severity


def position(exc: BaseException) -> tuple[str, int]:
    """(template name, 1-based line) of the innermost named template frame, or ("", 0)."""
    if isinstance(exc, TemplateSyntaxError) and exc.name:
        return exc.name, exc.lineno
    found = ("", 0)
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        template = tb.tb_frame.f_globals.get("__jinja_template__")
        if template is not None and template.name:
            line = int(template.get_corresponding_lineno(tb.tb_lineno))
            nxt = tb.tb_next
            if nxt is not None and nxt.tb_frame.f_code.co_name == "resolve_or_missing":
                # Jinja resolves names at the top of the generated function: report the line
                # where the name is first used instead.
                line = first_use(template, str(nxt.tb_frame.f_locals.get("key", ""))) or line
            found = (template.name, line + int(getattr(template, "kv_line_offset", 0)))
        tb = tb.tb_next
    cause = exc.__cause__ or exc.__context__
    if found == ("", 0) and cause is not None and cause is not exc:
        return position(cause)
    return found


def first_use(template: Any, name: str) -> int:
    """Line of the first reference to `name` in a template compiled by `compile_cached`."""
    source = getattr(template, "kv_source", None)
    if source is None or not name:
        return 0
    tree = template.environment.parse(source)
    lines = [n.lineno for n in tree.find_all(nodes.Name) if n.name == name and n.ctx == "load"]
    return min(lines, default=0)


# Exceptions that mean a mistake in Python code, not in a template or its data. Raised inside
# kvalidate's own code they are kvalidate's bugs; raised in a template's frame or in a library a
# template called (an Ansible filter refusing a value), they are the template's.
_PROGRAMMING_ERRORS = (AttributeError, NameError, AssertionError, ImportError, NotImplementedError)
_PACKAGE = str(Path(__file__).resolve().parent.parent) + os.sep


def debug() -> bool:
    """`KVALIDATE_DEBUG=1`: internal errors are raised with their traceback instead of reported."""
    return os.environ.get("KVALIDATE_DEBUG", "") not in ("", "0")


def _innermost(exc: BaseException) -> tuple[str, int]:
    tb: TracebackType | None = exc.__traceback__
    where = ("", 0)
    while tb is not None:
        where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return where


def is_internal(exc: BaseException) -> bool:
    """A bug in kvalidate: a programming error raised by kvalidate's own code (its innermost frame)."""
    if not isinstance(exc, _PROGRAMMING_ERRORS):
        return False
    return _innermost(exc)[0].startswith(_PACKAGE)


def internal_finding(exc: BaseException, doing: str = "", **extra: Any) -> Finding:
    """The finding for a bug of kvalidate's: located in kvalidate's code, never in the template."""
    path, line = _innermost(exc)
    rel = "kvalidate/" + path[len(_PACKAGE):].replace(os.sep, "/") if path.startswith(_PACKAGE) else path
    what = f" while {doing}" if doing else ""
    return Finding(severity=Severity.ERROR, rule="internal-error",
                   message=f"kvalidate internal error{what} (a bug in kvalidate, not in the checked files): "
                           f"{type(exc).__name__}: {exc}; KVALIDATE_DEBUG=1 shows the traceback",
                   file=rel, line=line, **extra)


def rule_of(exc: BaseException) -> str:
    if isinstance(exc, VariableCycle):
        return "variable-cycle"
    if isinstance(exc, ForbiddenLookup):
        return "forbidden-lookup"
    if isinstance(exc, SecurityError):
        return "sandbox"
    if isinstance(exc, RecursionError | MemoryError):
        return "sandbox"
    if isinstance(exc, UndefinedError):
        return "undefined-variable"
    return "render-error"


def message_of(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "maximum recursion depth exceeded while rendering"
    if isinstance(exc, MemoryError):
        return "out of memory while rendering (each worker's memory is capped: KVALIDATE_WORKER_MEMORY)"
    msg = str(exc) or type(exc).__name__
    if isinstance(exc, UndefinedVariable) and exc.chain:
        msg += " (through " + " -> ".join(exc.chain) + ")"
    chain = getattr(exc, "kv_chain", None)
    if chain and not isinstance(exc, VariableCycle):
        msg += " (while templating " + " -> ".join(chain) + ")"
    if not isinstance(exc, SecurityError | UndefinedError | VariableCycle | ForbiddenLookup):
        msg = f"{type(exc).__name__}: {msg}"
    return msg


def render_finding(exc: BaseException, template: str = "", host: str = "", dest: str = "",
                   task: str = "", task_file: str = "", task_line: int = 0, **extra: Any) -> Finding:
    """The finding for `exc`, raised while rendering `template` or running `task`. It is located at
    the innermost template line the traceback names; else at the template; else, for an error in a
    task's own arguments, `when` or loop, at the task (`task_file`:`task_line`, the task's first line)."""
    if is_internal(exc):
        if debug():
            raise exc
        doing = f"rendering {template}" if template else f"running task '{task}'" if task else ""
        return internal_finding(exc, doing, host=host, **extra)
    name, line = position(exc)
    where = f"task '{task}': " if task else ""
    at_task = not (name or template) and bool(task_file)
    if at_task:
        name, line = task_file, task_line
    return Finding(severity=Severity.ERROR, rule=rule_of(exc), message=where + message_of(exc),
                   file=dest or name or template, line=line if at_task else 0,
                   template=name or template, template_line=line, host=host, dest=dest, **extra)
