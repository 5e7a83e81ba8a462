"""ansible-core's configuration definitions, parsed once and kept across runs.

Importing `ansible.constants` (which ansible-core's template, filter and display modules do) builds
a `ConfigManager`, which parses ansible-core's `config/base.yml` (88 KB of YAML: ~60 ms, about a
tenth of a cold `kvalidate check`). That file is part of the installed ansible-core, not of the
checkout: its parsed form is plain data (dicts, lists, strings, numbers, booleans), kept in the
parsed-YAML cache (`codecache.DATA_CACHE`: authenticated, `marshal` of data, never of code; see
docs/security.md) under a hash of the file's bytes, and handed to `ConfigManager` in place of
parsing it again. Only that one file's reading is replaced, only while `ansible.constants` is
imported here: everything else ansible-core does with its configuration (ansible.cfg, environment
variables, the deprecation entries it adds) runs unchanged on the same data. Anything unexpected
(no file, an entry of another shape) falls back to ansible-core's own parsing.

The same import compiles the ~25 defaults written as templates (`{{ ANSIBLE_HOME ~ "/tmp" }}`) with
a fresh Jinja `NativeEnvironment` each (~10 ms); while it runs, that environment's `from_string`
goes through the compiled-code cache (`codecache.template_from_source`, what `from_string` does
with the code compiled once and kept; entries checked as every cached entry is).

`kvalidate/ansible/__init__.py` imports this module right after `private_home`, before anything
else of ansible.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from ansible.config import manager

from kvalidate.ansible.codecache import DATA_CACHE, CodeCache, template_from_source

BASE_DEFS = os.path.join(os.path.dirname(manager.__file__), "base.yml")


def _key(source: bytes) -> str:
    """The entry's key: the file's bytes (the cache file's name already carries the versions of
    ansible-core and of the YAML library, see `codecache.engine_fingerprint`)."""
    return hashlib.blake2b(b"ansible-core base.yml\x00" + source, digest_size=20).hexdigest()


def base_defs(parse: Any, self: Any, yml_file: Any, cache: CodeCache = DATA_CACHE) -> Any:
    """`ConfigManager._read_config_yaml_file(yml_file)` (`parse`), through `cache` for
    ansible-core's own base.yml."""
    if os.fsdecode(yml_file) != BASE_DEFS:
        return parse(self, yml_file)
    try:
        with open(BASE_DEFS, "rb") as f:
            source = f.read()
    except OSError:
        return parse(self, yml_file)
    key = _key(source)
    kept = cache.get_data(key)
    if isinstance(kept, tuple) and len(kept) == 1 and isinstance(kept[0], dict):
        return kept[0]
    data = parse(self, yml_file)
    if isinstance(data, dict):
        cache.put_data(key, (data,))
    return data


class CachedNativeEnvironment(manager.NativeEnvironment):  # type: ignore[misc]
    """`NativeEnvironment` whose `from_string(source)` uses the compiled-code cache."""

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:  # noqa: A002
        if isinstance(source, str) and globals is None and template_class is None:
            return template_from_source(self, source)
        return super().from_string(source, globals, template_class)


# ansible-core's private method (its only caller is `ConfigManager.__init__`); tests/ansible/
# test_private.py checks its signature, as for the names of `kvalidate.ansible.private`
_ORIGINAL = getattr(manager.ConfigManager, "_read_config_yaml_file", None)
_NATIVE = manager.NativeEnvironment  # what `ConfigManager.template_default` compiles defaults with
if _ORIGINAL is not None:
    manager.ConfigManager._read_config_yaml_file = (
        lambda self, yml_file: base_defs(_ORIGINAL, self, yml_file))
manager.NativeEnvironment = CachedNativeEnvironment
try:
    import ansible.constants  # noqa: E402, F401 - here, with base.yml read through the cache
finally:
    if _ORIGINAL is not None:
        manager.ConfigManager._read_config_yaml_file = _ORIGINAL
    manager.NativeEnvironment = _NATIVE
