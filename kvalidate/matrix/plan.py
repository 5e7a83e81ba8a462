"""What `kvalidate check` runs: cells from the matrix file and the command line.

With a matrix (`--config FILE`, or `kvalidate.yaml` at the checkout's root) the cells are the
matrix's; without one, one cell per `--scenario` (or the default cell). Command-line `-e`/`--vars`,
`--layout`, `--os`, `--inventory`, `--kube-version`, `--playbook`, `--limit` and `--fact-cache` apply
on top of every cell.
"""

from __future__ import annotations

import difflib
import fnmatch
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kvalidate.kubespray.checkout import Checkout, declared_kube_version
from kvalidate.matrix.auto.discover import auto_cells
from kvalidate.matrix.auto.pack import MAX_CELLS, Part
from kvalidate.matrix.config import CONFIG_NAME, MatrixConfig, load_config
from kvalidate.matrix.expand import cell_name, exclusion_rules, expand, parse_shard, reproduce, shard
from kvalidate.model import Cell, SetupError
from kvalidate.trees.directory import DirTree, Tree
from kvalidate.trees.git import GitTree
from kvalidate.versions import minor


@dataclass(frozen=True)
class Overrides:
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    scenarios: tuple[str, ...] = ()
    layout: str = ""
    os: str = ""
    inventory: str = ""
    kube_version: str = ""
    playbook: str = ""
    limit: str = ""
    fact_cache: str = ""


def find_config(checkout: Path, explicit: Path | None) -> MatrixConfig | None:
    if explicit is not None:
        return load_config(explicit)
    candidate = checkout / CONFIG_NAME
    return load_config(candidate) if candidate.is_file() else None


def scenario_paths(tree: Tree, patterns: Sequence[str]) -> list[str]:
    """Tree paths of CI scenario files matching globs (`tests/files/*calico*.yml`, or bare names)."""
    names = [n for n in tree.list_dir("tests/files") if n.endswith((".yml", ".yaml"))]
    out: list[str] = []
    for pat in patterns:
        pat = pat if "/" in pat else posixpath.join("tests/files", pat)
        matched = [posixpath.join("tests/files", n) for n in names
                   if fnmatch.fnmatch(posixpath.join("tests/files", n), pat)
                   or fnmatch.fnmatch(posixpath.join("tests/files", n), pat + ".yml")]
        if not matched:
            raise SetupError(f"no CI scenario matches {pat!r} in {tree.label}{_closest(tree, pat)}")
        out.extend(m for m in matched if m not in out)
    return out


def plan_cells(checkout: Checkout, config: MatrixConfig | None, over: Overrides, shard_spec: str | None = None,
               checkout_arg: str = ".", auto: bool = False, more_checkouts: Sequence[Checkout] = (),
               notes: list[str] | None = None, only: Callable[[str], bool] | None = None,
               details: list[str] | None = None) -> list[Cell]:
    """The cells to run on `checkout` (an opened Kubespray checkout). With `auto` (or the matrix's
    `auto: true`), the automatic-coverage cells of the first cell follow the planned ones
    (`more_checkouts`: the other refs, whose templates are covered too; `only`: the templates to
    cover, default all); `notes` gets a summary, `details` a line per gate or assignment automatic
    coverage could not make, with the reason."""
    tree = checkout.tree
    if config is not None:
        kv: list[str] = []
        if config.kube_versions == "supported":
            kv = list(checkout.kube_minors)
        elif config.kube_versions == "default":
            kv = [minor(declared_kube_version(checkout, config.vars, {})) or ""]
        scenarios = scenario_paths(tree, config.scenarios) if config.scenarios else []
        cells = expand(config, kube_versions=kv, scenarios=scenarios)
    else:
        scenarios = [_scenario_path(tree, s) for s in over.scenarios] or [""]
        cells = []
        for s in scenarios:
            settings = {"scenario": s, "layout": over.layout, "os": over.os, "kube_version": over.kube_version,
                        "playbook": over.playbook, "limit": over.limit, "fact_cache": over.fact_cache, "vars": {}}
            cells.append(Cell(name=cell_name(settings, []), scenario=s))
    out = []
    for c in cells:
        c = replace(c, extra_vars={**c.extra_vars, **over.extra_vars},
                    layout=over.layout or c.layout, os=over.os or c.os,
                    inventory=over.inventory or c.inventory, kube_version=over.kube_version or c.kube_version,
                    playbook=over.playbook or c.playbook, limit=over.limit or c.limit,
                    fact_cache=over.fact_cache or c.fact_cache)
        out.append(replace(c, command=reproduce(c, checkout_arg)))
    if auto or (config is not None and config.auto):
        base = auto_base(out[0], config, over)
        plan = auto_cells([checkout, *more_checkouts], base,
                          config.auto_max_cells if config is not None else MAX_CELLS,
                          exclusion_rules(config.exclude) if config is not None else (), only=only)
        names = {c.name for c in out}
        out += [auto_commands(c, plan.parts.get(c.name, ()), base, checkout_arg) for c in plan.cells
                if c.name not in names]
        if notes is not None:
            notes.append(plan.summary())
        if details is not None:
            details.extend(plan.notes())
    if shard_spec:
        i, n = parse_shard(shard_spec)
        out = shard(out, i, n)
    return out


