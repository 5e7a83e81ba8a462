"""The filter registry: ansible-core 2.18's own filter functions, plus the collection filters
Kubespray uses, under their short and fully qualified names.

ansible-core's `core`, `mathstuff`, `urlsplit` and `urls` filter plugins are reused as they are
(their functions work in any Jinja2 environment). A few are replaced because they would read the
machine or be non-deterministic (see `_REPLACED`): kvalidate never reads the real filesystem or
environment, and gives fixed values where Ansible would give random ones.

As in ansible-core's `JinjaPluginIntercept`, every filter (Jinja2's builtins too) has its
iterator results unrolled into lists, and the `STRING_TYPE_FILTERS` results are marked as text
that must not be literal_eval'd. Jinja2's builtin filters keep only their short names (Ansible
2.18 does not know `ansible.builtin.select`).
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Mapping
from typing import Any

from ansible.plugins.filter import core, mathstuff, urls, urlsplit
from ansible.utils.native_jinja import NativeJinjaText
from jinja2 import pass_environment
from jinja2.filters import FILTERS as DEFAULT_FILTERS

from kvalidate.ansible.environment import (
    MAX_SEQUENCE,
    RenderLimitError,
    check_printf,
    check_str_method,
    is_rolled,
    text_size,
)
from kvalidate.ansible.filters import collection, ip, patterns

# ansible-core 2.18 config STRING_TYPE_FILTERS (default value).
STRING_TYPE_FILTERS = frozenset({"string", "to_json", "to_nice_json", "to_yaml", "to_nice_yaml", "ppretty",
                                 "json"})

# The fixed seed used where Ansible would draw random numbers without a seed.
DETERMINISTIC_SEED = "kvalidate"
# A fixed clock (seconds since the epoch) for `strftime` without a time: 2025-01-01T00:00:00Z.
FIXED_EPOCH = 1735689600.0


@pass_environment
def _random(environment: Any, end: Any, start: Any = None, step: Any = None, seed: Any = None) -> Any:
    """`random` with a fixed seed when none is given (Ansible would use SystemRandom)."""
    return core.rand(environment, end, start, step, DETERMINISTIC_SEED if seed is None else seed)


def _shuffle(mylist: Any, seed: Any = None) -> Any:
    return core.randomize_list(mylist, seed or DETERMINISTIC_SEED)


def _password_hash(password: Any, hashtype: str = "sha512", salt: Any = None, salt_size: Any = None,
                   rounds: Any = None, ident: Any = None) -> Any:
    """`password_hash` with a fixed salt when none is given."""
    if salt is None:
        salt = "".join(random.Random(DETERMINISTIC_SEED).choices("abcdefghijklmnopqrstuvwxyz0123456789", k=16))
    return core.get_encrypted_password(password, hashtype, salt, salt_size, rounds, ident)


def _strftime(string_format: str, second: Any = None, utc: bool = False) -> str:
    return str(core.strftime(string_format, FIXED_EPOCH if second is None else second, utc))


def _no_fs(name: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise core.AnsibleFilterError(f"the {name} filter reads the machine; kvalidate does not allow it")

    return refuse


_REPLACED: dict[str, Callable[..., Any]] = {
    "random": _random,
    "shuffle": _shuffle,
    "password_hash": _password_hash,
    "strftime": _strftime,
    "fileglob": _no_fs("fileglob"),  # use lookup('fileglob'), which reads the checkout
    "expanduser": _no_fs("expanduser"),
    "expandvars": _no_fs("expandvars"),
    "realpath": _no_fs("realpath"),
    "relpath": _no_fs("relpath"),
    "vault": _no_fs("vault"),
    "unvault": _no_fs("unvault"),
    # re under a timeout (catastrophic backtracking): filters.patterns
    "regex_search": patterns.regex_search,
    "regex_replace": patterns.regex_replace,
    "regex_findall": patterns.regex_findall,
}

_COLLECTION_FILTERS: dict[str, Callable[..., Any]] = {
    "ansible.utils.ipaddr": ip.ipaddr,
    "ansible.utils.ipwrap": ip.ipwrap,
    "ansible.utils.ipv4": ip.ipv4,
    "ansible.utils.ipv6": ip.ipv6,
    "community.general.json_query": collection.json_query,
    "community.general.dict": collection.dict_filter,
    "community.crypto.x509_certificate_info": collection.x509_certificate_info,
}


# Filters whose integer arguments are widths or counts that allocate (the filtered value itself and
# other filters' arguments are data: `default(16777216)` is containerd's gRPC message size).
SIZE_FILTERS = frozenset({"indent", "center", "to_nice_yaml", "to_nice_json", "to_yaml", "to_json", "slice",
                          "batch", "wordwrap", "truncate", "comment"})
# Filters that turn their whole input into one text or one flat list: the input's size as text
# (`environment.text_size`, which sees `[big] * 1000` as 1000 bigs) is checked before they run.
TEXT_FILTERS = frozenset({"string", "to_json", "to_nice_json", "to_yaml", "to_nice_yaml", "tojson", "pprint",
                          "join", "flatten", "sum", "comment", "ppretty", "json"})
# Filters whose `indent` multiplies the size of their output.
_INDENTED = frozenset({"to_json", "to_nice_json", "to_yaml", "to_nice_yaml"})


def _guard_sizes(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse, before the filter allocates, what would build a value above MAX_SEQUENCE: a width
    or count argument in the millions (indent, center, a `%*s` format width...), a huge input
    turned into text, an indent multiplied by the input's lines. `args[0]` is the filtered value."""
    base = name.rsplit(".", 1)[-1]
    if base in SIZE_FILTERS:
        for a in (*args[1:], *kwargs.values()):
            if type(a) is int and abs(a) > MAX_SEQUENCE:
                raise RenderLimitError(f"filter argument {a} is too large")
    if not args:
        return
    value = args[0]
    if base == "format":
        check_printf(str(value), kwargs or tuple(args[1:]))
    elif base in TEXT_FILTERS:
        size = text_size(value)
        if base in _INDENTED:
            indent = kwargs.get("indent", 4 if base.startswith("to_nice") else 0)
            size *= abs(indent) + 1 if type(indent) is int else 1
        elif base == "join":
            sep = args[1] if len(args) > 1 else kwargs.get("d", "")
            size += len(sep) * len(value) if isinstance(sep, str) and hasattr(value, "__len__") else 0
        elif base == "comment":
            size *= 1 + sum(len(a) for a in (*args[1:], *kwargs.values()) if isinstance(a, str))
        if size > MAX_SEQUENCE:
            raise RenderLimitError(f"the {base} filter's result of {size} characters is too large")
    elif base == "indent" and isinstance(value, str):
        width = args[1] if len(args) > 1 else kwargs.get("width", 4)
        width = len(width) if isinstance(width, str) else abs(width) if type(width) is int else 0
        if (value.count("\n") + 1) * width + len(value) > MAX_SEQUENCE:
            raise RenderLimitError("the indent filter's result is too large")
    elif base == "replace" and isinstance(value, str):
        check_str_method(value, "replace", tuple(args[1:]) + tuple(kwargs.values()), {})


