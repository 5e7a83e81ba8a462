"""The worker processes of `kvalidate check`, supervised by the parent (README "Resource limits").

The parent runs its own fork workers, one cell at a time each over a pipe, so that it always knows
which cell a worker holds and since when:

- a worker that dies (the OOM killer, a crash in C code) is noticed at once: its cell is retried once in
  a fresh worker, and if that one dies too the cell is an `internal-error` finding naming the signal;
  every other cell still runs;
- a cell that runs longer than `cell_timeout` (a hang in C code that passed the sandbox's guards) has
  its worker killed and is a `sandbox` finding on that cell, naming the template it was stuck in;
- every worker's address space is capped (`RLIMIT_AS`, `worker_memory`), so an allocation bomb in C
  code is a MemoryError inside the cell, a finding, instead of taking the machine;
- workers ignore SIGINT and die on SIGTERM (and with the parent): on Ctrl-C or SIGTERM the parent stops
  them and the interruption goes on up to the command line.
"""

from __future__ import annotations

import ctypes
import faulthandler
import multiprocessing
import os
import re
import resource
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, ClassVar

from kvalidate.ansible.errors import debug
from kvalidate.model import Cell, Finding, Result, SetupError, Severity

Task = Callable[[tuple[str, Cell]], Result]  # (ref, cell) -> its Result, run inside a worker

_GIB = 1 << 30
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": _GIB, "t": 1 << 40}


@dataclass(frozen=True)
class Limits:
    """What one cell may use, enforced outside the template sandbox: a wall-clock deadline per cell
    (the parent kills the worker) and an address-space cap per worker process. 0 turns one off."""

    cell_timeout: float = 300.0  # seconds; env KVALIDATE_CELL_TIMEOUT
    worker_memory: int = _GIB  # bytes of address space (RLIMIT_AS); env KVALIDATE_WORKER_MEMORY

    NONE: ClassVar[Limits]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Limits:
        """The defaults, overridden by KVALIDATE_CELL_TIMEOUT (seconds) and KVALIDATE_WORKER_MEMORY
        (bytes, or with a unit: 512M, 2G; 0 for no cap). A value that is not one is a SetupError."""
        env = os.environ if env is None else env
        default = cls()
        timeout, memory = default.cell_timeout, default.worker_memory
        raw = env.get("KVALIDATE_CELL_TIMEOUT", "").strip()
        if raw:
            try:
                timeout = float(raw)
            except ValueError:
                timeout = -1.0
            if not 0 <= timeout < float("inf"):
                raise SetupError(f"KVALIDATE_CELL_TIMEOUT={raw!r}: expected seconds (a number >= 0; 0: no deadline)")
        raw = env.get("KVALIDATE_WORKER_MEMORY", "").strip()
        if raw:
            m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", raw.lower())
            if m is None:
                raise SetupError(f"KVALIDATE_WORKER_MEMORY={raw!r}: expected bytes, e.g. 2G or 512M (0: no cap)")
            memory = int(float(m.group(1)) * _UNITS[m.group(2)])
        return cls(timeout, memory)

    @property
    def enforced(self) -> bool:
        return bool(self.cell_timeout or self.worker_memory)


Limits.NONE = Limits(0, 0)


def size(n: int) -> str:
    return f"{n / _GIB:g} GiB" if n >= _GIB else f"{n / (1 << 20):.0f} MiB"



def cell_finding(rule: str, ref: str, cell: Cell, message: str) -> Finding:
    return Finding(severity=Severity.ERROR, rule=rule, message=message, cell=cell.name, ref=ref)


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_PR_SET_PDEATHSIG = 1


@dataclass
class _Proc:
    """A worker as the parent sees it: its process, its end of the pipe, the cell it holds."""

    process: BaseProcess
    conn: Connection
    task: int | None = None
    since: float = 0.0
    ran: int = 0  # cells sent to it so far (0: fresh)
    stack: int = -1  # read end of the pipe the worker writes its Python stack to on SIGUSR1