def auto_commands(cell: Cell, parts: Sequence[Part], base: Cell, checkout_arg: str) -> Cell:
    """An automatic cell with its reproduce commands: the cell's names only the variables whose
    value differs from the base cell's; each template it opens gets its own, with only what its
    assignment changes (a few `-e`)."""
    minimal: dict[str, Any] = {}
    for p in parts:
        minimal.update(p.minimal)
    per: dict[str, str] = {}
    for p in parts:
        if p.template not in per:
            per[p.template] = reproduce(replace(cell, extra_vars={**base.extra_vars, **p.minimal}), checkout_arg)
    return replace(cell, command=reproduce(replace(cell, extra_vars={**base.extra_vars, **minimal}), checkout_arg),
                   reproduce=per)


def auto_base(first: Cell, config: MatrixConfig | None, over: Overrides) -> Cell:
    """The cell automatic coverage builds on: the first cell's scenario, layout, OS, inventory
    and minor, with the matrix file's `vars` and the command line's `-e`, but none of the matrix's
    axis values (a row of the matrix is not the baseline)."""
    if config is None or not config.axes:
        return first
    dims = {"scenario": first.scenario, "layout": first.layout, "os": first.os,
            "kube_version": first.kube_version, "playbook": first.playbook, "limit": first.limit,
            "fact_cache": first.fact_cache, "vars": {}}
    return replace(first, name=cell_name(dims, []), extra_vars={**config.vars, **over.extra_vars},
                   description="")


def _scenario_path(tree: Tree, scenario: str) -> str:
    """A scenario as given on the command line: a tree path, a file under tests/files, or a name."""
    # <= 2.27 prefixes its scenario files packet_/vagrant_ (kubespray.scenario.find_scenario)
    for candidate in (scenario, posixpath.join("tests/files", scenario),
                      posixpath.join("tests/files", scenario + ".yml"),
                      *(posixpath.join("tests/files", f"{p}{scenario}.yml") for p in ("packet_", "vagrant_")
                        if "/" not in scenario)):
        if tree.is_file(candidate):
            return candidate
    p = Path(scenario)
    if p.is_file():
        root = _root(tree)
        inside = root is not None and root in p.resolve().parents
        rel = p.resolve().relative_to(root).as_posix() if root is not None and inside else ""
        if rel and tree.is_file(rel):  # a path on disk (absolute, or from the current directory) into the checkout
            return rel
        if inside:
            raise SetupError(f"scenario {scenario} is not in {tree.label} (the ref has no {rel})")
        raise SetupError(f"scenario {scenario} is not inside the checkout {tree.label}")
    raise SetupError(f"no CI scenario {scenario!r} in {tree.label} (looked in tests/files){_closest(tree, scenario)}")


def changed_filter(changed: set[str]) -> Callable[[str], bool]:
    """`--changed-only`: does a template need automatic coverage, given the checkout's files that
    changed? Yes if the template itself changed, or a task file, the defaults or the vars of the
    role whose `templates/` holds it (`roles/R/templates/x.j2` -> `roles/R/{tasks,defaults,vars}/`)."""
    roles = {p.split("/tasks/", 1)[0] for p in changed if "/tasks/" in p} \
        | {p.split("/defaults/", 1)[0] for p in changed if "/defaults/" in p} \
        | {p.split("/vars/", 1)[0] for p in changed if "/vars/" in p}

    def accept(template: str) -> bool:
        return template in changed or ("/templates/" in template and template.split("/templates/", 1)[0] in roles)

    return accept


def _root(tree: Tree) -> Path | None:
    """The directory on disk a tree reads (a git ref: its repository's work tree)."""
    if isinstance(tree, DirTree):
        return tree.root
    if isinstance(tree, GitTree):
        return tree.repo.resolve()
    return None


def _closest(tree: Tree, scenario: str) -> str:
    """`; did you mean ...` with the closest CI scenario names, and how many there are."""
    names = [n.removesuffix(".yml") for n in tree.list_dir("tests/files") if n.endswith(".yml")]
    if not names:
        return "; the checkout has no CI scenario"
    close = difflib.get_close_matches(posixpath.basename(scenario).removesuffix(".yml"), names, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(filter(None, [', '.join(close[:-1]), close[-1]]))}?" if close else ""
    return f"{hint} ({len(names)} scenarios: ls {tree.label}/tests/files/*.yml)" if tree.label else hint
