"""Automatic coverage: which variables a template's own conditionals test, and which values open the
gate of the task that renders it, read from the Jinja AST (no rendering).

The calico-typha bug needed `typha_secure` and `calico_ipam_host_local` on together, behind the
gate `typha_enabled`. `template_flags` finds the two (they are tested by `{% if %}` in the
template), `gate_values` finds the gate (the task's `when`), and the matrix covers every pair of
the flags with the gate held open, in far fewer cells than the full product.

Values tried per variable: a variable used as a boolean (`{% if x %}`, `x | bool`, `not x`) gets
[true, false]; a variable compared with literals (`x == 'calico'`, `x in ['a', 'b']`) gets those
literals; a variable only tested with `is defined` is not varied (extra vars cannot undefine).
A tested variable whose role default is itself an expression is followed to the variables of that
expression ("following the defaults they come from").
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, nodes
from jinja2.defaults import DEFAULT_NAMESPACE

_ENV = Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
BOOL = (True, False)


@dataclass
class Flags:
    """variable -> the values worth trying (ordered, deduplicated)."""

    values: dict[str, list[Any]] = field(default_factory=dict)
    # variable -> the literal its `| default(...)` gives it when undefined: its type
    fallback: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, *values: Any) -> None:
        have = self.values.setdefault(name, [])
        for v in values:
            if v not in have or any(type(v) is not type(h) for h in have if h == v):
                have.append(v)

    def merge(self, other: Flags) -> None:
        for k, vs in other.values.items():
            self.add(k, *vs)
        for k, v in other.fallback.items():
            self.fallback.setdefault(k, v)


@functools.lru_cache(maxsize=1024)
def _parse(source: str) -> nodes.Template:
    """The Jinja AST of a template or expression, parsed once (every gate of a template reads it,
    and the planning reads each template several ways). Never mutated by its readers."""
    return _ENV.parse(source)


def _names(node: nodes.Node) -> set[str]:
    return {n.name for n in node.find_all(nodes.Name) if n.ctx == "load"}


def _local_names(tree: nodes.Template) -> set[str]:
    """Names bound inside the template (loop targets, set, macro args): not inventory variables."""
    out: set[str] = {"loop", "item", "true", "false", "none", "True", "False", "None"}
    for n in tree.find_all((nodes.For, nodes.Assign, nodes.AssignBlock, nodes.Macro, nodes.With, nodes.Import,
                            nodes.FromImport)):
        if isinstance(n, (nodes.For, nodes.Assign, nodes.AssignBlock)):
            out |= {t.name for t in n.target.find_all(nodes.Name)} | (
                {n.target.name} if isinstance(n.target, nodes.Name) else set())
        elif isinstance(n, nodes.Macro):
            out |= {n.name, *(a.name for a in n.args)}
        elif isinstance(n, nodes.Import):
            out.add(n.target)
        elif isinstance(n, nodes.FromImport):
            out |= {x if isinstance(x, str) else x[1] for x in n.names}
        elif isinstance(n, nodes.With):
            out |= {t.name for t in n.targets if isinstance(t, nodes.Name)}
    return out


def _test_flags(test: nodes.Node, flags: Flags) -> None:
    """Record the variables of one condition and the values that flip it."""
    if isinstance(test, (nodes.And, nodes.Or)):
        _test_flags(test.left, flags)
        _test_flags(test.right, flags)
    elif isinstance(test, nodes.Not):
        _test_flags(test.node, flags)
    elif isinstance(test, nodes.Name):
        flags.add(test.name, *BOOL)
    elif isinstance(test, nodes.Filter) and test.name == "bool" and isinstance(test.node, nodes.Name):
        flags.add(test.node.name, *BOOL)
    elif isinstance(test, nodes.Compare) and isinstance(test.expr, nodes.Name) and len(test.ops) == 1:
        op = test.ops[0]
        if isinstance(op.expr, nodes.Const) and op.op in ("eq", "ne"):
            flags.add(test.expr.name, op.expr.value)
        elif isinstance(op.expr, (nodes.List, nodes.Tuple)) and op.op in ("in", "notin"):
            flags.add(test.expr.name, *(i.value for i in op.expr.items if isinstance(i, nodes.Const)))
    elif isinstance(test, nodes.Compare) and isinstance(test.expr, nodes.Const) and len(test.ops) == 1:
        op = test.ops[0]  # 'calico' in kube_network_plugin_list / 'x' == var
        if isinstance(op.expr, nodes.Name) and op.op in ("eq", "ne"):
            flags.add(op.expr.name, test.expr.value)
    elif isinstance(test, nodes.Filter) and isinstance(test.node, nodes.Name) and test.name in ("default", "d"):
        flags.add(test.node.name, *BOOL)
        fallback = _fallback(test)
        if fallback is not MISSING:
            flags.fallback.setdefault(test.node.name, fallback)
    elif isinstance(test, nodes.Filter) and test.name == "bool" and isinstance(test.node, nodes.Filter):
        _test_flags(test.node, flags)  # `x | default(false) | bool`


def _fallback(f: nodes.Filter) -> Any:
    """The literal of `x | default(LITERAL)`, else MISSING."""
    if f.args and isinstance(f.args[0], nodes.Const):
        return f.args[0].value
    return MISSING


def template_flags(source: str) -> Flags:
    """The variables a template's own conditionals (`if`, inline `if`, ternary) test."""
    flags = Flags()
    try:
        tree = _parse(source)
    except TemplateSyntaxError:
        return flags
    local = _local_names(tree)
    for cond in tree.find_all((nodes.If, nodes.CondExpr)):
        if isinstance(cond, (nodes.If, nodes.CondExpr)):
            _test_flags(cond.test, flags)
    for f in tree.find_all(nodes.Filter):
        if f.name == "ternary" and isinstance(f.node, nodes.Name):
            flags.add(f.node.name, *BOOL)
        elif f.name == "ternary" and f.node is not None:
            _test_flags(f.node, flags)
    for name in list(flags.values):
        if name in local:
            del flags.values[name]
    return flags


