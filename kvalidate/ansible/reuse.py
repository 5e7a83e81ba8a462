"""Exact reuse of evaluations across the cells a process runs (issue 16, incremental cells).

An *evaluation* is one of: the templating of a variable's raw value (`variables.Scope._compute`),
a top-level `Templar.template` call (a task's module arguments, its `loop`, a `when`, a `set_fact`
value) and a `template` module rendering (`Templar.render_file_mapped`). While an evaluation runs,
every input it reads is recorded, in order, as a `Read`:

- `("v", name, value)`: the value of a variable of its own scope (`Scope.get_value`), MISSING included;
- `("h", name, bool)`: whether its own scope has a name (`in`);
- `("r", name, raw)`: the raw value behind a bare `{{ name }}` when it is a bool, a number or None
  (Templar's SINGLE_VAR shortcut returns it untemplated);
- `("hk", host, bool)`: whether `hostvars[host]` exists; `("hi", hosts)`: the hosts `hostvars` iterates;
- `("hv", host, name, value)` / `("hh", host, name, bool)` / `("hx", host, name, value)`: a variable of
  `hostvars[host]`, whether it has a name, what it says for a name it lacks (outside `--limit`);
- `("inc", name, source)`: the text of a template an `{% include %}` / `{% import %}` loaded.

A variable read by an evaluation is recorded as its *value* only: how that value was computed is its
own evaluation, recorded separately. Locals (loop variables given as locals, `template_*`) are part
of the key with the text being templated (`value_key`: types included, dict order included).

A later evaluation with the same key replays the recorded reads of each stored entry in order, in
its own scope; when every read gives an identical value (`same`: type-strict, order-strict, deep),
the templating would take exactly the same path, so the stored result is returned. Replay stops at
the first difference: the reads up to it are the very reads the evaluation would do itself (the path
a template takes depends only on what it read before), so no extra work with side effects is done.

Never stored (recomputed every time): an evaluation that raised, that called a lookup other than
`PURE_LOOKUPS` (files, renderings as a side effect, the engine's state; `vars` reads variables,
recorded as any read, the loop lookups only shape their terms), iterated over a scope (`vars` or a host's
variables: the set of names), read a scope that is neither its own nor a `hostvars` one, or used
something time- or randomness-dependent (`lipsum`, a certificate's `expired`). Such a taint does not
spread to the evaluations that read the value it produced: they record the value, which is compared.

Lazy templating of large data: an entry of a large dict templated inside an evaluation (each entry
of `downloads`) is an evaluation of its own (`part`), whose reads are also those of the dict's: when
one input of the dict changes, only the entries that read it are templated again.

Stored results are shared between cells and are never mutated: their containers are kept in
`Store.kept` (the sandbox refuses to mutate them, as it does the variable cache's).

`KVALIDATE_NO_REUSE=1` turns reuse off (the differential test compares both). `Store.done` counts
every evaluation at a reuse point, `Store.reused` those served from the store (ratio = reused / done).
"""

from __future__ import annotations

import datetime
import os
import weakref
from collections.abc import Callable
from typing import Any

from jinja2.utils import missing as _JINJA_MISSING

Read = tuple[Any, ...]
MAX_ENTRIES = 400_000  # all keys together: past it the store starts again empty (memory bound)
PART_MIN_ENTRIES = 8  # a dict with at least this many entries has its container entries reused one by one
PURE_LOOKUPS = frozenset({"vars", "items", "list", "flattened", "dict", "nested", "together", "subelements",
                          "sequence", "indexed_items"})
HOSTVARS_KINDS = {"v": "hv", "h": "hh", "x": "hx"}
_SCOPE_KINDS = frozenset({"v", "h", "r", "x"})  # reads relative to the scope they were made in
NOT_FAST: Any = object()  # the raw value of a bare `{{ name }}` that Templar templates (not returned as is)
_PLAIN = (str, int, bool, type(None), bytes, datetime.date, datetime.datetime, datetime.time)


