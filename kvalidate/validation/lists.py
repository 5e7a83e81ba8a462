"""Schema defaults and `x-kubernetes-list-type` semantics, as the API server applies them to custom resources.

- Run them on the object after `kvalidate.defaults.apply_defaults` (the API server defaults on decode).
- `duplicates(structural, obj)`: `pkg/apiserver/schema/listtype/validation.go`: in a `set` list, every value
  that repeats an earlier one (its second appearance only); in a `map` list, every item whose
  `x-kubernetes-list-map-keys` values repeat an earlier item's (keys as present; run it on the defaulted object).
  The server refuses these with `Duplicate value: <keys as JSON>` at the item.
- `builtin_duplicates(schema, obj)`: the same walk over a built-in kind's OpenAPI (kvalidate's strict JSON
  schema, which keeps the list annotations). The API server does not refuse these on create: built-in kinds
  get no generic list check on create or update (only their handwritten validation), and since
  structured-merge-diff v4.4.0 (Kubernetes 1.29, k/k #121575) duplicates in keyed lists no longer break the
  managed fields of a create or update; server-side apply (`kubectl apply --server-side`) refuses an apply
  that touches them. So they are warnings (docs/schemas.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kvalidate.defaults import properties

Path_ = tuple[str | int, ...]
Duplicate = tuple[Path_, Any]  # (path of the item, the value the server quotes)


def _identity(v: Any) -> Any:
    """Equality as Go's: an int and a float, or a bool and an int, are different values; compounds by JSON."""
    if type(v) is str:  # the usual key: itself (no other identity is a str)
        return v
    if isinstance(v, dict | list):
        return ("json", json.dumps(v, sort_keys=True, separators=(",", ":"), default=str))
    return (type(v).__name__, v)


def _repeats(values: list[Any]) -> list[int]:
    """validateListSet: the index of each value's second appearance."""
    seen: dict[Any, int] = {}
    out = []
    for i, v in enumerate(values):
        ident = _identity(v)
        seen[ident] = seen.get(ident, 0) + 1
        if seen[ident] == 2:
            out.append(i)
    return out


_UNSPECIFIED = ("<unspecified>", None)


def _list_map(node: dict[str, Any], value: list[Any], path: Path_, out: list[Duplicate]) -> None:
    if len(value) <= 1:
        return
    keys = [k for k in node.get("x-kubernetes-list-map-keys") or () if isinstance(k, str)]
    if not keys or any(x is not None and not isinstance(x, dict) for x in value):
        return  # a non-object item is the schema's type error
    # an item's identity: its key fields as present (an absent key differs from every value, null included)
    idents = [tuple(_identity(x[k]) if k in x else _UNSPECIFIED for k in keys) if isinstance(x, dict)
              else (_UNSPECIFIED,) * len(keys) for x in value]
    seen: dict[Any, int] = {}
    for i, ident in enumerate(idents):
        seen[ident] = seen.get(ident, 0) + 1
        if seen[ident] == 2:
            item = value[i] if isinstance(value[i], dict) else {}
            out.append(((*path, i), {k: item[k] for k in keys if k in item}))


Resolve = Callable[[Any], Any]


def _walk(node: Any, value: Any, path: Path_, out: list[Duplicate], resolve: Resolve, depth: int) -> None:
    if not isinstance(value, list | dict) or depth > 100:
        return
    node = resolve(node)
    if not isinstance(node, dict):
        return
    if isinstance(value, list):
        list_type = node.get("x-kubernetes-list-type")
        if list_type == "set":
            out.extend(((*path, i), value[i]) for i in _repeats(value))
        elif list_type == "map":
            _list_map(node, value, path, out)
        items = node.get("items")
        if items is not None:
            for i, item in enumerate(value):
                _walk(items, item, (*path, i), out, resolve, depth + 1)
    elif isinstance(value, dict):
        props = properties(node)
        extra = node.get("additionalProperties")
        for k, v in value.items():
            if isinstance(extra, dict):
                _walk(extra, v, (*path, k), out, resolve, depth + 1)
            if k in props:
                _walk(props[k], v, (*path, k), out, resolve, depth + 1)


def duplicates(structural: dict[str, Any], obj: Any) -> list[Duplicate]:
    """Duplicate items of `set` and `map` lists of a custom resource (listtype/validation.go)."""
    out: list[Duplicate] = []
    _walk(structural, obj, (), out, lambda n: n, 0)
    return out


