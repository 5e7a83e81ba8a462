"""Variables as Ansible sees them: precedence layers, lazy templating, memoized per host.

A `Scope` is the variable view of one host at one point of a play: an ordered list of layers
(highest precedence first; the order is built in `engine.py`, after ansible-core 2.18's
`VariableManager.get_vars`). A value is templated only when used, like ansible-core's
`AnsibleJ2Vars`, and the templated value is memoized together with the set of `(host, name)` keys
it read, transitively. That record makes the cache both cheap and correct:

- a derived scope (a task's `vars:`, a loop `item`, the running role's defaults and vars) reuses
  its parent's cached value when none of the names it overrides were read to compute it, and a
  value it computes without reading them is stored in the parent instead;
- `set_fact`, `register`, `include_vars` and `group_by` invalidate exactly the cached values that
  read the names they change, on every host (through `hostvars`).

As in ansible-core 2.18, a variable whose templating hits an undefined name is itself undefined
(lazily: `is defined` is False, output raises). A variable that reads itself, directly or not,
raises `VariableCycle` naming the chain.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from jinja2.exceptions import SecurityError, UndefinedError

from kvalidate.ansible.environment import AnsibleUndefined
from kvalidate.ansible.reuse import NOT_FAST, Read, Unkeyable, is_parsed, value_key

if TYPE_CHECKING:
    from kvalidate.ansible.templar import Templar

DepKey = tuple[str, str]
MISSING: Any = object()
ANY_NAME = "*"  # dependency on the set of names itself (varnames, vars iteration)
# dependency keys that are not a host's variable: something impure was used (a lookup that renders or
# reads the engine's state, time, randomness), the set of inventory hosts (`hostvars` keys)
IMPURE: DepKey = ("\0impure", ANY_NAME)
HOSTS: DepKey = ("\0hosts", ANY_NAME)


class VariableCycle(Exception):
    """A variable whose value depends on itself."""

    def __init__(self, chain: list[str]) -> None:
        super().__init__("variable cycle: " + " -> ".join(chain))
        self.chain = chain


class UndefinedVariable(UndefinedError):
    """An undefined value was used. `missing` is the name that was never defined, `chain` the
    variables whose templating led to it (outermost first)."""

    def __init__(self, message: str, missing: str | None, chain: tuple[str, ...]) -> None:
        super().__init__(message)
        self.missing = missing
        self.chain = chain


class ChainedUndefined(AnsibleUndefined):  # type: ignore[misc]
    """ansible-core's AnsibleUndefined, remembering the variable chain for findings."""

    chain: tuple[str, ...] = ()
    missing: str | None = None
    kv_undefined = True  # reuse.same compares what two undefined values say

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
        if issubclass(self._undefined_exception, SecurityError):
            raise self._undefined_exception(self._undefined_message)
        missing = self.__dict__.get("missing") or self._undefined_name
        raise UndefinedVariable(self._undefined_message, missing, self.__dict__.get("chain", ()))

    __str__ = __iter__ = __len__ = __bool__ = __eq__ = __ne__ = __hash__ = _fail_with_undefined_error  # noqa: E501


def undefined(hint: str | None = None, name: str | None = None, chain: tuple[str, ...] = (),
              missing: str | None = None) -> ChainedUndefined:
    u = ChainedUndefined(hint=hint, name=name)
    u.__dict__["chain"] = chain
    u.__dict__["missing"] = missing
    return u


