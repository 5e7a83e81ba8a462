"""ansible-core's private templating helpers, the only private names kvalidate uses: they exist
with the signatures and behaviour kvalidate relies on (an ansible-core upgrade that changes them
fails here), and no other module imports a private ansible-core name."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import ansible.constants
import ansible.template
import yaml
from ansible.config.manager import ConfigManager
from jinja2 import Environment

from kvalidate.ansible import coreconfig
from kvalidate.ansible.codecache import DATA_PREFIX, CodeCache
from kvalidate.ansible.private import count_newlines_from_end, create_overlay, escape_backslashes

PACKAGE = Path(__file__).resolve().parent.parent.parent / "kvalidate"


def test_signatures() -> None:
    assert list(inspect.signature(ansible.template._count_newlines_from_end).parameters) == ["in_str"]
    assert list(inspect.signature(ansible.template._create_overlay).parameters) == ["data", "overrides",
                                                                                     "jinja_env"]
    assert list(inspect.signature(ansible.template._escape_backslashes).parameters) == ["data", "jinja_env"]


def test_config_definitions_hook(tmp_path: Path) -> None:
    """`coreconfig` replaces the reading of ansible-core's base.yml while ansible.constants is
    imported: the private method it wraps exists with that signature, is restored afterwards, and the
    definitions ansible.constants was built from are those ansible-core parses itself."""
    assert list(inspect.signature(ConfigManager._read_config_yaml_file).parameters) == ["self", "yml_file"]
    assert ConfigManager._read_config_yaml_file is coreconfig._ORIGINAL
    fresh = ConfigManager()  # parses base.yml itself (the hook is gone)
    assert fresh._base_defs == ansible.constants.config._base_defs and len(fresh._base_defs) > 100
    with open(coreconfig.BASE_DEFS, "rb") as f:
        source = f.read()
    parsed = yaml.load(source, Loader=yaml.CSafeLoader)
    calls = []

    def parse(self: object, yml_file: object) -> object:
        calls.append(yml_file)
        return yaml.load(source, Loader=yaml.CSafeLoader)

    cache = CodeCache(tmp_path, DATA_PREFIX)
    assert coreconfig.base_defs(parse, None, coreconfig.BASE_DEFS, cache) == parsed and len(calls) == 1
    cache.flush()
    kept = coreconfig.base_defs(parse, None, coreconfig.BASE_DEFS, CodeCache(tmp_path, DATA_PREFIX))
    assert kept == parsed and len(calls) == 1  # the next run reads the cache, does not parse
    other = b"/elsewhere/base.yml"
    assert coreconfig.base_defs(lambda self, f: {"other": f}, None, other) == {"other": other}


def test_templated_config_defaults_hook() -> None:
    """While ansible.constants is imported, `ConfigManager.template_default` compiles the defaults
    written as templates through the compiled-code cache (`coreconfig.CachedNativeEnvironment`): it
    renders each as Jinja's own NativeEnvironment does, and the module's name is restored after."""
    import ansible.config.manager
    from jinja2.nativetypes import NativeEnvironment

    assert ansible.config.manager.NativeEnvironment is NativeEnvironment
    variables = vars(ansible.constants)
    templated = [d["default"] for d in ansible.constants.config._base_defs.values()
                 if isinstance(d.get("default"), str) and d["default"].startswith("{{") and d["default"].endswith("}}")]
    assert len(templated) > 10
    for source in templated:
        expected = NativeEnvironment().from_string(source).render(variables)
        assert coreconfig.CachedNativeEnvironment().from_string(source).render(variables) == expected, source


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