# names every template can read that are not variables: Jinja's globals and Ansible's
GLOBALS = frozenset({*DEFAULT_NAMESPACE, "lookup", "query", "q", "now", "undef", "omit"})


def used_names(source: str) -> set[str]:
    """Every variable a template loads, guarded or not (`kube_reserved is defined and kube_reserved
    | bool` uses `kube_reserved`): what its rendering can depend on."""
    try:
        tree = _parse(source)
    except TemplateSyntaxError:
        return set()
    return _names(tree) - _local_names(tree) - GLOBALS


def read_names(source: str) -> set[str]:
    """The variables a template reads where an undefined value is an error: every name it loads,
    but for its own locals and the names it only tests with `is defined`/`is undefined` or reads
    through `default` (`x | default(...)`, `x | d(...)`)."""
    try:
        tree = _parse(source)
    except TemplateSyntaxError:
        return set()
    guarded: set[str] = set()
    for t in tree.find_all(nodes.Test):
        if t.name in ("defined", "undefined", "none") and isinstance(t.node, nodes.Name):
            guarded.add(t.node.name)
    for f in tree.find_all(nodes.Filter):
        node = f.node
        while isinstance(node, (nodes.Getattr, nodes.Getitem)):  # `lb.port | default(...)` guards `lb`
            node = node.node
        if f.name in ("default", "d") and isinstance(node, nodes.Name):
            guarded.add(node.name)
    return _names(tree) - guarded - _local_names(tree) - GLOBALS


def follow_defaults(flags: Flags, defaults: Mapping[str, Any], depth: int = 5) -> Flags:
    """Replace a flag whose role default is an expression by the variables that expression tests."""
    out = Flags()
    for name, values in flags.values.items():
        out.add(name, *values)
        default = defaults.get(name)
        if depth and isinstance(default, str) and "{{" in default:
            inner = Flags()
            try:
                expr = _parse(default)
            except TemplateSyntaxError:
                continue
            for output in expr.find_all(nodes.Output):
                for child in output.nodes:
                    if not isinstance(child, nodes.TemplateData):
                        _test_flags(child, inner)
            out.merge(follow_defaults(inner, defaults, depth - 1))
    return out


def gate_values(when: Iterable[str] | str | None, fallbacks: dict[str, Any] | None = None) -> dict[str, Any]:
    """Values that make a task's `when` (a string or list of conditions, all ANDed) true, for the
    simple forms Kubespray uses: `x`, `x | bool`, `x == 'v'`, `x in ['a', 'b']`, `not x`, `and`."""
    conditions = [when] if isinstance(when, str) else list(when or [])
    out: dict[str, Any] = {}
    for cond in conditions:
        if not isinstance(cond, str):
            if isinstance(cond, bool):
                continue
            cond = str(cond)
        try:
            expr = _parse("{{ " + cond + " }}")
        except TemplateSyntaxError:
            continue
        for output in expr.find_all(nodes.Output):
            for child in output.nodes:
                _open(child, True, out, fallbacks if fallbacks is not None else {})
    return out


