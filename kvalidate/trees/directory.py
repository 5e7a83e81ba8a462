"""Read-only views of a source tree: a directory, or a git ref read from git objects.

Every stage that reads a checkout (roles, templates, playbooks, inventories) goes through a
`Tree`, so that `--ref REF` can render a release branch without touching the work tree, and so
that nothing can read outside the checkout: paths are POSIX, relative to the tree's root, and
`..` escapes are refused.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Protocol, runtime_checkable


class TreeError(Exception):
    """A path outside the tree, or a file that cannot be read."""


def normalize(path: str) -> str:
    """Normalize a tree-relative POSIX path; refuse absolute paths and `..` escapes."""
    if path.startswith("/"):
        raise TreeError(f"absolute path not allowed in a tree: {path}")
    norm = posixpath.normpath(path) if path else "."
    if norm == ".." or norm.startswith("../"):
        raise TreeError(f"path escapes the tree: {path}")
    return "" if norm == "." else norm


@runtime_checkable
class Tree(Protocol):
    """A read-only file tree. Paths are relative POSIX paths ("" is the root)."""

    @property
    def label(self) -> str:
        """Human name: the directory, or `REPO@REF`."""
        ...

    def read_bytes(self, path: str) -> bytes: ...

    def read_text(self, path: str) -> str: ...

    def is_file(self, path: str) -> bool: ...

    def is_dir(self, path: str) -> bool: ...

    def list_dir(self, path: str) -> list[str]:
        """Names (not paths) of the entries of a directory, sorted; [] if not a directory."""
        ...


class DirTree:
    """A directory on disk. Symlinks that resolve outside the root are refused."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._dirs: dict[str, Path] = {"": self.root}  # resolved directories (symlinks followed, checked)

    @property
    def label(self) -> str:
        return str(self.root)

    def _inside(self, resolved: Path, path: str) -> Path:
        if resolved != self.root and self.root not in resolved.parents:
            raise TreeError(f"path escapes the tree through a symlink: {path}")
        return resolved

    def _dir(self, rel: str) -> Path:
        """A directory resolved once per run: reading a role's files costs one lstat each, not one
        per path component (Path.resolve() on every read was a fifth of a scenario's run)."""
        hit = self._dirs.get(rel)
        if hit is None:
            parent, _, name = rel.rpartition("/")
            base = self._dir(parent) / name
            hit = self._inside(base.resolve() if base.is_symlink() else base, rel)
            self._dirs[rel] = hit
        return hit

    def _path(self, path: str) -> Path:
        rel = normalize(path)
        if not rel:
            return self.root
        parent, _, name = rel.rpartition("/")
        p = self._dir(parent) / name
        return self._inside(p.resolve(), path) if p.is_symlink() else p

    def read_bytes(self, path: str) -> bytes:
        try:
            return self._path(path).read_bytes()
        except OSError as e:
            raise TreeError(f"cannot read {path}: {e.strerror or e}") from e

    def read_text(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8", errors="replace")

    def is_file(self, path: str) -> bool:
        try:
            return self._path(path).is_file()
        except TreeError:
            return False

    def is_dir(self, path: str) -> bool:
        try:
            return self._path(path).is_dir()
        except TreeError:
            return False

    def list_dir(self, path: str) -> list[str]:
        try:
            p = self._path(path)
            return sorted(e.name for e in p.iterdir()) if p.is_dir() else []
        except (TreeError, OSError):
            return []
