from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kvalidate.kubespray.checkout import open_checkout
from kvalidate.model import SetupError
from kvalidate.trees.directory import Tree, TreeError
from kvalidate.trees.git import GitTree

from_env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **from_env, "HOME": str(repo.parent)}
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, env=env,
                          check=True).stdout.decode()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """v1: a small tree with a symlinked dir and file; then the work tree changes, uncommitted."""
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    (r / "roles/a/templates").mkdir(parents=True)
    (r / "roles/a/templates/x.j2").write_text("v1 {{ x }}\n")
    (r / "bin.dat").write_bytes(bytes(range(256)))
    (r / "empty").write_text("")
    os.symlink("a", r / "roles/alias")
    os.symlink("../../x.j2", r / "roles/a/templates/up.j2")  # roles/x.j2: a dangling link
    os.symlink("../../../x", r / "roles/out")  # leaves the tree
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "v1")
    git(r, "tag", "v1")
    (r / "roles/a/templates/x.j2").write_text("v2\n")
    (r / "roles/b").mkdir()
    (r / "roles/b/new.yml").write_text("new\n")
    git(r, "add", "-A")
    git(r, "commit", "-q", "-m", "v2")
    (r / "roles/a/templates/x.j2").write_text("dirty work tree\n")
    return r


@pytest.mark.parametrize(("ref", "path", "text"), [
    ("v1", "roles/a/templates/x.j2", "v1 {{ x }}\n"),
    ("main", "roles/a/templates/x.j2", "v2\n"),
    ("HEAD~1", "roles/alias/templates/x.j2", "v1 {{ x }}\n"),
    ("v1", "./roles/a/../a/templates/x.j2", "v1 {{ x }}\n"),
    ("v1", "empty", ""),
])
def test_read(repo: Path, ref: str, path: str, text: str) -> None:
    with GitTree(repo, ref) as t:
        assert t.read_text(path) == text


def test_binary_and_many_reads(repo: Path) -> None:
    with GitTree(repo, "main") as t:
        for _ in range(50):
            assert t.read_bytes("bin.dat") == bytes(range(256))
            assert t.read_text("roles/b/new.yml") == "new\n"


@pytest.mark.parametrize(("ref", "path", "is_file", "is_dir", "listing"), [
    ("v1", "", False, True, ["bin.dat", "empty", "roles"]),
    ("v1", "roles", False, True, ["a", "alias", "out"]),
    ("main", "roles", False, True, ["a", "alias", "b", "out"]),
    ("v1", "roles/alias", False, True, ["templates"]),
    ("v1", "roles/alias/templates", False, True, ["up.j2", "x.j2"]),
    ("v1", "roles/b", False, False, []),
    ("v1", "roles/a/templates/x.j2", True, False, []),
    ("v1", "roles/a/templates/up.j2", False, False, []),  # dangling
    ("v1", "roles/out", False, False, []),  # escapes
    ("v1", "../x", False, False, []),
])
def test_shape(repo: Path, ref: str, path: str, is_file: bool, is_dir: bool, listing: list[str]) -> None:
    with GitTree(repo, ref) as t:
        assert (t.is_file(path), t.is_dir(path), t.list_dir(path)) == (is_file, is_dir, listing)


@pytest.mark.parametrize("path", ["roles/out", "roles/a/templates/up.j2", "missing", "/etc/passwd", "../x"])
def test_unreadable(repo: Path, path: str) -> None:
    with GitTree(repo, "v1") as t, pytest.raises(TreeError):
        t.read_bytes(path)


def test_is_a_tree_and_labelled(repo: Path) -> None:
    with GitTree(repo, "v1") as t:
        assert isinstance(t, Tree)
        assert t.label == f"{repo}@v1"
        assert len(t.commit) == 40


def test_unknown_ref(repo: Path) -> None:
    with pytest.raises(SetupError, match="nope"):
        GitTree(repo, "nope")


