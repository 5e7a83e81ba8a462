"""tree.py: DirTree never reads outside its root, symlinks included."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kvalidate.trees.directory import DirTree, TreeError, normalize


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "outside.txt").write_text("secret")
    r = tmp_path / "root"
    (r / "a" / "b").mkdir(parents=True)
    (r / "a" / "b" / "f.txt").write_text("inside")
    os.symlink(r / "a", r / "link-in")
    os.symlink(tmp_path / "outside.txt", r / "a" / "leak.txt")
    os.symlink(tmp_path, r / "updir")
    return r


@pytest.mark.parametrize(("path", "text"), [("a/b/f.txt", "inside"), ("link-in/b/f.txt", "inside"),
                                            ("a/./b/../b/f.txt", "inside")])
def test_reads_inside(root: Path, path: str, text: str) -> None:
    assert DirTree(root).read_text(path) == text


@pytest.mark.parametrize("path", ["a/leak.txt", "updir/outside.txt", "../outside.txt", "/etc/passwd",
                                  "a/../../outside.txt"])
def test_never_reads_outside(root: Path, path: str) -> None:
    tree = DirTree(root)
    with pytest.raises(TreeError):
        tree.read_text(path)
    assert not tree.is_file(path)


def test_listing(root: Path) -> None:
    tree = DirTree(root)
    assert tree.list_dir("a") == ["b", "leak.txt"] and tree.is_dir("link-in/b") and tree.list_dir("nope") == []


@pytest.mark.parametrize(("path", "norm"), [("a//b/", "a/b"), (".", ""), ("", ""), ("a/../b", "b")])
def test_normalize(path: str, norm: str) -> None:
    assert normalize(path) == norm
