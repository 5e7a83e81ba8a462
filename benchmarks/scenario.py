"""Benchmark: one whole Kubespray CI scenario (all hosts, all templates, validation included),
kvalidate against the reference renderer that runs real Ansible (docs/fidelity.md), in the same run.

    .venv/bin/python benchmarks/scenario.py --checkout /path/to/kubespray \
        [--scenario ubuntu24-calico-all-in-one] [--oracle PATH/TO/render] [--rounds 3]

kvalidate is timed three ways: a fresh process with an empty compiled-template cache (the first run
on a machine), a fresh process with that cache filled (every later run), and a cell run again inside
a warm process (what each further cell of a matrix costs). Peak RSS is the process tree's. Without
`--oracle` (or when the oracle's venv is missing) only kvalidate's figures are printed.
Target (issue 4): at least 100x faster than the oracle on the same scenario.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child_run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS MB of the children so far, exit code)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return wall, cpu, after.ru_maxrss / 1024, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkout", required=True, type=Path)
    ap.add_argument("--scenario", default="ubuntu24-calico-all-in-one")
    ap.add_argument("--oracle", type=Path, default=None, help="the reference renderer's render script")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    exe = str(Path(sys.executable).parent / "kvalidate")
    scen = f"tests/files/{args.scenario}.yml"
    cmd = [exe, "check", str(args.checkout), "--no-config", "--scenario", args.scenario, "-f", "json=/dev/null"]

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "KVALIDATE_CACHE_DIR": cache}
        cold = _child_run(cmd, env)
        warm = min((_child_run(cmd, env) for _ in range(args.rounds)), key=lambda r: r[0])
    print(f"scenario {args.scenario} on {args.checkout}")
    print(f"kvalidate check, fresh process, empty template cache: {cold[0]:.2f} s wall, {cold[1]:.2f} s CPU")
    print(f"kvalidate check, fresh process, template cache filled (best of {args.rounds}): {warm[0]:.2f} s wall, "
          f"{warm[1]:.2f} s CPU; peak RSS {warm[2]:.0f} MB; exit {warm[3]}")

    # The same cell again inside one process: the cost of each further cell of a matrix.
    from kvalidate.model import Cell
    from kvalidate.run.check import CheckOptions, Worker

    worker = Worker(CheckOptions(checkout=args.checkout.resolve()))
    cell = Cell(args.scenario, scenario=scen)
    worker.run("", cell)
    t0, c0 = time.perf_counter(), time.process_time()
    result = worker.run("", cell)
    in_wall, in_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"kvalidate, the cell again in a warm process: {in_wall:.2f} s wall, {in_cpu:.2f} s CPU "
          f"({result.files} renderings, {result.documents} documents, {result.errors} errors)")

    venv = Path(os.environ.get("ORACLE_VENV", "/tmp/oracle-venv"))
    if args.oracle is None or not args.oracle.exists() or not (venv / "bin" / "ansible-playbook").exists():
        print("oracle not available: no ratio (give --oracle and set up its venv, see docs/fidelity.md)")
        return
    with tempfile.TemporaryDirectory() as out:
        ocmd = [str(args.oracle), "scenario", str(args.checkout), "--out", out, "--vars",
                str(args.checkout / "tests/common_vars.yml"), "--vars", str(args.checkout / scen),
                "--layout", "auto", "--os", "auto", "--no-sample-group-vars"]
        o_wall, o_cpu, _, _ = _child_run(ocmd)
    print(f"oracle (ansible-playbook, real Ansible): {o_wall:.1f} s wall, {o_cpu:.1f} s CPU")
    print(f"ratio (oracle wall / kvalidate wall): fresh process, empty cache {o_wall / cold[0]:.0f}x; "
          f"fresh process, cache filled {o_wall / warm[0]:.0f}x; further cell in a warm process "
          f"{o_wall / in_wall:.0f}x (target >= 100x)")


if __name__ == "__main__":
    main()
