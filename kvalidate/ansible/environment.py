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
render deadline, refuses to mutate values that belong to the variable cache (a template may still
mutate its own `{% set %}` values, as Kubespray's openssl.conf.j2 does), and bounds what a render
may build, because the deadline is only checked between Python-level steps and cannot stop work
done inside one C call (`(7**9999)**9999`, `'a'.ljust(3000000000)`):

- every operation that can build a value much larger than its operands is checked *before* it
  runs, from its arguments: `*` and `**` on integers (bit length, `MAX_INT_BITS`), `*`, `+` and `~`
  on strings and lists, `%`-formatting and `str.format` widths and precisions, the width and
  count arguments of `str` methods (`ljust`, `center`, `zfill`, `expandtabs`, `replace`, `join`,
  `translate`) and `list.extend`, turning a value into text (`text_size`): none may exceed
  `MAX_SEQUENCE` characters or items;
- what a render builds adds up in a budget (`RENDER_BUDGET_BYTES`), so that building many values
  each under the cap (list doubling, `ljust` in a loop) stops too;
- the text a render produces is at most `MAX_OUTPUT_CHARS`.

Regular expressions (the `regex_*` filters, the `match`/`search`/`regex` tests) run with a timeout
taken from the same deadline (`filters.patterns`).
"""

from __future__ import annotations

import ast
import hashlib
import marshal
import math
import operator
import re
import string
import sys
import time
from collections.abc import Callable, Iterator, Mapping, MappingView
from itertools import chain, islice
from types import BuiltinMethodType, GeneratorType
from typing import Any

from ansible.template.native_helpers import AnsibleUndefined, Json2Python
from ansible.utils.display import Display
from ansible.utils.native_jinja import NativeJinjaText
from jinja2.compiler import Frame
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.nodes import Concat
from jinja2.runtime import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment, modifies_known_mutable

from kvalidate.ansible.codecache import DATA_CACHE, template_from_source
from kvalidate.ansible.linemap import LineCodeGenerator, Trace
from kvalidate.ansible.private import create_overlay
from kvalidate.ansible.reuse import taint

__all__ = ["AnsibleUndefined", "RenderLimitError", "SandboxEnvironment", "check_format", "check_printf",
           "check_str_method", "eval_concat", "text_concat", "text_size"]



def _quiet(*args: Any, **kwargs: Any) -> None:
    """ansible-core's display, turned into nothing."""


# ansible-core code kvalidate calls (the `unique` filter's fallback, deprecations of plugins) writes
# warnings to stderr through the process-wide `Display` singleton; kvalidate prints only through its
# reporters, so that singleton's `display` (which `warning`, `deprecated` and `error` end in) is
# silenced for the process that imports kvalidate's engine.
Display().display = _quiet

# Sizes and time limits for untrusted templates. A real Kubespray template renders in
# milliseconds and produces kilobytes; anything near these limits is hostile or broken.
# Characters of a string, or items of a list, that one operation (`*`, `+`, `~`, `%`, a `str`
# method, a filter's width or count argument) may build: 10 M characters is at most 40 MB (a str
# of 4-byte characters), 10 M items 80 MB of pointers; Kubespray's largest value is ~100 kB.
MAX_SEQUENCE = 10_000_000
# Bits of an integer built by `*` or `**`: 65,536 bits is ~19,700 decimal digits, 4.5 times what
# Python will print anyway (`sys.get_int_max_str_digits()`, 4,300 digits) and far beyond any real
# value (Kubespray's largest is 2**32-ish: a byte size, a port range); a product of two such
# numbers takes microseconds, while `(7**9999)**9999` (280 M bits) would take minutes.
MAX_INT_BITS = 1 << 16
# Bytes of strings, lists and dicts that one render (a template with the variables it templates)
# may build in total, charged as they are made (`sys.getsizeof`): with MAX_SEQUENCE per value this
# keeps a render's memory in the low hundreds of MB (the bound is 1 GB for the process,
# whose baseline with Kubespray's variables loaded is ~150 MB). A Kubespray render spends a few kB
# of it (measured: at most 7 kB per render over the default cell of release-2.23, release-2.27 and
# master, 13,000-21,000 renders each).
RENDER_BUDGET_BYTES = 256 * 2**20
# Characters of the text one render produces: twice the largest file kvalidate reads (16 MiB), so
# a template that embeds such a file still renders.
MAX_OUTPUT_CHARS = 32 * 2**20
# Jinja's sandbox caps `range()` at 100,000 items (jinja2.sandbox.MAX_RANGE); kvalidate's own
# `range` keeps that cap.
MAX_RANGE = 100_000
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


class _TooBig(Exception):
    pass


def text_size(value: Any, limit: int = MAX_SEQUENCE) -> int:
    """A lower bound of the length of `value` as text (`str()`, JSON, YAML), computed without
    building it: the lengths of its strings plus one character per item, and a digit per 4 bits
    of an integer. Raises RenderLimitError when it exceeds `limit`. A sub-value referenced many
    times (`[big] * 1000`, YAML aliases) is walked once (memo by id). Only plain containers are
    walked: a lazy view of variables (`hostvars`) counts as one item (walking it would template
    every variable; what it holds was built, and charged, by renders of its own)."""
    memo: dict[int, int] = {}
    total = 0

    def size(v: Any) -> int:
        nonlocal total
        if isinstance(v, str | bytes | bytearray):
            n = len(v)
        elif type(v) is int:
            n = v.bit_length() // 4 + 1
        elif isinstance(v, dict | list | tuple | set | frozenset):
            key = id(v)
            known = memo.get(key)
            if known is not None:
                n = known
            else:
                n = 2
                for item in (chain.from_iterable(v.items()) if isinstance(v, dict) else v):
                    n += size(item) + 1
                    if n > limit:
                        raise _TooBig
                memo[key] = n
        else:
            n = 1
        if n > limit:
            raise _TooBig
        return n

    try:
        total = size(value)
    except _TooBig:
        raise RenderLimitError(f"a value of more than {limit} characters as text is too large") from None
    return total


def _cap(n: int, what: str) -> None:
    if n > MAX_SEQUENCE:
        raise RenderLimitError(f"{what} of {n} items is too large (limit {MAX_SEQUENCE})")


def _as_int(value: Any) -> int:
    return value if type(value) is int else 0


# A printf conversion: `%`, an optional `(key)`, flags, width, precision, length, type.
_PRINTF = re.compile(r"%(\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)", re.S)


def check_printf(fmt: str, args: Any) -> None:
    """`fmt % args` (the `%` operator, the `format` filter): refuse a width or precision above
    MAX_SEQUENCE, given in the format (`%3000000000s`) or as a `*` argument, before it allocates."""
    if "%" not in fmt:
        return
    values = args if isinstance(args, tuple) else (args,)
    i = 0
    for m in _PRINTF.finditer(fmt):
        if m.group(4) == "%" and m.group(2) is None and m.group(3) is None:
            continue
        for part in (m.group(2), m.group(3)):
            if part == "*":
                if i < len(values):
                    _cap(abs(_as_int(values[i])), "a format width")
                i += 1
            elif part:
                _cap(int(part), "a format width")
        if m.group(1) is None:
            i += 1
    text_size(args)


def check_format(fmt: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """`fmt.format(...)`: refuse a width or precision above MAX_SEQUENCE before it allocates. A
    width given by a nested field (`{:>{}}`) may be any argument: then every int argument counts."""
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if not spec:
            continue
        for digits in re.findall(r"\d+", spec):
            _cap(int(digits), "a format width")
        if "{" in spec:
            for v in (*args, *kwargs.values()):
                _cap(abs(_as_int(v)), "a format width")
    text_size((args, dict(kwargs)))


def check_str_method(self_: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """The `str`/`bytes` methods whose result may be much larger than the string: checked from
    their arguments. Returns the arguments to call with (`join` gets its iterable as a list)."""
    if name in ("ljust", "rjust", "center", "zfill") and args:
        _cap(abs(_as_int(args[0])), f"str.{name}() width")
    elif name == "expandtabs":
        tab = args[0] if args else kwargs.get("tabsize", 8)
        _cap(len(self_) + self_.count("\t" if isinstance(self_, str) else b"\t") * abs(_as_int(tab)),
             "str.expandtabs() result")
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str | bytes) and isinstance(args[1], str | bytes):
        old, new = args[0], args[1]
        try:
            hits = self_.count(old) if old else len(self_) + 1
        except TypeError:
            return args
        if len(args) > 2 and type(args[2]) is int and args[2] >= 0:
            hits = min(hits, args[2])
        _cap(len(self_) + hits * max(len(new) - len(old), 0), "str.replace() result")
    elif name == "join" and args:
        items = list(args[0])
        _cap(len(items), "str.join() items")
        _cap(sum(len(i) if isinstance(i, str | bytes) else 0 for i in items) + len(self_) * len(items),
             "str.join() result")
        return (items, *args[1:])
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str | bytes)), default=1)
        _cap(len(self_) * longest, "str.translate() result")
    return args


