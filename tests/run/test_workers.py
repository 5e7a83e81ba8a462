"""Workers of `kvalidate check` (run.check): a worker that dies, a cell that hangs, a cell that allocates
without bound. The hooks are test-only: `check_cell` is replaced here before the workers are forked, so
every worker runs the replacement; it does what the cell's name asks, then the real check."""

from __future__ import annotations

import os
import resource
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from ksfixture import FILES, TYPHA, write_checkout

import kvalidate.run.check as check_mod
from kvalidate.cli import main
from kvalidate.model import Cell, Finding, Result, SetupError
from kvalidate.run.check import CheckOptions, Limits, run_check
from kvalidate.run.workers import death

BUGGY = {"typha_enabled": True, "typha_secure": True, "calico_ipam_host_local": True}
CLEAN = {"typha_enabled": True}


def _kill(signum: int) -> Callable[[int], None]:
    def act(attempt: int) -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file of the test's worker
        os.kill(os.getpid(), signum)
        time.sleep(10)  # never reached: the signal ends the process

    return act


def _kill_first(attempt: int) -> None:
    if attempt == 1:
        os.kill(os.getpid(), signal.SIGKILL)


def _exit_3(attempt: int) -> None:
    os._exit(3)


def _hang(attempt: int) -> None:
    time.sleep(600)


def _allocate(attempt: int) -> None:
    bytearray(8 << 30)  # 8 GiB: past any cap set here, and not written to (a MemoryError, or nothing)


HOOKS: dict[str, Callable[[int], None]] = {}


@pytest.fixture
def hooked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Replace `check_cell` (in this process, so in every worker forked from it); each attempt at a
    cell is a line in ATTEMPTS/<cell>, written before the hook acts."""
    attempts = tmp_path / "attempts"
    attempts.mkdir()
    real = check_mod.check_cell

    def check_cell(checkout: Any, cell: Cell, ref: str, options: Any, cache: Any) -> Result:
        log = attempts / cell.name
        with log.open("a") as f:
            f.write(f"{os.getpid()}\n")
        act = HOOKS.get(cell.name.split(":")[0])
        if act is not None:
            act(len(log.read_text().splitlines()))
        return real(checkout, cell, ref, options, cache)

    monkeypatch.setattr(check_mod, "check_cell", check_cell)
    return attempts


HOOKS.update({"sigkill": _kill(signal.SIGKILL), "sigsegv": _kill(signal.SIGSEGV), "exit3": _exit_3,
              "kill-once": _kill_first, "hang": _hang, "allocate": _allocate})


def _by_cell(result: Result) -> dict[str, list[tuple[str, str, str, int]]]:
    out: dict[str, list[tuple[str, str, str, int]]] = {}
    for f in result.findings:
        out.setdefault(f.cell, []).append((f.rule, f.host, f.path, f.template_line))
    return out


def _run(checkout: Path, names: list[str], limits: Limits, jobs: int = 2) -> tuple[Result, float]:
    cells = tuple(Cell(n, extra_vars=BUGGY if "buggy" in n else CLEAN) for n in names)
    start = time.monotonic()
    result = run_check(CheckOptions(checkout=checkout, cells=cells, jobs=jobs, limits=limits))
    return result, time.monotonic() - start


def _only(result: Result, cell: str) -> Finding:
    found = [f for f in result.findings if f.cell == cell]
    assert len(found) == 1, found
    return found[0]


def _normal(checkout: Path) -> list[tuple[str, str, str, int]]:
    """The buggy cell's findings from a run in this process, without workers or limits."""
    cells = (Cell("buggy", extra_vars=BUGGY),)
    found = _by_cell(run_check(CheckOptions(checkout=checkout, cells=cells, jobs=1, limits=Limits.NONE)))["buggy"]
    assert ("unknown-field", "node1", "spec.template.spec.containers[0].volumeMounts[1].value", 29) in found
    return found


# (hook and cell name, limits, jobs, rule of the cell's one finding, words in its message, attempts)
DIES = [
    ("sigkill", Limits(), 2, "internal-error", ["died twice", "killed by SIGKILL (out of memory?)"], 2),
    ("sigkill", Limits(), 1, "internal-error", ["died twice", "killed by SIGKILL (out of memory?)"], 2),
    ("sigsegv", Limits(), 2, "internal-error", ["killed by SIGSEGV (a crash in C code)"], 2),
    ("exit3", Limits(), 2, "internal-error", ["exited with code 3"], 2),
    ("hang", Limits(cell_timeout=2), 2, "sandbox", ["exceeded 2 s", "KVALIDATE_CELL_TIMEOUT"], 1),
    ("hang", Limits(cell_timeout=2), 1, "sandbox", ["exceeded 2 s"], 1),
    ("allocate", Limits(worker_memory=1 << 30), 2, "sandbox", ["ran out of memory", "1 GiB"], 1),
]