def _worker_main(conn: Connection, limits: Limits, parent: int, inherited: list[Connection], stack: int,
                 task: Task) -> None:
    """A worker's loop: (index, ref, cell) in, (index, Result) or (index, exception, traceback) out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the parent decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # blocked by the parent around the fork
    for other in inherited:  # the parent's ends of its other workers' pipes: EOF must mean the parent is gone
        other.close()
    _die_with_parent(parent)
    if not debug():  # a worker's crash is a finding (the parent's), not a stack dump on stderr
        faulthandler.disable()
    # on SIGUSR1 the stack is written from C, even while C code holds the GIL: the watchdog asks for it
    # before it kills a cell that ran too long, to name the template it was stuck in
    faulthandler.register(signal.SIGUSR1, file=stack, all_threads=False)
    if limits.worker_memory:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = limits.worker_memory if hard == resource.RLIM_INFINITY else min(limits.worker_memory, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, ref, cell = message
        try:
            reply: tuple[Any, ...] = (index, task((ref, cell)))
        except BaseException as e:  # noqa: BLE001 - SetupError, or anything under KVALIDATE_DEBUG=1: the parent raises it
            reply = (index, e, traceback.format_exc())
        try:
            conn.send(reply)
        except Exception as e:  # noqa: BLE001 - an unpicklable exception, or no memory left to pickle the result
            conn.send((index, RuntimeError(f"cell {cell.name}: cannot send its result: {type(e).__name__}: {e}"),
                       traceback.format_exc()))


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this worker when the parent dies, even mid-cell (SIGKILL of the parent)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _start(ctx: Any, procs: list[_Proc], limits: Limits, task: Task) -> _Proc:
    conn, child = ctx.Pipe()
    stack_r, stack_w = os.pipe()
    os.set_blocking(stack_r, False)
    args = (child, limits, os.getpid(), [p.conn for p in procs], stack_w, task)
    process = ctx.Process(target=_worker_main, args=args, daemon=True, name="kvalidate-worker")
    # no stop signal between fork and the worker's own handlers (it would run the parent's in the child)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    child.close()
    os.close(stack_w)
    proc = _Proc(process, conn, stack=stack_r)
    procs.append(proc)
    return proc


def _stop(procs: list[_Proc], graceful: bool) -> None:
    """End every worker: a clean exit after a finished run, else SIGTERM (then SIGKILL); always reaped."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)  # a second Ctrl-C must not leave workers behind
    try:
        for p in procs:
            if graceful and p.task is None:
                try:
                    p.conn.send(None)
                except OSError:
                    pass
            elif p.process.is_alive():
                p.process.terminate()
        deadline = time.monotonic() + 5
        for p in procs:
            p.process.join(max(0.0, deadline - time.monotonic()))
            if p.process.is_alive():
                p.process.kill()
                p.process.join()
            _close(p)
        procs.clear()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def death(exitcode: int | None) -> str:
    """How a worker ended, in words: "killed by SIGKILL (out of memory?)", "exited with code 3"."""
    if exitcode is None:
        return "vanished"
    if exitcode >= 0:
        return f"exited with code {exitcode}"
    try:
        name = signal.Signals(-exitcode).name
    except ValueError:
        name = f"signal {-exitcode}"
    hint = {"SIGKILL": " (out of memory?)", "SIGSEGV": " (a crash in C code)", "SIGBUS": " (a crash in C code)",
            "SIGABRT": " (a crash in C code)"}.get(name, "")
    return f"killed by {name}{hint}"


def supervised(tasks: list[tuple[str, Cell]], jobs: int, limits: Limits, task: Task,
               keep: list[_Proc] | None = None) -> Iterator[tuple[int, Result]]:
    """Run `tasks` on `jobs` workers, yielding (index, Result) as cells finish. A cell whose worker
    died is retried once in a fresh worker; a cell past the deadline is not (a hang hangs again).
    With `keep` (a list the caller owns), the workers are taken from it and left in it, idle and
    warm, for the next call; the caller ends them with `stop_workers(keep)`."""
    ctx = multiprocessing.get_context("fork")
    pending: deque[int] = deque(range(len(tasks)))
    died: dict[int, str] = {}  # task index -> how its first worker ended
    procs: list[_Proc] = keep if keep is not None else []
    finished = False
    try:
        while pending or any(p.task is not None for p in procs):
            while pending:
                index = pending[0]
                proc = _worker_for(ctx, procs, jobs, limits, task, fresh=index in died)
                if proc is None:
                    break
                pending.popleft()
                ref, cell = tasks[index]
                proc.task, proc.since, proc.ran = index, time.monotonic(), proc.ran + 1
                try:
                    proc.conn.send((index, ref, cell))
                except OSError:
                    pass  # it died already: its sentinel says so below
            busy = [p for p in procs if p.task is not None]
            timeout = None
            if limits.cell_timeout:
                timeout = max(0.0, min(p.since for p in busy) + limits.cell_timeout - time.monotonic())
            ready = set(wait([p.conn for p in busy] + [p.process.sentinel for p in busy], timeout))
            for p in busy:
                assert p.task is not None
                index = p.task
                ref, cell = tasks[index]
                if p.conn in ready:
                    try:
                        reply = p.conn.recv()
                    except (EOFError, OSError):
                        reply = None
                    if reply is not None:
                        p.task = None
                        if len(reply) == 3:  # an exception the run must not swallow (SetupError, debug)
                            exc, trace = reply[1], reply[2]
                            if not isinstance(exc, SetupError):
                                exc.add_note(f"in the worker running cell {cell.name}:\n{trace}")
                            raise exc
                        yield index, reply[1]
                        continue
                if p.conn in ready or p.process.sentinel in ready:  # EOF without a reply: the worker died
                    p.process.join()
                    how = death(p.process.exitcode)
                    _drop(procs, p)
                    if index in died:
                        yield index, Result(findings=[cell_finding(
                            "internal-error", ref, cell, f"the worker running cell {cell.name} died twice "
                            f"({died[index]}, then {how}); the cell was not checked. "
                            f"{_memory_advice(limits)}")])
                    else:
                        died[index] = how
                        pending.appendleft(index)
                elif limits.cell_timeout and time.monotonic() - p.since >= limits.cell_timeout:
                    template = stuck_in(p)
                    p.process.kill()
                    p.process.join()
                    _drop(procs, p)
                    where = f" while rendering {template}" if template else ""
                    finding = cell_finding(
                        "sandbox", ref, cell, f"cell {cell.name} exceeded {limits.cell_timeout:g} s{where} "
                        "(KVALIDATE_CELL_TIMEOUT) and was stopped: a template, filter or lookup that does not "
                        "end (a catastrophic regex, a huge number)?")
                    yield index, Result(findings=[replace(finding, file=template, template=template)])
        finished = True
        if keep is None:
            _stop(procs, graceful=True)
    finally:
        if not finished or keep is None:
            _stop(procs, graceful=False)