class Resolver:
    """Engine-wide bookkeeping: the dependency stack, cycle detection and the invalidation index."""

    def __init__(self, templar: Templar) -> None:
        self.templar = templar
        self.deps: list[set[DepKey]] = []
        self.active: dict[tuple[int, str], int] = {}
        self.chain: list[str] = []
        self.index: dict[DepKey, list[tuple[dict[str, Any], str]]] = {}
        self.hostvars: Mapping[str, Any] = {}  # the engine's `hostvars` (reuse: replaying its reads)
        # values computed in a persistent scope, offered to every other scope of their host (`Scope._shared`):
        # (host, name) -> (the scope whose cache holds it, its cache entry); valid while that cache still
        # holds that very entry (`changed` drops it when something it read changes)
        self.share = False
        self.shared: dict[DepKey, tuple[Scope, tuple[Any, frozenset[DepKey]]]] = {}

    def impure(self) -> None:
        """Something impure was used (reuse.Store.on_taint): the values being computed are never shared."""
        self.note((IMPURE,))

    def note(self, keys: Any) -> None:
        if self.deps:
            self.deps[-1].update(keys)

    def changed(self, host: str, names: Any) -> None:
        """Drop every persistent cached value that read one of `names` of `host`."""
        for name in (*names, ANY_NAME):
            for cache, var in self.index.pop((host, name), ()):
                cache.pop(var, None)


