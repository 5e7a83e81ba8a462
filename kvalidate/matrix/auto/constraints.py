"""The checkout's own rules on variable values, for automatic coverage: the `assert` and `fail`
tasks the base cell met (`CheckGate`s), evaluated on an assignment of extra vars without running
anything.

An assignment is rejected when some check it touches (names one of its variables) is triggered
and fails with the assignment's values over the role defaults, while it holds with the defaults
alone. A check that cannot be decided from those values (it reads a fact, a registered result,
`group_names`, a default that is an expression) is not used: automatic coverage would rather run
a cell Kubespray might refuse than drop one it would accept.

Kubespray's `roles/network_plugin/calico/tasks/check.yml` asserts `calico_datastore == "kdd"`
when `typha_enabled`; without this, a packed cell holding typha with the etcd datastore gets that
assert as a `task-failed` finding and renders a combination no cluster can have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

from kvalidate.ansible.types import CheckGate

_ENV = SandboxedEnvironment(undefined=StrictUndefined)
_ENV.filters["bool"] = lambda v: v if isinstance(v, bool) else str(v).lower() in ("yes", "on", "1", "true")


def _literal(value: Any) -> bool:
    return not (isinstance(value, str) and ("{{" in value or "{%" in value))


@dataclass(frozen=True)
class _Check:
    module: str
    when: tuple[Any, ...]  # compiled expressions
    that: tuple[Any, ...]
    names: frozenset[str]
    defaults: Mapping[str, Any]


def _compile(cond: str) -> tuple[Any, set[str]] | None:
    try:
        names = meta.find_undeclared_variables(_ENV.parse("{{ " + cond + " }}"))
        return _ENV.compile_expression(cond), set(names)
    except (TemplateError, SyntaxError):
        return None


def _holds(expr: Any, values: Mapping[str, Any]) -> bool | None:
    try:
        return bool(expr(**values))
    except Exception:  # noqa: BLE001 - undefined names, unknown filters, type errors: cannot tell
        return None


class CheckRules:
    """`rejects(values)`: does an assignment violate one of the checkout's asserts?"""

    def __init__(self, checks: Sequence[CheckGate]) -> None:
        self.checks: list[_Check] = []
        for c in checks:
            parts = [_compile(x) for x in (*c.conditions, *c.that)]
            if any(p is None for p in parts):
                continue
            done = [p for p in parts if p is not None]
            names = frozenset().union(*(n for _, n in done)) if done else frozenset()
            defaults = {k: v for k, v in c.defaults.items() if _literal(v)}
            check = _Check(c.module, tuple(e for e, _ in done[:len(c.conditions)]),
                           tuple(e for e, _ in done[len(c.conditions):]), names, defaults)
            if names and self._violated(check, {}) is False:  # holds with the defaults alone
                self.checks.append(check)

    @staticmethod
    def _violated(check: _Check, values: Mapping[str, Any]) -> bool | None:
        scope = {**check.defaults, **values}
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

    def rejects(self, values: Mapping[str, Any], touched: Sequence[str] | None = None) -> bool:
        """True when a check naming one of `touched` (default: every key of `values`) fails."""
        keys = set(values if touched is None else touched)
        return any(self._violated(c, values) is True for c in self.checks if c.names & keys)
