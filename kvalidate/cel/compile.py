"""Compiling one `x-kubernetes-validations` rule for one schema node, as the API server does on
CRD create: parse, check every identifier, function and field against the Kubernetes CEL
environment of the minor and the node's schema, and estimate the rule's worst-case cost from the
schema's maxItems / maxProperties / maxLength.

`compile_rule(rule, node, minor)` returns a `Compiled` (ready for `kvalidate.cel.walk`) or a
`CompileError` whose `message` is the API server's reason for refusing the CRD. A rule written in
CEL syntax celpy does not parse (optional field selection `a.?b`, `l[?0]`) is a `Compiled` with
`unsupported` set: the walker skips and counts it, never reports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import lark
from celpy.celparser import CELParseError

from kvalidate.cel.limits import MAX_REQUEST_BYTES, STATIC_RULE_LIMIT
from kvalidate.cel.runtime import Environment, Tree, environment, escape, parse

_MACROS = {"all", "exists", "exists_one", "map", "filter"}
_OPTIONAL_SYNTAX = re.compile(r"\.\?|\[\?")
_STRING_LIT = re.compile(r"""[rRbB]*('''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")""", re.S)


@dataclass(frozen=True)
class CompileError:
    message: str  # the API server's wording after "compilation failed: " / "estimated rule cost ..."
    cost: bool = False  # refused for its estimated cost, not its syntax or types


@dataclass
class Compiled:
    rule: str
    ast: Tree | None  # None when unsupported
    env: Environment
    uses_old_self: bool = False
    estimated_cost: int = 0
    unsupported: str = ""  # why kvalidate cannot evaluate it (the API server can)
    message_expression: Tree | None = None


def compile_rule(rule: str, node: dict[str, Any], minor: str, *, message_expression: str = "",
                 root: bool = False) -> Compiled | CompileError:
    """Compile `rule` for the schema `node` (its openAPIV3Schema fragment) under Kubernetes `minor`.
    `root`: the node is a resource's root (or an embedded resource), where `self.apiVersion`,
    `self.kind` and `self.metadata.name`/`generateName` exist."""
    env = environment(minor)
    if env.minor >= (1, 28) and _OPTIONAL_SYNTAX.search(_STRING_LIT.sub("''", rule)):
        return Compiled(rule, None, env, uses_old_self="oldSelf" in rule,
                        unsupported="optional field selection (a.?b, l[?i]) is not supported by kvalidate's "
                                    "CEL evaluator")
    ast = _parse(rule)
    if isinstance(ast, CompileError):
        return ast
    checker = _Checker(env, node, root)
    problem = checker.check(ast)
    if problem:
        return CompileError(f"compilation failed: ERROR: <input>: {problem}")
    cost = estimate(ast, node, root)
    if cost > STATIC_RULE_LIMIT:
        return CompileError("estimated rule cost exceeds budget by factor of "
                            f"{cost / STATIC_RULE_LIMIT:.2f}x (try simplifying the rule, or adding maxItems, "
                            "maxProperties, and maxLength where arrays, maps, and strings are declared)", cost=True)
    compiled = Compiled(rule, ast, env, uses_old_self=checker.uses_old_self, estimated_cost=cost)
    if message_expression:
        # the API server refuses a CRD whose messageExpression does not compile
        mast = _parse(message_expression)
        if isinstance(mast, CompileError):
            return CompileError(f"messageExpression {mast.message}")
        mproblem = _Checker(env, node, root).check(mast)
        if mproblem:
            return CompileError(f"messageExpression compilation failed: ERROR: <input>: {mproblem}")
        compiled.message_expression = mast
    return compiled


def _parse(text: str) -> Tree | CompileError:
    try:
        return parse(text)
    except CELParseError as e:
        where = f"{e.line}:{e.column}" if e.line else "1:1"
        first = str(e.args[0]).strip().splitlines()[0] if e.args else "syntax error"
        return CompileError(f"compilation failed: ERROR: <input>:{where}: Syntax error: {first}")
    except RecursionError:
        return CompileError("compilation failed: expression nested too deeply")


def _ident(tree: Any) -> str | None:
    """The name of a bare identifier expression (through celpy's single-child wrappers)."""
    while isinstance(tree, lark.Tree):
        if tree.data == "ident":
            return str(tree.children[0])
        if len(tree.children) != 1 or tree.data in ("ident_arg", "paren_expr", "list_lit", "map_lit", "literal"):
            return None
        tree = tree.children[0]
    return None


def _unwrap(tree: Any) -> Any:
    while isinstance(tree, lark.Tree) and len(tree.children) == 1 and tree.data in (
            "expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary",
            "member", "primary"):
        tree = tree.children[0]
    return tree


def _props(node: dict[str, Any] | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None, bool]:
    """(properties, additionalProperties schema, open) of an object node."""
    if not isinstance(node, dict):
        return None, None, True
    if node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-int-or-string"):
        return node.get("properties") or {}, None, True
    addl = node.get("additionalProperties")
    if isinstance(addl, dict):
        return None, addl, False
    if node.get("type") == "object" and "properties" in node:
        return node["properties"], None, False
    return None, None, True


_META = {"type": "object", "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}}}


class _Checker:
    """Undeclared identifiers and functions, undefined fields of `self` (the type check cel-go does
    with the schema's declared type)."""

    def __init__(self, env: Environment, node: dict[str, Any], root: bool) -> None:
        self.env, self.node, self.root = env, node, root
        self.uses_old_self = False

    def check(self, ast: Tree) -> str | None:
        return self._walk(ast, frozenset())

    def _walk(self, tree: Any, bound: frozenset[str]) -> str | None:
        if not isinstance(tree, lark.Tree):
            return None
        data = tree.data
        if data == "ident":
            name = str(tree.children[0])
            if name == "oldSelf":
                self.uses_old_self = True
            if name in ("self", "oldSelf") or name in bound or name in self.env.idents:
                return None
            return f"undeclared reference to '{name}' (in container '')"
        if data == "ident_arg":
            name = str(tree.children[0])
            args = tree.children[1].children if len(tree.children) > 1 else []
            if name == "has":
                inner = _unwrap(args[0]) if len(args) == 1 else None
                if not (isinstance(inner, lark.Tree) and inner.data == "member_dot"):
                    return "invalid argument to has() macro"
            elif name not in self.env.globals_:
                return f"undeclared reference to '{name}' (in container '')"
            return self._children(args, bound)
        if data == "member_dot_arg":
            target, method = tree.children[0], str(tree.children[1])
            args = tree.children[2].children if len(tree.children) > 2 else []
            space = _ident(target)
            if space is not None and space in self.env.namespaces and space not in bound:
                if method not in self.env.namespaces[space]:
                    return f"undeclared reference to '{space}.{method}' (in container '')"
                return self._children(args, bound)
            if method in _MACROS and len(args) in (2, 3):
                nvars = 1 if method == "map" or len(args) == 2 else 2
                names = [_ident(a) for a in args[:nvars]]
                if any(n is None for n in names):
                    return f"{method}() variable name must be a simple identifier"
                inner = bound | {n for n in names if n}
                found = self._walk(target, bound)
                if found:
                    return found
                return self._children(args[nvars:], inner)
            if method not in self.env.methods:
                return f"undeclared reference to '{method}' (in container '')"
            found = self._walk(target, bound)
            return found or self._children(args, bound)
        if data == "member_dot":
            found = self._field(tree, bound)
            if found:
                return found
            return self._walk(tree.children[0], bound)
        return self._children(tree.children, bound)

    def _children(self, children: list[Any], bound: frozenset[str]) -> str | None:
        for child in children:
            found = self._walk(child, bound)
            if found:
                return found
        return None

    def _field(self, tree: Tree, bound: frozenset[str]) -> str | None:
        """`self.a.b`: each name must be a property of the node it selects from (open nodes pass)."""
        chain: list[str] = []
        cur: Any = tree
        while isinstance(cur, lark.Tree) and cur.data == "member_dot":
            chain.append(str(cur.children[1]))
            cur = _unwrap(cur.children[0])
        if _ident(cur) != "self" or "self" in bound:
            return None
        node: dict[str, Any] | None = self.node
        at_root = self.root
        for name in reversed(chain):
            if at_root:
                at_root = False
                if name in ("apiVersion", "kind"):
                    return None
                if name == "metadata":
                    node = _META
                    continue
            props, addl, open_ = _props(node)
            if addl is not None:
                node = addl
                continue
            if open_:
                known = {escape(k): k for k in props or {}}
                if name in known:
                    node = (props or {})[known[name]]
                    continue
                return None
            assert props is not None
            by_cel_name = {escape(k): k for k in props}
            if name not in by_cel_name:
                return f"undefined field '{name}'"
            node = props[by_cel_name[name]]
        return None


# --- cost estimate ------------------------------------------------------------------------------

def _min_size(node: dict[str, Any] | None) -> int:
    """The fewest bytes one serialized value of this node takes (the API server's estimate)."""
    t = (node or {}).get("type")
    if t in ("integer", "number"):
        return 1
    if t == "boolean":
        return 4
    return 2  # "" {} []


def max_elements(node: dict[str, Any] | None) -> int:
    """How many items, properties or characters a value of this node can have at most."""
    node = node or {}
    t = node.get("type")
    if t == "array":
        if isinstance(node.get("maxItems"), int):
            return int(node["maxItems"])
        return (MAX_REQUEST_BYTES - 2) // (_min_size(node.get("items")) + 1)
    if t == "object":
        if isinstance(node.get("maxProperties"), int):
            return int(node["maxProperties"])
        addl = node.get("additionalProperties")
        return (MAX_REQUEST_BYTES - 2) // (_min_size(addl if isinstance(addl, dict) else None) + 3)
    if t == "string":
        if isinstance(node.get("maxLength"), int):
            return int(node["maxLength"])
        return MAX_REQUEST_BYTES - 2
    return 1


def _element(node: dict[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(node, dict):
        return None
    if node.get("type") == "array":
        items = node.get("items")
        return items if isinstance(items, dict) else None
    addl = node.get("additionalProperties")
    if isinstance(addl, dict):
        return addl
    return None


def estimate(ast: Tree, node: dict[str, Any], root: bool = False) -> int:
    """A lower bound of cel-go's estimated cost: one per node, comprehensions multiplied by the
    most elements their range can hold (maxItems / maxProperties, else what fits in a request)."""
    return _Estimator(node).cost(ast, {"self": node})


class _Estimator:
    def __init__(self, node: dict[str, Any]) -> None:
        self.node = node

    def schema_of(self, tree: Any, scope: dict[str, dict[str, Any] | None]) -> dict[str, Any] | None:
        tree = _unwrap(tree)
        if not isinstance(tree, lark.Tree):
            return None
        name = _ident(tree)
        if name is not None:
            return scope.get(name)
        if tree.data == "member_dot":
            parent = self.schema_of(tree.children[0], scope)
            if not isinstance(parent, dict):
                return None
            props = parent.get("properties")
            known = {escape(k): k for k in props} if isinstance(props, dict) else {}
            if isinstance(props, dict) and str(tree.children[1]) in known:
                sub = props[known[str(tree.children[1])]]
                return sub if isinstance(sub, dict) else None
            addl = parent.get("additionalProperties")
            return addl if isinstance(addl, dict) else None
        return None

    def cost(self, tree: Any, scope: dict[str, dict[str, Any] | None]) -> int:
        if not isinstance(tree, lark.Tree):
            return 0
        if tree.data == "member_dot_arg":
            method = str(tree.children[1])
            args = tree.children[2].children if len(tree.children) > 2 else []
            if method in _MACROS and len(args) in (2, 3):
                target = tree.children[0]
                tschema = self.schema_of(target, scope)
                n = max_elements(tschema) if tschema is not None else 1
                inner = dict(scope)
                elem = _element(tschema)
                nvars = 1 if method == "map" or len(args) == 2 else 2
                for nm in (_ident(a) for a in args[:nvars]):
                    if nm:
                        inner[nm] = elem
                body = sum(self.cost(a, inner) for a in args[nvars:])
                return 1 + self.cost(target, scope) + n * (body + 1)
        return 1 + sum(self.cost(c, scope) for c in tree.children)
