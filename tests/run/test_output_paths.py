"""Where kvalidate writes (`--emit DIR`, `-f NAME=PATH`): checked before the run starts; an
unusable place is one line and exit 2, an input or the checkout is never overwritten, and a write
that fails during the run is one line (exit 2), never a finding per document."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvalidate.cli import main
from kvalidate.model import SetupError
from kvalidate.run.emit import check_emit_names, emit, prepare_emit_dir
from kvalidate.validation.renderings import RenderingLike

BUG = ["-e", "typha_enabled=true", "-e", '{"typha_secure": true, "calico_ipam_host_local": true}']
OK = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\ndata:\n  a: b\n"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], list[str]]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def _layout(tmp_path: Path) -> Path:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.yaml").write_text(OK)
    (tmp_path / "file").write_text("in the way\n")
    (tmp_path / "sub").mkdir()
    return tmp_path


# (report PATH relative to tmp_path, the one line expected on stderr, after "kvalidate: ")
VALIDATE_REPORTS = [
    ("in/a.yaml", "report {t}/in/a.yaml is inside the input directory {t}/in: the next run would read it as input"),
    ("in", "report {t}/in is an input of this run: it would be overwritten"),
    ("in/new.json", "report {t}/in/new.json is inside the input directory {t}/in: the next run would read it as input"),
    ("file/r.json", "cannot write report {t}/file/r.json: Not a directory"),
    ("sub", "cannot write report {t}/sub: it is a directory"),
    ("missing/r.json", "cannot write report {t}/missing/r.json: no such directory {t}/missing"),
    ("/proc/kvalidate.json", "cannot write report /proc/kvalidate.json: /proc is not a place for reports"),
    ("/proc/self/status", "cannot write report /proc/self/status: /proc is not a place for reports"),
    ("/sys/kernel/r.json", "cannot write report /sys/kernel/r.json: /sys is not a place for reports"),
]


@pytest.mark.parametrize(("report", "message"), VALIDATE_REPORTS)
def test_validate_refuses_a_report_path_before_reading_anything(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], report: str, message: str) -> None:
    t = _layout(tmp_path)
    path = report if report.startswith("/") else f"{t}/{report}"
    before = {p: p.read_bytes() for p in t.rglob("*") if p.is_file()}
    code, out, err = run(["validate", f"{t}/in", "-f", f"json={path}"], capsys)
    assert (code, out, err) == (2, [], [f"kvalidate: {message.format(t=t)}"])
    assert {p: p.read_bytes() for p in t.rglob("*") if p.is_file()} == before  # nothing written, nothing left


def test_the_same_report_path_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = _layout(tmp_path)
    code, _, err = run(["validate", f"{t}/in/a.yaml", "-f", f"json={t}/r.out", "-f", f"sarif={t}/./r.out"], capsys)
    assert (code, err) == (2, [f"kvalidate: report {t}/./r.out is requested twice (-f json=... and -f sarif=...)"])


def test_an_input_file_is_never_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = _layout(tmp_path)
    code, _, err = run(["validate", f"{t}/in/a.yaml", "-f", f"text={t}/in/a.yaml"], capsys)
    assert (code, err) == (2, [f"kvalidate: report {t}/in/a.yaml is an input of this run: it would be overwritten"])
    assert (t / "in" / "a.yaml").read_text() == OK


def test_an_input_file_given_through_a_symlink_is_still_an_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = _layout(tmp_path)
    (t / "link.yaml").symlink_to(t / "in" / "a.yaml")
    code, _, err = run(["validate", f"{t}/in/a.yaml", "-f", f"json={t}/link.yaml"], capsys)
    assert code == 2 and "is an input of this run" in err[0]
    assert (t / "in" / "a.yaml").read_text() == OK


@pytest.mark.parametrize("report", ["r.json", "out/r.sarif"])
def test_usable_report_paths_are_written(tmp_path: Path, capsys: pytest.CaptureFixture[str], report: str) -> None:
    t = _layout(tmp_path)
    (t / "out").mkdir()
    (t / "out" / "r.sarif").write_text("old")  # an existing report is replaced, as before
    code, _, err = run(["validate", f"{t}/in", "-f", f"json={t}/{report}", "-f", "json=/dev/null"], capsys)
    assert (code, err) == (0, []) and (t / report).read_text().startswith("{")


def test_merge_refuses_to_overwrite_a_shard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = _layout(tmp_path)
    assert run(["validate", f"{t}/in", "-f", f"json={t}/s1.json"], capsys)[0] == 0
    code, _, err = run(["merge", f"{t}/s1.json", "-f", f"json={t}/s1.json"], capsys)
    assert code == 2 and err == [f"kvalidate: report {t}/s1.json is an input of this run: it would be overwritten"]


def test_render_refuses_to_overwrite_its_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tpl = tmp_path / "t.yaml.j2"
    tpl.write_text(OK)
    code, _, err = run(["render", str(tpl), "--validate", "-f", f"text={tpl}"], capsys)
    assert code == 2 and "is an input of this run" in err[0] and tpl.read_text() == OK


# -- check: reports and --emit ----------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["-f", "json={c}/playbooks/cluster.yml"], "report {c}/playbooks/cluster.yml is a file of the checkout {c}: "
     "it would be overwritten (kvalidate never writes into what it checks)"),
    (["--emit", "{c}/out"], "--emit {c}/out is inside the checkout: kvalidate never writes into the checkout"),
    (["--emit", "{t}"], "--emit {t} holds the checkout {c}: kvalidate never writes into the checkout"),
    (["--emit", "{t}/file"], "cannot use --emit {t}/file: it is a file, not a directory"),
    (["--emit", "{t}/file/sub"], "cannot write into --emit {t}/file/sub: Not a directory"),
    (["--emit", "/proc/kvalidate-emit"], "cannot use --emit /proc/kvalidate-emit: /proc is not a place for files"),
    (["--emit", "/dev/shm/../null"], "cannot use --emit /dev/shm/../null: /dev is not a place for files"),
])
def test_check_refuses_an_output_place_before_the_run(
        checkout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    (tmp_path / "file").write_text("in the way\n")
    before = sorted(str(p) for p in checkout.rglob("*"))
    argv = [a.format(c=checkout, t=tmp_path) for a in args]
    code, out, err = run(["check", str(checkout), "-j", "1", *argv], capsys)
    assert (code, out, err) == (2, [], [f"kvalidate: {message.format(c=checkout, t=tmp_path)}"])
    assert sorted(str(p) for p in checkout.rglob("*")) == before


def test_a_new_report_file_in_the_checkout_is_written(checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`cd kubespray && kvalidate check -f sarif=kvalidate.sarif`, run twice: the report is the user's file,
    not part of what is checked (the checkout is no git repository here: only a file that did not exist
    before, or one kvalidate wrote, is written)."""
    report = checkout / "kvalidate.json"
    code, _, _ = run(["check", str(checkout), *BUG, "-j", "1", "-f", f"json={report}"], capsys)
    assert code in (0, 1) and '"findings"' in report.read_text()


