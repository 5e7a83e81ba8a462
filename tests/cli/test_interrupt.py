"""Ctrl-C, SIGTERM and a killed parent during a multi-cell `kvalidate check` (the embedded demo, 25 cells
on two workers): one line, 128 + the signal, no traceback, no worker left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _session(sid: int) -> list[int]:
    """Live (not zombie) processes of the session `sid`: the command and every worker it forked."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = (Path("/proc") / entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # state, ppid, pgrp, session, ...
        if int(fields[3]) == sid and fields[0] != "Z":
            out.append(int(entry))
    return out


def _workers(parent: int) -> list[int]:
    return [p for p in _session(parent) if p != parent]


def _start_check(tmp_path: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "kvalidate"
    env = {**os.environ, "KVALIDATE_CACHE_DIR": str(tmp_path / "cache")}  # cold: compiling makes the run longer
    proc = subprocess.Popen([str(exe), "check", str(ROOT / "templates_under_test"), "-j", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60  # generous: the workers start ~1 s in, on a loaded machine later
    while len(_workers(proc.pid)) < 2:
        assert proc.poll() is None, "the check ended before it could be interrupted"
        assert time.monotonic() < deadline, "no workers after 60 s"
        time.sleep(0.01)
    time.sleep(0.2)  # cells under way
    assert proc.poll() is None, "the check ended before it could be interrupted"
    return proc


@pytest.mark.parametrize(("signum", "whole_group", "code"), [
    (signal.SIGINT, True, 130),  # Ctrl-C in a terminal: the command and its workers get SIGINT
    (signal.SIGINT, False, 130),  # kill -INT of the command alone
    (signal.SIGTERM, False, 143),  # kill, a CI runner's cancel
])
def test_an_interrupted_check_says_so_in_one_line_and_leaves_no_worker(
    tmp_path: Path, signum: int, whole_group: bool, code: int,
) -> None:
    proc = _start_check(tmp_path)
    (os.killpg if whole_group else os.kill)(proc.pid, signum)
    _, err = proc.communicate(timeout=60)  # generous; it takes well under a second
    assert proc.returncode == code, err
    assert err.decode() == "kvalidate: interrupted\n"
    assert _session(proc.pid) == []  # the workers were ended and reaped before the command exited


def test_workers_die_with_a_killed_parent(tmp_path: Path) -> None:
    proc = _start_check(tmp_path)
    proc.kill()
    proc.wait(timeout=60)
    deadline = time.monotonic() + 10  # generous: the kernel signals them at once (PR_SET_PDEATHSIG)
    while _session(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _session(proc.pid) == []