class Scope(Mapping[str, Any]):
    """One host's variables at one point of a play. `layers` are highest precedence first.
    `hv_host`: the host whose `hostvars[host]` this scope is (reuse records reads through it)."""

    hv_host: str | None = None
    # a scope derived from another with layers made inside one task (a loop item, `failed_when`'s
    # registered result): `reuse` records its reads as reads of `inner_of` (taskmemo.py)
    inner_of: Scope | None = None
    inner_names: frozenset[str] = frozenset()

    def __init__(self, resolver: Resolver, host: str, layers: list[Mapping[str, Any]],
                 parent: Scope | None = None, persistent: bool = False, ordered: bool = False) -> None:
        self.resolver = resolver
        self.host = host
        self.raw: ChainMap[str, Any] = ChainMap(*layers)  # type: ignore[arg-type]
        self.maps = tuple(layers)
        self.cache: dict[str, tuple[Any, frozenset[DepKey]]] = {}
        self.parent = parent
        self.persistent = persistent
        self.overrides: frozenset[DepKey] = frozenset()
        if parent is not None:
            self.overrides = frozenset((host, n) for n in self._differing(parent, ordered))

    def _differing(self, parent: Scope, ordered: bool = False) -> set[str] | frozenset[str]:
        """Names whose raw value may differ here from the parent's (a superset: a name counted that does
        not differ only caches less). `ordered`: the layers both have come in the same order (only
        layers were added)."""
        shared = parent.map_ids()
        moved = frozenset() if ordered else _moved_names(self, parent)
        own = [m for m in self.maps if id(m) not in shared]
        if not own:
            return moved
        # layers parsed from files (a role's own defaults and vars, its dependencies'): all their names,
        # memoized (resolving thousands of names for each role scope cost more than it saved)
        kept = [m for m in own if is_parsed(m)]
        names = moved | _names_of(kept) if kept else moved
        rest = [m for m in own if not is_parsed(m)]
        if not rest:
            return names
        candidates: set[str] = set().union(*rest)
        candidates.difference_update(names)
        if len(candidates) > 256 and all(type(m) is dict for m in (*self.maps, *parent.maps)):
            mine, theirs = _resolved(self.maps), _resolved(parent.maps)
            return names.union(n for n in candidates if mine.get(n, MISSING) is not theirs.get(n, MISSING))
        return names.union(n for n in candidates if self.raw_get(n) is not parent.raw_get(n))

    def map_ids(self) -> frozenset[int]:
        ids = self.__dict__.get("_map_ids")
        if ids is None:
            ids = self.__dict__["_map_ids"] = frozenset(id(m) for m in self.maps)
        return ids

    def derive(self, layers: list[Mapping[str, Any]], persistent: bool = False, ordered: bool = False) -> Scope:
        """A scope over `layers` below this one (`ordered`: `layers` are this scope's, in their order, with
        layers added)."""
        return Scope(self.resolver, self.host, layers, parent=self, persistent=persistent, ordered=ordered)

    def derive_inner(self, top: Mapping[str, Any]) -> Scope:
        """This scope under `top`, a layer of values the running task made (a loop item, a
        registered result): what is read through it that `top` does not shadow is read here."""
        scope = Scope(self.resolver, self.host, [top, *self.maps], parent=self, ordered=True)
        scope.inner_of = self
        scope.inner_names = frozenset(top)
        return scope

    def raw_get(self, name: str) -> Any:
        """The untemplated value of the highest layer that has `name`, or MISSING."""
        for m in self.maps:
            if name in m:
                return m[name]
        return MISSING

    # -- Mapping protocol (Jinja and filters see templated values) --------------------------
    def __getitem__(self, name: str) -> Any:
        value = self.get_value(name)
        if value is MISSING:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        self.resolver.note(((self.host, str(name)),))
        found = self.raw_get(str(name)) is not MISSING
        self.resolver.templar.reuse.note(self, ("h", str(name), found))
        return found

    def __iter__(self) -> Iterator[str]:
        self.resolver.note(((self.host, ANY_NAME),))
        self.resolver.templar.reuse.taint_now()
        return iter(self.raw)

    def __len__(self) -> int:
        self.resolver.templar.reuse.taint_now()
        return len(self.raw)

    def read_again(self, read: Read, loader: Any = None) -> Any:
        """What `read` (a read an evaluation recorded, without its value: `reuse`) gives here."""
        kind = read[0]
        if kind == "v":
            return self.get_value(read[1])
        if kind == "hv":
            return self.resolver.hostvars[read[1]].get_value(read[2])
        if kind == "r":
            raw = self.raw_get(read[1])
            return raw if isinstance(raw, bool | int | float) or raw is None else NOT_FAST
        if kind == "h":
            return read[1] in self
        if kind == "hh":
            return read[2] in self.resolver.hostvars[read[1]]
        if kind == "x" or kind == "hx":
            scope = self if kind == "x" else self.resolver.hostvars[read[1]]
            explain = getattr(scope, "explain", None)
            return explain(scope.host, read[-1]) if explain is not None else None
        if kind == "hk":
            try:
                self.resolver.hostvars[read[1]]
            except KeyError:
                return False
            return True
        if kind == "hi":
            return tuple(self.resolver.hostvars)
        if kind == "inc" and loader is not None:
            return loader.read_again(read[1])
        raise LookupError(f"cannot read {read!r} again")

    # -- lazy, memoized templating ----------------------------------------------------------
    def get_value(self, name: str) -> Any:
        value = self._get_value(name)
        stack = self.resolver.templar.reuse.stack
        if stack:
            frame = stack[-1]
            if frame.scope is self:
                frame.add_value(name, value)
            else:
                self.resolver.templar.reuse.note(self, ("v", name, value))
        return value

    def _get_value(self, name: str) -> Any:
        key = (self.host, name)
        hit = self._cached(name)
        if hit is not None:
            self.resolver.note(hit[1])
            return hit[0]
        raw = self.raw_get(name)
        if raw is MISSING or not _templatable(raw):
            self.resolver.note((key,))
            return raw
        if self.resolver.share:
            hit = self._shared(name)
            if hit is not None:
                self._store(name, hit[0], hit[1], publish=False)
                self.resolver.note(hit[1])
                return hit[0]
        return self._compute(name, raw)

    def _shared(self, name: str) -> tuple[Any, frozenset[DepKey]] | None:
        """The value of `name` another scope of this host computed, when it holds here: every variable
        of this host it read (transitively) has here the very raw value it has there, it used nothing
        impure, and nothing it read changed since (`changed` drops it then). Reads of other hosts'
        variables go through their `hostvars`, the same for every scope."""
        hit = self.resolver.shared.get((self.host, name))
        if hit is None:
            return None
        other, entry = hit
        if other is self or other.cache.get(name) is not entry:
            return None
        value, deps = entry
        if IMPURE in deps:
            return None
        host = self.host
        for h, n in deps:
            if h != host:
                continue
            if n == ANY_NAME:
                return None
            mine, theirs = self.raw_get(n), other.raw_get(n)
            if mine is not theirs and not (type(mine) is type(theirs) and type(mine) in _SCALARS and mine == theirs):
                return None
        return value, deps

    def _cached(self, name: str) -> tuple[Any, frozenset[DepKey]] | None:
        hit = self.cache.get(name)
        if hit is not None:
            return hit
        overridden: frozenset[DepKey] = self.overrides
        scope = self.parent
        while scope is not None:
            hit = scope.cache.get(name)
            if hit is not None and hit[1].isdisjoint(overridden):
                return hit
            overridden = overridden | scope.overrides
            scope = scope.parent
        return None

    def _compute(self, name: str, raw: Any) -> Any:
        r = self.resolver
        marker = (id(self), name)
        if marker in r.active:
            start = r.active[marker]
            raise VariableCycle([*r.chain[start:], name])
        r.active[marker] = len(r.chain)
        r.chain.append(name)
        r.deps.append({(self.host, name)})

        def compute() -> Any:
            try:
                return r.templar.template(raw, self)
            except UndefinedVariable as e:
                return undefined(hint=f"{raw}: {e.message}", name=name, chain=(name, *e.chain),
                                 missing=e.missing)
            except UndefinedError as e:
                return undefined(hint=f"{raw}: {e.message}", name=name, chain=(name,))

        try:
            store = r.templar.reuse
            key = None
            if store.enabled:
                try:
                    key = ("c", name, value_key(raw))
                except Unkeyable:
                    pass
            value = compute() if key is None else store.evaluate(key, self, compute, self.read_again)
        except Exception as e:
            chain = getattr(e, "kv_chain", None)
            if chain is None:
                e.kv_chain = list(r.chain)  # type: ignore[attr-defined]
            raise
        finally:
            deps = frozenset(r.deps.pop())
            r.chain.pop()
            del r.active[marker]
        self._store(name, value, deps)
        r.note(deps)
        return value

    def _store(self, name: str, value: Any, deps: frozenset[DepKey], publish: bool = True) -> None:
        target: Scope = self
        overridden = self.overrides
        while target.parent is not None and deps.isdisjoint(overridden):
            target = target.parent
            overridden = overridden | target.overrides
        entry = target.cache[name] = (value, deps)
        if target.persistent:
            r = self.resolver
            index = r.index
            for key in deps:
                index.setdefault(key, []).append((target.cache, name))
            if publish and r.share and IMPURE not in deps:
                r.shared[(self.host, name)] = (target, entry)
        _register_containers(value, self.resolver.templar.env.frozen)