def _check_method(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    self_ = obj.__self__
    name = obj.__name__
    if isinstance(self_, str | bytes | bytearray):
        return check_str_method(self_, name, args, kwargs)
    if isinstance(self_, list) and name == "extend" and args:
        items = args[0] if isinstance(args[0], list | tuple | str) else list(args[0])
        _cap(len(self_) + len(items), "list.extend() result")
        return (items, *args[1:])
    if type(self_) is int and name == "to_bytes":
        length = args[0] if args else kwargs.get("length", 1)
        _cap(abs(_as_int(length)), "int.to_bytes() length")
    return args


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


def _output_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    text_size(value, MAX_OUTPUT_CHARS)
    return str(value)


def _join_output(values: Any, source: Any = None) -> str:
    """Join a render's output nodes, refusing more than MAX_OUTPUT_CHARS before allocating them.
    The error is thrown into the template's generator (`source`), so that it names the line of
    the output that went over."""
    parts = []
    total = 0
    for v in values:
        if type(v) is not str:
            v = _refused(source, _output_text, v)
        total += len(v)
        if total > MAX_OUTPUT_CHARS:
            _refused(source, _over_output, total)
        parts.append(v)
    return "".join(parts)


def _over_output(total: int) -> str:
    raise RenderLimitError(f"the rendered text exceeds {MAX_OUTPUT_CHARS} characters")


def _refused(source: Any, check: Callable[[Any], str], value: Any) -> str:
    try:
        return check(value)
    except RenderLimitError as e:
        if isinstance(source, GeneratorType | Trace):
            source.throw(e)
        raise


def eval_concat(nodes_: Any) -> Any:
    """ansible_eval_concat without the unsafe bookkeeping (kvalidate never re-templates results)."""
    head = list(islice(nodes_, 2))
    if not head:
        return ""
    if len(head) == 1:
        out = head[0]
        if isinstance(out, NativeJinjaText):
            return out
        out = _output_text(out)
    else:
        values = chain(head, nodes_) if isinstance(nodes_, Iterator) else nodes_
        out = _join_output(values, nodes_)
    if out.startswith(("{", "[")) or out in ("True", "False"):
        return _literal(out)
    return out


# Native outputs read as Python literals, per process: output text -> its value, marshalled (each
# use gets a fresh copy, as a new literal_eval would give), or None when the text is no literal.
# A Kubespray scenario reads ~300 such outputs, half of them repeats (the same dict rendered for
# several tasks); parsing them was ~5% of a cold run. Only texts with few brackets are kept (the
# nesting bounds the recursion of the parse: a kept result never depends on the caller's stack
# depth), and at most `_LITERALS_MAX` of them. Those kept are also kept across runs, in the
# parsed-YAML cache (`codecache.DATA_CACHE`, keyed by the text's hash): a cold run parsed its ~300
# texts in ~50 ms, of which reading them back costs a few.
_LITERALS: dict[str, bytes | None] = {}
_LITERALS_MAX = 8192
_LITERAL_BRACKETS = 64
_MISSING = b""


def _literal(out: str) -> Any:
    """`out` as ansible_eval_concat reads it: its Python literal value (JSON's true/false/null
    too), or `out` itself when it is none."""
    kept = _LITERALS.get(out, _MISSING)
    if kept is None:
        return out
    if kept:
        return marshal.loads(kept)
    keep = len(_LITERALS) < _LITERALS_MAX and out.count("[") + out.count("{") + out.count("(") <= _LITERAL_BRACKETS
    key = hashlib.blake2b(b"literal\x00" + out.encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()
    stored = DATA_CACHE.get_data(key) if keep else None
    if isinstance(stored, tuple) and len(stored) <= 1:  # (value,) or (): no literal
        if not stored:
            _LITERALS[out] = None
            return out
        try:
            _LITERALS[out] = marshal.dumps(stored[0])
            return stored[0]
        except ValueError:
            pass
    try:
        value = ast.literal_eval(ast.fix_missing_locations(Json2Python().visit(ast.parse(out, mode="eval"))))
    except (TypeError, ValueError, SyntaxError):
        if keep:
            _LITERALS[out] = None
            DATA_CACHE.put_data(key, ())
        return out
    except (MemoryError, RecursionError):
        return out
    if keep:
        try:
            _LITERALS[out] = marshal.dumps(value)
            DATA_CACHE.put_data(key, (value,))
        except ValueError:
            pass
    return value


def text_concat(nodes_: Any) -> str:
    """ansible_concat: join as text (the template module, convert_data=False)."""
    return _join_output(nodes_, nodes_)


def text_concat_traced(trace: Trace) -> str:
    """`text_concat` of a traced render: records where each chunk was yielded as it joins
    (`linemap.Trace`, inline: this loop runs once per chunk of every rendered file)."""
    gen, frame, includes, sites = trace.gen, trace.frame, trace.includes, trace.sites
    parts = trace.chunks
    total = 0
    for v in gen:
        if gen.gi_yieldfrom is None and (lasti := frame.f_lasti) not in includes:
            sites.append(lasti)
        else:
            sites.append(trace.inner())
        if type(v) is not str:
            v = _refused(gen, _output_text, v)
        total += len(v)
        if total > MAX_OUTPUT_CHARS:
            _refused(gen, _over_output, total)
        parts.append(v)
    return "".join(parts)


class _Deadline:
    """A per-render time budget, checked from the sandbox's hooks (calls, attributes, loops), and
    the per-render budget of bytes built (`charge`). `start`/`stop` bracket a top-level render."""

    def __init__(self) -> None:
        self.until = float("inf")
        self.ticks = 0
        self.spent = 0

    def start(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds
        self.spent = 0

    def stop(self) -> None:
        self.until = float("inf")
        self.spent = 0

    def check(self) -> None:
        self.ticks += 1
        if self.ticks & 0xFF == 0 and time.monotonic() > self.until:
            raise RenderLimitError("template rendering exceeded its time limit")

    def time_left(self) -> float:
        """Seconds left to the current render (DEFAULT_DEADLINE_S outside one: compile-time
        folding of constants, a filter called directly); raises when none is left."""
        if self.until == float("inf"):
            return DEFAULT_DEADLINE_S
        left = self.until - time.monotonic()
        if left <= 0:
            raise RenderLimitError("template rendering exceeded its time limit")
        return left

    def charge(self, value: Any) -> Any:
        """Count a value just built against the render's budget; returns it."""
        if isinstance(value, str | list | dict | bytes | tuple):
            self.spent += sys.getsizeof(value)
            if self.spent > RENDER_BUDGET_BYTES:
                raise RenderLimitError(f"template rendering built more than {RENDER_BUDGET_BYTES >> 20} MiB "
                                       "of strings and lists")
        return value


def _guarded_range(deadline: _Deadline) -> Callable[..., Iterator[int]]:
    def guarded(*args: int) -> Iterator[int]:
        rng = range(*args)
        if len(rng) > MAX_RANGE:
            raise RenderLimitError(f"range() of {len(rng)} items is too large (limit {MAX_RANGE})")
        for i in rng:
            deadline.check()
            yield i

    return guarded


def _guarded_lipsum(lipsum: Callable[..., str]) -> Callable[..., str]:
    def guarded(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
        if n > 1000 or max > 10_000:
            raise RenderLimitError("lipsum() is too large")
        taint()  # random text: never reused
        return lipsum(n, html, min, max)

    return guarded


class GuardedCodeGenerator(LineCodeGenerator):
    """NativeCodeGenerator (with the line-map records of `linemap.LineCodeGenerator`) whose `~`
    (string concatenation) goes through the environment's `guarded_join`, which checks the size
    before joining. (Its name is part of the compiled-code cache key, `codecache.env_fingerprint`:
    code compiled without the guards is never reused; a change to the generators' source changes
    `codecache.engine_fingerprint`, which names the cache file.)"""

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        self.write("environment.guarded_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class SandboxEnvironment(SandboxedEnvironment):
    """Sandboxed, native-typed Jinja2 environment with ansible-core 2.18's settings."""

    code_generator_class = GuardedCodeGenerator
    concat = staticmethod(eval_concat)
    # the operators whose result may be much larger than their operands (`call_binop`); changing
    # this set changes the compiled code: rename GuardedCodeGenerator's class so the cache misses
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("extensions", ["jinja2.ext.do"])
        # no cache of loaded templates: a render's loader is its own (`lookups.core.IncludeLoader`),
        # and what loaders load is compiled once by `compile_include`
        kwargs.setdefault("cache_size", 0)
        super().__init__(trim_blocks=True, lstrip_blocks=False, keep_trailing_newline=False,
                         undefined=AnsibleUndefined, finalize=_finalize, **kwargs)
        self.deadline = _Deadline()
        # containers held by the variable cache, by id: templates must not mutate them.
        self.frozen: dict[int, Any] = {}
        # containers of values reused across cells (`reuse.Store.kept`): never mutated either
        self.kept: dict[int, Any] = {}
        # shared with `#jinja2:` overlays: whether the template rendering now may mutate containers
        # (its source names a mutator, so its variables are copies: templar.RenderVars.copying)
        self.render_state: dict[str, bool] = {"mutable": False}
        self.globals["range"] = _guarded_range(self.deadline)
        self.globals["lipsum"] = _guarded_lipsum(self.globals["lipsum"])  # type: ignore[arg-type]
        self._compiled: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}

    # -- untrusted-template guards ---------------------------------------------------------
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        self.deadline.check()
        if _mutation(obj, attr) and (id(obj) in self.frozen or id(obj) in self.kept
                                     or not self.render_state["mutable"]):
            # a template that names no mutator has the cached values themselves: it may not
            # mutate anything (only a method name built at run time gets here)
            return False
        if attr in CONTAINER_DUNDERS and type(obj) in (dict, list):
            return True
        return bool(super().is_safe_attribute(obj, attr, value))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        __self.deadline.check()
        if type(__obj) is BuiltinMethodType:
            args = _check_method(__obj, args, kwargs)
        return __self.deadline.charge(SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`str.format`/`format_map` (wrapped by Jinja's sandbox at attribute access): widths and
        precisions are checked before formatting."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt, is_map = value.__self__, value.__name__ == "format_map"

        def guarded(*args: Any, **kwargs: Any) -> str:
            mapping = args[0] if is_map and args and isinstance(args[0], Mapping) else kwargs
            check_format(fmt, () if is_map else args, mapping)
            return self.deadline.charge(wrapped(*args, **kwargs))  # type: ignore[no-any-return]

        return guarded

    def guarded_join(self, values: tuple[Any, ...]) -> str:
        """`a ~ b ~ ...`: Jinja's str_join, refusing a result above MAX_SEQUENCE before building it."""
        parts = []
        total = 0
        for v in values:
            if not isinstance(v, str):
                text_size(v)
                v = str(v)
            total += len(v)
            parts.append(v)
        _cap(total, "a string built by ~")
        return self.deadline.charge("".join(parts))  # type: ignore[no-any-return]

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        self.deadline.check()
        if operator_ == "*":
            if type(left) is int and type(right) is int:
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise RenderLimitError(f"a product of {left.bit_length() + right.bit_length()} bits is too "
                                           f"large (limit {MAX_INT_BITS} bits)")
                return left * right
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int) and len(seq) * n > MAX_SEQUENCE:
                    raise RenderLimitError(f"sequence repetition of {len(seq) * n} items is too large")
            return self.deadline.charge(operator.mul(left, right))
        if operator_ == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                _cap(len(left) + len(right), "a sequence built by +")
                return self.deadline.charge(operator.add(left, right))
            return left + right
        if operator_ == "%":
            if isinstance(left, str):
                check_printf(left, right)
                return self.deadline.charge(left % right)
            return left % right
        if type(left) is int and type(right) is int and right > 0 and abs(left) > 1:
            # the result has about right * log2(|left|) bits: refuse before computing it
            bits = right * math.log2(abs(left))
            if bits > MAX_INT_BITS:
                raise RenderLimitError(f"a power of about {bits:.0f} bits is too large (limit {MAX_INT_BITS} bits)")
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
        # lines of the file: Ansible strips a `#jinja2:` header line before compiling
        offset = source.count("\n") - data.count("\n")
        try:
            template = template_from_source(env, data, name)
        except TemplateSyntaxError as e:
            if e.lineno and offset:
                e.lineno += offset
            raise
        template.kv_source = data  # for findings: the line where a name is first used
        template.kv_line_offset = offset  # added to the lines of `data` (linemap, errors.position)
        template.kv_mutates = mutates(data)
        self._compiled[key] = (template, env)
        return template, env

    def compile_include(self, source: str, name: str) -> Any:
        """A template an `{% include %}`, `{% import %}` or `{% extends %}` loaded (`name`: its path),
        compiled once per environment (an overlay's syntax applies to what its templates include);
        no `#jinja2:` header is read, as in Ansible, which reads only the rendered file's."""
        key = (source, (("__include__", name), ("__env__", id(self))))
        hit = self._compiled.get(key)
        if hit is None:
            template = template_from_source(self, source, name)
            template.kv_source = source
            template.kv_line_offset = 0
            template.kv_mutates = mutates(source)
            hit = self._compiled[key] = (template, self)
        return hit[0]



