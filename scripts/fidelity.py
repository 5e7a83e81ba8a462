#!/usr/bin/env python3
"""Compare kvalidate's renderings (`kvalidate check --emit DIR`) with the oracle's (real Ansible).

    scripts/fidelity.py --oracle-root /work/oracle-out --emit-root /tmp/emit [--scenario NAME]...
    scripts/fidelity.py --oracle /work/oracle-out/X --emit /tmp/emit/X
    scripts/fidelity.py --render /work/ks/master --oracle-root /work/oracle-out --emit-root /tmp/emit \
        --scenario ubuntu24-calico-all-in-one --scenario default [-e KEY=VALUE]...

`--render CHECKOUT` first renders each scenario with kvalidate (`kvalidate.kubespray`: the CI
scenario `tests/files/NAME.yml`, or the default cell for `default`) into `--emit-root/NAME`,
timing it; `-e` adds extra vars to every cell; `--default-cell` renders the default cell whatever
the output's folder name (e.g. `r2.27-default-typha`); `--oracle-parity` renders as the oracle
runs (`kvalidate.run.cell.run_cell(oracle_parity=True)`).

Reference renderer side (`render scenario --out OUT`, docs/fidelity.md): `OUT/_manifest.jsonl` lists every
rendering. Template tasks write `OUT/HOST/DEST` (a DEST written twice keeps the last
rendering, as the host would); `lookup('template', T)` captures are in
`OUT/HOST/_captured/<role with / as _>/T`; `copy: content:` payloads are at `OUT/HOST/DEST`.
kvalidate side: `DIR/HOST/DEST`, and `DIR/HOST/_lookup/ROLE/TEMPLATE` for lookups.

A unit is one (destination, host) file: (template, host) for template tasks, (role/template,
host) for lookups. `copy: content:` payloads are counted apart (they are not templates).
Prints per scenario: identical / different / missing on either side, per host, and a unified
diff excerpt of each difference. `--json FILE` writes the numbers; `--min PCT` exits 1 when the
template+lookup identity rate of any scenario is below PCT.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CATEGORIES = ("template", "lookup", "copy-content")


@dataclass(frozen=True)
class Unit:
    host: str
    key: str  # "etc/kubernetes/kubeadm-config.yaml" or "_lookup/ROLE/TEMPLATE"
    category: str
    template: str  # checkout-relative template path, or ROLE/TEMPLATE for lookups
    path: Path


def _checkout_relative(template: str) -> str:
    i = template.rfind("/roles/")
    return template[i + 1:] if i >= 0 else template


def oracle_units(out: Path) -> dict[tuple[str, str], Unit]:
    manifest = out / "_manifest.jsonl"
    if not manifest.is_file():
        raise SystemExit(f"fidelity: no {manifest} (not an oracle scenario output)")
    units: dict[tuple[str, str], Unit] = {}
    for line in manifest.read_text().splitlines():
        if not line.strip():
            continue
        rec: dict[str, Any] = json.loads(line)
        host, kind = str(rec["host"]), str(rec.get("kind") or "template")
        if kind == "lookup":
            role = str(rec.get("role") or "play")
            key = f"_lookup/{role}/{rec['template']}"
            unit = Unit(host, key, "lookup", f"{role}/{rec['template']}", Path(rec["out"]))
        else:
            key = str(rec["dest"]).lstrip("/")
            tpl = _checkout_relative(str(rec.get("template") or rec.get("src") or ""))
            unit = Unit(host, key, kind, tpl if kind == "template" else f"(copy) {rec.get('task')}",
                        out / host / key)
        units[(host, key)] = unit  # the last rendering of a destination is what stays on the host
    return units


def emit_units(emit: Path) -> dict[tuple[str, str], Unit]:
    units: dict[tuple[str, str], Unit] = {}
    if not emit.is_dir():
        return units
    for host_dir in sorted(p for p in emit.iterdir() if p.is_dir() and not p.name.startswith("_")):
        for f in sorted(p for p in host_dir.rglob("*") if p.is_file()):
            key = f.relative_to(host_dir).as_posix()
            cat = "lookup" if key.startswith("_lookup/") else "template"
            units[(host_dir.name, key)] = Unit(host_dir.name, key, cat, key.removeprefix("_lookup/"), f)
    return units


def _diff(a: Path, b: Path, limit: int) -> list[str]:
    la = a.read_text(errors="replace").splitlines(keepends=False)
    lb = b.read_text(errors="replace").splitlines(keepends=False)
    lines = list(difflib.unified_diff(la, lb, "oracle", "kvalidate", n=1, lineterm=""))
    if not lines and a.read_bytes() != b.read_bytes():
        lines = ["(differs only in line endings or the final newline)"]
    return lines[:limit] + ([f"... {len(lines) - limit} more diff lines"] if len(lines) > limit else [])


def compare(name: str, oracle: Path, emit: Path, diff_lines: int, out: list[str]) -> dict[str, Any]:
    ours, theirs = emit_units(emit), oracle_units(oracle)
    stats: dict[str, Counter[str]] = {c: Counter() for c in CATEGORIES}
    per_host: dict[str, Counter[str]] = {}
    details: list[str] = []
    for k in sorted(set(ours) | set(theirs)):
        o, e = theirs.get(k), ours.get(k)
        cat = (o or e).category if (o or e) else "template"  # type: ignore[union-attr]
        host = k[0]
        if o and e:
            status = "identical" if o.path.read_bytes() == e.path.read_bytes() else "different"
        else:
            status = "missing_in_emit" if o else "extra_in_emit"
        stats[cat][status] += 1
        per_host.setdefault(host, Counter())[status] += 1
        if status == "identical":
            continue
        tpl = (o or e).template  # type: ignore[union-attr]
        details.append(f"  {status.upper():16} {host} /{k[1]}  [{tpl}]")
        if status == "different" and o and e:
            details += ["      " + ln for ln in _diff(o.path, e.path, diff_lines)]
    core = stats["template"] + stats["lookup"]
    total = sum(v for s, v in core.items() if s != "extra_in_emit")
    rate = 100.0 * core["identical"] / total if total else 0.0
    counts = ", ".join(f"{c} {sum(v for s, v in stats[c].items() if s != 'extra_in_emit')}"
                       for c in CATEGORIES)
    out.append(f"== {name}: oracle {len(theirs)} renderings ({counts}), kvalidate {len(ours)}")
    for c in CATEGORIES:
        s = stats[c]
        out.append(f"   {c:13} identical {s['identical']:4}  different {s['different']:4}  "
                   f"missing-in-emit {s['missing_in_emit']:4}  extra-in-emit {s['extra_in_emit']:4}")
    out.append(f"   template+lookup identical: {core['identical']}/{total} = {rate:.1f}%")
    for host, s in sorted(per_host.items()):
        out.append(f"   {host:14} " + "  ".join(f"{k} {v}" for k, v in sorted(s.items())))
    out += details
    return {"scenario": name, "rate": round(rate, 2), "identical": core["identical"], "total": total,
            "by_category": {c: dict(stats[c]) for c in CATEGORIES},
            "by_host": {h: dict(s) for h, s in sorted(per_host.items())}}


def render(checkout: Path, names: list[str], emit_root: Path, extra: dict[str, Any], out: list[str],
           default_cell: bool = False, parity: bool = False) -> None:
    """Render each named cell with kvalidate into emit_root/NAME (the measured pipeline)."""
    import shutil
    import time

    from kvalidate.kubespray.checkout import open_checkout
    from kvalidate.model import Cell
    from kvalidate.run.cell import render_cell
    from kvalidate.run.emit import emit
    from kvalidate.trees.directory import DirTree

    ck = open_checkout(DirTree(checkout))
    for name in names:
        t0 = time.perf_counter()
        scenario = "" if default_cell or name == "default" else name
        _, result = render_cell(ck, Cell(name, scenario=scenario, extra_vars=extra), oracle_parity=parity)
        took = time.perf_counter() - t0
        shutil.rmtree(emit_root / name, ignore_errors=True)
        n = emit(result.renderings, emit_root / name)
        out.append(f"rendered {name}: {n} files, {len(result.findings)} findings, {took:.2f} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--oracle-root", type=Path, help="folder of oracle scenario outputs (one subfolder each)")
    p.add_argument("--emit-root", type=Path, help="folder of `--emit` trees, same subfolder names")
    p.add_argument("--scenario", action="append", default=[], help="subfolder name (default: all)")
    p.add_argument("--oracle", type=Path, help="one oracle scenario output")
    p.add_argument("--emit", type=Path, help="one --emit tree")
    p.add_argument("--diff-lines", type=int, default=30, help="unified diff lines shown per difference")
    p.add_argument("--json", type=Path, help="write the numbers as JSON")
    p.add_argument("--min", type=float, help="exit 1 if a scenario's identity rate is below this percent")
    p.add_argument("--render", type=Path, metavar="CHECKOUT", help="render the scenarios with kvalidate first")
    p.add_argument("-e", dest="extra", action="append", default=[], metavar="KEY=VALUE",
                   help="extra var for --render (value parsed as YAML)")
    p.add_argument("--default-cell", action="store_true",
                   help="--render every output as the default cell (whatever its folder name)")
    p.add_argument("--oracle-parity", action="store_true",
                   help="--render as the oracle runs (stateless stat, download tasks emptied)")
    args = p.parse_args(argv)
    pairs: list[tuple[str, Path, Path]] = []
    if args.oracle and args.emit:
        pairs.append((args.oracle.name, args.oracle, args.emit))
    elif args.oracle_root and args.emit_root:
        names = args.scenario or sorted(d.name for d in args.oracle_root.iterdir()
                                        if (d / "_manifest.jsonl").is_file())
        pairs += [(n, args.oracle_root / n, args.emit_root / n) for n in names]
    else:
        p.error("give --oracle and --emit, or --oracle-root and --emit-root")
    lines: list[str] = []
    if args.render:
        import yaml

        extra = {k: yaml.safe_load(v) for k, _, v in (e.partition("=") for e in args.extra)}
        render(args.render, [n for n, _, _ in pairs], pairs[0][2].parent, extra, lines, args.default_cell,
               args.oracle_parity)
    results = [compare(n, o, e, args.diff_lines, lines) for n, o, e in pairs]
    ident, total = sum(r["identical"] for r in results), sum(r["total"] for r in results)
    lines.append(f"TOTAL template+lookup identical: {ident}/{total} = "
                 f"{100.0 * ident / total if total else 0.0:.1f}%")
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps({"scenarios": results, "identical": ident, "total": total}, indent=1))
    if args.min is not None and any(r["rate"] < args.min for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
