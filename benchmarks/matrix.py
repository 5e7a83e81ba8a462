"""Matrix runs on real Kubespray checkouts: wall, CPU (in all and per cell) and peak memory of `kvalidate check`.

Each run is a `kvalidate check` child process measured from outside (wall clock; CPU of the whole
process tree from the children's rusage, which counts forked workers; peak RSS of the tree sampled
every 50 ms, summed over the parent and its workers: an upper bound, shared pages count once per
process):

1. ci: every CI scenario of the checkout (`tests/files/*.yml`) x its supported Kubernetes minors
   (`kube_versions: supported`), the everyday PR matrix (195 cells on master). Targets (issue 16):
   <= 0.1 s CPU per cell on average, <= 15 s wall on two idle cores, <= 1 GB peak memory.
2. calico: a 3-wise matrix over the calico role's boolean flags (the variables its templates test
   with `if`, found by `matrix.auto.flags.template_flags`, whose role default is a boolean), on the
   default cell, against the size of their full product.
3. auto: automatic coverage (`--auto`) from the default cell of the checkout.
4. release: the same `--auto` run on a release branch's checkout (`--release PATH`, e.g. a
   release-2.27 clone); skipped without it.
5. single: one default cell alone (start-up, imports, schemas: the fixed cost).

The reuse ratio (evaluations whose result was reused / evaluations done) is read from the JSON
report's `summary.reuse` (`{"done": N, "reused": M}`) when the kvalidate measured reports it, else
"n/a".

Every run is repeated `--rounds` times (default 3) and the medians are printed, with the load
average before and after. With `--compare TREE` (another kvalidate source tree, e.g. `git archive
main | tar -x -C /tmp/base`), each round runs both trees one after the other, so that before/after
figures come from the same run under the same load. Each tree runs with its own compiled-bytecode
directory (byte-compiled before the first round, as an installed wheel is) and its own template
cache, filled by a warm-up run of the default cell. The matrix files are written to a temporary
directory (never into the checkout).

Usage: python benchmarks/matrix.py [CHECKOUT] [--release PATH] [--jobs N] [--rounds N]
           [--only single|ci|calico|auto|release ...] [--scenarios GLOB] [--compare TREE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants now (from /proc; 0 once it is gone)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * PAGE
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p and c not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return sum(rss.get(p, 0) for p in tree)


class Tree:
    """A kvalidate source tree to measure: its label, its directory and the environment its runs get."""

    def __init__(self, label: str, root: Path, scratch: Path) -> None:
        self.label, self.root = label, root
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.env = {**env, "PYTHONPATH": str(root), "PYTHONPYCACHEPREFIX": str(scratch / f"pyc-{label}"),
                    "KVALIDATE_CACHE_DIR": str(scratch / f"cache-{label}")}
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "kvalidate")], env=self.env,
                       check=True, stdout=subprocess.DEVNULL)


def measure(tree: Tree, args: list[str], label: str) -> dict[str, Any]:
    """Run one `kvalidate check` child of `tree`; wall, CPU (user+sys of the process tree), peak RSS of the
    tree (sum over the parent and its workers, sampled every 50 ms), the reuse counters if reported."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.json"
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "kvalidate", *args, "-f", f"json={report}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tree.root,
                                env=tree.env)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.05)
        stderr = proc.stderr.read() if proc.stderr else ""
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode > 1:
            raise SystemExit(f"{label} ({tree.label}): exit {proc.returncode}: {stderr.strip()[-2000:]}")
        data = json.loads(report.read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = data.get("summary", {})
    reuse = summary.get("reuse") if isinstance(summary.get("reuse"), dict) else None
    cells = len(data.get("cells", [])) or 1
    return {
        "run": label, "tree": tree.label, "cells": cells, "files": summary.get("files") or 0,
        "errors": sum(1 for f in data.get("findings", []) if f.get("severity") == "error"),
        "wall_s": wall, "cpu_s": cpu, "cpu_cell": cpu / cells, "peak_rss_mb": peak / 2**20,
        "reuse": (reuse.get("reused", 0) / reuse["done"]) if reuse and reuse.get("done") else None,
        "load": (load0, os.getloadavg()[0]),
    }


def calico_flags(checkout: Path) -> dict[str, list[bool]]:
    """Boolean role defaults that the calico role's templates test (from their Jinja AST)."""
    import yaml

    from kvalidate.matrix.auto.flags import template_flags

    defaults: dict[str, Any] = {}
    for f in sorted([*checkout.glob("roles/kubespray[-_]defaults/defaults/main/*.yml"),
                     *checkout.glob("roles/kubespray[-_]defaults/defaults/main.yml"),
                     *checkout.glob("roles/network_plugin/calico*/defaults/main.yml")]):
        defaults.update(yaml.load(f.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {})
    axes: dict[str, list[bool]] = {}
    for t in sorted(checkout.glob("roles/network_plugin/calico/templates/*.j2")):
        for name in template_flags(t.read_text(encoding="utf-8")).values:
            if isinstance(defaults.get(name), bool):
                axes[name] = [True, False]
    return axes


def _median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(rows[0])
    for key in ("wall_s", "cpu_s", "cpu_cell", "peak_rss_mb"):
        out[key] = statistics.median(r[key] for r in rows)
    reuse = [r["reuse"] for r in rows if r["reuse"] is not None]
    out["reuse"] = statistics.median(reuse) if reuse else None
    out["load"] = (min(r["load"][0] for r in rows), max(r["load"][1] for r in rows))
    out["rounds"] = len(rows)
    out["walls"] = [r["wall_s"] for r in rows]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkout", type=Path, help="a Kubespray checkout (master for the PR matrix)")
    ap.add_argument("--release", type=Path, default=None, help="a release branch's checkout for its --auto run")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", choices=["single", "ci", "calico", "auto", "release"], action="append")
    ap.add_argument("--scenarios", default="*.yml", help="glob of CI scenarios (default: all)")
    ap.add_argument("--compare", type=Path, default=None, help="another kvalidate tree, measured in the same rounds")
    ap.add_argument("--json", type=Path, default=None, help="also write every measurement here")
    ns = ap.parse_args()
    runs = ns.only or ["single", "ci", "calico", "auto", "release"]
    if ns.release is None and "release" in runs:
        runs.remove("release")
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        trees = [Tree("this", ROOT, scratch)]
        if ns.compare is not None:
            trees.insert(0, Tree("before", ns.compare.resolve(), scratch))
        checkout = str(ns.checkout)
        config = scratch / "kvalidate.yaml"
        config.write_text(f"scenarios: [{json.dumps(ns.scenarios)}]\nkube_versions: supported\n", encoding="utf-8")
        axes = calico_flags(ns.checkout)
        calico = scratch / "calico.yaml"
        calico.write_text(json.dumps({"vars": {"kube_network_plugin": "calico"}, "axes": axes,
                                      "pairwise": [{"axes": sorted(axes), "strength": 3}]}), encoding="utf-8")
        jobs = ["--jobs", str(ns.jobs)]
        plans: dict[str, tuple[list[str], str]] = {
            "single": (["check", checkout, "--no-config", "-j", "1"], "single default cell"),
            "ci": (["check", checkout, "--config", str(config), *jobs], f"CI scenarios {ns.scenarios} x supported"),
            "calico": (["check", checkout, "--config", str(calico), *jobs],
                       f"calico 3-wise, {len(axes)} flags (product {2 ** len(axes)})"),
            "auto": (["check", checkout, "--no-config", "--auto", *jobs], f"--auto on {ns.checkout.name}"),
        }
        if ns.release is not None:
            plans["release"] = (["check", str(ns.release), "--no-config", "--auto", *jobs],
                                f"--auto on {ns.release.name}")
        for tree in trees:  # fill each tree's template cache: every later run starts with it warm
            measure(tree, plans["single"][0], "warm-up")
        measured: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in range(ns.rounds):
            for name in runs:
                for tree in trees:
                    row = measure(tree, *plans[name])
                    measured.setdefault((name, tree.label), []).append(row)
                    reuse = f"{row['reuse']:.0%}" if row["reuse"] is not None else "n/a"
                    print(f"  round {r + 1} {tree.label:<6} {row['run']:<40} {row['cells']:>4} cells  wall "
                          f"{row['wall_s']:6.1f} s  cpu {row['cpu_s']:6.1f} s ({row['cpu_cell']:.3f}/cell)  "
                          f"RSS {row['peak_rss_mb']:.0f} MB  reuse {reuse}  load {row['load'][0]:.1f}",
                          file=sys.stderr, flush=True)
    rows = [_median_row(v) for v in measured.values()]
    names = ', '.join(f'{t.label}={t.root}' for t in trees)
    print(f"medians of {ns.rounds} round(s), --jobs {ns.jobs}; trees: {names}")
    print(f"{'run':<40} {'tree':<6} {'cells':>5} {'files':>6} {'errors':>6} {'wall s':>7} {'cpu s':>7} "
          f"{'cpu/cell':>8} {'tree RSS MB':>11} {'reuse':>6}  load")
    for r in rows:
        reuse = f"{r['reuse']:.0%}" if r["reuse"] is not None else "n/a"
        print(f"{r['run']:<40} {r['tree']:<6} {r['cells']:>5} {r['files']:>6} {r['errors']:>6} {r['wall_s']:>7.1f} "
              f"{r['cpu_s']:>7.1f} {r['cpu_cell']:>8.3f} {r['peak_rss_mb']:>11.0f} {reuse:>6}  "
              f"{r['load'][0]:.1f}-{r['load'][1]:.1f}")
    print(f"load average before/after: {' '.join(f'{x:.2f}' for x in load0)} / "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"cores: {len(os.sched_getaffinity(0))}, python {sys.version.split()[0]}")
    if ns.json is not None:
        ns.json.write_text(json.dumps({"medians": rows, "all": [x for v in measured.values() for x in v]}, indent=1),
                           encoding="utf-8")


if __name__ == "__main__":
    main()