@pytest.mark.parametrize(("hook", "limits", "jobs", "rule", "words", "attempts"), DIES)
def test_a_cell_that_ends_its_worker_is_a_finding_and_every_other_cell_is_checked(
    hooked: Path, tmp_path: Path, hook: str, limits: Limits, jobs: int, rule: str, words: list[str],
    attempts: int,
) -> None:
    checkout = write_checkout(tmp_path / "ks")
    # the bad cell between others, so that cells before and after it (and on its worker) are run
    result, elapsed = _run(checkout, ["buggy:1", "clean:1", hook, "buggy:2", "clean:2", "buggy:3"], limits, jobs)
    # generous: the run itself is ~2 s; only a worker nobody noticed (a hang) would take longer than this
    assert elapsed < 60
    f = _only(result, hook)
    assert f.rule == rule, f
    for word in words:
        assert word in f.message, f.message
    assert "Traceback" not in f.message
    pids = (hooked / hook).read_text().split()
    assert len(pids) == attempts and len(set(pids)) == attempts  # a retry runs in another (fresh) worker
    cells = _by_cell(result)
    normal = _normal(checkout)
    for name in ("buggy:1", "buggy:2", "buggy:3"):
        assert cells[name] == normal
    assert "clean:1" not in cells and "clean:2" not in cells
    assert result.files == 5 * 3  # every other cell's renderings (three hosts each)
    assert [c.name for c in result.cells] == ["buggy:1", "clean:1", hook, "buggy:2", "clean:2", "buggy:3"]


def test_a_worker_that_dies_once_is_replaced_and_the_cell_retried(hooked: Path, tmp_path: Path) -> None:
    checkout = write_checkout(tmp_path / "ks")
    result, _ = _run(checkout, ["buggy:1", "kill-once:buggy", "clean:1"], Limits(), 2)
    cells = _by_cell(result)
    normal = _normal(checkout)
    assert cells == {"buggy:1": normal, "kill-once:buggy": normal}
    assert len((hooked / "kill-once:buggy").read_text().split()) == 2
    assert result.files == 9


def test_results_and_progress_are_those_of_an_in_process_run(hooked: Path, tmp_path: Path) -> None:
    checkout = write_checkout(tmp_path / "ks")
    names = [f"{kind}:{i}" for i in range(4) for kind in ("buggy", "clean")]
    cells = tuple(Cell(n, extra_vars=BUGGY if "buggy" in n else CLEAN) for n in names)
    calls: list[tuple[int, int, int]] = []
    inproc = run_check(CheckOptions(checkout=checkout, cells=cells, jobs=1, limits=Limits.NONE))
    workers = run_check(CheckOptions(checkout=checkout, cells=cells, jobs=3, limits=Limits()),
                        lambda done, total, found: calls.append((done, total, found)))
    assert workers.findings == inproc.findings and workers.files == inproc.files
    # stats alike, but for how many evaluations were reused: that depends on which cells each process ran before
    assert workers.checked == inproc.checked
    assert replace(workers.stats, reuse={}) == replace(inproc.stats, reuse={})
    assert workers.stats.reuse["done"] > 0 and inproc.stats.reuse["done"] > 0
    assert [c[:2] for c in calls] == [(i, 8) for i in range(1, 9)]
    # findings so far: non-decreasing, all of them once every cell is done
    assert [c[2] for c in calls] == sorted(c[2] for c in calls) and calls[-1][2] == len(workers.findings) > 0
    pids = {p for name in names for p in (hooked / name).read_text().split()}
    assert os.getpid() in {int(p) for p in pids}  # the in-process run
    assert 2 <= len(pids) <= 4  # and three workers (at most), each running several cells


MEMORY_BOMB = TYPHA.replace("  replicas: {{ typha_replicas }}\n",
                            "  replicas: {{ typha_replicas }}\n"
                            "  # {{ 'x'.ljust(bomb_size | int) if bomb_size is defined else '' }}\n")


def test_the_memory_cap_turns_a_template_allocation_into_a_sandbox_finding_at_its_line(tmp_path: Path) -> None:
    checkout = write_checkout(tmp_path / "ks", {
        **FILES, "roles/network_plugin/calico/templates/calico-typha.yml.j2": MEMORY_BOMB})
    cells = (Cell("bomb", extra_vars={**CLEAN, "bomb_size": 6 << 30}), Cell("buggy", extra_vars=BUGGY))
    start = time.monotonic()
    result = run_check(CheckOptions(checkout=checkout, cells=cells, jobs=2,
                                    limits=Limits(worker_memory=768 << 20)))
    assert time.monotonic() - start < 60  # generous: ~2 s; a 6 GiB string would swap, or be killed
    bomb = [f for f in result.findings if f.cell == "bomb"]
    assert {(f.rule, f.host, f.template_line) for f in bomb} == {
        ("sandbox", h, 8) for h in ("node1", "node2", "node3")}
    assert all(f.template.endswith("calico-typha.yml.j2") for f in bomb)
    plain = write_checkout(tmp_path / "plain")
    assert _by_cell(result)["buggy"] == [(r, h, p, line + 1) for r, h, p, line in _normal(plain)]


