"""The only place kvalidate uses ansible-core names that are not public API.

ansible-core 2.18's templating has no public entry for these three steps of `Templar.do_template`,
and re-implementing them would lose byte identity with real Ansible. They are imported here and
nowhere else; `tests/ansible/test_private.py` checks their signatures and behaviour, so an
ansible-core upgrade that moves or changes them fails loudly there, not as wrong renderings.
"""

from __future__ import annotations

from typing import Any

from ansible.template import _count_newlines_from_end, _create_overlay, _escape_backslashes


def count_newlines_from_end(text: str) -> int:
    """Trailing newlines of `text` (Templar keeps a template's trailing newlines)."""
    return int(_count_newlines_from_end(text))


def create_overlay(source: str, overrides: dict[str, Any], env: Any) -> tuple[str, Any]:
    """(source without its `#jinja2:` header, the environment with that header's overrides)."""
    data, overlay = _create_overlay(source, overrides, env)
    return str(data), overlay


def escape_backslashes(data: str, env: Any) -> str:
    """Backslashes inside Jinja expressions doubled, as Templar does for inline templates."""
    return str(_escape_backslashes(data, env))