def enabled_by_env(env: Any = None) -> bool:
    env = os.environ if env is None else env
    return str(env.get("KVALIDATE_NO_REUSE", "")).strip().lower() not in ("1", "true", "yes")


class Unkeyable(Exception):
    """A value that cannot be part of a key (an object of unknown type)."""


# ids of the containers of parsed YAML files (loader: held for the whole process, never mutated):
# their keys are computed once
_PARSED: set[int] = set()
_PARSED_KEYS: dict[int, Any] = {}


def pin_parsed(data: Any) -> None:
    """`data` (parsed from a file, kept and never mutated for the whole process): its keys may be memoized."""
    if isinstance(data, dict | list) and id(data) not in _PARSED:
        _PARSED.add(id(data))
        for v in data.values() if isinstance(data, dict) else data:
            pin_parsed(v)


def is_parsed(data: Any) -> bool:
    return id(data) in _PARSED


def value_key(value: Any) -> Any:
    """A hashable key equal for two values exactly when they are `same`."""
    t = type(value)
    if t is str:
        return value
    if t is dict or t is list:
        ident = id(value)
        if ident in _PARSED:
            hit = _PARSED_KEYS.get(ident)
            if hit is None:
                hit = _PARSED_KEYS[ident] = _container_key(value)
            return hit
        return _container_key(value)
    if t is tuple:
        return (t, tuple(value_key(v) for v in value))
    if t is float:
        return (float, repr(value))
    if isinstance(value, _PLAIN):
        return (t, value)
    raise Unkeyable(t.__name__)


def _container_key(value: Any) -> Any:
    if type(value) is dict:
        return (dict, tuple((value_key(k), value_key(v)) for k, v in value.items()))
    return (list, tuple(value_key(v) for v in value))


class Frame:
    """The reads of one running evaluation, each once: a variable read again during the same
    evaluation has the same value (nothing changes variables while a template renders)."""

    __slots__ = ("scope", "reads", "seen", "tainted", "replaying", "sealed")

    def __init__(self, scope: Any) -> None:
        self.scope = scope
        self.reads: list[Read] = []
        self.seen: set[Read] = set()
        self.tainted = False
        # a whole task's frame once the task set a variable (taskmemo): a read after it may see the new
        # value, which a replay (all reads before any effect) would not: the task is not stored
        self.sealed = False
        # while a stored evaluation's reads are replayed, the reads it makes are those replayed
        # (kept by `Store.evaluate`), not recorded again
        self.replaying = False

    def add(self, read: Read) -> None:
        if self.replaying:
            return
        if self.sealed:
            self.tainted = True
            return
        desc = read[:-1]
        if desc not in self.seen:
            self.seen.add(desc)
            self.reads.append(read)

    def add_value(self, name: str, value: Any) -> None:
        """`add(("v", name, value))` without building the read when it is not recorded."""
        if self.replaying:
            return
        if self.sealed:
            self.tainted = True
            return
        desc = ("v", name)
        if desc not in self.seen:
            self.seen.add(desc)
            self.reads.append(("v", name, value))

    def reset(self) -> None:
        self.reads.clear()
        self.seen.clear()
        self.tainted = False
        self.replaying = False
        self.sealed = False


class Node:
    """A point of the evaluations of one key: the next read they make (`read`: the read without
    its value) and a child per fingerprint of that read's value; or, at the end, the result."""

    __slots__ = ("read", "branches", "result", "done")

    def __init__(self) -> None:
        self.read: Read | None = None
        self.branches: dict[Any, Node] = {}
        self.result: Any = None
        self.done = False


_STORES: weakref.WeakSet[Store] = weakref.WeakSet()


def forget_all() -> None:
    """Empty every store of this process: a long-lived process (the library API, a test session)
    between unrelated runs, so that what one run kept neither costs memory nor slows the next."""
    for store in list(_STORES):
        store.clear()


def taint() -> None:
    """The evaluations running now used something that is not an input (time, randomness): not stored."""
    for store in _STORES:
        store.taint_now()


