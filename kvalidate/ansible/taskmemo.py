"""Whole-task reuse across the cells a process runs (issue 16): one host's run of one task is an
evaluation of `reuse.Store` like a variable's templating.

While a task runs on a host (its `when`, module arguments, the action, `register`), every value it
reads through the task's own scope and through `hostvars` is recorded (`reuse.Frame`), and what it
did is kept as its *effects*: variables and facts it set (in order), renderings and findings it
added, hosts it failed, its count in `task_runs`. In a later cell, the same task on the same host
with the same non-variable inputs (`task_key`) replays the recorded reads; when every value is the
same, the effects are applied instead of running the task: no scope, `when`, argument templating,
action or simulator runs. The replay makes the reads before any effect: a task that read anything
after it set a variable (a later loop item, `failed_when` after `set_fact`) is not stored. Failures
are effects too (a `run_once` failure fails every target, failed before or not). A task that read a
value whose computation was impure (its deps hold `variables.IMPURE`) is not stored either: in
another cell the replay's reads could compute it, with its side effect, outside the task's loop.

A loop item's scope and `failed_when`'s scope with the registered result are derived from the task's
scope (`Scope.derive_inner`): a read through them is recorded as a read of the task's scope unless
the item (or result) gives it, and a variable whose value depends on the item taints the run.

Not memoized (run as before, their evaluations reused one by one): includes (their tasks are
memoized one by one), `group_by` and `add_host` (they change the inventory), `stat`, `slurp` and
a `copy` that has a `src` (the simulator's answers depend on files the run wrote), tasks of a
`--limit` run or of automatic coverage's recording run (the engine has no `memo` context then),
and a task during which anything was tainted (a lookup with side effects such as
`lookup('template')`, time, randomness, a scope iterated): replaying its reads would redo part of
what it did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from kvalidate.ansible.conditions import short
from kvalidate.ansible.reuse import Unkeyable, is_parsed, value_key
from kvalidate.ansible.variables import IMPURE

if TYPE_CHECKING:
    from kvalidate.ansible.engine import Engine
    from kvalidate.ansible.types import TaskCtx
    from kvalidate.ansible.variables import Scope

# modules whose run depends on, or changes, engine state that is not a variable
STATEFUL = frozenset({"group_by", "add_host", "stat", "slurp"})
Effects = tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]


def task_key(engine: Engine, task: Mapping[str, Any], module: str, args: Any, host: str, targets: list[str],
             ctx: TaskCtx, run_once: bool) -> tuple[Any, ...] | None:
    """What a host's run of `task` depends on besides the values it reads, or None when the run is
    not memoized (see the module docstring)."""
    memo = engine.memo
    if memo is None or not engine.templar.reuse.enabled or not is_parsed(task):
        return None
    name = short(module)
    if name in STATEFUL:
        return None
    if name == "copy" and not (isinstance(args, Mapping) and "content" in args and "src" not in args):
        return None  # (a `src` the simulator records as written, `content` being omitted or not)
    try:
        conds = value_key(ctx.conditions)
    except Unkeyable:
        return None
    rc = ctx.role
    role = (rc.role.path, rc.role.name, tuple(p.path for p in rc.parents), rc.included) if rc else None
    play = engine.play
    # id(task): parsed task data is kept for the whole process (`is_parsed`), so an id is never reused
    return ("T", id(task), host, tuple(targets), ctx.file, ctx.base, role, conds, run_once,
            play.playbook_dir if play else None, memo)


def run_memoized(engine: Engine, key: tuple[Any, ...], scope: Scope, run: Callable[[], None]) -> None:
    """`run()` (one host's run of a task, in `scope`), or the effects of an earlier run whose reads
    give the same values here."""
    store = engine.templar.reuse
    ran = False

    def compute() -> Effects:
        nonlocal ran
        ran = True
        return _record(engine, run)

    effects = store.evaluate(key, scope, compute, scope.read_again)
    if ran:
        return
    _replay(engine, effects)


def _record(engine: Engine, run: Callable[[], None]) -> Effects:
    store = engine.templar.reuse
    result = engine.result
    renderings, findings = len(result.renderings), len(result.findings)
    taints = store.taints
    log: list[tuple[Any, ...]] = []
    engine.effects = log
    resolver = engine.resolver
    resolver.deps.append(set())  # every variable it read, transitively, cached or not
    try:
        run()
    finally:
        engine.effects = None
        deps = resolver.deps.pop()
    # something inside had a side effect, or a value it read came from something impure (computed
    # earlier in this cell, it could be computed by the replay's reads in another, rendering again)
    if (store.taints != taints or IMPURE in deps) and store.stack:
        store.stack[-1].tainted = True
    return tuple(log), tuple(result.renderings[renderings:]), tuple(result.findings[findings:])


def _replay(engine: Engine, effects: Effects) -> None:
    log, renderings, findings = effects
    for kind, host, *rest in log:
        if kind == "var":
            engine.set_var(host, rest[0], rest[1])
        elif kind == "facts":
            engine.set_facts(host, rest[0])
        elif kind == "failed":
            engine.fail_host(host)
        else:
            engine.count_run(host)
    engine.result.renderings.extend(renderings)
    engine.result.findings.extend(findings)