def _combinatorial(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """product/permutations/combinations: refuse results of more than MAX_SEQUENCE items."""

    def guarded(*args: Any, **kwargs: Any) -> Any:
        seqs = [list(a) if not isinstance(a, list | tuple | str) else a for a in args if not isinstance(a, int)]
        ints = [a for a in args if isinstance(a, int)]
        if name == "product":
            size = math.prod(len(s) for s in seqs) * (len(seqs[-1]) ** (int(kwargs.get("repeat", 1)) - 1)
                                                      if seqs else 1)
        else:
            n = len(seqs[0]) if seqs else 0
            r = ints[0] if ints else n
            size = math.perm(n, r) if name == "permutations" else math.comb(n, r)
        if size > MAX_SEQUENCE:
            raise RenderLimitError(f"{name} of {size} items is too large")
        return func(*[s if not isinstance(s, int) else s for s in args], **kwargs)

    return functools.update_wrapper(guarded, func)


def _run(environment: Any, name: str, func: Callable[..., Any], prefix: tuple[Any, ...], args: tuple[Any, ...],
         kwargs: dict[str, Any]) -> Any:
    """Run a filter as ansible-core's JinjaPluginIntercept does (iterators unrolled, string-type
    filters marked as text), guarded (`_guard_sizes`) and charged to the render's budget."""
    _guard_sizes(name, args, kwargs)
    ret = func(*prefix, *args, **kwargs)
    if name in STRING_TYPE_FILTERS:
        ret = NativeJinjaText(ret)
    elif is_rolled(ret):
        ret = list(ret)
    deadline = getattr(environment, "deadline", None)
    return ret if deadline is None else deadline.charge(ret)


def _wrap(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    # ansible-core matches the name as written: `ansible.builtin.to_nice_yaml` is not in the list.
    # The wrapper needs the environment (its deadline and budget): a filter that is given neither
    # the context nor the environment gets a wrapper that is given the environment.
    pass_arg = getattr(func, "jinja_pass_arg", None)
    if pass_arg is None:
        def plain(environment: Any, *args: Any, **kwargs: Any) -> Any:
            return _run(environment, name, func, (), args, kwargs)

        return pass_environment(functools.update_wrapper(plain, func))

    def passing(first: Any, *args: Any, **kwargs: Any) -> Any:
        environment = first if pass_arg.name == "environment" else first.environment
        return _run(environment, name, func, (first,), args, kwargs)

    return functools.update_wrapper(passing, func)


def _build() -> dict[str, Callable[..., Any]]:
    plain: dict[str, Callable[..., Any]] = {}
    for module in (core, mathstuff, urlsplit, urls):
        plain.update(module.FilterModule().filters())
    plain.update(_REPLACED)
    for name in ("product", "permutations", "combinations"):
        plain[name] = _combinatorial(name, plain[name])
    out: dict[str, Callable[..., Any]] = {name: _wrap(name, f) for name, f in DEFAULT_FILTERS.items()}
    for name, func in plain.items():
        out[name] = _wrap(name, func)
        out[f"ansible.builtin.{name}"] = _wrap(f"ansible.builtin.{name}", func)
    for fqcn, func in _COLLECTION_FILTERS.items():
        out[fqcn] = out[fqcn.rsplit(".", 1)[-1]] = _wrap(fqcn, func)
    return out


FILTERS: Mapping[str, Callable[..., Any]] = _build()
