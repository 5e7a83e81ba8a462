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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, nodes

_ENV = Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
BOOL = (True, False)


@dataclass
class Flags:
    """variable -> the values worth trying (ordered, deduplicated)."""

    values: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, name: str, *values: Any) -> None:
        have = self.values.setdefault(name, [])
        for v in values:
            if v not in have or any(type(v) is not type(h) for h in have if h == v):
                have.append(v)

    def merge(self, other: Flags) -> None:
        for k, vs in other.values.items():
            self.add(k, *vs)


def _names(node: nodes.Node) -> set[str]:
    return {n.name for n in node.find_all(nodes.Name) if n.ctx == "load"}


def _local_names(tree: nodes.Template) -> set[str]:
    """Names bound inside the template (loop targets, set, macro args): not inventory variables."""
    out: set[str] = {"loop", "item", "true", "false", "none", "True", "False", "None"}
    for n in tree.find_all((nodes.For, nodes.Assign, nodes.AssignBlock, nodes.Macro, nodes.With)):
        if isinstance(n, (nodes.For, nodes.Assign, nodes.AssignBlock)):
            out |= {t.name for t in n.target.find_all(nodes.Name)} | (
                {n.target.name} if isinstance(n.target, nodes.Name) else set())
        elif isinstance(n, nodes.Macro):
            out |= {a.name for a in n.args}
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


def template_flags(source: str) -> Flags:
    """The variables a template's own conditionals (`if`, inline `if`, ternary) test."""
    flags = Flags()
    try:
        tree = _ENV.parse(source)
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


def follow_defaults(flags: Flags, defaults: Mapping[str, Any], depth: int = 5) -> Flags:
    """Replace a flag whose role default is an expression by the variables that expression tests."""
    out = Flags()
    for name, values in flags.values.items():
        out.add(name, *values)
        default = defaults.get(name)
        if depth and isinstance(default, str) and "{{" in default:
            inner = Flags()
            try:
                expr = _ENV.parse(default)
            except TemplateSyntaxError:
                continue
            for output in expr.find_all(nodes.Output):
                for child in output.nodes:
                    if not isinstance(child, nodes.TemplateData):
                        _test_flags(child, inner)
            out.merge(follow_defaults(inner, defaults, depth - 1))
    return out


def gate_values(when: Iterable[str] | str | None) -> dict[str, Any]:
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
            expr = _ENV.parse("{{ " + cond + " }}")
        except TemplateSyntaxError:
            continue
        for output in expr.find_all(nodes.Output):
            for child in output.nodes:
                _open(child, True, out)
    return out


def _open(test: nodes.Node, want: bool, out: dict[str, Any]) -> None:
    if isinstance(test, nodes.And) and want:
        _open(test.left, True, out)
        _open(test.right, True, out)
    elif isinstance(test, nodes.Or) and not want:
        _open(test.left, False, out)
        _open(test.right, False, out)
    elif isinstance(test, nodes.Or):
        _open(test.left, True, out)  # one side is enough: the first
    elif isinstance(test, nodes.Not):
        _open(test.node, not want, out)
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


def truth_values(default: Any, has_default: bool) -> list[Any]:
    """The values that make `{% if x %}` true and false, given x's role default: a boolean (or a
    default expression that yields one) toggles; a non-empty string, list, dict or number goes
    between itself and the empty value of its type (True would not be a valid value: `x | join`
    fails on it); an empty or missing default has no known true value, so nothing is varied."""
    if isinstance(default, bool):
        return [True, False]
    if isinstance(default, str) and "{{" in default:
        return [True, False] if any(m in default for m in _BOOLISH) else []
    if not has_default or default is None or not default:
        return []
    if isinstance(default, (str, list, dict, int, float)):
        return [default, type(default)()]
    return []


def auto_axes(source: str, defaults: Mapping[str, Any], when: Iterable[str] | str | None = None,
              max_axes: int = 12) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """(gate, axes) for one template: the gate's values held open, and the template's own flags
    (defaults followed) with the values to cover pairwise. A variable tested for truth gets the
    values of `truth_values`; a compared variable gets the literals it is compared with and its
    role default, so that its condition can be false too. Flags with a single value are dropped."""
    gate = gate_values(when)
    flags = follow_defaults(template_flags(source), defaults)
    axes: dict[str, list[Any]] = {}
    for name, values in flags.values.items():
        if name in gate or name.startswith(("ansible_", "hostvars", "groups", "inventory_")):
            continue
        default = defaults.get(name)
        vals: list[Any] = []
        if any(isinstance(v, bool) for v in values):
            vals = truth_values(default, name in defaults)
        literals = [v for v in values if not isinstance(v, bool)]
        if literals:
            vals += [v for v in literals if not any(_same(v, w) for w in vals)]
            if isinstance(default, (str, int, float, bool)) and not (isinstance(default, str) and "{{" in default):
                if not any(_same(default, w) for w in vals):
                    vals.append(default)
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
