"""Schema defaults and `x-kubernetes-list-type` semantics, as the API server applies them to custom resources.

- `apply_defaults(structural, obj)`: apiextensions-apiserver `pkg/apiserver/schema/defaulting/algorithm.go`: a
  property's `default` fills it when absent (or null and not nullable), recursively, so a nested default applies
  only where its parent exists (or was itself defaulted); a non-nullable null list item or map value takes the
  items'/additionalProperties' default. Returns a new object; the parsed document is not touched.
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

import copy
import json
from collections.abc import Callable
from typing import Any

Path_ = tuple[str | int, ...]
Duplicate = tuple[Path_, Any]  # (path of the item, the value the server quotes)


def _props(node: dict[str, Any]) -> dict[str, Any]:
    props = node.get("properties")
    return props if isinstance(props, dict) else {}


def _non_nullable_null(value: Any, node: Any) -> bool:
    return value is None and isinstance(node, dict) and not node.get("nullable")


def apply_defaults(structural: dict[str, Any], obj: Any) -> Any:
    """`obj` with the schema's defaults applied, as a new value (defaulting/algorithm.go)."""
    out = copy.deepcopy(obj)
    _default(out, structural)
    return out


def _default(x: Any, node: Any) -> None:
    if not isinstance(node, dict):
        return
    if isinstance(x, dict):
        props = _props(node)
        for k, prop in props.items():
            if isinstance(prop, dict) and prop.get("default") is not None:
                if k not in x or _non_nullable_null(x[k], prop):
                    x[k] = copy.deepcopy(prop["default"])
        extra = node.get("additionalProperties")
        for k in x:
            if k in props:
                _default(x[k], props[k])
            elif isinstance(extra, dict):
                if _non_nullable_null(x[k], extra) and extra.get("default") is not None:
                    x[k] = copy.deepcopy(extra["default"])
                _default(x[k], extra)
    elif isinstance(x, list):
        items = node.get("items")
        for i in range(len(x)):
            if isinstance(items, dict) and _non_nullable_null(x[i], items) and items.get("default") is not None:
                x[i] = copy.deepcopy(items["default"])
            _default(x[i], items)


def _identity(v: Any) -> Any:
    """Equality as Go's: an int and a float, or a bool and an int, are different values; compounds by JSON."""
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


_UNSPECIFIED = ("unspecified", None)


def _list_map(node: dict[str, Any], value: list[Any], path: Path_, out: list[Duplicate]) -> None:
    keys = [k for k in node.get("x-kubernetes-list-map-keys") or () if isinstance(k, str)]
    if not keys or any(x is not None and not isinstance(x, dict) for x in value) or len(value) <= 1:
        return  # a non-object item is the schema's type error
    if len(keys) == 1:
        key = keys[0]
        idents = [_UNSPECIFIED if not isinstance(x, dict) or key not in x else _identity(x[key]) for x in value]
        seen: dict[Any, int] = {}
        for i, ident in enumerate(idents):
            seen[ident] = seen.get(ident, 0) + 1
            if seen[ident] == 2:
                item = value[i]
                out.append(((*path, i), {} if ident == _UNSPECIFIED else {key: item[key]}))
        return
    key_maps = [{k: x[k] for k in keys if k in x} if isinstance(x, dict) else {} for x in value]
    for i in _repeats(key_maps):
        out.append(((*path, i), key_maps[i]))


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
        props = _props(node)
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


def builtin_duplicates(schema: dict[str, Any], obj: Any) -> list[Duplicate]:
    """The same walk over a built-in kind's strict schema (its `$defs` references and one-element allOfs)."""
    defs = schema.get("$defs") or {}

    def resolve(node: Any) -> Any:
        for _ in range(50):
            if not isinstance(node, dict):
                return node
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
                node = defs.get(ref[len("#/$defs/"):])
                continue
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                node = {**defs.get(ref[len("#/$defs/"):], {}), **{k: v for k, v in node.items() if k != "$ref"}}
                continue
            all_of = node.get("allOf")
            if isinstance(all_of, list) and len(all_of) == 1 and "properties" not in node and "items" not in node:
                node = {**all_of[0], **{k: v for k, v in node.items() if k != "allOf"}}
                continue
            return node
        return node

    out: list[Duplicate] = []
    _walk(schema, obj, (), out, resolve, 0)
    return out
