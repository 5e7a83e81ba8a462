"""Schema defaults as the API server applies them to a custom resource when it decodes it, before any
validation (apiextensions-apiserver `pkg/apiserver/schema/defaulting/algorithm.go`): a property's `default`
fills it when absent (or null and not nullable), recursively, so a nested default applies only where its
parent exists (or was itself defaulted); a non-nullable null list item or map value takes the items' or
additionalProperties' default. A leaf: list-type checks (`validation.lists`) and CEL rules (`cel.walk`) both
judge the defaulted object."""

from __future__ import annotations

import copy
from typing import Any


def properties(node: dict[str, Any]) -> dict[str, Any]:
    """A schema node's `properties` (an empty map when it has none or they are malformed)."""
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
        props = properties(node)
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