def _open(test: nodes.Node, want: bool, out: dict[str, Any], fallbacks: dict[str, Any]) -> None:
    while isinstance(test, nodes.Filter) and test.name in ("bool", "default", "d") and test.node is not None:
        if test.name != "bool" and isinstance(test.node, nodes.Name):  # `x | default(false)`: x, a boolean
            fallback = _fallback(test)
            if fallback is not MISSING:
                fallbacks.setdefault(test.node.name, fallback)
        test = test.node
    if isinstance(test, nodes.And) and want:
        _open(test.left, True, out, fallbacks)
        _open(test.right, True, out, fallbacks)
    elif isinstance(test, nodes.Or) and not want:
        _open(test.left, False, out, fallbacks)
        _open(test.right, False, out, fallbacks)
    elif isinstance(test, nodes.Or):
        _open(test.left, True, out, fallbacks)  # one side is enough: the first
    elif isinstance(test, nodes.Not):
        _open(test.node, not want, out, fallbacks)
    elif isinstance(test, nodes.Name):
        out.setdefault(test.name, want)
    elif isinstance(test, nodes.Filter) and test.name == "bool" and isinstance(test.node, nodes.Name):
        out.setdefault(test.node.name, want)
    elif isinstance(test, nodes.Compare) and isinstance(test.expr, nodes.Name) and len(test.ops) == 1:
        op = test.ops[0]
        if isinstance(op.expr, nodes.Const) and (op.op == "eq") == want and op.op in ("eq", "ne"):
            out.setdefault(test.expr.name, op.expr.value)
        elif isinstance(op.expr, (nodes.List, nodes.Tuple)) and (op.op == "in") == want and op.expr.items:
            first = op.expr.items[0]
            if isinstance(first, nodes.Const) and op.op in ("in", "notin"):
                out.setdefault(test.expr.name, first.value)


_BOOLISH = (" and ", " or ", "not ", "==", "!=", " is ", " in ", "bool", "true", "false", "True", "False")


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MISSING: Any = _Marker("MISSING")  # the variable has no value in the base cell (no default, inventory or fact)
UNKNOWN: Any = _Marker("UNKNOWN")  # its value could not be read (a default expression without a base cell)


@dataclass(frozen=True)
class Known:
    """What automatic coverage knows of a template's variables in the base cell: the raw role
    defaults in scope, and (from the discovery run) each variable's value as the task saw it,
    whether that value differs between hosts, and which values a variable may take because they
    select a role or task file the checkout has (`valid`). Without `lookup` (no run), a literal
    default is the value and an expression default is UNKNOWN."""

    defaults: Mapping[str, Any] = field(default_factory=dict)
    lookup: Callable[[str], Any] | None = None
    varies: Callable[[str], bool] | None = None
    valid: Callable[[str, Any], bool] | None = None
    documented: Mapping[str, Any] = field(default_factory=dict)
    hosts: Callable[[str], list[Any]] | None = None  # the variable's value on each host the task was met on

    def value(self, name: str) -> Any:
        if self.lookup is not None:
            return self.lookup(name)
        raw = self.defaults.get(name, MISSING)
        return UNKNOWN if isinstance(raw, str) and ("{{" in raw or "{%" in raw) else raw

    def host_dependent(self, name: str) -> bool:
        """A value that differs between hosts (`kube_override_hostname` is each host's name): an
        extra var would give every host the first one's, so automatic coverage never sets it."""
        return bool(self.varies and self.varies(name))

    def on_hosts(self, name: str) -> list[Any]:
        return self.hosts(name) if self.hosts is not None else [self.value(name)]

    def allows(self, name: str, value: Any) -> bool:
        return self.valid is None or self.valid(name, value)


def truth_values(default: Any, has_default: bool) -> list[Any]:
    """The values that make `{% if x %}` true and false, given x's raw role default: a boolean
    (or a default expression that looks boolean) toggles; a non-empty string, list, dict or number
    goes between itself and the empty value of its type (True would not be a valid value: `x |
    join` fails on it); an empty or missing default has no known true value, so nothing is varied."""
    if isinstance(default, bool):
        return [True, False]
    if isinstance(default, str) and "{{" in default:
        return [True, False] if any(m in default for m in _BOOLISH) else []
    if not has_default or default is None or not default:
        return []
    if isinstance(default, (str, list, dict, int, float)):
        return [default, type(default)()]
    return []


