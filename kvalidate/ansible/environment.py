"""A sandboxed Jinja2 environment that behaves like ansible-core 2.18's `AnsibleEnvironment`.

What ansible-core 2.18 does, and what this module reproduces (file references are to
`ansible/template/__init__.py` and `native_helpers.py` of ansible-core 2.18):

- `AnsibleEnvironment` is a `NativeEnvironment`: compiled templates yield native values and a
  `concat` function joins them. `ansible_eval_concat` (variables, task args, lookup('template'))
  turns a result that looks like a list, dict or bool back into one with `ast.literal_eval`;
  `ansible_concat` (the template module, `convert_data=False`) only joins text.
- `trim_blocks=True`, `lstrip_blocks=False`, `keep_trailing_newline=False` plus Ansible's own
  trailing-newline restoration, `#jinja2:` header overrides (`private.create_overlay`).
- Undefined values are `AnsibleUndefined` (StrictUndefined that chains on attribute access).
- Every filter result that is an iterator is unrolled to a list; `STRING_TYPE_FILTERS` results are
  marked `NativeJinjaText` so they are never literal_eval'd.
- `finalize` turns `None` into `''` and raises on an undefined value nested in the output.

Unlike Ansible, the environment is a `SandboxedEnvironment` (templates are untrusted input), has a
render deadline, refuses huge string/list products, and refuses to mutate values that belong to
the variable cache (a template may still mutate its own `{% set %}` values, as Kubespray's
openssl.conf.j2 does).
"""

from __future__ import annotations

import ast
import operator
import re
import time
from collections.abc import Callable, Iterator, Mapping, MappingView
from itertools import chain, islice
from types import GeneratorType
from typing import Any

from ansible.template.native_helpers import AnsibleUndefined, Json2Python
from ansible.utils.display import Display
from ansible.utils.native_jinja import NativeJinjaText
from jinja2.exceptions import SecurityError
from jinja2.nativetypes import NativeCodeGenerator
from jinja2.runtime import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment, modifies_known_mutable

from kvalidate.ansible.codecache import template_from_source
from kvalidate.ansible.private import create_overlay

__all__ = ["AnsibleUndefined", "RenderLimitError", "SandboxEnvironment", "eval_concat",
           "text_concat"]



def _quiet(*args: Any, **kwargs: Any) -> None:
    """ansible-core's display, turned into nothing."""


# ansible-core code kvalidate calls (the `unique` filter's fallback, deprecations of plugins) writes
# warnings to stderr through the process-wide `Display` singleton; kvalidate prints only through its
# reporters, so that singleton's `display` (which `warning`, `deprecated` and `error` end in) is
# silenced for the process that imports kvalidate's engine.
Display().display = _quiet

# Sizes and time limits for untrusted templates. A real Kubespray template renders in
# milliseconds; anything near these limits is hostile or broken.
MAX_SEQUENCE = 10_000_000  # characters of a string, or items of a list, built by `*` / `**`
DEFAULT_DEADLINE_S = 10.0


# ansible-core 2.18's AnsibleEnvironment is not sandboxed: a template may call any method of a
# value, `dict.pop` and `dict.__setitem__` included (Kubespray's local-volume-provisioner-cm.yml.j2
# renames keys with both). These dunder methods of plain containers reach no code object or global,
# so the sandbox allows them; every other `_` name stays refused.
CONTAINER_DUNDERS = frozenset({"__setitem__", "__delitem__", "__getitem__", "__contains__"})
# Names of the methods that mutate a container (jinja2.sandbox's `_mutable_spec`, and the dunders
# above). A template whose source calls one gets copies of its variables (`mutates`), as Ansible
# re-templates (and so copies) a variable's containers at every access.
MUTATOR_NAMES = frozenset({"add", "append", "appendleft", "clear", "difference_update", "discard", "extend",
                           "extendleft", "insert", "pop", "popitem", "popleft", "remove", "reverse", "rotate",
                           "setdefault", "sort", "symmetric_difference_update", "update", "__setitem__",
                           "__delitem__"})
# `.pop(`, and `'pop'` as given to the `attr` filter
_MUTATOR_CALL = re.compile(r"[.'\"]\s*(?:" + "|".join(sorted(MUTATOR_NAMES)) + r")\b")


def mutates(source: str) -> bool:
    """Whether a template's source may call a container mutator (conservative: a false positive
    only costs copies)."""
    return _MUTATOR_CALL.search(source) is not None


def _mutation(obj: Any, attr: str) -> bool:
    if attr in ("__setitem__", "__delitem__"):
        return type(obj) in (dict, list)
    return modifies_known_mutable(obj, attr)


class RenderLimitError(SecurityError):
    """A template exceeded the render deadline or a size limit."""


RANGE_TYPE = type(range(0))


def is_rolled(value: Any) -> bool:
    return isinstance(value, Iterator | MappingView | RANGE_TYPE)


def _fail_on_undefined(data: Any) -> Any:
    """ansible.template._fail_on_undefined: raise on an Undefined nested anywhere in `data`."""
    if isinstance(data, Mapping):
        for value in data.values():
            _fail_on_undefined(value)
    elif isinstance(data, list | tuple):
        for item in data:
            _fail_on_undefined(item)
    elif isinstance(data, StrictUndefined):
        str(data)
    return data


