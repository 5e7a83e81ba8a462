"""Reporters: one function per format over the whole Result. REPORTERS = {name: write}."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from kvalidate.model import Result, SetupError
from kvalidate.report import github, json_report, junit, markdown, sarif, text

Reporter = Callable[[Result, TextIO], None]

REPORTERS: dict[str, Reporter] = {
    "text": text.write,
    "json": json_report.write,
    "junit": junit.write,
    "sarif": sarif.write,
    "github": github.write,
    "markdown": markdown.write,
}


# what `kvalidate validate DIR` reads from a directory (documents.SUFFIXES): a report there would be
# read as input by the next run
INPUT_SUFFIXES = (".yaml", ".yml", ".json")
_SUFFIX = {"junit": "xml", "text": "txt", "github": "txt", "markdown": "md"}  # a file name to suggest
_PSEUDO = (Path("/proc"), Path("/sys"))


def parse_formats(specs: Sequence[str] | None, inputs: Sequence[str | Path] = (),
                  checkouts: Sequence[str | Path] = ()) -> list[tuple[str, str | None]]:
    """`--format NAME[=PATH]` arguments -> (format, path or None for stdout); default: text.

    Every PATH is checked before the run (`check_report_path`): writable, not an input (a file of
    `inputs`, or a YAML/JSON file inside a directory of `inputs`), not inside a checkout, not twice.
    At most one format goes to stdout (two would be one stream no reader can split: `-f json -f
    sarif`); the exception is `github` beside `text`, whose workflow commands the runner picks out
    of any log line."""
    out: list[tuple[str, str | None]] = []
    seen: dict[Path, str] = {}
    names = [spec.partition("=")[0] for spec in specs or ["text"]]
    for name in names:
        if name not in REPORTERS:
            raise SetupError(f"unknown format {name!r}: choose from {', '.join(REPORTERS)}")
    to_stdout = [spec for spec in specs or ["text"] if "=" not in spec or not spec.partition("=")[2]]
    if len(to_stdout) > 1 and sorted(to_stdout) != ["github", "text"]:
        named = [f"-f {s.rstrip('=')}" for s in to_stdout]
        last = to_stdout[-1].rstrip("=")
        raise SetupError(f"{', '.join(named[:-1])} and {named[-1]} would {'both' if len(named) == 2 else 'all'} "
                         "write to stdout, one stream no reader can split: give all but one a file "
                         f"(-f {last}=kvalidate.{_SUFFIX.get(last, last)})")
    for spec in specs or ["text"]:
        name, _, path = spec.partition("=")
        if path:
            where = check_report_path(path, inputs, checkouts)
            if where in seen:
                raise SetupError(f"report {path} is requested twice (-f {seen[where]}=... and -f {name}=...)")
            seen[where] = name
        out.append((name, path or None))
    summary = os.environ.get(github.STEP_SUMMARY, "")
    if summary and any(name == "github" for name, _ in out):  # -f github appends the markdown there
        try:
            check_report_path(summary, inputs, checkouts)
        except SetupError as e:
            raise SetupError(f"{e} (${github.STEP_SUMMARY}, where -f github appends its summary)") from e
    return out


def _inside(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _part_of_checkout(root: Path, where: Path) -> bool:
    """Is `where` (an existing file inside the checkout) part of it? In a git checkout, a file git
    tracks; elsewhere, any existing file. A new file, or an untracked one such as the report of an
    earlier run, may be written: `cd kubespray && kvalidate check -f sarif=kvalidate.sarif` is the
    usual CI step."""
    try:
        run = subprocess.run(["git", "-C", str(root), "ls-files", "--error-unmatch", "--", str(where)],
                             capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return True
    if run.returncode == 0:
        return True  # tracked
    return b"not a git repository" in run.stderr.lower()  # no git: every existing file is the checkout's


def check_report_path(path: str, inputs: Sequence[str | Path] = (), checkouts: Sequence[str | Path] = ()) -> Path:
    """Raise SetupError (one line) unless a report can be written to `path` without harm; returns
    its resolved path. Nothing is left behind: an existing file is opened for appending (never
    truncated), a new one is created and removed again."""
    where = Path(os.path.abspath(path))
    try:
        where = where.parent.resolve() / where.name  # the file itself may be a symlink: judged by its target
        if where.is_symlink():
            where = where.resolve()
    except (OSError, RuntimeError) as e:
        raise SetupError(f"cannot write report {path}: {e}") from e
    if any(_inside(where, p) for p in _PSEUDO):
        raise SetupError(f"cannot write report {path}: /{where.parts[1]} is not a place for reports")
    for c in checkouts:
        root = Path(c).resolve()
        if _inside(where, root) and where.exists() and _part_of_checkout(root, where):
            raise SetupError(f"report {path} is a file of the checkout {c}: it would be overwritten "
                             "(kvalidate never writes into what it checks)")
    for i in inputs:
        if str(i) == "-":
            continue
        given = Path(i).resolve()
        if where == given:
            raise SetupError(f"report {path} is an input of this run: it would be overwritten")
        if given.is_dir() and given in where.parents and where.suffix in INPUT_SUFFIXES:
            raise SetupError(f"report {path} is inside the input directory {i}: the next run would read it as input")
    try:
        st = where.stat()
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise SetupError(f"cannot write report {path}: {e.strerror or e}") from e
    try:
        if st is None:
            if not where.parent.is_dir():
                raise SetupError(f"cannot write report {path}: no such directory {where.parent}")
            with open(where, "x", encoding="utf-8"):
                pass
            os.unlink(where)
        elif stat.S_ISDIR(st.st_mode):
            raise SetupError(f"cannot write report {path}: it is a directory")
        elif stat.S_ISREG(st.st_mode):
            with open(where, "a", encoding="utf-8"):
                pass
        # a character device or FIFO (/dev/stdout, a pipe) is written as it is, never probed
    except OSError as e:
        raise SetupError(f"cannot write report {path}: {e.strerror or e}") from e
    return where


def write_reports(result: Result, formats: Sequence[tuple[str, str | None]]) -> None:
    """Every requested report: to its file, or to stdout."""
    with ExitStack() as stack:
        for name, path in formats:
            stream: TextIO = sys.stdout
            if path:
                try:
                    stream = stack.enter_context(open(path, "w", encoding="utf-8"))  # noqa: SIM115
                except OSError as e:
                    raise SetupError(f"cannot write report {path}: {e.strerror or e}") from e
            REPORTERS[name](result, stream)