class ExplainedScope(Scope):
    """A scope whose missing names may come with a reason: `explain(host, name)` returns an
    undefined value carrying it (`hostvars` of a host outside --limit), or None for a plain
    missing name. `in`, iteration and `.get()` see only the names that are there."""

    def __init__(self, resolver: Resolver, host: str, layers: list[Mapping[str, Any]], *,
                 explain: Callable[[str, str], Any], persistent: bool = False) -> None:
        super().__init__(resolver, host, layers, persistent=persistent)
        self.explain = explain

    def __getitem__(self, name: str) -> Any:
        value = self.get_value(name)
        if value is MISSING:
            reason = self.explain(self.host, name)
            self.resolver.templar.reuse.note(self, ("x", name, reason))
            if reason is None:
                raise KeyError(name)
            return reason
        return value

    def get(self, name: str, default: Any = None) -> Any:
        value = self.get_value(name)
        return default if value is MISSING else value


_MOVED: dict[tuple[tuple[int, ...], tuple[int, ...]], frozenset[str]] = {}
_NAMES: dict[tuple[int, ...], frozenset[str]] = {}


def _names_of(kept: list[Mapping[str, Any]]) -> frozenset[str]:
    """Every name of layers kept for the process (`reuse.is_parsed`), memoized by their ids."""
    key = tuple(id(m) for m in kept)
    hit = _NAMES.get(key)
    if hit is None:
        hit = _NAMES[key] = frozenset().union(*kept)
    return hit