@dataclass
class _Plan:
    """The part of a built-in kind's schema that leads to list-type annotations: only these fields are walked."""

    node: dict[str, Any]  # the schema node (its list type and keys)
    items: _Plan | None = None
    props: dict[str, _Plan] = field(default_factory=dict)
    extra: _Plan | None = None


_PLANS: dict[int, tuple[dict[str, Any], _Plan | None]] = {}  # id(schema) -> (schema, plan); schemas live on


def _plan_for(schema: dict[str, Any]) -> _Plan | None:
    cached = _PLANS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    defs: dict[str, Any] = schema.get("$defs") or {}
    prefix = "#/$defs/"

    def refs_and_lists(node: Any, acc: set[str]) -> bool:
        """The defs a node's own subtree references (into `acc`), and whether it carries a list type."""
        found = False
        if isinstance(node, dict):
            if node.get("x-kubernetes-list-type") in ("map", "set"):
                found = True
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix):
                acc.add(ref[len(prefix):])
            for k, v in node.items():
                if k == "properties" and isinstance(v, dict):
                    for sub in v.values():
                        found = refs_and_lists(sub, acc) or found
                elif k in ("items", "additionalProperties", "allOf", "anyOf", "oneOf"):
                    found = refs_and_lists(v, acc) or found
        elif isinstance(node, list):
            for v in node:
                found = refs_and_lists(v, acc) or found
        return found

    direct: dict[str, bool] = {}
    uses: dict[str, set[str]] = {}
    for name, node in defs.items():
        acc: set[str] = set()
        direct[name] = refs_and_lists(node, acc)
        uses[name] = acc
    reach = {n for n, d in direct.items() if d}
    changed = True
    while changed:  # a def reaches a list type if it references one that does
        changed = False
        for name, used in uses.items():
            if name not in reach and used & reach:
                reach.add(name)
                changed = True
    memo: dict[str, _Plan | None] = {}

    def reaches(node: Any) -> bool:
        acc: set[str] = set()
        return refs_and_lists(node, acc) or bool(acc & reach)

    def build(node: Any) -> _Plan | None:
        if not isinstance(node, dict) or not reaches(node):
            return None
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(prefix) and len(node) == 1:
            name = ref[len(prefix):]
            if name not in memo:
                memo[name] = None  # a recursive reference in progress
                target = defs.get(name)
                memo[name] = plan = _Plan(target if isinstance(target, dict) else {})
                _fill(plan, target)
            return memo[name]
        all_of = node.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and "properties" not in node and "items" not in node:
            merged = build(all_of[0])
            if merged is not None and node.get("x-kubernetes-list-type"):
                return _Plan(node, merged.items, merged.props, merged.extra)
            return merged if merged is not None else _Plan(node)
        plan = _Plan(node)
        _fill(plan, node)
        return plan

    def _fill(plan: _Plan, node: Any) -> None:
        if not isinstance(node, dict):
            return
        plan.items = build(node.get("items"))
        extra = node.get("additionalProperties")
        plan.extra = build(extra) if isinstance(extra, dict) else None
        props = node.get("properties")
        if isinstance(props, dict):
            plan.props = {k: p for k, p in ((k, build(v)) for k, v in props.items()) if p is not None}

    plan = build(schema)
    _PLANS[id(schema)] = (schema, plan)
    return plan


def _walk_plan(plan: _Plan | None, value: Any, path: Path_, out: list[Duplicate], depth: int) -> None:
    if plan is None or depth > 100:
        return
    if isinstance(value, list):
        list_type = plan.node.get("x-kubernetes-list-type")
        if list_type == "set":
            out.extend(((*path, i), value[i]) for i in _repeats(value))
        elif list_type == "map":
            _list_map(plan.node, value, path, out)
        if plan.items is not None:
            for i, item in enumerate(value):
                if isinstance(item, dict | list):
                    _walk_plan(plan.items, item, (*path, i), out, depth + 1)
    elif isinstance(value, dict):
        for k, sub in plan.props.items():
            v = value.get(k)
            if isinstance(v, dict | list):
                _walk_plan(sub, v, (*path, k), out, depth + 1)
        if plan.extra is not None:
            for k, v in value.items():
                if isinstance(v, dict | list):
                    _walk_plan(plan.extra, v, (*path, k), out, depth + 1)


def builtin_duplicates(schema: dict[str, Any], obj: Any) -> list[Duplicate]:
    """The same check over a built-in kind's strict schema (its `$defs` references and one-element allOfs),
    walking only the fields that lead to a list type (planned once per schema)."""
    out: list[Duplicate] = []
    _walk_plan(_plan_for(schema), obj, (), out, 0)
    return out