def typed_truth(value: Any, raw_default: Any = MISSING, empty_ok: bool = False) -> list[Any]:
    """`truth_values` in the type of the variable's value in the base cell: a boolean toggles; a
    non-empty list or dict goes to its empty value; a non-empty string or number keeps its value
    (`{% if cilium_version %}` is a guard, not a sign that "" is a version) unless the checkout
    shows its empty value is one it expects (`empty_ok`: compared with "" or documented so);
    anything else (empty, none, missing) has no true value automatic coverage may invent. UNKNOWN
    falls back to the raw default (`truth_values`)."""
    if value is UNKNOWN:
        return truth_values(raw_default, raw_default is not MISSING)
    if isinstance(value, bool):
        return [True, False]
    if value is MISSING or value is None or not value:
        return []
    if isinstance(value, (list, dict)) or (isinstance(value, (str, int, float)) and empty_ok):
        return [value, type(value)()]
    if isinstance(value, (str, int, float)):
        return [value]
    return []


def compatible(literal: Any, value: Any) -> bool:
    """May `literal` stand where the base cell has `value`? Same type (numbers together); any
    type when the base value is not known."""
    if value is MISSING or value is UNKNOWN or value is None:
        return True
    if isinstance(value, bool) or isinstance(literal, bool):
        return isinstance(value, bool) and isinstance(literal, bool)
    if isinstance(value, (int, float)) and isinstance(literal, (int, float)):
        return True
    return type(literal) is type(value)


def _raw_gate_value(want: bool, default: Any) -> Any:
    """A truth value a gate wants, in the type of the variable's raw default (no base cell): `when:
    x` with a non-empty list default keeps the list; false is the empty value of the type."""
    literal = isinstance(default, (str, list, dict, int, float)) and not isinstance(default, bool)
    if literal and not (isinstance(default, str) and "{{" in default):
        return default if want and default else (want if want else type(default)())
    return want


def _truth(name: str, want: bool, value: Any, known: Known, placeholder: Callable[[str], Any] | None) -> Any:
    """The value that makes `when: name` `want`, in the type of `name`'s base value; MISSING if
    there is none automatic coverage may use."""
    if value is UNKNOWN:
        return _raw_gate_value(want, known.defaults.get(name))
    if isinstance(value, bool):
        return want
    documented = placeholder(name) if placeholder is not None and want else None
    if value is MISSING or value is None:
        return documented if documented is not None else MISSING
    if isinstance(value, (str, list, dict, int, float)):
        if not want:
            return type(value)()
        if value:
            return value
        return documented if documented is not None and compatible(documented, value) and documented else MISSING
    return MISSING


def _satisfied(value: Any, want: Any) -> bool:
    if value is MISSING or value is UNKNOWN:
        return False
    return bool(value) is want if isinstance(want, bool) else bool(type(value) is type(want) and value == want)


