"""CPU per cell of a matrix with and without reuse (kvalidate/ansible/reuse.py), in the same run.

Runs `kvalidate check CHECKOUT --config MATRIX -j JOBS` as a child process ROUNDS times with reuse on
and ROUNDS times with KVALIDATE_NO_REUSE=1, alternating (so that both see the same machine load),
and prints per mode: the median CPU seconds (user+sys of the process tree, forked workers included)
per cell, the median wall time, and the reuse counts of the JSON report's `summary.reuse`.

Usage: python scripts/reuse_bench.py CHECKOUT --config MATRIX.yaml [--jobs N] [--rounds 3]
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


def run(checkout: str, config: str, jobs: int, reuse: bool) -> dict[str, Any]:
    env = dict(os.environ)
    env.pop("KVALIDATE_NO_REUSE", None)
    if not reuse:
        env["KVALIDATE_NO_REUSE"] = "1"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.json"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "kvalidate", "check", checkout, "--config", config,
                               "-j", str(jobs), "-f", f"json={report}"], env=env, cwd=ROOT,
                              capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode > 1:
            raise SystemExit(f"exit {proc.returncode}: {proc.stderr.strip()}")
        data = json.loads(report.read_text(encoding="utf-8"))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = data.get("summary", {})
    return {"cells": len(data.get("cells", [])), "cpu": cpu, "wall": wall, "reuse": summary.get("reuse", {}),
            "findings": len(data.get("findings", []))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkout")
    ap.add_argument("--config", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ns = ap.parse_args()
    rows: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    load0 = os.getloadavg()
    for _ in range(ns.rounds):
        for reuse in (False, True):
            row = run(ns.checkout, ns.config, ns.jobs, reuse)
            rows[reuse].append(row)
            print(f"reuse={'on' if reuse else 'off'}: {row['cells']} cells, {row['cpu']:.1f} s CPU, "
                  f"{row['wall']:.1f} s wall, reuse {row['reuse']}, {row['findings']} findings", flush=True)
    for reuse in (False, True):
        r = rows[reuse]
        cells = r[0]["cells"]
        cpu = statistics.median(x["cpu"] for x in r)
        wall = statistics.median(x["wall"] for x in r)
        counts = r[-1]["reuse"]
        ratio = counts.get("reused", 0) / counts["done"] if counts.get("done") else 0.0
        print(f"reuse {'on ' if reuse else 'off'}: median {cpu:.1f} s CPU = {cpu / cells:.3f} s per cell, "
              f"median wall {wall:.1f} s (-j {ns.jobs}); evaluations done {counts.get('done', 0)}, "
              f"reused {counts.get('reused', 0)} ({ratio:.1%})")
    same = {json.dumps(x["findings"]) for x in rows[True] + rows[False]}
    print(f"findings equal in every run: {len(same) == 1}")
    print(f"load average before/after: {load0} / {os.getloadavg()}; cores {len(os.sched_getaffinity(0))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