def test_a_tracked_file_of_a_git_checkout_is_refused_an_untracked_report_is_not(
        checkout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ksfixture import git

    git(checkout, "init", "-q", "-b", "main")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-qm", "c")
    (checkout / "old-report.json").write_text("{}\n")  # untracked: an earlier run's report
    code, _, _ = run(["check", str(checkout), *BUG, "-j", "1", "-f", f"json={checkout / 'old-report.json'}"],
                     capsys)
    assert code in (0, 1) and '"findings"' in (checkout / "old-report.json").read_text()
    playbook = checkout / "playbooks" / "cluster.yml"
    code, _, err = run(["check", str(checkout), "-j", "1", "-f", f"json={playbook}"], capsys)
    assert code == 2 and "is a file of the checkout" in err[0]


def test_an_emit_write_failing_during_the_run_is_one_line(
        checkout: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The directory passes the preflight; a host's directory is blocked by a file. Before: every
    document of the cell became an internal-error finding (exit 1)."""
    out = tmp_path / "emit"
    out.mkdir()
    (out / "node1").write_text("in the way\n")
    code, stdout, err = run(["check", str(checkout), *BUG, "-j", "1", "--emit", str(out)], capsys)
    assert code == 2 and stdout == [] and len(err) == 1
    assert err[0].startswith(f"kvalidate: cannot write --emit file {out}/node1/") and err[0].endswith("Not a directory")


class _R:
    def __init__(self, host: str, dest: str, text: str = "x\n") -> None:
        self.host, self.dest, self.text, self.via, self.role, self.template = host, dest, text, "template", "r", "t.j2"


@pytest.mark.parametrize(("host", "dest", "written"), [
    ("node1", "/etc/a.yaml", "node1/etc/a.yaml"),
    ("node1", "/etc/../../../escape.yaml", None),  # `..` in a dest stays inside DIR or is skipped
    ("..", "/escape.yaml", None),  # a host named `..` (an inventory is untrusted)
    ("node1", "/link/x.yaml", None),  # a symlink planted in DIR pointing out of it
])
def test_emit_never_writes_outside_its_directory(tmp_path: Path, host: str, dest: str, written: str | None) -> None:
    root = tmp_path / "emit"
    (root / "node1").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "node1" / "link").symlink_to(tmp_path / "outside")
    renderings: list[RenderingLike] = [_R(host, dest)]  # type: ignore[list-item]
    assert emit(renderings, root) == (1 if written else 0)
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == ([f"emit/{written}"] if written else [])


@pytest.mark.parametrize("name", ["..", ".", "a/..", "ok", "a/b"])
def test_cell_and_ref_names_that_would_leave_the_emit_directory(tmp_path: Path, name: str) -> None:
    bad = name.replace("/", "_") in (".", "..")
    if bad:
        with pytest.raises(SetupError, match="would write outside DIR"):
            check_emit_names(["fine", name])
        if name != ".":  # pathlib drops a `.` part: DIR/. is DIR, harmless
            with pytest.raises(SetupError, match="may not be named"):
                emit([], tmp_path / "emit" / name.replace("/", "_"))
    else:
        check_emit_names([name])


def test_prepare_emit_dir_creates_and_leaves_no_probe(tmp_path: Path) -> None:
    root = prepare_emit_dir(tmp_path / "a" / "b", tmp_path / "ks")
    assert root == (tmp_path / "a" / "b").resolve() and root.is_dir() and list(root.iterdir()) == []
