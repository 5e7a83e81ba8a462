"""Benchmark: one whole Kubespray CI scenario (all hosts, all templates, validation included),
kvalidate against the reference renderer that runs real Ansible (docs/fidelity.md), in the same run.

    python benchmarks/scenario.py --checkout /path/to/kubespray [--scenario ubuntu24-calico-all-in-one] \
        [--oracle PATH/TO/render] [--rounds 3] [--compare OTHER_KVALIDATE_TREE]

kvalidate is timed three ways, each `--rounds` times (medians printed, every round listed):

- cold, empty cache: a fresh `kvalidate check` process with an empty compiled-template cache (the
  first run on a machine);
- cold, warm cache: a fresh process with that cache filled (every later single-scenario command;
  the issue 16 target: <= 0.5 s wall, >= 100x the reference renderer's wall time);
- the cell again inside a warm process (what each further cell of a matrix costs).

Each tree runs with its own byte-compiled modules (compiled before the first round, as an
installed wheel is: the run never compiles Python source) and its own template cache. With
`--compare TREE` (another kvalidate source tree, e.g. `git archive main | tar -x -C /tmp/base`), the
fresh-process figures of both trees are taken in alternation within each round: before/after under
the same load. The reference renderer (`--oracle`, its venv `$ORACLE_VENV`, default
/tmp/oracle-venv) runs `--oracle-rounds` times (default 1: ~50 s each) in the same run; without it
only kvalidate's figures are printed. The load average is printed with every figure.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child_run(cmd: list[str], env: dict[str, str] | None = None,
               cwd: Path | None = None) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS MB of the children so far, exit code)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return wall, cpu, after.ru_maxrss / 1024, proc.returncode


class Tree:
    def __init__(self, label: str, root: Path, scratch: Path) -> None:
        self.label, self.root, self.scratch = label, root, scratch
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.env = {**env, "PYTHONPATH": str(root), "PYTHONPYCACHEPREFIX": str(scratch / f"pyc-{label}")}
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "kvalidate")], env=self.env,
                       check=True, stdout=subprocess.DEVNULL)
        self.warm_cache = scratch / f"cache-{label}"

    def run(self, cmd: list[str], cache: Path) -> tuple[float, float, float, int]:
        return _child_run([sys.executable, "-m", "kvalidate", *cmd], {**self.env, "KVALIDATE_CACHE_DIR": str(cache)},
                          cwd=self.root)


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkout", required=True, type=Path)
    ap.add_argument("--scenario", default="ubuntu24-calico-all-in-one")
    ap.add_argument("--oracle", type=Path, default=None, help="the reference renderer's render script")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--oracle-rounds", type=int, default=1)
    ap.add_argument("--compare", type=Path, default=None, help="another kvalidate tree, measured in the same rounds")
    args = ap.parse_args()
    scen = f"tests/files/{args.scenario}.yml"
    cmd = ["check", str(args.checkout.resolve()), "--no-config", "--scenario", args.scenario, "-f", "json=/dev/null"]
    print(f"scenario {args.scenario} on {args.checkout}; load average at start {_load()}")

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        trees = [Tree("this", ROOT, scratch)]
        if args.compare is not None:
            trees.insert(0, Tree("before", args.compare.resolve(), scratch))
        for tree in trees:
            tree.run(cmd, tree.warm_cache)  # fills the tree's cache
        cold: dict[str, list[tuple[float, float, float, int]]] = {t.label: [] for t in trees}
        warm: dict[str, list[tuple[float, float, float, int]]] = {t.label: [] for t in trees}
        for r in range(args.rounds):
            for tree in trees:
                c = tree.run(cmd, scratch / f"empty-{tree.label}-{r}")
                w = tree.run(cmd, tree.warm_cache)
                cold[tree.label].append(c)
                warm[tree.label].append(w)
                print(f"  round {r + 1} {tree.label:<6} empty cache {c[0]:.2f} s wall {c[1]:.2f} s CPU; "
                      f"warm cache {w[0]:.2f} s wall {w[1]:.2f} s CPU; load {_load()}", flush=True)

    def med(rows: list[tuple[float, float, float, int]], i: int) -> float:
        return statistics.median(row[i] for row in rows)

    for tree in trees:
        c, w = cold[tree.label], warm[tree.label]
        print(f"[{tree.label}] kvalidate check, fresh process, empty template cache (median of {len(c)}): "
              f"{med(c, 0):.2f} s wall, {med(c, 1):.2f} s CPU")
        print(f"[{tree.label}] kvalidate check, fresh process, template cache filled (median of {len(w)}): "
              f"{med(w, 0):.2f} s wall, {med(w, 1):.2f} s CPU; peak RSS {max(x[2] for x in w):.0f} MB; "
              f"exit {w[-1][3]}")

    # The same cell again inside one process (this tree): the cost of each further cell of a matrix.
    sys.path.insert(0, str(ROOT))
    from kvalidate.model import Cell
    from kvalidate.run.check import CheckOptions, Worker

    worker = Worker(CheckOptions(checkout=args.checkout.resolve()))
    cell = Cell(args.scenario, scenario=scen)
    worker.run("", cell)
    in_rounds = []
    for _ in range(args.rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        result = worker.run("", cell)
        in_rounds.append((time.perf_counter() - t0, time.process_time() - c0))
    in_wall = statistics.median(x[0] for x in in_rounds)
    print(f"[this] kvalidate, the cell again in a warm process (median of {args.rounds}): {in_wall:.2f} s wall, "
          f"{statistics.median(x[1] for x in in_rounds):.2f} s CPU ({result.files} renderings, "
          f"{result.documents} documents, {result.errors} errors); load {_load()}")

    venv = Path(os.environ.get("ORACLE_VENV", "/tmp/oracle-venv"))
    if args.oracle is None or not args.oracle.exists() or not (venv / "bin" / "ansible-playbook").exists():
        print("oracle not available: no ratio (give --oracle and set up its venv, see docs/fidelity.md)")
        return
    o_rows = []
    for _ in range(args.oracle_rounds):
        with tempfile.TemporaryDirectory() as out:
            ocmd = [str(args.oracle), "scenario", str(args.checkout), "--out", out, "--vars",
                    str(args.checkout / "tests/common_vars.yml"), "--vars", str(args.checkout / scen),
                    "--layout", "auto", "--os", "auto", "--no-sample-group-vars"]
            o_rows.append(_child_run(ocmd))
    o_wall, o_cpu = med(o_rows, 0), med(o_rows, 1)
    print(f"oracle (ansible-playbook, real Ansible; median of {len(o_rows)}): {o_wall:.1f} s wall, {o_cpu:.1f} s CPU; "
          f"load {_load()}")
    for tree in trees:
        print(f"[{tree.label}] ratio (oracle wall / kvalidate wall): fresh process, empty cache "
              f"{o_wall / med(cold[tree.label], 0):.0f}x; fresh process, cache filled "
              f"{o_wall / med(warm[tree.label], 0):.0f}x (target >= 100x)")
    print(f"[this] further cell in a warm process {o_wall / in_wall:.0f}x")


if __name__ == "__main__":
    main()
