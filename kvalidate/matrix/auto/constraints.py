"""The checkout's own rules on variable values, for automatic coverage: the `assert` and `fail`
tasks the base cell met or that peeking found behind the includes it skipped (`CheckGate`s),
evaluated on an assignment of extra vars without running anything.

An assignment is rejected when some check it touches (names one of its variables) is triggered
and fails with the assignment's values over the base cell's (each variable as the check's task saw
it, else its literal role default), while it holds with the base cell's values alone. A condition
that reads only the host's place in the inventory (`inventory_hostname == groups[...][0]`,
`'etcd' in group_names`) holds on some host, and is taken as true. A check that cannot be decided
from those values (it reads a fact, a registered result, a filter this evaluator lacks) is not
used: automatic coverage would rather run a cell Kubespray might refuse than drop one it accepts.

Kubespray's `roles/network_plugin/calico/tasks/check.yml` asserts `calico_datastore == "kdd"`
when `typha_enabled`; without this, a packed cell holding typha with the etcd datastore gets that
assert as a `task-failed` finding and renders a combination no cluster can have.

`repair` goes one step further: a violated check is satisfied, when variables the assignment
does not set can satisfy it, by giving them a value: the placeholder of an input the checkout
documents and no default supplies (`external_vsphere_user: administrator@vsphere.local`, see
`kubespray.documented`), the other boolean for a boolean (`kube_proxy_strict_arp: true` for
kube-vip's ARP mode).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from kvalidate.ansible.types import CheckGate
from kvalidate.matrix.auto.flags import template_flags

_ENV = SandboxedEnvironment(undefined=StrictUndefined)
_ENV.filters["bool"] = lambda v: v if isinstance(v, bool) else str(v).lower() in ("yes", "on", "1", "true")
# what a condition may read of the host's place in the inventory: true on some host
HOST_NAMES = frozenset({"inventory_hostname", "inventory_hostname_short", "group_names", "groups", "play_hosts",
                        "ansible_play_hosts", "ansible_play_hosts_all", "ansible_play_batch"})
MAX_REPAIRS = 24


_UNSET: Any = object()


def _literal(value: Any) -> bool:
    return not (isinstance(value, str) and ("{{" in value or "{%" in value))


@dataclass(frozen=True)
class _Check:
    module: str
    when: tuple[Any, ...]  # compiled expressions (None: a host condition, true on some host)
    that: tuple[Any, ...]
    names: frozenset[str]
    base: Mapping[str, Any]
    texts: tuple[str, ...]  # the conditions as written: `when` then `that`
    literals: Mapping[str, tuple[Any, ...]]  # name -> the literals the check compares it with


def _compile(cond: str) -> tuple[Any, set[str]] | None:
    try:
        names = set(meta.find_undeclared_variables(_ENV.parse("{{ " + cond + " }}")))
        return _ENV.compile_expression(cond), names
    except (TemplateError, SyntaxError):
        return None


def _holds(expr: Any, values: Mapping[str, Any]) -> bool | None:
    if expr is None:
        return True
    try:
        return bool(expr(**values))
    except Exception:  # noqa: BLE001 - undefined names, unknown filters, type errors: cannot tell
        return None


def holds(cond: str, values: Mapping[str, Any]) -> bool | None:
    """Does one condition, as written, hold with `values`? None when it cannot be told."""
    compiled = _compile(cond)
    return None if compiled is None else _holds(compiled[0], values)


def _literals(conditions: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    for cond in conditions:
        for name, values in template_flags("{% if " + cond + " %}{% endif %}").values.items():
            out[name] = (*out.get(name, ()), *(v for v in values if not isinstance(v, bool)))
    return out


def check_guards(checks: Sequence[CheckGate]) -> set[str]:
    """Variables that switch the checkout's asserts off (`when: not ignore_assert_errors` on an
    `assert`; a `fail` task's `when` is its failure condition instead): giving them true would let
    any assignment through, so automatic coverage never does."""
    out: set[str] = set()
    for c in checks:
        for cond in c.conditions if c.module == "assert" else ():
            try:
                node = _ENV.parse("{{ " + cond + " }}").body[0].nodes[0]  # type: ignore[attr-defined]
            except (TemplateError, SyntaxError, IndexError, AttributeError):
                continue
            if isinstance(node, nodes.Not):
                inner: Any = node.node
                if isinstance(inner, nodes.Filter) and inner.name == "bool":
                    inner = inner.node
                if isinstance(inner, nodes.Name):
                    out.add(inner.name)
    return out


def base_values(gate: CheckGate, names: set[str]) -> dict[str, Any]:
    """Each name as the check's task saw it on the first host it was met on (a lazy scope of the
    discovery run), else its literal role default; names with no value are left out (undefined)."""
    out: dict[str, Any] = {}
    scope = next(iter(gate.scopes.values()), None)
    for n in sorted(names):
        fallback = n in gate.defaults and _literal(gate.defaults[n])
        if scope is not None:
            try:
                value = scope[n]
            except KeyError:
                continue  # defined nowhere
            except Exception:  # noqa: BLE001 - unreadable here: its literal default, if any
                if fallback:
                    out[n] = gate.defaults[n]
                continue
            if not isinstance(value, Undefined):
                out[n] = value
        elif fallback:
            out[n] = gate.defaults[n]
    return out


class CheckRules:
    """`rejects(values)`: does an assignment violate one of the checkout's asserts? `repair`:
    the assignment with the values that satisfy them, or None."""

    def __init__(self, checks: Sequence[CheckGate], placeholder: Callable[[str], Any] | None = None,
                 defined: Set[str] = frozenset()) -> None:
        self.placeholder = placeholder  # variable -> the value of a documented input, None if undocumented
        self.defined = defined  # names the checkout's code defines: undefined there is not a missing input
        self.checks: list[_Check] = []
        for c in checks:
            parts = [_compile(x) for x in (*c.conditions, *c.that)]
            if any(p is None for p in parts):
                continue
            done = [p for p in parts if p is not None]
            when = [None if names and names <= HOST_NAMES else expr for expr, names in done[:len(c.conditions)]]
            names = set().union(*(n for _, n in done)) - HOST_NAMES if done else set()
            check = _Check(c.module, tuple(when), tuple(e for e, _ in done[len(c.conditions):]),
                           frozenset(names), base_values(c, names), (*c.conditions, *c.that),
                           _literals((*c.conditions, *c.that)))
            if names and self._violated(check, {}) is False:  # holds with the base cell's values alone
                self.checks.append(check)

    @staticmethod
    def _violated(check: _Check, values: Mapping[str, Any]) -> bool | None:
        scope = {**check.base, **values}
        triggered = [_holds(e, scope) for e in check.when]
        if False in triggered:
            return False
        if None in triggered:
            return None
        if check.module == "fail":
            return True
        results = [_holds(e, scope) for e in check.that]
        if False in results:
            return True
        return None if None in results else False

    @staticmethod
    def _why(check: _Check, values: Mapping[str, Any]) -> str:
        """The condition that makes `check` fail with `values`, as written."""
        scope = {**check.base, **values}
        if check.module == "fail":
            return check.texts[len(check.when) - 1] if check.when else "fail"
        failing = [i for i, e in enumerate(check.that) if _holds(e, scope) is False]
        return check.texts[len(check.when) + failing[0]] if failing else check.texts[-1]

    def rejects(self, values: Mapping[str, Any], touched: Sequence[str] | None = None) -> bool:
        """True when a check naming one of `touched` (default: every key of `values`) fails."""
        return self.violated(values, touched) is not None

    def violated(self, values: Mapping[str, Any], touched: Sequence[str] | None = None) -> str | None:
        """The first check naming one of `touched` that `values` fail, as written; None if none."""
        keys = set(values if touched is None else touched)
        for c in self.checks:
            if c.names & keys and self._violated(c, values) is True:
                return self._why(c, values)
        return None

    def fixes(self, check: _Check, name: str) -> list[Any]:
        """Values `name` may be given to satisfy `check`: the other boolean, the literals of its
        type the check compares it with (`container_manager == 'docker'`), or a documented input's
        placeholder when the base cell leaves it empty, or undefined and the code defines it nowhere."""
        base = check.base.get(name, _UNSET)
        if isinstance(base, bool):
            return [not base]
        named = [v for v in check.literals.get(name, ()) if base is _UNSET or type(v) is type(base)]
        if named:
            return named
        if (base is _UNSET and name not in self.defined) or base is None \
                or (isinstance(base, (str, list, dict)) and not base):
            value = self.placeholder(name) if self.placeholder is not None else None
            return [] if value is None else [value]
        return []

    def repair(self, values: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
        """`values` plus what satisfies every check they violate: for each violated check, one
        variable it names that `values` does not set gets one of its `fixes` (or, for a check that
        wants several inputs at once, each of them its first fix). Returns (values, "") or (None,
        the check that could not be satisfied, as written)."""
        out = dict(values)
        for _ in range(MAX_REPAIRS):
            bad = next((c for c in self.checks if c.names & set(out) and self._violated(c, out) is True), None)
            if bad is None:
                return out, ""
            free = sorted(n for n in bad.names if n not in out)
            trial = None
            for name in free:
                for v in self.fixes(bad, name):
                    if self._violated(bad, {**out, name: v}) is not True:
                        trial = {**out, name: v}
                        break
                if trial is not None:
                    break
            if trial is None:
                together = {n: f[0] for n in free if (f := self.fixes(bad, n))}
                if together and self._violated(bad, {**out, **together}) is not True:
                    trial = {**out, **together}
            if trial is None:
                return None, self._why(bad, out)
            out = trial
        return None, "too many checks to satisfy"