def _moved_names(child: Scope, parent: Scope) -> frozenset[str]:
    """Names whose value may come from another layer in `child` than in `parent` because layers they
    both have come in another precedence order (a role's own defaults and vars above the other public
    roles', which the parent has above them): every name of the layers in an inverted pair whose
    winner among them differs (a superset of the names that differ: they only cache less).

    Only the layers parsed from files (`reuse.is_parsed`: role defaults and vars, kept for the
    process) move in the engine's scopes; when so, the answer is memoized by their ids."""
    order = parent.__dict__.get("_order")
    if order is None:  # the parent's layers by id, first occurrences; the parsed ones among them
        by_id = {id(m): m for m in parent.maps}
        theirs_all = list(by_id)  # (a dict keeps each id where it first came)
        order = parent.__dict__["_order"] = (theirs_all, tuple(i for i in theirs_all if is_parsed(by_id[i])))
    theirs, kept_theirs = order
    ids = parent.map_ids()
    mine = list(dict.fromkeys(i for i in map(id, child.maps) if i in ids))
    if mine == theirs:
        return frozenset()
    kept = set(kept_theirs)
    present = set(mine)
    if [i for i in mine if i not in kept] == [i for i in theirs if i not in kept and i in present]:
        key = (tuple(i for i in mine if i in kept), kept_theirs)
        hit = _MOVED.get(key)
        if hit is None:
            maps = {id(m): m for m in child.maps if id(m) in kept}
            hit = _MOVED[key] = _inverted(key[0], key[1], maps)
        return hit
    return _inverted(tuple(mine), tuple(theirs), {id(m): m for m in child.maps})


def _inverted(mine: tuple[int, ...], theirs: tuple[int, ...], maps: Mapping[int, Mapping[str, Any]]) -> frozenset[str]:
    """The names of the layers (by id, in two precedence orders) in an inverted pair whose winner
    among those layers differs between the two orders."""
    position = {ident: i for i, ident in enumerate(theirs)}
    order = [position[i] for i in mine]
    involved: set[int] = set()
    for a in range(len(order)):
        for b in range(a + 1, len(order)):
            if order[a] > order[b]:
                involved.update((mine[a], mine[b]))
    if not involved:
        return frozenset()
    first = [i for i in mine if i in involved]
    second = [i for i in theirs if i in involved]
    names: set[str] = set().union(*(maps[i] for i in involved))

    def winner(order: list[int], name: str) -> int | None:
        return next((i for i in order if name in maps[i]), None)

    return frozenset(n for n in names if winner(first, n) != winner(second, n))


_SCALARS = (str, int, bool, type(None))  # equal values of these exact types are the same (not floats: -0.0)


def _resolved(maps: tuple[Mapping[str, Any], ...]) -> dict[str, Any]:
    """Every name of `maps` (highest precedence first) with the value `raw_get` gives it."""
    out: dict[str, Any] = {}
    for m in reversed(maps):
        out.update(m)
    return out


def is_possibly_template(text: str) -> bool:
    """ansible.template.is_possibly_template with the default delimiters."""
    return "{{" in text or "{%" in text or "{#" in text


def _templatable(raw: Any) -> bool:
    if getattr(raw, "__UNSAFE__", False):
        return False
    if isinstance(raw, str):
        return is_possibly_template(raw)
    return isinstance(raw, list | dict | tuple)


def _register_containers(value: Any, frozen: dict[int, Any]) -> None:
    """Keep (and so pin the id of) every container of a cached value: templates may not mutate it."""
    if isinstance(value, dict | list) and id(value) not in frozen:
        frozen[id(value)] = value
        for v in value.values() if isinstance(value, dict) else value:
            _register_containers(v, frozen)


class VarsView(MutableMapping[str, Any]):
    """The `vars` magic variable: every variable of the scope, templated on access. Writes (as
    in `{% if vars.update({...}) %}`) stay local to the one rendering."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.local: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name in self.local:
            return self.local[name]
        return self.scope[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self.local[name] = value

    def __delitem__(self, name: str) -> None:
        del self.local[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self.scope), **self.local})

    def __len__(self) -> int:
        return len(set(self.scope) | set(self.local))

    def __contains__(self, name: object) -> bool:
        return name in self.local or name in self.scope