def test_never_touches_the_work_tree(repo: Path) -> None:
    before = git(repo, "status", "--porcelain")
    with GitTree(repo, "v1") as t:
        t.read_text("roles/a/templates/x.j2")
    assert git(repo, "status", "--porcelain") == before == " M roles/a/templates/x.j2\n"
    assert (repo / "roles/a/templates/x.j2").read_text() == "dirty work tree\n"


def test_bare_repository_and_checkout(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    git(src, "init", "-q", "-b", "release-x")
    files = {"playbooks/cluster.yml": "[]\n", "roles/kubespray_defaults/defaults/main.yml": "kube_version: 1.2.3\n"}
    for rel, text in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "c")
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(bare)], check=True, capture_output=True)
    with GitTree(bare, "release-x") as t:
        ck = open_checkout(t)
        assert (ck.defaults_role, ck.default_kube_version) == ("kubespray_defaults", "1.2.3")


def test_changed_paths_since_a_ref(repo: Path) -> None:
    from kvalidate.trees.git import changed_paths

    (repo / "untracked.txt").write_text("u\n")
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "ignored.log").write_text("i\n")
    git(repo, "mv", "empty", "renamed")
    index = (repo / ".git/index").stat().st_mtime_ns
    assert changed_paths(repo, "v1") == {"roles/a/templates/x.j2", "roles/b/new.yml", "empty", "renamed",
                                         "untracked.txt", ".gitignore"}
    assert changed_paths(repo, "main") == {"roles/a/templates/x.j2", "empty", "renamed", "untracked.txt",
                                           ".gitignore"}
    # relative to a checkout in a subdirectory of the repository
    assert changed_paths(repo / "roles", "v1") == {"a/templates/x.j2", "b/new.yml"}
    assert (repo / ".git/index").stat().st_mtime_ns == index  # read-only: the index is not refreshed
    with pytest.raises(SetupError, match="nope"):
        changed_paths(repo, "nope")


def test_a_subdirectory_of_the_repository_is_its_own_tree(repo: Path) -> None:
    with GitTree(repo / "roles", "v1") as t:
        assert t.read_text("a/templates/x.j2") == "v1 {{ x }}\n"
        assert t.list_dir("") == ["a", "alias", "out"]
        assert t.read_text("alias/templates/x.j2") == "v1 {{ x }}\n"
        with pytest.raises(TreeError, match="escapes"):
            t.read_text("out/x")
    with pytest.raises(SetupError, match=r"Not a valid object name [0-9a-f]+:roles/b"):
        GitTree(repo / "roles" / "b", "v1")  # not there at v1


def _read_many(tree: GitTree, paths: list[str], rounds: int, out: object) -> None:
    texts = {p: tree.read_bytes(p) for p in paths}
    ok = all(tree.read_bytes(p) == texts[p] for _ in range(rounds) for p in paths)
    out.put(ok and texts == {p: (b"v2\n" if p.endswith("x.j2") else bytes(range(256))) for p in paths})  # type: ignore[attr-defined]


def test_a_forked_worker_reads_through_its_own_git_process(repo: Path) -> None:
    """A tree opened (and read) by the parent before it forks workers, as `kvalidate check --ref`
    does: parent and workers read at the same time, each through its own `git cat-file`, never
    through the parent's pipe (two readers on one pipe get each other's objects). `Popen.poll()`
    in a fork happens to report the parent's process as ended (ECHILD); the tree checks its pid."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    tree = GitTree(repo, "main")
    paths = ["roles/a/templates/x.j2", "bin.dat"]
    assert tree.read_text(paths[0]) == "v2\n"  # the parent's git process is running
    parent_proc = tree._proc
    out = ctx.Queue()
    kids = [ctx.Process(target=_read_many, args=(tree, paths, 300, out)) for _ in range(2)]
    for k in kids:
        k.start()
    _read_many(tree, paths, 300, out)
    results = [out.get(timeout=120) for _ in range(3)]
    for k in kids:
        k.join(60)
        assert k.exitcode == 0
    assert results == [True, True, True]
    assert tree._proc is parent_proc  # the parent kept its own
    tree.close()
