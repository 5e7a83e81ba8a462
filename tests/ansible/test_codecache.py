"""The cross-run cache of compiled Jinja code."""

from __future__ import annotations

import hashlib
import hmac
import marshal
import multiprocessing
import os
import stat
from collections.abc import Callable
from pathlib import Path

import jinja2
import pytest

from kvalidate.ansible import codecache
from kvalidate.ansible.codecache import KEY_FILE, MAGIC, CodeCache, cache_dir, env_fingerprint, valid_code


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


# -- hostile caches: never executed, never trusted, never a crash ------------------------------------

SOURCE = "{% for i in items %}{{ i }},{% endfor %}"


def _entry_key(cache: CodeCache, env: jinja2.Environment, source: str, name: str | None = None) -> str:
    """The key `cache.compile` files `source` under (compile once, read back what was added)."""
    probe = CodeCache(None)
    probe.compile(env, source, name)
    return next(iter(probe._live))


def _render(cache: CodeCache, env: jinja2.Environment, source: str = SOURCE) -> str:
    code = cache.compile(env, source, None)
    return str(env.template_class.from_code(env, code, env.make_globals(None), None).render(items=[1, 2]))


def _write_signed(cache: CodeCache, entries: dict[str, object], key: bytes | None = None) -> None:
    """A cache file as kvalidate writes it, with `key` (default: the cache's own)."""
    signing = key if key is not None else cache.key()
    assert signing is not None and cache.path is not None
    payload = marshal.dumps(({k: marshal.dumps(v) for k, v in entries.items()}, {}))
    cache.path.write_bytes(MAGIC + hmac.new(signing, payload, hashlib.sha256).digest() + payload)


def _warm(tmp_path: Path, env: jinja2.Environment) -> CodeCache:
    cache = CodeCache(tmp_path)
    assert _render(cache, env) == "1,2,"
    cache.flush()
    assert cache.path is not None and cache.path.is_file()
    return cache


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


