"""Matrix runs on a real Kubespray checkout: wall, CPU and peak memory of `kvalidate check`.

Two runs, each a `kvalidate check` child process measured from outside (wall clock; CPU and peak
RSS of the whole process tree from the children's rusage, which counts forked workers):

1. ci: every CI scenario of the checkout (`tests/files/*.yml`) x its supported Kubernetes minors
   (`kube_versions: supported`), the everyday PR matrix. Target: <= 60 s wall on 2 cores,
   <= 1 GB peak RSS.
2. calico: a pairwise matrix over the calico role's boolean flags (the variables its templates
   test with `if`, found by `autocover.template_flags`, whose role default is a boolean), on
   the default cell, against the size of their full product.
3. auto: automatic coverage (`--auto`) from the default cell: per template the task's gate held
   open and every pair of the template's own flags.

The matrix file is written to a temporary directory (never into the checkout). Baselines in the
same run: one cell alone (process start-up, imports, schemas) gives the fixed cost.

Usage: python benchmarks/matrix.py [CHECKOUT] [--jobs N] [--only ci|auto|single] [--scenarios GLOB]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KVALIDATE = [sys.executable, "-m", "kvalidate"]
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


def measure(args: list[str], label: str) -> dict[str, Any]:
    """Run one `kvalidate check` child; wall, CPU (user+sys of the process tree), peak RSS of the
    tree (sum over the parent and its workers, sampled every 50 ms)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.json"
        t0 = time.perf_counter()
        proc = subprocess.Popen([*KVALIDATE, *args, "-f", f"json={report}"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.05)
        stderr = proc.stderr.read() if proc.stderr else ""
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode > 1:
            raise SystemExit(f"{label}: exit {proc.returncode}: {stderr.strip()}")
        data = json.loads(report.read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    findings = data.get("findings", [])
    return {
        "run": label, "cells": len(data.get("cells", [])), "files": data.get("summary", {}).get("files"),
        "errors": sum(1 for f in findings if f.get("severity") == "error"),
        "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
        # summed RSS counts pages forked workers share with the parent once per process: an upper
        # bound of the memory the run needs
        "peak_rss_mb": round(peak / 2**20, 1),
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkout", nargs="?", default="/work/ks/master")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", choices=["ci", "calico", "auto", "single"], action="append")
    ap.add_argument("--scenarios", default="*.yml", help="glob of CI scenarios (default: all)")
    ns = ap.parse_args()
    runs = ns.only or ["single", "ci", "calico", "auto"]
    rows = []
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "kvalidate.yaml"
        config.write_text(f"scenarios: [{json.dumps(ns.scenarios)}]\nkube_versions: supported\n", encoding="utf-8")
        jobs = ["--jobs", str(ns.jobs)]
        if "single" in runs:
            rows.append(measure(["check", ns.checkout, "--no-config", "-j", "1"], "single default cell"))
        if "ci" in runs:
            rows.append(measure(["check", ns.checkout, "--config", str(config), *jobs],
                                f"CI scenarios {ns.scenarios} x supported minors"))
        if "calico" in runs:
            axes = calico_flags(Path(ns.checkout))
            calico = Path(tmp) / "calico.yaml"
            calico.write_text(json.dumps({"vars": {"kube_network_plugin": "calico"}, "axes": axes,
                                          "pairwise": [sorted(axes)]}), encoding="utf-8")
            row = measure(["check", ns.checkout, "--config", str(calico), *jobs],
                          f"calico pairwise, {len(axes)} flags (product {2 ** len(axes)})")
            rows.append(row)
        if "auto" in runs:
            rows.append(measure(["check", ns.checkout, "--no-config", "--auto", *jobs], "auto coverage"))
    print(f"{'run':<44} {'cells':>5} {'files':>6} {'errors':>6} {'wall s':>7} {'cpu s':>7} {'tree RSS MB':>11}")
    for r in rows:
        print(f"{r['run']:<44} {r['cells']:>5} {r['files'] or 0:>6} {r['errors']:>6} {r['wall_s']:>7} "
              f"{r['cpu_s']:>7} {r['peak_rss_mb']:>11}")
    print(f"load average before/after: {load0} / {os.getloadavg()}")
    print(f"cores: {len(os.sched_getaffinity(0))}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