def _finalize(thing: Any) -> Any:
    """ansible.template._ansible_finalize: None -> '', iterators unrolled, undefined raises."""
    if is_rolled(thing):
        thing = list(thing)
    return thing if _fail_on_undefined(thing) is not None else ""


def _to_text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def eval_concat(nodes_: Any) -> Any:
    """ansible_eval_concat without the unsafe bookkeeping (kvalidate never re-templates results)."""
    head = list(islice(nodes_, 2))
    if not head:
        return ""
    if len(head) == 1:
        out = head[0]
        if isinstance(out, NativeJinjaText):
            return out
        out = _to_text(out)
    else:
        values = chain(head, nodes_) if isinstance(nodes_, GeneratorType) else nodes_
        out = "".join(_to_text(v) for v in values)
    if out.startswith(("{", "[")) or out in ("True", "False"):
        try:
            out = ast.literal_eval(ast.fix_missing_locations(Json2Python().visit(ast.parse(out, mode="eval"))))
        except (TypeError, ValueError, SyntaxError, MemoryError, RecursionError):
            pass
    return out


def text_concat(nodes_: Any) -> str:
    """ansible_concat: join as text (the template module, convert_data=False)."""
    return "".join(_to_text(v) for v in nodes_)


class _Deadline:
    """A per-render time budget, checked from the sandbox's hooks (calls, attributes, loops)."""

    def __init__(self) -> None:
        self.until = float("inf")
        self.ticks = 0

    def check(self) -> None:
        self.ticks += 1
        if self.ticks & 0xFF == 0 and time.monotonic() > self.until:
            raise RenderLimitError("template rendering exceeded its time limit")


def _guarded_range(deadline: _Deadline) -> Callable[..., Iterator[int]]:
    def guarded(*args: int) -> Iterator[int]:
        rng = range(*args)
        if len(rng) > 100_000:
            raise RenderLimitError(f"range() of {len(rng)} items is too large (limit 100000)")
        for i in rng:
            deadline.check()
            yield i

    return guarded


def _guarded_lipsum(lipsum: Callable[..., str]) -> Callable[..., str]:
    def guarded(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
        if n > 1000 or max > 10_000:
            raise RenderLimitError("lipsum() is too large")
        return lipsum(n, html, min, max)

    return guarded


class SandboxEnvironment(SandboxedEnvironment):
    """Sandboxed, native-typed Jinja2 environment with ansible-core 2.18's settings."""

    code_generator_class = NativeCodeGenerator
    concat = staticmethod(eval_concat)
    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("extensions", ["jinja2.ext.do"])
        super().__init__(trim_blocks=True, lstrip_blocks=False, keep_trailing_newline=False,
                         undefined=AnsibleUndefined, finalize=_finalize, **kwargs)
        self.deadline = _Deadline()
        # containers held by the variable cache, by id: templates must not mutate them.
        self.frozen: dict[int, Any] = {}
        # shared with `#jinja2:` overlays: whether the template rendering now may mutate containers
        # (its source names a mutator, so its variables are copies: templar.RenderVars.copying)
        self.render_state: dict[str, bool] = {"mutable": False}
        self.globals["range"] = _guarded_range(self.deadline)
        self.globals["lipsum"] = _guarded_lipsum(self.globals["lipsum"])  # type: ignore[arg-type]
        self._compiled: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}

    # -- untrusted-template guards ---------------------------------------------------------
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        self.deadline.check()
        if _mutation(obj, attr) and (id(obj) in self.frozen or not self.render_state["mutable"]):
            # a template that names no mutator has the cached values themselves: it may not
            # mutate anything (only a method name built at run time gets here)
            return False
        if attr in CONTAINER_DUNDERS and type(obj) in (dict, list):
            return True
        return bool(super().is_safe_attribute(obj, attr, value))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        __self.deadline.check()
        return SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        self.deadline.check()
        if operator_ == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int) and len(seq) * n > MAX_SEQUENCE:
                    raise RenderLimitError(f"sequence repetition of {len(seq) * n} items is too large")
            return operator.mul(left, right)
        if isinstance(left, int) and isinstance(right, int) and abs(right) > 10_000 and abs(left) > 1:
            raise RenderLimitError(f"power {left} ** {right} is too large")
        return operator.pow(left, right)

    # -- compile once per process ------------------------------------------------------------
    def compile_cached(self, source: str, overrides: Mapping[str, Any] | None = None,
                       name: str | None = None) -> tuple[Any, SandboxedEnvironment]:
        """Compile `source` (honouring a `#jinja2:` header) once; return (template, env used)."""
        key = (source, tuple(sorted((overrides or {}).items())) + ((("__name__", name),) if name else ()))
        hit = self._compiled.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        data, env = create_overlay(source, dict(overrides or {}), self)
        template = template_from_source(env, data, name)
        template.kv_source = data  # for findings: the line where a name is first used
        template.kv_mutates = mutates(data)
        self._compiled[key] = (template, env)
        return template, env



