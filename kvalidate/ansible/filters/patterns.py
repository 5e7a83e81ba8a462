"""ansible-core 2.18's regular-expression filters (`regex_search`, `regex_replace`,
`regex_findall`) and tests (`match`, `search`, `regex`), with a time limit.

ansible-core runs them with `re`, whose matching is C code that the render deadline (checked
between Python-level steps) cannot stop: `('a'*40+'!') | regex_search('(a+)+$')` backtracks for
hours. Here the pattern is compiled by `re` first (so that what `re` refuses fails with `re`'s
own error, as in Ansible), then matched by the `regex` module in `VERSION0` mode (its
`re`-compatible semantics) with `timeout=` the time left to the render: a catastrophic pattern ends
as a `sandbox` finding.

Why `regex` and not `re` under a deadline: a thread cannot interrupt `re`; a subprocess costs
~20 ms per call; SIGALRM does interrupt `re` (it checks for signals), but only in the main thread,
and a process-wide timer is not the engine's to take. `regex` costs ~5 µs more per call than `re`
(measured: 5.7 µs vs 0.56 µs for a version pattern), a few dozen calls per Kubespray render.

The functions take the Jinja context (`pass_context`) for the render's deadline; that also keeps
Jinja from running them at compile time on constant arguments, outside any deadline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import regex  # type: ignore[import-untyped]
from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from jinja2 import pass_context

from kvalidate.ansible.environment import MAX_SEQUENCE, RenderLimitError

__all__ = ["MAX_REGEX_S", "compile_pattern", "match", "regex_findall", "regex_replace", "regex_search",
           "regex_test", "search", "timed"]

_FLAG_MAP = ((re.I, regex.I), (re.M, regex.M))
# Seconds one match may take (at most; less when the render has less time left): a pattern over
# Kubespray's values takes microseconds, so 2 s is far beyond any real use, and a catastrophic
# pattern ends in seconds rather than at the render deadline.
MAX_REGEX_S = 2.0


def compile_pattern(pattern: Any, flags: int = 0) -> Any:
    """`re.compile` (its errors, its cache), then the same pattern for `regex` (V0: `re` semantics)."""
    compiled = re.compile(pattern, flags)
    rflags = regex.VERSION0
    for re_flag, regex_flag in _FLAG_MAP:
        if flags & re_flag:
            rflags |= regex_flag
    if isinstance(compiled.pattern, bytes):
        rflags &= ~regex.UNICODE
    return regex.compile(compiled.pattern, rflags)


def timed(environment: Any, pattern: Any, run: Callable[[float], Any]) -> Any:
    """`run(timeout)` with the time left to the render (at most MAX_REGEX_S); a timeout is a
    RenderLimitError."""
    deadline = getattr(environment, "deadline", None)
    timeout = min(deadline.time_left(), MAX_REGEX_S) if deadline is not None else MAX_REGEX_S
    try:
        return run(timeout)
    except TimeoutError:
        raise RenderLimitError(f"regular expression {str(pattern)[:80]!r} exceeded the render's time limit "
                               "(catastrophic backtracking)") from None


def _flags(ignorecase: Any, multiline: Any) -> int:
    return (re.I if ignorecase else 0) | (re.M if multiline else 0)


@pass_context
def regex_replace(context: Any, value: Any = "", pattern: Any = "", replacement: Any = "", ignorecase: Any = False,
                  multiline: Any = False, count: int = 0, mandatory_count: int = 0) -> str:
    """ansible.plugins.filter.core.regex_replace; the output is bounded by MAX_SEQUENCE."""
    value = to_text(value, errors="surrogate_or_strict", nonstring="simplerepr")
    flags = _flags(ignorecase, multiline)
    re.compile(pattern, flags).subn(replacement, "", count=1)  # `re`'s errors for a bad replacement
    compiled = compile_pattern(pattern, flags)
    grown = 0

    def expand(m: Any) -> str:
        nonlocal grown
        out: str = m.expand(replacement)
        grown += len(out) - (m.end() - m.start())
        if len(value) + grown > MAX_SEQUENCE:
            raise RenderLimitError(f"regex_replace result of more than {MAX_SEQUENCE} characters is too large")
        return out

    output, subs = timed(context.environment, pattern, lambda t: compiled.subn(expand, value, count=count, timeout=t))
    if mandatory_count and mandatory_count != subs:
        raise AnsibleFilterError(f"'{pattern}' should match {mandatory_count:d} times, but matches {count:d} times "
                                 f"in '{value}'")
    return output  # type: ignore[no-any-return]


@pass_context
def regex_findall(context: Any, value: Any, regex_: Any, multiline: Any = False, ignorecase: Any = False) -> Any:
    """ansible.plugins.filter.core.regex_findall."""
    value = to_text(value, errors="surrogate_or_strict", nonstring="simplerepr")
    compiled = compile_pattern(regex_, _flags(ignorecase, multiline))
    return timed(context.environment, regex_, lambda t: compiled.findall(value, timeout=t))


@pass_context
def regex_search(context: Any, value: Any, regex_: Any, *args: Any, **kwargs: Any) -> Any:
    """ansible.plugins.filter.core.regex_search."""
    value = to_text(value, errors="surrogate_or_strict", nonstring="simplerepr")
    groups: list[Any] = []
    for arg in args:
        if arg.startswith("\\g"):
            groups.append(re.match(r"\\g<(\S+)>", arg).group(1))  # type: ignore[union-attr]
        elif arg.startswith("\\"):
            groups.append(int(re.match(r"\\(\d+)", arg).group(1)))  # type: ignore[union-attr]
        else:
            raise AnsibleFilterError("Unknown argument")
    compiled = compile_pattern(regex_, _flags(kwargs.get("ignorecase"), kwargs.get("multiline")))
    found = timed(context.environment, regex_, lambda t: compiled.search(value, timeout=t))
    if found:
        if not groups:
            return found.group()
        return [found.group(item) for item in groups]
    return None


@pass_context
def regex_test(context: Any, value: Any = "", pattern: Any = "", ignorecase: Any = False, multiline: Any = False,
               match_type: str = "search") -> bool:
    """ansible.plugins.test.core.regex (`is regex(...)`)."""
    value = to_text(value, errors="surrogate_or_strict")
    compiled = compile_pattern(pattern, _flags(ignorecase, multiline))
    method = getattr(compiled, match_type, compiled.search)
    return bool(timed(context.environment, pattern, lambda t: method(value, timeout=t)))


@pass_context
def match(context: Any, value: Any, pattern: Any = "", ignorecase: Any = False, multiline: Any = False) -> bool:
    """ansible.plugins.test.core.match (`is match(...)`)."""
    return regex_test(context, value, pattern, ignorecase, multiline, "match")


@pass_context
def search(context: Any, value: Any, pattern: Any = "", ignorecase: Any = False, multiline: Any = False) -> bool:
    """ansible.plugins.test.core.search (`is search(...)`)."""
    return regex_test(context, value, pattern, ignorecase, multiline, "search")