class Store:
    """The evaluations of a process, by key; one per `Templar` (and so per process for the shared one).

    Each key's evaluations form a tree of their reads: an evaluation is deterministic, so its first
    read is the same for all of them, and each next read is decided by the values read before it.
    A lookup walks the tree, reading each value in the current context and following the branch
    of its fingerprint (`Store.fingerprint`: equal exactly for `same` values)."""

    def __init__(self) -> None:
        self.enabled = enabled_by_env()
        self.roots: dict[Any, Node] = {}
        self.count = 0
        self.stack: list[Frame] = []
        self.done = 0
        self.reused = 0
        self.taints = 0  # frames tainted so far (a whole task is not stored when one inside it was)
        self.on_taint: Callable[[], None] | None = None  # the running engine's (variables.Resolver.impure)
        # containers of stored values, by id (held, so an id is never reused): never mutated
        self.kept: dict[int, Any] = {}
        # fingerprints: value key -> number; id of a kept (or unkeyable, held) value -> (value, number)
        self._numbers: dict[Any, int] = {}
        self._by_id: dict[int, tuple[Any, int]] = {}
        self._canonical: dict[int, Any] = {}  # number -> the stored value with it (interning)
        _STORES.add(self)

    def clear(self) -> None:
        self.roots.clear()
        self.kept.clear()
        self._numbers.clear()
        self._by_id.clear()
        self._canonical.clear()
        self.count = 0

    # -- recording -----------------------------------------------------------------------------
    def note(self, scope: Any, read: Read) -> None:
        """A read of `scope`'s variables by the running evaluation (`read` relative to the scope)."""
        if not self.stack:
            return
        frame = self.stack[-1]
        if scope is frame.scope:
            frame.add(read)
            return
        if getattr(scope, "inner_of", None) is not None and self._inner(scope, frame, read):
            return
        host = getattr(scope, "hv_host", None)
        kind = HOSTVARS_KINDS.get(read[0])
        if host is None or kind is None:
            self._taint(frame)
            return
        frame.add((kind, host, *read[1:]))

    def _inner(self, scope: Any, frame: Frame, read: Read) -> bool:
        """A read through a scope derived inside the running task (`Scope.derive_inner`): skipped when
        a layer the task made gives it, recorded as a read of the frame's scope when its value does not
        depend on such a layer, else the frame is tainted. False: `scope` is not derived from the frame's."""
        name = read[1]
        chain = []
        sc = scope
        while sc is not frame.scope:
            if sc.inner_of is None:
                return False
            chain.append(sc)
            sc = sc.inner_of
        for sc in chain:
            if name in sc.inner_names:
                return True  # made by the task itself, from what it read
            if read[0] == "v" and name in sc.cache:
                self._taint(frame)  # its value depends on a layer the task made
                return True
        frame.add(read)
        return True

    def taint_now(self) -> None:
        if self.on_taint is not None:
            self.on_taint()
        if self.stack:
            self._taint(self.stack[-1])

    def _taint(self, frame: Frame) -> None:
        frame.tainted = True
        self.taints += 1

    def note_global(self, read: Read) -> None:
        """A read that does not go through a scope (`hostvars` keys, included template texts)."""
        if self.stack:
            self.stack[-1].add(read)

    # -- fingerprints --------------------------------------------------------------------------
    def fingerprint(self, value: Any) -> Any:
        """Equal for two values exactly when they are `same` (numbers, memoized for kept values)."""
        t = type(value)
        if t is str or t is bool or t is int or value is None:
            return (t, value)
        hit = self._by_id.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        if getattr(t, "kv_view", False):
            return ("view", t)
        try:
            key = value_key(value)
        except Unkeyable:
            key = _undefined_key(value) if getattr(t, "kv_undefined", False) else None
        if key is None:  # only the identical object is the same
            number = len(self._numbers) + 1
            self._numbers[("id", number)] = number
            self._by_id[id(value)] = (value, number)
            return number
        number = self._numbers.setdefault(key, len(self._numbers) + 1)
        if id(value) in self.kept:
            self._by_id[id(value)] = (value, number)
        return number

    # -- evaluating ----------------------------------------------------------------------------
    def evaluate(self, key: Any, scope: Any, compute: Callable[[], Any],
                 read: Callable[[Read], Any], part: bool = False) -> Any:
        """The result of `compute()`, or of an earlier evaluation with the same `key` whose reads,
        made again by `read` (a read without its value -> the value now), give the same values.

        `part`: a piece of the running evaluation (an entry of a large dict it templates): its
        reads (and a taint) are also the running evaluation's."""
        self.done += 1
        frame = Frame(scope)
        self.stack.append(frame)
        walked: list[Read] = []
        value: Any = None
        try:
            node = self.roots.get(key)
            frame.replaying = True
            try:
                fingerprint = self.fingerprint
                while node is not None and not node.done:
                    desc = node.read
                    assert desc is not None
                    got = read(desc)
                    if part:  # only a part's reads are kept (the running evaluation's too)
                        walked.append((*desc, got))
                    node = node.branches.get(fingerprint(got))
            except Exception:  # noqa: BLE001 - the evaluation itself meets (and reports) it
                node = None
            if node is not None:
                self.reused += 1
                value = node.result
                frame.reads = walked
                return value
            frame.reset()
            value = compute()
        finally:
            self.stack.pop()
            if part and self.stack:
                outer = self.stack[-1]
                for r in frame.reads:
                    if frame.scope is outer.scope or r[0] not in _SCOPE_KINDS:
                        outer.add(r)
                    else:  # read in another scope (a loop item's, derived from the outer's): as any such read
                        self.note(frame.scope, r)
                outer.tainted = outer.tainted or frame.tainted
        if not frame.tainted:
            value = self._store(key, frame.reads, value)
        return value

    def _store(self, key: Any, reads: list[Read], value: Any) -> Any:
        if self.count >= MAX_ENTRIES:
            self.clear()
        try:
            number = self.fingerprint(value)
        except Exception:  # noqa: BLE001 - a value that cannot be fingerprinted is still stored
            number = None
        if number is not None:
            canonical = self._canonical.get(number)
            if canonical is not None and canonical is not value:
                value = canonical  # the same value computed from other inputs: share the stored one
        node = self.roots.get(key)
        if node is None:
            node = self.roots[key] = Node()
        for r in reads:
            desc, got = r[:-1], r[-1]
            if node.done:
                return value  # cannot happen for a deterministic evaluation: not stored
            if node.read is None:
                node.read = desc
            elif node.read != desc:
                return value  # idem
            fp = self.fingerprint(got)
            child = node.branches.get(fp)
            if child is None:
                child = node.branches[fp] = Node()
            node = child
        if node.read is not None:
            return value
        node.done = True
        node.result = value
        self.count += 1
        _keep(value, self.kept)
        if number is not None:
            self._canonical.setdefault(number, value)
            if isinstance(value, dict | list):
                self._by_id[id(value)] = (value, number)
        return value


def _undefined_key(value: Any) -> Any:
    obj = _attr(value, "_undefined_obj")
    if obj is not _JINJA_MISSING:
        return None
    return ("undefined", type(value), _attr(value, "_undefined_hint"), _attr(value, "_undefined_name"),
            _attr(value, "_undefined_exception"), _attr(value, "chain"), _attr(value, "missing"))


def _keep(value: Any, kept: dict[int, Any]) -> None:
    if isinstance(value, dict | list) and id(value) not in kept:
        kept[id(value)] = value
        for v in value.values() if isinstance(value, dict) else value:
            _keep(v, kept)
    elif isinstance(value, tuple):
        for v in value:
            _keep(v, kept)


def _attr(obj: Any, name: str) -> Any:
    try:
        return object.__getattribute__(obj, name)
    except AttributeError:
        return obj.__dict__.get(name) if hasattr(type(obj), "__dict__") else None