def typed_gate(gate: Mapping[str, Any], known: Known, placeholder: Callable[[str], Any] | None = None,
               fallbacks: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    """The values that open a gate (`gate_values`), each in the type of the variable's value in the
    base cell: a boolean wants true; a non-empty string, list or number is already true; an empty
    one, or an input no default supplies, takes the value the checkout documents for it
    (`placeholder`), else the gate cannot be opened; a literal must be of the variable's type and
    select something (`Known.allows`). A variable whose value differs between hosts is left alone
    when the base cell already satisfies the gate on one of them. An undefined variable the gate reads through
    `| default(LITERAL)` (`fallbacks`) has that literal's type. Returns (values, "") or ({}, why not)."""
    out: dict[str, Any] = {}
    for name, want in gate.items():
        value = known.value(name)
        if value is MISSING and fallbacks and name in fallbacks:
            value = fallbacks[name]  # `when: x | default(false)`: x is a boolean
        if known.host_dependent(name):
            if any(_satisfied(v, want) for v in known.on_hosts(name)):
                continue  # the template renders on the hosts where it holds (`when: not is_kube_master`)
            return {}, f"`{name}` differs between hosts"
        if isinstance(want, bool):
            got = _truth(name, want, value, known, placeholder)
            if got is MISSING:
                if not want:
                    continue
                return {}, f"`{name}` must be set, and has no default nor a value the checkout documents"
            if not known.allows(name, got):
                return {}, f"`{name}: {got!r}` would switch the checkout's own checks off"
            out[name] = got
        elif not compatible(want, value):
            return {}, f"`{name}: {want!r}` is not of the type of its value {value!r}"
        elif not known.allows(name, want):
            return {}, f"`{name}: {want!r}` selects no role or task file of the checkout"
        else:
            out[name] = want
    return out, ""


def auto_axes(source: str, defaults: Mapping[str, Any], when: Iterable[str] | str | None = None,
              max_axes: int = 12, known: Known | None = None,
              fallbacks: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """(gate, axes) for one template: the gate's values held open, and the template's own flags
    (defaults followed) with the values to cover pairwise. Values keep the type of the variable's
    value in the base cell (`known`): a variable tested for truth gets `typed_truth`; a compared
    variable the literals of its type it is compared with, that select something (`Known.valid`),
    and its base value, so that its condition can be false too. A variable whose value differs
    between hosts is never varied; flags with a single value are dropped."""
    known = known or Known(defaults)
    gate = gate_values(when, fallbacks)
    own = template_flags(source)
    flags = follow_defaults(own, defaults)
    axes: dict[str, list[Any]] = {}
    for name, values in flags.values.items():
        if name in gate or name.startswith(("ansible_", "hostvars", "groups", "inventory_")):
            continue
        if known.host_dependent(name):
            continue
        value = known.value(name)
        if value is MISSING and name in own.fallback:
            value = own.fallback[name]  # `{% if x | default(false) %}`: x is a boolean
        vals: list[Any] = []
        if any(isinstance(v, bool) for v in values):
            empty = type(value)() if isinstance(value, (str, int, float)) and not isinstance(value, bool) else MISSING
            empty_ok = empty is not MISSING and (any(_same(empty, v) for v in values)
                                                 or _same(known.documented.get(name, MISSING), empty))
            vals = typed_truth(value, defaults.get(name, MISSING), empty_ok)
        literals = [v for v in values if not isinstance(v, bool) and compatible(v, value) and known.allows(name, v)]
        if literals:
            vals += [v for v in literals if not any(_same(v, w) for w in vals)]
            base = value if value is not UNKNOWN else defaults.get(name, MISSING)
            if isinstance(base, (str, int, float, bool)) and not (isinstance(base, str) and "{{" in base):
                if not any(_same(base, w) for w in vals):
                    vals.append(base)
        vals = [v for v in vals if known.allows(name, v)]
        if len(vals) > 1:
            axes[name] = vals
        if len(axes) >= max_axes:
            break
    return gate, axes


def _same(a: Any, b: Any) -> bool:
    return bool(type(a) is type(b) and a == b)


# names a conditional can test that extra vars cannot (or must not) set
_MAGIC = ("ansible_", "hostvars", "groups", "group_names", "inventory_", "play_hosts", "omit", "playbook_dir",
          "role_")
NEAR_LINES = 10  # how far from a line a conditional still counts as around it


@dataclass(frozen=True)
class Nearby:
    """A variable a template's conditional tests around a line: the values worth trying, and the
    distance in lines from the line to the conditional's block (0: the line is inside it)."""

    name: str
    values: tuple[Any, ...]
    distance: int


def _last_line(node: nodes.Node) -> int:
    """The last template line a node spans (a text node ends where its last newline leads)."""
    last: int = node.lineno
    for n in node.find_all(nodes.Node):
        start: int | None = n.lineno  # None on some helper nodes (keyword arguments)
        if start is not None:
            last = max(last, start + (n.data.count("\n") if isinstance(n, nodes.TemplateData) else 0))
    return last


def conditionals_near(source: str, line: int, window: int = NEAR_LINES) -> list[Nearby]:
    """The variables the template's own conditionals (`if`/`elif`, inline `if`, `ternary`) test
    within `window` lines of template line `line`, nearest first: a conditional whose block holds
    the line is at distance 0, one that ends 3 lines above it at 3. A bug made by a block next to
    the line (an earlier `{% if %}` that leaves the YAML in another list) is found this way."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError:
        return []
    local = _local_names(tree)
    found: dict[str, Nearby] = {}

    def add(test: nodes.Node, start: int, end: int) -> None:
        distance = 0 if start <= line <= end else (start - line if line < start else line - end)
        if distance > window:
            return
        flags = Flags()
        _test_flags(test, flags)
        for name, values in flags.values.items():
            if name in local or name.startswith(_MAGIC):
                continue
            old = found.get(name)
            merged = (*(old.values if old else ()), *(v for v in values if old is None or v not in old.values))
            found[name] = Nearby(name, merged, min(distance, old.distance) if old else distance)

    for cond in tree.find_all((nodes.If, nodes.CondExpr, nodes.Filter)):
        if isinstance(cond, (nodes.If, nodes.CondExpr)):
            add(cond.test, cond.lineno, _last_line(cond))
        elif isinstance(cond, nodes.Filter) and cond.name == "ternary" and cond.node is not None:
            add(cond.node, cond.lineno, cond.lineno)
    return sorted(found.values(), key=lambda n: n.distance)
