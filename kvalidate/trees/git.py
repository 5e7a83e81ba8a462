"""A `Tree` over a git ref, read from git objects: `--ref REF` never touches the work tree.

One `git ls-tree -r -z` lists the ref's files once; contents come from one long-lived
`git cat-file --batch` process (each read is one request on its stdin). Symlinks are followed
inside the tree, as `DirTree` does; a link that leaves the tree is refused. Submodules show as
empty directories.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
import threading
from pathlib import Path
from types import TracebackType
from typing import IO

from kvalidate.model import SetupError
from kvalidate.trees.directory import TreeError, normalize

_LINK = "120000"
_MAX_LINKS = 40


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_OPTIONAL_LOCKS"] = "0"  # never take index.lock, never refresh the index
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    return env


def _git(repo: Path, ref: str, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, env=_git_env(), check=False)
    except OSError as e:
        raise SetupError(f"cannot run git: {e}") from e
    if done.returncode != 0:
        msg = done.stderr.decode(errors="replace").strip().splitlines()
        raise SetupError(f"git {args[0]} {ref!r} in {repo}: {msg[-1] if msg else 'failed'}")
    return done.stdout.decode("utf-8", errors="surrogateescape")


def resolve_commit(repo: Path, ref: str) -> str:
    """`ref` as git resolves it; else a branch only one remote has (`release-2.27` in a clone
    whose local branch is master resolves to `origin/release-2.27`, as `git switch` would)."""
    try:
        return _git(repo, ref, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}").strip()
    except SetupError:
        remote = _git(repo, ref, "for-each-ref", "--format=%(refname)", f"refs/remotes/*/{ref}").split()
        if len(remote) != 1:
            raise
        return _git(repo, ref, "rev-parse", "--verify", "--end-of-options", f"{remote[0]}^{{commit}}").strip()


class GitTree:
    """The files of `ref` in the repository at `repo` (a work tree or a bare repository). When
    `repo` is a subdirectory of a work tree, the tree is that subdirectory at `ref`, as `DirTree`
    would read it."""

    def __init__(self, repo: Path, ref: str) -> None:
        self.repo = repo
        self.ref = ref
        self.commit = self._commit(ref)
        prefix = self._git("rev-parse", "--show-prefix").strip().rstrip("/")  # "" at the top or in a bare repo
        listing = self._git("ls-tree", "-r", "-z", "--full-tree", f"{self.commit}:{prefix}" if prefix else self.commit)
        self._files: dict[str, tuple[str, str]] = {}  # path -> (mode, blob sha)
        self._dirs: dict[str, set[str]] = {"": set()}
        for entry in listing.split("\0"):
            if not entry:
                continue
            meta, path = entry.split("\t", 1)
            mode, kind, sha = meta.split(" ")
            if kind == "commit":  # submodule: an empty directory
                self._add_dir(path)
                continue
            self._files[path] = (mode, sha)
            self._add_dir(posixpath.dirname(path), child=posixpath.basename(path))
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid = os.getpid()  # the process `_proc` belongs to
        self._lock = threading.Lock()

    def _commit(self, ref: str) -> str:
        return resolve_commit(self.repo, ref)

    def _git(self, *args: str) -> str:
        return _git(self.repo, self.ref, *args)

    def _add_dir(self, path: str, child: str | None = None) -> None:
        kids = self._dirs.setdefault(path, set())
        if child is not None:
            kids.add(child)
        while path:
            parent, name = posixpath.dirname(path), posixpath.basename(path)
            self._dirs.setdefault(parent, set()).add(name)
            path = parent

    @property
    def label(self) -> str:
        return f"{self.repo}@{self.ref}"

    # -- path resolution ---------------------------------------------------------------
    def _resolve(self, path: str) -> str:
        """The path with every symlink among its components followed; refuses escapes."""
        parts = normalize(path).split("/") if normalize(path) else []
        done: list[str] = []
        hops = 0
        while parts:
            part = parts.pop(0)
            cur = "/".join([*done, part])
            entry = self._files.get(cur)
            if entry is None or entry[0] != _LINK:
                done.append(part)
                continue
            hops += 1
            if hops > _MAX_LINKS:
                raise TreeError(f"too many levels of symbolic links: {path}")
            target = self._blob(entry[1]).decode("utf-8", errors="surrogateescape")
            if target.startswith("/"):
                raise TreeError(f"path escapes the tree through a symlink: {path}")
            joined = posixpath.normpath(posixpath.join("/".join(done), target, *parts))
            if joined == ".." or joined.startswith("../"):
                raise TreeError(f"path escapes the tree through a symlink: {path}")
            parts = [] if joined == "." else joined.split("/")
            done = []
        return "/".join(done)

    # -- object reads ------------------------------------------------------------------
    def _stream(self) -> tuple[IO[bytes], IO[bytes]]:
        if self._pid != os.getpid():  # a forked worker: the parent's `git cat-file` pipe is not ours to share
            self._proc, self._pid = None, os.getpid()
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(["git", "-C", str(self.repo), "cat-file", "--batch"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, env=_git_env())
        assert self._proc.stdin is not None and self._proc.stdout is not None
        return self._proc.stdin, self._proc.stdout

    def _blob(self, sha: str) -> bytes:
        with self._lock:
            stdin, stdout = self._stream()
            stdin.write(sha.encode() + b"\n")
            stdin.flush()
            header = stdout.readline().split()
            if len(header) != 3:
                raise TreeError(f"git object {sha} is missing")
            data = stdout.read(int(header[2]))
            stdout.read(1)  # the newline after the contents
            return data

    # -- Tree protocol -----------------------------------------------------------------
    def read_bytes(self, path: str) -> bytes:
        real = self._resolve(path)
        entry = self._files.get(real)
        if entry is None:
            raise TreeError(f"cannot read {path}: no such file at {self.ref}")
        return self._blob(entry[1])

    def read_text(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8", errors="replace")

    def is_file(self, path: str) -> bool:
        try:
            return self._resolve(path) in self._files
        except TreeError:
            return False

    def is_dir(self, path: str) -> bool:
        try:
            return self._resolve(path) in self._dirs
        except TreeError:
            return False

    def list_dir(self, path: str) -> list[str]:
        try:
            return sorted(self._dirs.get(self._resolve(path), ()))
        except TreeError:
            return []

    # -- lifetime ----------------------------------------------------------------------
    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=10)
            if proc.stdout:
                proc.stdout.close()

    def __enter__(self) -> GitTree:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing left to report
            pass


def changed_paths(repo: Path, ref: str) -> set[str]:
    """The files of the work tree at `repo` that differ from `ref` (`git diff --name-only --relative
    REF`, both sides of a rename), and its untracked files that git does not ignore; paths relative
    to `repo`. Read-only: no index refresh, no lock. A ref that does not resolve is a SetupError."""
    commit = resolve_commit(repo, ref)
    diff = _git(repo, ref, "diff", "--name-only", "--relative", "--no-renames", "-z", commit, "--")
    untracked = _git(repo, ref, "ls-files", "--others", "--exclude-standard", "-z")
    return {p for p in (*diff.split("\0"), *untracked.split("\0")) if p}
