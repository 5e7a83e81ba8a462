"""Compiled Jinja code kept across runs, in the user's cache directory (never in the checkout).

Compiling is most of a cold run: a Kubespray scenario compiles ~1,200 templates and expressions,
about 1 ms each, while rendering them all takes a fraction of that (measured: a
cache hit costs 0.5 ms instead of 20-30 ms for a whole template). Code objects are stored with
`marshal` in one file per Python and Jinja2 version and per fingerprint of kvalidate's engine code
(`engine_fingerprint`: Jinja's optimizer runs filters and operators on constant arguments while it
compiles, so the compiled code holds their results and must not outlive a change to them), keyed by a
hash of the source and of every environment setting that changes the generated code, so a stale entry
can never be used.

The cache is untrusted input (a CI cache restored from another branch, a file flipped on disk):
`marshal` data runs as code once loaded, so nothing is unmarshalled before it is authenticated.

- The file is `MAGIC + HMAC-SHA256(key, payload) + payload`. The key is `$KVALIDATE_CACHE_KEY` when
  set (a CI secret: a cache written without it is never trusted), else 32 random bytes in `key` in
  the cache directory, created owner-only (0600) once and refused if it is not a regular file of
  ours with no group/other access. A file that does not verify is discarded whole and rewritten.
- Every entry that verifies is also checked before use (`valid_code`): only code objects whose
  constants are of the types Jinja's code generator emits, no `__special__` names or strings, globals
  from the set `jinja2.compiler` writes, no import but `jinja2.runtime`. A rejected entry is
  recompiled, never executed.
- The directory is created 0700 (and refused when it is another user's or writable by others), the
  file 0600, written to a temporary file and `os.replace`d; the temporary file is removed on every
  failure. Any problem (unwritable, a directory in the way, a FIFO, too large) turns caching off
  for the run, silently: the next run compiles again.

Size and eviction: each entry carries the time it was last used (minutes); a run that used an entry
not marked used in the last day, or that compiled something new, rewrites the file with those times.
When the file would exceed the cap (`$KVALIDATE_CACHE_MAX_MB`, default 64 MB; a Kubespray branch's
templates take a few MB), the least recently used entries are dropped until it is under three
quarters of the cap. Cache files of other engine fingerprints or formats (an older kvalidate,
another ansible-core) count against the same cap and may take half of it together: above that the
least recently written are removed first, and any not written for 30 days is removed anyway.
The key of an entry is the hash of its source, its name (the template's path inside the checkout)
and the environment's settings, never the checkout's location or commit: a new commit, another
clone or a worktree reuses every template that did not change.

Location: `$KVALIDATE_CACHE_DIR`, else `$XDG_CACHE_HOME/kvalidate`, else `~/.cache/kvalidate` (only
when the home directory exists: a missing home is never created). `KVALIDATE_CACHE=off` (or
`KVALIDATE_CACHE_DIR=""`) turns the cache off.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import hmac
import marshal
import os
import re
import secrets
import stat
import sys
import tempfile
import time
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2
import jinja2.runtime
import yaml
from ansible import release

_FORMAT = 4
MAGIC = b"KVJC\x04\n"
_DIGEST = 32
MAX_BYTES = 256 * 1024 * 1024  # far above a Kubespray run's cache (a few MB); larger is not ours
DEFAULT_CAP_MB = 64  # KVALIDATE_CACHE_MAX_MB: the directory's cache files together (module docstring)
REFRESH_MINUTES = 24 * 60  # an entry's last-use time is rewritten at most once a day (no write per run)
STALE_DAYS = 30  # another fingerprint's file not written for this long is removed
CODE_PREFIX = "jinja-code"
DATA_PREFIX = "yaml-data"  # parsed YAML of the checkout's files (ansible.loader)
KEY_BYTES = 32
KEY_FILE = "key"
ansible_version: str = release.__version__  # ansible-core's (importlib.metadata: ~10 ms at start-up)
_KEY_RE = re.compile(r"[0-9a-f]{40}")

# Names Jinja-generated code may hold in `co_names` (globals, attributes, imports alike): what
# jinja2.compiler (3.1) writes, the names of jinja2.runtime, `block_NAME` functions. An entry naming
# anything else (`__import__`, `os`, `open`, `eval`, ...) is refused; a name a future Jinja writes
# and this list lacks only costs a recompile. Checking `co_names` and constants is set work per code
# object (walking the bytecode with `dis` cost ~0.7 ms per entry, most of a warm start).
_KNOWN_NAMES = frozenset({
    "KeyError", "TypeError", "isinstance", "getattr", "dict", "len", "str", "__name__", "jinja2.runtime",
    "environment", "name", "blocks", "debug_info", "root", "context", "resolve", "undefined", "missing",
    "_get_default_module", "_get_default_module_async", "add", "aclose", "append", "autoescape", "call",
    "call_binop", "call_unop", "close", "concat", "derive_context", "derived", "discard", "eval_ctx",
    "exported_vars", "extend", "filters", "finalize", "func", "get_all", "get_exported", "get_resolve_func",
    "get_template", "getitem", "items", "join", "loop", "make_module", "make_module_async", "module",
    "new_context", "ref", "resolve_or_missing", "revert", "root_render_func", "save", "select_template",
    "setdefault", "super", "tests", "update", "vars", "write", "choose_async",
    "get_or_select_template", "_body_stream", "difference_update",  # include, `{% from x import y %}`
    "guarded_join",  # `~` (environment.GuardedCodeGenerator)
    "kv_lines",  # kvalidate's line-map global (linemap.LineCodeGenerator)
    *jinja2.runtime.exported, *jinja2.runtime.async_exported})
_NEVER = frozenset({"compile", "object", "type", "eval", "exec", "open", "globals", "locals", "__import__",
                    "setattr", "delattr", "breakpoint", "input", "memoryview", "__builtins__", "__class__",
                    "__dict__", "__init__", "__globals__", "__subclasses__", "__code__"})
_BLOCK_NAME = re.compile(r"block_[A-Za-z0-9_]+")
_SPECIAL = re.compile(r"__[a-z][a-z0-9_]*__")  # Python's special names (a template's `__NODE__` is fine)
_CONST_TYPES = (type(None), bool, int, float, complex, bytes, type(Ellipsis))
_CONST_KINDS = frozenset(_CONST_TYPES)  # exact types: a set lookup instead of isinstance
_ALLOWED = _KNOWN_NAMES - _NEVER


def cache_dir() -> Path | None:
    if os.environ.get("KVALIDATE_CACHE", "").strip().lower() in ("off", "0", "no", "false"):
        return None
    explicit = os.environ.get("KVALIDATE_CACHE_DIR")
    if explicit is not None:
        return Path(explicit) if explicit else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "kvalidate"
    home = os.environ.get("HOME") or ""
    if not home or not os.path.isdir(home):
        return None  # never create a home directory
    return Path(home) / ".cache" / "kvalidate"


def cap_bytes() -> int:
    """The size cap of the cache directory's files: `$KVALIDATE_CACHE_MAX_MB` (default 64; at most
    the 256 MB a cache file may have; a value that is no number is the default)."""
    raw = os.environ.get("KVALIDATE_CACHE_MAX_MB", "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_CAP_MB
    except ValueError:
        mb = DEFAULT_CAP_MB
    if not 0 < mb < float("inf"):
        mb = DEFAULT_CAP_MB
    return min(int(mb * 1024 * 1024), MAX_BYTES)


def _now_minutes() -> int:
    return int(time.time() // 60)


def env_fingerprint(env: jinja2.Environment) -> str:
    """Every setting that changes the code Jinja generates for a source."""
    parts = [type(env).__module__, type(env).__qualname__, env.code_generator_class.__qualname__,
             env.block_start_string, env.block_end_string, env.variable_start_string, env.variable_end_string,
             env.comment_start_string, env.comment_end_string, str(env.line_statement_prefix),
             str(env.line_comment_prefix), str(env.trim_blocks), str(env.lstrip_blocks), env.newline_sequence,
             str(env.keep_trailing_newline), str(env.optimized), str(env.autoescape), str(env.finalize is not None),
             str(env.is_async), ",".join(sorted(env.extensions))]
    return "\x00".join(parts)


def _const_ok(value: Any, allowed: frozenset[str], depth: int) -> bool:
    kind = type(value)
    if kind is str:  # most constants: a special name needs "__" (no regex for the others)
        return "__" not in value or not _SPECIAL.fullmatch(value)
    if kind in _CONST_KINDS:
        return True
    if isinstance(value, str):
        return not _SPECIAL.fullmatch(value)
    if isinstance(value, _CONST_TYPES):
        return True
    if isinstance(value, tuple | frozenset):
        return depth < 20 and _consts_ok(value, allowed, depth + 1)
    if isinstance(value, CodeType):
        return _code_ok(value, allowed, depth + 1)
    return False


def _consts_ok(values: tuple[Any, ...] | frozenset[Any], allowed: frozenset[str], depth: int) -> bool:
    """`_const_ok` of each value, the common kinds (text without "__", None, numbers) inline: a
    Kubespray scenario's ~1,200 entries hold ~35,000 constants, checked on every cold start."""
    for value in values:
        kind = type(value)
        if kind is str:
            if "__" in value and _SPECIAL.fullmatch(value):
                return False
        elif kind not in _CONST_KINDS and not _const_ok(value, allowed, depth):
            return False
    return True


