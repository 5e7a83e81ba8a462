"""The test registry: Jinja2's builtin tests, ansible-core 2.18's `core`, `mathstuff` and `uri`
test plugins (reused as they are) under short and `ansible.builtin.` names, and `ansible.utils`
IP tests.

The `match`, `search` and `regex` tests run under a timeout (`filters.patterns`). The `files`
test plugin (`exists`, `is_file`, ...) is replaced by tests that always refuse: they
would read the machine running kvalidate, not the target host. Tests passed by name to
`select`/`reject`/`selectattr` resolve through this same registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible.plugins.test import core, files, mathstuff, uri
from jinja2.tests import TESTS as DEFAULT_TESTS

from kvalidate.ansible.filters import ip, patterns


def _no_fs(name: str) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> bool:
        raise AnsibleFilterError(f"the {name} test reads the machine; kvalidate does not allow it")

    return refuse


def _ip_test(version: int) -> Callable[..., bool]:
    def test(value: Any) -> bool:
        try:
            return bool(ip.ipaddr(value, "", version))
        except AnsibleFilterError:
            return False

    return test


_COLLECTION_TESTS: dict[str, Callable[..., Any]] = {
    "ansible.utils.ipv4": _ip_test(4),
    "ansible.utils.ipv6": _ip_test(6),
    "ansible.utils.ip": _ip_test(0),
}


def _build() -> dict[str, Callable[..., Any]]:
    out: dict[str, Callable[..., Any]] = dict(DEFAULT_TESTS.items())  # type: ignore[arg-type]
    plain: dict[str, Callable[..., Any]] = {}
    for module in (core, mathstuff, uri):
        plain.update(module.TestModule().tests())
    plain.update({name: _no_fs(name) for name in files.TestModule().tests()})
    # re under a timeout (catastrophic backtracking): filters.patterns
    plain.update(match=patterns.match, search=patterns.search, regex=patterns.regex_test)
    for name, func in plain.items():
        out[name] = out[f"ansible.builtin.{name}"] = func
    for fqcn, func in _COLLECTION_TESTS.items():
        out[fqcn] = func
    return out


TESTS: Mapping[str, Callable[..., Any]] = _build()
