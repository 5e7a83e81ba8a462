"""The lookups behind `with_*` loops (`items`, `list`, `dict`, `nested`, `together`,
`subelements`, `sequence`, `indexed_items`), as ansible-core 2.18's plugins return them.
Each is `fn(ctx, terms, kwargs, render_vars) -> list`; none reads anything."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleLookupError

from kvalidate.ansible.environment import MAX_SEQUENCE, RenderLimitError, check_printf


def _items(ctx: Any, terms: list[Any], kw: dict[str, Any], rv: Any) -> list[Any]:
    out: list[Any] = []
    for t in terms:
        out += t if isinstance(t, list) else [t]
    return out


def _dict(ctx: Any, terms: list[Any], kw: dict[str, Any], rv: Any) -> list[Any]:
    out: list[Any] = []
    for t in terms:
        if not isinstance(t, Mapping):
            raise AnsibleLookupError(f"with_dict expects a dict, got {type(t).__name__}")
        out += [{"key": k, "value": v} for k, v in t.items()]
    return out


def _nested(ctx: Any, terms: list[Any], kw: dict[str, Any], rv: Any) -> list[Any]:
    lists = [t if isinstance(t, list) else [t] for t in terms]
    _cap(math.prod(len(x) for x in lists), "with_nested")
    return [list(_flat(p)) for p in itertools.product(*lists)]


def _flat(items: Any) -> Any:
    for i in items:
        yield from (i if isinstance(i, list) else [i])


def _together(ctx: Any, terms: list[Any], kw: dict[str, Any], rv: Any) -> list[Any]:
    return [list(z) for z in itertools.zip_longest(*terms)]


def _subelements(ctx: Any, terms: list[Any], kw: dict[str, Any], rv: Any) -> list[Any]:
    items, key = terms[0], str(terms[1])
    skip = bool(terms[2].get("skip_missing")) if len(terms) > 2 and isinstance(terms[2], Mapping) else False
    out = []
    parts = key.split(".")
    for item in items if isinstance(items, list) else list(items.values()):
        # Ansible pops the list out of the item (in place); kvalidate pops it from a copy.
        head = dict(item) if isinstance(item, Mapping) else item
        node: Any = head
        value: Any = []
        for i, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                if skip:
                    break
                raise AnsibleLookupError(f"could not find '{key}' key in iterated item '{item}'")
            if i == len(parts) - 1:
                value = node.pop(part)
            else:
                node[part] = dict(node[part])
                node = node[part]
        out += [(head, sub) for sub in value]
    return out


def _sequence(ctx: Any, terms: list[Any], kw: dict[str, Any], rv: Any) -> list[Any]:
    out: list[Any] = []
    for term in terms:
        opts = dict(p.split("=", 1) for p in str(term).split() if "=" in p) | {k: str(v) for k, v in kw.items()}
        start, stride = int(opts.get("start", "1"), 0), int(opts.get("stride", "1"), 0)
        end = int(opts["end"], 0) if "end" in opts else start + int(opts.get("count", "0"), 0) * stride - stride
        fmt = opts.get("format", "%d")
        numbers = range(start, end + (1 if stride > 0 else -1), stride)
        _cap(len(out) + len(numbers), "with_sequence")
        check_printf(fmt, 0)
        out += [fmt % i for i in numbers]
    return out


def _cap(n: int, what: str) -> None:
    """A loop of more than MAX_SEQUENCE items is refused before it is built (`lookup('sequence',
    'end=100000000')` would allocate gigabytes)."""
    if n > MAX_SEQUENCE:
        raise RenderLimitError(f"{what} of {n} items is too large (limit {MAX_SEQUENCE})")


def _indexed(ctx: Any, terms: list[Any], kw: dict[str, Any], rv: Any) -> list[Any]:
    return list(enumerate(_items(ctx, terms, kw, rv)))


LOOP_LOOKUPS: dict[str, Callable[..., list[Any]]] = {
    "items": _items, "list": _items, "flattened": _items, "dict": _dict, "nested": _nested,
    "together": _together, "subelements": _subelements, "sequence": _sequence, "indexed_items": _indexed,
}
