"""Renders per second for templates_under_test: kvalidate's engine vs ansible-core, same run.

Two comparisons, both on templates_under_test/cluster.yml over its 3-host inventory:

1. playbook: the whole run (variables, facts, set_fact, loops, every template task and
   lookup('template')). ansible-core: `ansible-playbook` with local connection and the test-only
   action plugins that capture outputs instead of writing them (tests/differential/oracle_plugins).
   kvalidate: `Engine.run_playbook`, a fresh engine each time (variable caches start empty; the
   compiled templates are shared by the process, as for the cells of a matrix).
2. template only: each rendering again, with variables already resolved (no lazy variable cost):
   ansible-core's Templar (as the template action calls it) vs kvalidate's Templar.render_file.

Usage: python benchmarks/render.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TREE = ROOT / "templates_under_test"
PLUGINS = ROOT / "tests" / "differential" / "oracle_plugins" / "action"
EXTRA = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}


def ansible_playbook() -> float:
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "KV_ORACLE_OUT": out, "ANSIBLE_ACTION_PLUGINS": str(PLUGINS),
               "ANSIBLE_CONFIG": str(TREE / "ansible.cfg"), "ANSIBLE_LOCAL_TEMP": f"{out}/_tmp"}
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventory/sample/hosts.yml", "cluster.yml",
               *(a for k, v in EXTRA.items() for a in ("-e", f"{k}={v}"))]
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=TREE, env=env, check=True, capture_output=True)
        return time.perf_counter() - t0


def kvalidate_playbook() -> tuple[float, list[Any], list[Any]]:
    from kvalidate.ansible import Engine, load_inventory
    from kvalidate.ansible.templar import Templar
    from kvalidate.trees.directory import DirTree

    tree = DirTree(TREE)
    captured: list[Any] = []
    orig = Templar.render_file_mapped

    def spy(self: Templar, text: str, scope: Any, name: str, locals: Any = None, loader: Any = None) -> Any:
        out = orig(self, text, scope, name, locals, loader)
        captured.append((text, name, scope, dict(locals or {}), out[0]))
        return out

    t0 = time.perf_counter()
    Templar.render_file_mapped = spy  # type: ignore[method-assign]
    try:
        inventory = load_inventory(tree, "inventory/sample/hosts.yml")
        result = Engine(tree, inventory, extra_vars=EXTRA).run_playbook("cluster.yml")
    finally:
        Templar.render_file_mapped = orig  # type: ignore[method-assign]
    return time.perf_counter() - t0, result.renderings, captured


def resolved(scope: Any, text: str) -> dict[str, Any]:
    """The variables a template reads, resolved by kvalidate (plain data for ansible-core too)."""
    from jinja2 import meta

    from kvalidate.ansible.templar import Templar

    names = meta.find_undeclared_variables(Templar.shared().env.parse(text))
    out: dict[str, Any] = {}
    for n in names:
        if n == "hostvars":
            out[n] = {h: {k: scope["hostvars"][h][k] for k in ("main_ip", "main_access_ip")}
                      for h in scope["hostvars"]}
        elif n in scope:
            out[n] = scope[n]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    from ansible.template import AnsibleEnvironment, Templar

    from kvalidate.ansible.templar import RenderVars
    from kvalidate.ansible.templar import Templar as KTemplar

    init_plugin_loader([])
    first, renderings, captured = kvalidate_playbook()  # warm-up: compiles templates once per process
    n = len(renderings)
    ours = min(kvalidate_playbook()[0] for _ in range(max(args.rounds * 5, 10)))
    theirs = min(ansible_playbook() for _ in range(args.rounds))
    print(f"playbook: {n} renderings (template tasks and lookup('template')) per run, 3 hosts")
    print(f"  ansible-core 2.18 ansible-playbook: {theirs:8.3f} s/run  {n / theirs:10.1f} renders/s")
    print(f"  kvalidate engine (first run):       {first:8.3f} s/run  {n / first:10.1f} renders/s")
    print(f"  kvalidate engine (warm process):    {ours:8.4f} s/run  {n / ours:10.1f} renders/s")
    print(f"  speed-up: {theirs / ours:.0f}x (warm), {theirs / first:.0f}x (first run)")

    jobs = [(text, name, resolved(scope, text), loc, out) for text, name, scope, loc, out in captured
            if "lookup(" not in text]
    loader, kt = DataLoader(), KTemplar.shared()

    def ansible_once() -> None:
        for text, _, variables, loc, _ in jobs:
            tv = {**variables, **loc}
            t = Templar(loader=loader, variables=tv).copy_with_new_env(
                environment_class=AnsibleEnvironment, available_variables=tv)
            t.do_template(text, preserve_trailing_newlines=True, escape_backslashes=False,
                          overrides={"trim_blocks": True, "lstrip_blocks": False})

    def ours_once() -> None:
        for text, name, variables, loc, _ in jobs:
            kt.render_file(text, None, name, {**variables, **loc})

    def ours_unmapped() -> None:  # the same renders without recording the line map
        for text, name, variables, loc, _ in jobs:
            kt.do_template(text, RenderVars(None, {**variables, **loc}, kt.env.globals), convert_data=False,
                           escape_backslashes=False, name=name)

    def best(fn: Any, reps: int) -> float:
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    ours_once()
    a, k = best(ansible_once, args.rounds * 3), best(ours_once, args.rounds * 10)
    u = best(ours_unmapped, args.rounds * 10)
    m = len(jobs)
    print(f"template only (variables resolved beforehand): {m} renderings")
    print(f"  ansible-core Templar:  {m / a:10.1f} renders/s")
    print(f"  kvalidate Templar:     {m / k:10.1f} renders/s   speed-up {a / k:.1f}x")
    print(f"  without the line map:  {m / u:10.1f} renders/s   (the map costs {100 * (k - u) / u:+.1f}%)")


if __name__ == "__main__":
    main()
