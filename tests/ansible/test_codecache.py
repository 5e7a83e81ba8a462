"""The cross-run cache of compiled Jinja code."""

from __future__ import annotations

from pathlib import Path

import jinja2

from kvalidate.ansible.codecache import CodeCache, env_fingerprint


def test_cached_code_renders_the_same_and_survives_a_new_process(tmp_path: Path) -> None:
    env = jinja2.Environment(trim_blocks=True)
    first = CodeCache(tmp_path)
    code = first.compile(env, "{% if x %}a{{ x }}{% endif %}\n", None)
    first.flush()
    second = CodeCache(tmp_path)  # what the next run sees
    again = second.compile(env, "{% if x %}a{{ x }}{% endif %}\n", None)
    assert again.co_code == code.co_code and not second._new
    t = env.template_class.from_code(env, again, env.make_globals(None), None)
    assert t.render(x=1) == "a1"


def test_settings_that_change_the_code_change_the_key(tmp_path: Path) -> None:
    a, b = jinja2.Environment(trim_blocks=True), jinja2.Environment(trim_blocks=False)
    assert env_fingerprint(a) != env_fingerprint(b)
    cache = CodeCache(tmp_path)
    src = "{% if x %}\nyes\n{% endif %}\n"
    ta = a.template_class.from_code(a, cache.compile(a, src, None), a.make_globals(None), None)
    tb = b.template_class.from_code(b, cache.compile(b, src, None), b.make_globals(None), None)
    assert ta.render(x=1) == "yes\n" and tb.render(x=1) == "\nyes\n"


def test_disabled_or_unwritable_cache_still_compiles(tmp_path: Path) -> None:
    env = jinja2.Environment()
    off = CodeCache(None)
    assert off.compile(env, "{{ 1 }}", None)
    off.flush()
    blocked = tmp_path / "file"
    blocked.write_text("x")
    bad = CodeCache(blocked / "sub")  # a file where the directory should be
    bad.compile(env, "{{ 2 }}", None)
    bad.flush()
    corrupt = CodeCache(tmp_path)
    assert corrupt.path is not None
    corrupt.path.write_bytes(b"not marshal")
    assert corrupt.compile(env, "{{ 3 }}", None)
