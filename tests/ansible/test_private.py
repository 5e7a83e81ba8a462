"""ansible-core's private templating helpers, the only private names kvalidate uses: they exist
with the signatures and behaviour kvalidate relies on (an ansible-core upgrade that changes them
fails here), and no other module imports a private ansible-core name."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import ansible.template
from jinja2 import Environment

from kvalidate.ansible.private import count_newlines_from_end, create_overlay, escape_backslashes

PACKAGE = Path(__file__).resolve().parent.parent.parent / "kvalidate"


def test_signatures() -> None:
    assert list(inspect.signature(ansible.template._count_newlines_from_end).parameters) == ["in_str"]
    assert list(inspect.signature(ansible.template._create_overlay).parameters) == ["data", "overrides",
                                                                                     "jinja_env"]
    assert list(inspect.signature(ansible.template._escape_backslashes).parameters) == ["data", "jinja_env"]


def test_behaviour() -> None:
    assert count_newlines_from_end("a\n\n") == 2 and count_newlines_from_end("a") == 0
    env = Environment()
    data, overlay = create_overlay("#jinja2: trim_blocks: False\n{{ x }}", {}, env)
    assert data == "{{ x }}" and overlay.trim_blocks is False and overlay is not env
    data, overlay = create_overlay("{{ x }}", {}, env)
    assert data == "{{ x }}" and overlay is env
    assert escape_backslashes("{{ 'a\\nb' }}", env) == "{{ 'a\\\\nb' }}"
    assert escape_backslashes("plain \\n text", env) == "plain \\n text"


def test_no_other_module_imports_private_ansible_names() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "private.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ansible"):
                bad = [a.name for a in node.names if a.name.startswith("_")]
                if bad or any(part.startswith("_") for part in (node.module or "").split(".")):
                    offenders.append(f"{path.relative_to(PACKAGE)}: {node.module} {bad}")
    assert offenders == []
