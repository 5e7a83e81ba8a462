"""MatrixConfig -> cells: full product, covering arrays, scenarios, layouts, Kubernetes minors,
include/exclude rules, named cells; deterministic shards for CI job matrices.

Dimensions are crossed as: product(axes in no pairwise group) x each pairwise group's covering
rows x scenarios x layouts x OS x Kubernetes minors x playbooks x limits x fact caches. `exclude`
rules see every dimension as a key (`layout`, `kube_version`, `scenario`, `os`, `playbook`, `limit`,
`fact_cache` beside the axes); `include` and named cells are added after exclusion, as given.
"""

from __future__ import annotations

import itertools
import json
import posixpath
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kvalidate.matrix.config import MatrixConfig
from kvalidate.matrix.covering import Exclusion, covering_rows
from kvalidate.model import Cell, SetupError

_DIMENSIONS = ("scenario", "layout", "os", "kube_version", "playbook", "limit", "fact_cache")


def exclusion_rules(raw: Iterable[Mapping[str, Any]]) -> list[Exclusion]:
    return [{k: (v if isinstance(v, list) else [v]) for k, v in rule.items()} for rule in raw]


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def cell_name(settings: Mapping[str, Any], axes_order: Sequence[str]) -> str:
    """`ubuntu24-calico-all-in-one,layout=ha,kube=1.33,typha_enabled=true` ("default" when empty)."""
    parts = []
    if settings.get("scenario"):
        parts.append(posixpath.splitext(posixpath.basename(settings["scenario"]))[0])
    for dim, label in (("layout", "layout"), ("os", "os"), ("kube_version", "kube"), ("playbook", "playbook"),
                       ("limit", "limit"), ("fact_cache", "fact_cache")):
        if settings.get(dim):
            parts.append(f"{label}={settings[dim]}")
    parts += [f"{k}={_fmt(settings['vars'][k])}" for k in axes_order if k in settings.get("vars", {})]
    return ",".join(parts) or "default"


def reproduce(cell: Cell, checkout: str = ".") -> str:
    """The one `kvalidate check` command that renders this cell alone."""
    # --no-config: the cell is complete (the matrix file's vars are in its extra vars); without it
    # a checkout's kvalidate.yaml would run its whole matrix under these -e
    args = ["kvalidate", "check", checkout, "--no-config"]
    for option, value in (("--scenario", cell.scenario), ("--inventory", cell.inventory), ("--layout", cell.layout),
                          ("--os", cell.os), ("--kube-version", cell.kube_version), ("--playbook", cell.playbook),
                          ("--limit", cell.limit), ("--fact-cache", cell.fact_cache)):
        if value:
            args += [option, value]
    # -e KEY=VALUE gives Ansible a string; other types (and strings k=v cannot carry) travel in
    # one JSON mapping, as Ansible reads them
    typed = {}
    for k, v in cell.extra_vars.items():
        if isinstance(v, str) and v and not any(c.isspace() or c in "'\"=\\" for c in v):
            args += ["-e", f"{k}={v}"]
        else:
            typed[k] = v
    if typed:
        args += ["-e", json.dumps(typed)]
    return shlex.join(args)


def _axis_blocks(config: MatrixConfig) -> list[list[dict[str, Any]]]:
    grouped = {a for g in config.pairwise for a in g.axes}
    exclude = exclusion_rules(config.exclude)
    blocks: list[list[dict[str, Any]]] = []
    free = [a for a in config.axes if a not in grouped]
    if free:
        blocks.append([dict(zip(free, combo, strict=True))
                       for combo in itertools.product(*(config.axes[a] for a in free))])
    for g in config.pairwise:
        sub = {a: config.axes[a] for a in g.axes}
        own = [r for r in exclude if set(r) <= set(g.axes)]
        blocks.append(covering_rows(sub, g.strength, own))
    return blocks


def expand(config: MatrixConfig, kube_versions: Sequence[str] = (), scenarios: Sequence[str] = ()) -> list[Cell]:
    """All cells of a matrix. `kube_versions` resolves `supported`/`default`; `scenarios` the globs
    (both are read from the checkout by the caller)."""
    kv: Sequence[str] = config.kube_versions if isinstance(config.kube_versions, tuple) else kube_versions
    dims: dict[str, Sequence[str]] = {
        "scenario": scenarios or [""], "layout": config.layouts or [""], "os": config.os or [""],
        "kube_version": kv or [""], "playbook": config.playbooks or [""], "limit": config.limits or [""],
        "fact_cache": config.fact_caches or [""],
    }
    exclude = exclusion_rules(config.exclude)
    order = list(config.axes)
    cells: list[Cell] = []
    seen: set[str] = set()
    for rows in itertools.product(*_axis_blocks(config), *(dims[d] for d in _DIMENSIONS)):
        values: dict[str, Any] = {}
        for r in rows[: len(rows) - len(_DIMENSIONS)]:
            values.update(r)
        dim_values = dict(zip(_DIMENSIONS, rows[len(rows) - len(_DIMENSIONS):], strict=True))
        if any(_match(rule, {**values, **dim_values}) for rule in exclude):
            continue
        _add(cells, seen, values, dim_values, config, order, "")
    for inc in config.include:
        values = {k: v for k, v in inc.items() if k not in _DIMENSIONS}
        dim_values = {d: str(inc.get(d, "")) for d in _DIMENSIONS}
        _add(cells, seen, values, dim_values, config, order, "")
    for named in config.cells:
        _add(cells, seen, dict(named.vars), {"scenario": named.scenario, "layout": named.layout, "os": named.os,
                                              "kube_version": named.kube_version, "playbook": named.playbook,
                                              "limit": named.limit, "fact_cache": named.fact_cache},
             config, [], named.name, named.inventory, named.description)
    return cells


def _match(rule: Exclusion, values: Mapping[str, Any]) -> bool:
    return all(k in values and values[k] in v for k, v in rule.items())


def _add(cells: list[Cell], seen: set[str], values: Mapping[str, Any], dims: Mapping[str, str],
         config: MatrixConfig, order: Sequence[str], name: str, inventory: str = "", description: str = "") -> None:
    name = name or cell_name({**dims, "vars": values}, [*order, *(k for k in values if k not in order)])
    if name in seen:
        return
    seen.add(name)
    cell = Cell(name=name, extra_vars={**config.vars, **values}, scenario=dims.get("scenario", ""),
                layout=dims.get("layout", ""), os=dims.get("os", ""), kube_version=dims.get("kube_version", ""),
                inventory=inventory or config.inventory, description=description,
                playbook=dims.get("playbook", ""), limit=dims.get("limit", ""), fact_cache=dims.get("fact_cache", ""))
    cells.append(Cell(**{**cell.to_dict(), "command": reproduce(cell)}))


def parse_shard(spec: str) -> tuple[int, int]:
    """`I/N` (1-based) -> (I, N); a bad spec is a SetupError."""
    try:
        i_s, n_s = spec.split("/")
        i, n = int(i_s), int(n_s)
    except ValueError:
        raise SetupError(f"invalid --shard {spec!r}: expected I/N, e.g. 2/4") from None
    if not 1 <= i <= n:
        raise SetupError(f"invalid --shard {spec!r}: I must be between 1 and N")
    return i, n


def shard(cells: Sequence[Cell], index: int, count: int) -> list[Cell]:
    """Shard `index` of `count` (1-based): cells sorted by name, dealt round-robin, so every cell is in
    exactly one shard whatever order the matrix produced them in."""
    ordered = sorted(cells, key=lambda c: c.name)
    return [c for j, c in enumerate(ordered) if j % count == index - 1]