def _code_ok(code: CodeType, allowed: frozenset[str], depth: int) -> bool:
    if depth > 20:
        return False
    names = code.co_names
    if not allowed.issuperset(names) and not all(n in allowed or _BLOCK_NAME.fullmatch(n) for n in names):
        return False
    return _consts_ok(code.co_consts, allowed, depth)


def valid_code(code: Any) -> bool:
    """Whether `code` is shaped like what jinja2.compiler generates (see the module docstring)."""
    return isinstance(code, CodeType) and _code_ok(code, _ALLOWED, 0)


def _owned_private(st: os.stat_result) -> bool:
    return st.st_uid == os.getuid() and not st.st_mode & 0o077


def _read_regular(path: Path, limit: int) -> bytes | None:
    """A regular file's bytes (no symlink, FIFO or device; at most `limit`), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
        return data if len(data) <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes, exclusive: bool = False) -> bool:
    """`data` into `path` (0600) through a temporary file beside it; the temporary file never stays.
    With `exclusive`, an existing `path` is kept (os.link fails) and False is returned."""
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mkstemp: mode 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
            tmp = ""
        return True
    except OSError:
        return False
    finally:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass


@functools.cache
def engine_fingerprint() -> str:
    """A hash of the code compiled templates may have run at compile time: kvalidate's engine sources
    (filters, tests, the sandbox's operators) and the ansible-core version whose filters they call."""
    h = hashlib.blake2b(digest_size=8)
    h.update(ansible_version.encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode() + b"\x00" + path.read_bytes())
    return h.hexdigest()


class CodeCache:
    """One cache file of the directory: compiled Jinja code (`compile`), or with another `prefix`
    plain marshallable data (`get_data`/`put_data`: the parsed YAML `ansible.loader` keeps), and
    `version` naming what else the entries depend on (the YAML library's version)."""

    def __init__(self, directory: Path | None, prefix: str = CODE_PREFIX, version: str = "") -> None:
        self.directory = directory
        self.prefix = prefix
        self.path = None
        if directory is not None:
            tag = (f"{sys.version_info[0]}.{sys.version_info[1]}-jinja{jinja2.__version__}{version}-f{_FORMAT}"
                   f"-{engine_fingerprint()}")
            self.path = directory / f"{prefix}-{tag}.marshal"
        self._codes: dict[str, Any] | None = None  # the file's entries: key -> marshalled code (bytes)
        self._live: dict[str, CodeType] = {}  # entries unmarshalled and checked, or compiled, by this process
        self._stamps: dict[str, int] = {}  # key -> when last used (minutes since the epoch), as read
        self._used: set[str] = set()  # keys used by this process since the last flush
        self._new: dict[str, bytes] = {}  # entries made by this process, marshalled
        self._key: bytes | None = None
        self.disabled = directory is None

    # -- the directory and the key -------------------------------------------------------------
    def _prepare(self) -> bool:
        """Create (0700) and check the directory; False (caching off) when it cannot be ours."""
        if self.disabled or self.directory is None:
            return False
        d = self.directory
        try:
            if not d.exists():
                parent = d.parent
                if not parent.is_dir():
                    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                d.mkdir(mode=0o700, exist_ok=True)
            st = d.lstat()
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
                raise OSError("not a private directory")
        except OSError:
            self.disabled = True
            return False
        return True

    def key(self) -> bytes | None:
        """The HMAC key: `$KVALIDATE_CACHE_KEY`, else the owner-only key file (created once)."""
        if self._key is not None:
            return self._key
        secret = os.environ.get("KVALIDATE_CACHE_KEY", "")
        if secret:
            self._key = hashlib.sha256(b"kvalidate-cache-key\x00" + secret.encode("utf-8", "surrogateescape")).digest()
            return self._key
        if not self._prepare():
            return None
        assert self.directory is not None
        path = self.directory / KEY_FILE
        for _ in range(2):
            try:
                st = path.lstat()
            except FileNotFoundError:
                _write_atomic(path, secrets.token_bytes(KEY_BYTES), exclusive=True)  # a racing writer wins
                continue
            except OSError:
                break
            if not stat.S_ISREG(st.st_mode) or not _owned_private(st):
                break  # a key others can read or write is no key
            data = _read_regular(path, KEY_BYTES)
            if data is not None and len(data) == KEY_BYTES:
                self._key = data
                return data
            break
        self.disabled = True
        return None

    # -- reading and writing entries --------------------------------------------------------------
    def _read_file(self) -> dict[str, Any]:
        """The entries of the cache file if it verifies with our key ({} for anything else): key ->
        the entry's code, marshalled on its own. Each is unmarshalled and checked (`valid_code`) when
        first used, not here: a run uses a fraction of them (unmarshalling the whole file of a
        Kubespray scenario took 65 ms; its entries as bytes 13 ms, each used one 20 µs)."""
        return self._read_entries()[0]

    def _read_entries(self) -> tuple[dict[str, Any], dict[str, int]]:
        """(entries, their last-use times) of the cache file; ({}, {}) for a file that does not verify."""
        key = self.key()
        if key is None or self.path is None:
            return {}, {}
        blob = _read_regular(self.path, MAX_BYTES)
        if blob is None or not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + _DIGEST:
            return {}, {}
        mac, payload = blob[len(MAGIC):len(MAGIC) + _DIGEST], blob[len(MAGIC) + _DIGEST:]
        if not hmac.compare_digest(mac, hmac.new(key, payload, hashlib.sha256).digest()):
            return {}, {}  # not written with our key: never unmarshalled
        try:
            data = marshal.loads(payload)
        except (ValueError, EOFError, TypeError, MemoryError, RecursionError):
            return {}, {}
        if not (isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], dict) and isinstance(data[1], dict)):
            return {}, {}
        codes = {k: v for k, v in data[0].items() if isinstance(k, str) and _KEY_RE.fullmatch(k)
                 and isinstance(v, bytes)}
        stamps = {k: v for k, v in data[1].items() if k in codes and isinstance(v, int)}
        return codes, stamps

    def _load(self) -> dict[str, Any]:
        if self._codes is None:
            self._codes, self._stamps = self._read_entries()
        return self._codes

    def _entry(self, key: str) -> CodeType | None:
        """The file's entry `key`, unmarshalled and checked (once per process), or None."""
        code = self._live.get(key)
        if code is not None:
            return code
        raw = self._load().get(key)
        if raw is None:
            return None
        try:
            loaded = marshal.loads(raw)
        except (ValueError, EOFError, TypeError, MemoryError, RecursionError):
            return None
        if not valid_code(loaded):
            return None  # recompiled, and replaced in the file at the next flush
        self._live[key] = loaded
        return loaded  # type: ignore[no-any-return]

    def preload(self) -> None:
        """Unmarshal and check every entry now (a parent before it forks workers: they share them)."""
        for key in list(self._load()):
            self._entry(key)

    def compile(self, env: jinja2.Environment, source: str, name: str | None) -> CodeType:
        key = hashlib.blake2b("\x01".join((env_fingerprint(env), name or "", source)).encode(
            "utf-8", "surrogatepass"), digest_size=20).hexdigest()
        code = self._entry(key)
        if code is None:
            code = env.compile(source, name=name, filename=name)
            self._live[key] = code
            if not self.disabled:
                try:
                    self._new[key] = marshal.dumps(code)
                except ValueError:
                    pass
        elif not self.disabled:
            self._used.add(key)
        return code

    def get_data(self, key: str) -> Any:
        """The data entry `key` (a 40-digit hex key), or None. Data entries are values `marshal`
        builds without running anything (it never executes code objects); their file is
        authenticated as the code's is."""
        raw = self._load().get(key)
        if raw is None:
            return None
        try:
            value = marshal.loads(raw)
        except (ValueError, EOFError, TypeError, MemoryError, RecursionError):
            return None
        self._used.add(key)
        return value

    def put_data(self, key: str, value: Any) -> bool:
        """Keep `value` (marshallable) under `key` for the next runs; False if it cannot be marshalled."""
        if self.disabled or not _KEY_RE.fullmatch(key):
            return False
        try:
            self._new[key] = marshal.dumps(value)
        except ValueError:
            return False
        return True

    def flush(self) -> None:
        """Merge new entries and last-use times into the file (atomically; concurrent writers lose
        entries, never data), evicting the least recently used above the cap (module docstring).
        A run that compiled nothing new and used only entries marked used within the last day
        writes nothing."""
        now = _now_minutes()
        used, self._used = self._used, set()
        stale = {k for k in used if self._stamps.get(k, 0) < now - REFRESH_MINUTES}
        if not (self._new or stale) or self.path is None:
            return
        new, self._new = self._new, {}
        key = self.key()
        if key is None:
            return
        current, stamps = self._read_entries()
        current.update(new)
        for k in used | new.keys():
            if k in current:
                stamps[k] = now
        self._stamps.update({k: now for k in used | new.keys()})
        cap = cap_bytes()
        others = self._other_files(cap)
        try:
            payload = marshal.dumps((current, stamps))
            if len(payload) + others > cap:
                payload = marshal.dumps(_evict(current, stamps, max(0, cap * 3 // 4 - others)))
        except ValueError:
            return
        _write_atomic(self.path, MAGIC + hmac.new(key, payload, hashlib.sha256).digest() + payload)

    def _other_files(self, cap: int) -> int:
        """Remove other fingerprints' cache files not written for `STALE_DAYS`, then the least
        recently written while they alone exceed half the cap; the bytes of those that stay."""
        if self.directory is None or self.path is None:
            return 0
        files = []
        try:
            for p in self.directory.glob(f"{self.prefix}-*.marshal"):
                if p.name != self.path.name:
                    st = p.lstat()
                    if stat.S_ISREG(st.st_mode):
                        files.append((st.st_mtime, st.st_size, p))
        except OSError:
            return 0
        files.sort()
        total = sum(size for _, size, _ in files)
        limit = time.time() - STALE_DAYS * 86400
        for mtime, size, p in files:
            if mtime < limit or total > cap // 2:
                try:
                    p.unlink()
                    total -= size
                except OSError:
                    pass
        return total


def _evict(codes: dict[str, Any], stamps: dict[str, int], budget: int) -> tuple[dict[str, Any], dict[str, int]]:
    """The most recently used entries of `codes` that fit in `budget` bytes (LRU eviction)."""
    order = sorted(codes, key=lambda k: (stamps.get(k, 0), k), reverse=True)
    kept: dict[str, Any] = {}
    total = 0
    for k in order:
        size = len(codes[k]) + 64  # the key, the time and marshal's framing
        if total + size > budget:
            break
        kept[k] = codes[k]
        total += size
    return kept, {k: stamps.get(k, 0) for k in kept}

CODE_CACHE = CodeCache(cache_dir())
DATA_CACHE = CodeCache(cache_dir(), DATA_PREFIX, f"-yaml{yaml.__version__}")


def flush_caches() -> None:
    """Write what this process added to the cross-run caches (compiled code, parsed YAML)."""
    CODE_CACHE.flush()
    DATA_CACHE.flush()


atexit.register(flush_caches)  # forked workers exit without atexit: kvalidate.run.check flushes per cell


def template_from_source(env: jinja2.Environment, source: str, name: str | None = None) -> Any:
    """`env.from_string(source)` (or a named template), through the cross-run code cache."""
    code = CODE_CACHE.compile(env, source, name)
    return env.template_class.from_code(env, code, env.make_globals(None), None)