def stop_workers(procs: list[_Proc]) -> None:
    """End the idle workers `supervised(..., keep=procs)` left running."""
    _stop(procs, graceful=True)


def _worker_for(ctx: Any, procs: list[_Proc], jobs: int, limits: Limits, task: Task, fresh: bool) -> _Proc | None:
    """An idle worker for the next cell (a fresh one for a retry), or None when all are busy."""
    idle = [p for p in procs if p.task is None and (p.ran == 0 or not fresh)]
    if idle:
        return idle[0]
    if len(procs) < jobs:
        return _start(ctx, procs, limits, task)
    if fresh:
        warm = [p for p in procs if p.task is None]
        if warm:  # make room for a fresh worker: the retried cell must not meet what killed the first
            warm[0].conn.send(None)
            warm[0].process.join(5)
            if warm[0].process.is_alive():
                warm[0].process.kill()
                warm[0].process.join()
            _drop(procs, warm[0])
            return _start(ctx, procs, limits, task)
    return None


def _drop(procs: list[_Proc], proc: _Proc) -> None:
    _close(proc)
    procs.remove(proc)


def _close(proc: _Proc) -> None:
    proc.conn.close()
    if proc.stack >= 0:
        os.close(proc.stack)
        proc.stack = -1


_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+)', re.MULTILINE)


def stuck_in(proc: _Proc, wait_s: float = 1.0, samples: int = 5) -> str:
    """The template a running worker is in (its innermost frame from a file that is not Python code:
    templates are compiled with their path as file name), from the stack it dumps on SIGUSR1; "" if none.

    A template's render function is a generator: between two of its chunks the worker runs the
    loop that joins them, and a stack taken then holds no template frame. So up to `samples`
    stacks are taken within `wait_s`, until one shows a template."""
    deadline = time.monotonic() + wait_s
    for _ in range(samples):
        try:
            os.kill(proc.process.pid or 0, signal.SIGUSR1)
        except OSError:
            return ""
        text = _read_stack(proc, min(deadline, time.monotonic() + wait_s / samples))
        for name, _line in _FRAME.findall(text):  # innermost first
            if not name.endswith(".py") and not name.startswith("<") and not os.path.isabs(name):
                return str(name)
        if time.monotonic() >= deadline:
            break
    return ""


def _read_stack(proc: _Proc, until: float) -> str:
    """One stack dump from the worker's pipe: read until it ends (a blank line, 100 lines) or `until`."""
    text = b""
    while time.monotonic() < until:
        if not wait([proc.stack], max(0.0, until - time.monotonic())):
            break
        try:
            chunk = os.read(proc.stack, 65536)
        except BlockingIOError:
            continue
        if not chunk:
            break
        text += chunk
        if b"\n\n" in text or text.count(b"\n") > 100:  # faulthandler ends a thread's stack with a blank line
            break
    return text.decode("utf-8", "replace")


def _memory_advice(limits: Limits) -> str:
    if limits.worker_memory:
        return (f"Each worker is capped at {size(limits.worker_memory)} (KVALIDATE_WORKER_MEMORY); "
                "fewer jobs (-j) leave each more of the machine's memory")
    return "Set KVALIDATE_WORKER_MEMORY to cap each worker's memory, or run fewer jobs (-j)"