# Work that passes every guard of the sandbox (each power stays under its bit limit, the loop under
# its item limit) but takes minutes in all: only the per-cell deadline stops it.
SLOW = TYPHA.replace("  replicas: {{ typha_replicas }}\n",
                     "  replicas: {{ typha_replicas }}\n"
                     "  # {% if backtrack is defined %}{% for j in range(1000) %}{% for i in range(100000) %}"
                     "{{ (2 ** (65000 - i % 2)) % 7 }}{% endfor %}{% endfor %}{% endif %}\n")


def test_a_template_past_the_deadline_is_a_sandbox_finding_naming_the_template(tmp_path: Path) -> None:
    checkout = write_checkout(tmp_path / "ks", {
        **FILES, "roles/network_plugin/calico/templates/calico-typha.yml.j2": SLOW})
    cells = (Cell("slow", extra_vars={**CLEAN, "backtrack": True}), Cell("buggy", extra_vars=BUGGY))
    start = time.monotonic()
    result = run_check(CheckOptions(checkout=checkout, cells=cells, jobs=2, limits=Limits(cell_timeout=3)))
    assert time.monotonic() - start < 60  # generous: ~4 s (the deadline, then a second for the stack)
    f = _only(result, "slow")
    template = "roles/network_plugin/calico/templates/calico-typha.yml.j2"
    assert (f.rule, f.template, f.file) == ("sandbox", template, template), f
    assert _by_cell(result)["buggy"]  # the other cell is reported


@pytest.mark.parametrize(("env", "expected"), [
    ({}, Limits(300.0, 1 << 30)),
    ({"KVALIDATE_CELL_TIMEOUT": "30"}, Limits(30.0, 1 << 30)),
    ({"KVALIDATE_CELL_TIMEOUT": "0.5", "KVALIDATE_WORKER_MEMORY": "512M"}, Limits(0.5, 512 << 20)),
    ({"KVALIDATE_CELL_TIMEOUT": "0", "KVALIDATE_WORKER_MEMORY": "0"}, Limits.NONE),
    ({"KVALIDATE_WORKER_MEMORY": "3GiB"}, Limits(300.0, 3 << 30)),
    ({"KVALIDATE_WORKER_MEMORY": "1.5g"}, Limits(300.0, 3 << 29)),
    ({"KVALIDATE_WORKER_MEMORY": "1000000"}, Limits(300.0, 1000000)),
    ({"KVALIDATE_WORKER_MEMORY": " "}, Limits(300.0, 1 << 30)),
    ({"KVALIDATE_CELL_TIMEOUT": "soon"}, "KVALIDATE_CELL_TIMEOUT='soon': expected seconds"),
    ({"KVALIDATE_CELL_TIMEOUT": "-1"}, "KVALIDATE_CELL_TIMEOUT='-1'"),
    ({"KVALIDATE_CELL_TIMEOUT": "inf"}, "KVALIDATE_CELL_TIMEOUT='inf'"),
    ({"KVALIDATE_CELL_TIMEOUT": "nan"}, "KVALIDATE_CELL_TIMEOUT='nan'"),
    ({"KVALIDATE_WORKER_MEMORY": "lots"}, "KVALIDATE_WORKER_MEMORY='lots': expected bytes"),
    ({"KVALIDATE_WORKER_MEMORY": "-2G"}, "KVALIDATE_WORKER_MEMORY='-2G'"),
])
def test_limits_from_the_environment(env: dict[str, str], expected: Limits | str) -> None:
    if isinstance(expected, Limits):
        assert Limits.from_env(env) == expected
    else:
        with pytest.raises(SetupError, match=expected.replace("(", r"\(")):
            Limits.from_env(env)


@pytest.mark.parametrize(("exitcode", "words"), [
    (-signal.SIGKILL, "killed by SIGKILL (out of memory?)"),
    (-signal.SIGSEGV, "killed by SIGSEGV (a crash in C code)"),
    (-signal.SIGTERM, "killed by SIGTERM"),
    (1, "exited with code 1"),
    (None, "vanished"),
])
def test_how_a_worker_ended_in_words(exitcode: int | None, words: str) -> None:
    assert death(exitcode) == words


def test_an_unusable_limit_is_exit_2_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    checkout = write_checkout(tmp_path / "ks")
    monkeypatch.setenv("KVALIDATE_WORKER_MEMORY", "two gigs")
    assert main(["check", str(checkout)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["kvalidate: KVALIDATE_WORKER_MEMORY='two gigs': expected bytes, e.g. 2G or 512M (0: no cap)"]


def test_a_setup_error_inside_a_worker_ends_the_run_as_before(hooked: Path, tmp_path: Path) -> None:
    checkout = write_checkout(tmp_path / "ks")

    def refuse(attempt: int) -> None:
        raise SetupError("cannot read inventory x: no such file")

    HOOKS["refuse"] = refuse
    try:
        with pytest.raises(SetupError, match="cannot read inventory x"):
            _run(checkout, ["clean:1", "refuse", "clean:2"], Limits(), 2)
    finally:
        del HOOKS["refuse"]