@pytest.mark.parametrize("damage", [
    pytest.param(lambda b: b[:-1] + bytes([b[-1] ^ 0xFF]), id="last-payload-byte-flipped"),
    pytest.param(lambda b: b[:len(MAGIC) + 40] + bytes([b[len(MAGIC) + 40] ^ 0x01]) + b[len(MAGIC) + 41:],
                 id="opcode-region-bit-flipped"),
    pytest.param(lambda b: b[:len(MAGIC) + 3] + bytes([b[len(MAGIC) + 3] ^ 0x01]) + b[len(MAGIC) + 4:],
                 id="mac-bit-flipped"),
    pytest.param(lambda b: b[: len(b) // 2], id="truncated-half"),
    pytest.param(lambda b: b[: len(MAGIC) + 5], id="truncated-inside-mac"),
    pytest.param(lambda b: b"", id="empty"),
    pytest.param(lambda b: b"KVJC\x01\n" + b[6:], id="old-format-magic"),
    pytest.param(lambda b: b[len(MAGIC) + 32:], id="bare-marshal-without-mac"),
])
def test_a_damaged_cache_file_is_discarded_and_recompiled(tmp_path: Path, damage: Callable[[bytes], bytes]) -> None:
    env = jinja2.Environment()
    cache = _warm(tmp_path, env)
    assert cache.path is not None
    cache.path.write_bytes(damage(cache.path.read_bytes()))
    fresh = CodeCache(tmp_path)
    assert fresh._load() == {}  # nothing of the damaged file is used
    assert _render(fresh, env) == "1,2,"
    fresh.flush()  # rewritten whole, with the key
    assert len(CodeCache(tmp_path)._load()) == 1


def test_an_entry_written_with_another_key_is_never_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = jinja2.Environment()
    cache = CodeCache(tmp_path)
    key = _entry_key(cache, env, SOURCE)
    # a cache restored from elsewhere: well-formed, signed, but with a key that is not ours
    _write_signed(cache, {key: env.compile("wrong", name=None, filename=None)}, key=b"k" * 32)
    assert _render(CodeCache(tmp_path), env) == "1,2,"
    # the same with KVALIDATE_CACHE_KEY: a file written under one secret is not trusted under another
    monkeypatch.setenv("KVALIDATE_CACHE_KEY", "secret-one")
    one = CodeCache(tmp_path)
    _write_signed(one, {key: env.compile("wrong", name=None, filename=None)})
    assert _render(CodeCache(tmp_path), env) == "wrong"  # same secret: trusted
    monkeypatch.setenv("KVALIDATE_CACHE_KEY", "secret-two")
    assert _render(CodeCache(tmp_path), env) == "1,2,"


MARKER_PAYLOADS = [
    "__import__('pathlib').Path(MARKER).touch()",
    "import os\nos.system('touch ' + MARKER)",
    "open(MARKER, 'w').close()",
    "environment.__class__.__init__.__globals__['os'].system('touch ' + MARKER)",
    "getattr(getattr(getattr(environment, '__class__'), '__init__'), '__globals__')['os'].system('touch ' + MARKER)",
    "exec(\"open(MARKER, 'w')\")",
]


@pytest.mark.parametrize("payload", MARKER_PAYLOADS)
@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed-with-our-key"])
def test_a_crafted_entry_never_runs(tmp_path: Path, payload: str, signed: bool) -> None:
    """An entry filed under the key of a real template, whose code would create a marker file:
    without our key it is never unmarshalled; with it (someone who can write our key could do
    anything anyway), the structure check refuses it. Either way the template is recompiled."""
    env = jinja2.Environment()
    marker = tmp_path / "marker"
    genuine = env.compile(SOURCE, name=None, filename=None)
    src = f"MARKER = {str(marker)!r}\n{payload}\n"
    evil = compile(src, "<template>", "exec")  # Template.from_code would exec it at load
    cache_dir = tmp_path / "cache"
    cache = CodeCache(cache_dir)
    key = _entry_key(cache, env, SOURCE)
    if signed:
        _write_signed(cache, {key: evil, "0" * 40: genuine})
    else:
        cache._prepare()
        assert cache.path is not None
        cache.path.write_bytes(MAGIC + b"\0" * 32 + marshal.dumps(({key: marshal.dumps(evil)}, {})))
    fresh = CodeCache(cache_dir)
    assert (key in fresh._load()) == signed  # verified (signed) entries are checked when first used
    assert _render(fresh, env) == "1,2,"
    assert fresh._live[key].co_code == genuine.co_code and fresh._new.keys() == {key}  # replaced at the flush
    fresh.flush()
    again = CodeCache(cache_dir)
    assert marshal.loads(again._load()[key]).co_code == genuine.co_code and _render(again, env) == "1,2,"
    assert not marker.exists()
    exec(evil, {"environment": env})  # the payload itself does create the marker: the test can fail
    assert marker.exists()


def test_genuine_jinja_code_passes_the_structure_check() -> None:
    """Every construct of the language compiles to code the check accepts (else it recompiles
    every run: slow, never wrong)."""
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    for src in ["{% extends 'b' %}{% block a %}{{ super() }}{{ self.c() }}{% endblock %}",
                "{% macro m(a, b=1) %}{{ a }}{{ caller() if caller }}{{ varargs }}{% endmacro %}"
                "{% call m(1) %}x{% endcall %}",
                "{% import 'x' as y %}{% from 'x' import z as w %}{% include 'i' ignore missing %}",
                "{% for i in x recursive %}{{ loop.index }}{{ loop(i.c) }}{% else %}e{% endfor %}",
                "{% set ns = namespace(a=1) %}{% set ns.a = 2 %}{% set x %}b{% endset %}{% with a=1 %}{% endwith %}",
                "{% filter upper %}x{% endfilter %}{% do x.append(1) %}{{ x is defined }}{{ '__NODE__' }}",
                "{{ x[1:2] }}{{ -x ** 2 // 3 % 4 }}{{ 'a' ~ b }}{{ [1.5, {'a': (1,)}, none, true] }}{{ f(*a, **k) }}"]:
        assert valid_code(env.compile(src)), src
    assert not valid_code("not code")


def test_files_are_owner_only_and_no_temporary_file_stays(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "kvalidate"
    cache = _warm(directory, jinja2.Environment())
    assert cache.path is not None
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert stat.S_IMODE((directory / KEY_FILE).stat().st_mode) == 0o600
    assert _leftovers(directory) == []


@pytest.mark.parametrize("spoil", ["key-readable-by-others", "key-symlink", "key-wrong-size", "key-is-a-directory",
                                   "dir-writable-by-others"])
def test_a_key_or_directory_that_is_not_private_turns_caching_off(tmp_path: Path, spoil: str) -> None:
    env = jinja2.Environment()
    directory = tmp_path / "c"
    directory.mkdir(mode=0o700)
    key = directory / KEY_FILE
    if spoil == "key-readable-by-others":
        key.write_bytes(b"k" * 32)
        key.chmod(0o644)
    elif spoil == "key-symlink":
        (tmp_path / "elsewhere").write_bytes(b"k" * 32)
        (tmp_path / "elsewhere").chmod(0o600)
        key.symlink_to(tmp_path / "elsewhere")
    elif spoil == "key-wrong-size":
        key.write_bytes(b"short")
        key.chmod(0o600)
    elif spoil == "key-is-a-directory":
        key.mkdir()
    else:
        directory.chmod(0o777)
    cache = CodeCache(directory)
    assert _render(cache, env) == "1,2,"
    cache.flush()
    assert cache.disabled and not (directory / cache.path.name if cache.path else directory).exists()
    assert _leftovers(directory) == []


def test_a_directory_where_the_cache_file_belongs_leaks_no_temporary_file(tmp_path: Path) -> None:
    env = jinja2.Environment()
    cache = CodeCache(tmp_path)
    assert cache.path is not None
    cache._prepare()
    cache.path.mkdir()
    assert _render(cache, env) == "1,2,"
    cache.flush()
    assert cache.path.is_dir() and _leftovers(tmp_path) == []


def test_a_fifo_where_the_cache_file_belongs_does_not_hang(tmp_path: Path) -> None:
    env = jinja2.Environment()
    cache = CodeCache(tmp_path)
    assert cache.path is not None
    cache._prepare()
    os.mkfifo(cache.path, 0o600)
    # reading a FIFO with no writer would block forever; the cache opens it non-blocking and refuses it
    assert _render(cache, env) == "1,2,"


@pytest.mark.parametrize("where", ["/proc/kvalidate-cache", "file/sub"])
def test_an_unusable_location_turns_caching_off(tmp_path: Path, where: str) -> None:
    (tmp_path / "file").write_text("x")
    directory = Path(where) if where.startswith("/") else tmp_path / where
    cache = CodeCache(directory)
    assert _render(cache, jinja2.Environment()) == "1,2,"
    cache.flush()
    assert cache.disabled and not directory.exists()


@pytest.mark.parametrize(("env", "expected"), [
    ({"KVALIDATE_CACHE": "off", "KVALIDATE_CACHE_DIR": "/x"}, None),
    ({"KVALIDATE_CACHE_DIR": ""}, None),
    ({"KVALIDATE_CACHE_DIR": "/x"}, Path("/x")),
    ({"XDG_CACHE_HOME": "/xdg"}, Path("/xdg/kvalidate")),
    ({"HOME": "/nonexistent-kvalidate-home"}, None),  # a missing home is never created
    ({"HOME": "HOMEDIR"}, "HOMEDIR/.cache/kvalidate"),
])
def test_cache_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                        expected: object) -> None:
    for name in ("KVALIDATE_CACHE", "KVALIDATE_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value.replace("HOMEDIR", str(tmp_path)))
    want = Path(expected.replace("HOMEDIR", str(tmp_path))) if isinstance(expected, str) else expected
    assert cache_dir() == want


def _hammer(directory: str, n: int) -> None:
    env = jinja2.Environment()
    for i in range(20):
        cache = CodeCache(Path(directory))
        cache.compile(env, SOURCE, None)  # the same entry in both processes
        cache.compile(env, f"{{{{ {n} + {i} }}}}", None)  # and entries of their own
        cache.flush()


def test_two_processes_writing_the_same_cache_leave_a_valid_file(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_hammer, args=(str(tmp_path), n)) for n in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)  # generous: 20 small flushes each take well under a second
        assert p.exitcode == 0
    cache = CodeCache(tmp_path)
    entries = cache._load()
    assert _entry_key(cache, jinja2.Environment(), SOURCE) in entries  # last writer kept it, and it verifies
    assert _render(cache, jinja2.Environment()) == "1,2," and not cache._new
    assert _leftovers(tmp_path) == [] and len(list(tmp_path.iterdir())) == 2  # the file and the key


def test_the_cache_file_is_per_engine_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jinja folds filters on constants into the compiled code: a cache written by other filter code
    (another kvalidate or ansible-core) must not be read, so the file is named by their fingerprint."""
    import importlib.metadata

    now = codecache.engine_fingerprint()
    assert codecache.CodeCache(tmp_path).path is not None
    assert str(codecache.CodeCache(tmp_path).path).endswith(f"-{now}.marshal")
    assert codecache.ansible_version == importlib.metadata.version("ansible-core")  # the version it hashes
    monkeypatch.setattr(codecache, "ansible_version", "9.99.0")
    assert codecache.engine_fingerprint.__wrapped__() != now


# -- size cap, LRU eviction, reuse across checkouts --------------------------------------------------

def _at(monkeypatch: pytest.MonkeyPatch, minutes: int) -> None:
    monkeypatch.setattr(codecache, "_now_minutes", lambda: minutes)


def _sources(n: int, start: int = 0) -> list[str]:
    # distinct templates of a few hundred bytes of code each
    return [f"{{% for i in items %}}{{{{ i }}}}-{k}-{{{{ x{k} | default('d{k}') }}}}{{% endfor %}}"
            for k in range(start, start + n)]


def test_the_least_recently_used_entries_are_evicted_above_the_cap(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    env = jinja2.Environment()
    one = len(marshal.dumps(env.compile(_sources(1)[0]))) + 64  # an entry's code, key and time
    monkeypatch.setenv("KVALIDATE_CACHE_MAX_MB", str(44 * one / 2**20))  # room for 44 entries
    old, recent = _sources(20), _sources(20, start=100)
    _at(monkeypatch, 1_000)
    first = CodeCache(tmp_path)
    for s in old + recent:
        first.compile(env, s, None)
    first.flush()
    assert len(CodeCache(tmp_path)._load()) == 40  # under the cap: nothing evicted
    _at(monkeypatch, 1_000 + 2 * codecache.REFRESH_MINUTES)
    second = CodeCache(tmp_path)
    for s in recent:
        second.compile(env, s, None)  # used again two days later
    second.flush()
    _at(monkeypatch, 1_000 + 3 * codecache.REFRESH_MINUTES)
    third = CodeCache(tmp_path)
    for s in _sources(10, start=200):
        third.compile(env, s, None)  # new work pushes the file over the cap again
    third.flush()
    entries = CodeCache(tmp_path)._load()
    assert third.path is not None and third.path.stat().st_size <= codecache.cap_bytes()
    keys = {s: _entry_key(third, env, s) for s in old + recent + _sources(10, start=200)}
    assert all(keys[s] in entries for s in _sources(10, start=200))  # the newest stay
    assert all(keys[s] in entries for s in recent)  # used two days ago: kept
    # 50 entries over the cap of 44: down to three quarters of it (33), the oldest first
    assert len([s for s in old if keys[s] in entries]) < 5
    # without a cap the same entries all stay
    monkeypatch.delenv("KVALIDATE_CACHE_MAX_MB")
    big = CodeCache(tmp_path / "big")
    for s in old + recent:
        big.compile(env, s, None)
    big.flush()
    assert len(CodeCache(tmp_path / "big")._load()) == 40


def test_a_run_that_only_reads_recent_entries_does_not_rewrite_the_file(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    env = jinja2.Environment()
    _at(monkeypatch, 5_000)
    _warm(tmp_path, env)
    cache = CodeCache(tmp_path)
    assert cache.path is not None
    before = cache.path.read_bytes()
    _at(monkeypatch, 5_000 + 60)
    assert _render(cache, env) == "1,2,"
    cache.flush()
    assert cache.path.read_bytes() == before  # used an hour later: nothing written
    _at(monkeypatch, 5_000 + codecache.REFRESH_MINUTES + 1)
    later = CodeCache(tmp_path)
    assert _render(later, env) == "1,2,"
    later.flush()  # a day later: its last use is recorded
    assert later.path is not None and later.path.read_bytes() != before
    assert set(CodeCache(tmp_path)._read_entries()[1].values()) == {5_000 + codecache.REFRESH_MINUTES + 1}


def test_other_fingerprints_files_are_removed_when_stale_or_too_big(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    env = jinja2.Environment()
    stale = tmp_path / "jinja-code-3.11-jinja3.1.0-f2-0123456789abcdef.marshal"
    fresh = tmp_path / "jinja-code-3.11-jinja3.1.0-f2-fedcba9876543210.marshal"
    unrelated = tmp_path / "notes.txt"
    for p in (stale, fresh, unrelated):
        p.write_bytes(b"x" * 1000)
    month = os.path.getmtime(stale) - (codecache.STALE_DAYS + 1) * 86400
    os.utime(stale, (month, month))
    _warm(tmp_path, env)
    assert not stale.exists() and fresh.exists() and unrelated.exists()
    monkeypatch.setenv("KVALIDATE_CACHE_MAX_MB", str(1500 / 2**20))  # the other file alone is over half
    cache = CodeCache(tmp_path)
    cache.compile(env, "{{ other }}", None)
    cache.flush()
    assert not fresh.exists() and unrelated.exists() and cache.path is not None and cache.path.is_file()


def _checkout_templates(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.j2") if p.is_file())


def test_a_new_checkout_commit_reuses_the_templates_that_did_not_change(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries are keyed by template source and its path inside the checkout: a second clone at
    another commit, where one template differs, compiles that one template only (the engine's own
    environment, as a run compiles them)."""
    from kvalidate.ansible.templar import Templar

    demo = Path(__file__).resolve().parents[2] / "templates_under_test"
    old, new = tmp_path / "clone-a", tmp_path / "elsewhere" / "clone-b"
    for root in (old, new):
        for t in _checkout_templates(demo):
            dest = root / t.relative_to(demo)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(t.read_text(encoding="utf-8"), encoding="utf-8")
    changed = _checkout_templates(new)[0]
    changed.write_text(changed.read_text(encoding="utf-8") + "# changed in the new commit\n", encoding="utf-8")
    assert len(_checkout_templates(old)) >= 5

    def run(root: Path) -> CodeCache:
        cache = CodeCache(tmp_path / "cache")
        monkeypatch.setattr(codecache, "CODE_CACHE", cache)  # what a new process starts with
        env = Templar().env
        for t in _checkout_templates(root):
            env.compile_cached(t.read_text(encoding="utf-8"), name=t.relative_to(root).as_posix())
        return cache

    first = run(old)
    assert len(first._new) == len(_checkout_templates(old))
    first.flush()
    second = run(new)
    assert len(second._new) == 1  # only the changed template was compiled
    assert len(second._used) == len(_checkout_templates(old)) - 1
    second.flush()
    assert len(run(new)._new) == 0 and len(run(old)._new) == 0  # both commits' templates are kept


def test_entries_are_unmarshalled_when_used_and_a_bad_one_is_recompiled(tmp_path: Path) -> None:
    env = jinja2.Environment()
    cache = CodeCache(tmp_path)
    for s in _sources(3):
        cache.compile(env, s, None)
    cache.flush()
    fresh = CodeCache(tmp_path)
    assert len(fresh._load()) == 3 and all(isinstance(v, bytes) for v in fresh._load().values())
    fresh.compile(env, _sources(3)[1], None)
    assert len(fresh._live) == 1 and not fresh._new  # one entry unmarshalled, none compiled
    key = _entry_key(fresh, env, SOURCE)
    _write_signed(fresh, {})  # a signed file whose entry is not marshal data
    assert fresh.path is not None
    payload = marshal.dumps(({key: b"\xff not marshal"}, {}))
    signing = fresh.key()
    assert signing is not None
    fresh.path.write_bytes(MAGIC + hmac.new(signing, payload, hashlib.sha256).digest() + payload)
    again = CodeCache(tmp_path)
    assert key in again._load() and _render(again, env) == "1,2," and again._new.keys() == {key}
