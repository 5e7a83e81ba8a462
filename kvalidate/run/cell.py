"""One cell, end to end: the one place a matrix cell becomes an Engine run.

    Cell --kubespray.scenario.cell_spec--> CellSpec --kubespray.inputs.cell_inputs--> CellInputs
         --run_cell (Engine.run_playbook)--> RunResult (renderings, engine findings)
         --validation.renderings.check_renderings--> Result (schemas of the cell's minor)
         --rules.run_rules--> semantic findings

`check_cell` does all of it for `kvalidate check`; `run_cell` alone serves automatic coverage's
discovery run (`record_gates=True`) and the fidelity script (`oracle_parity=True`).

The rendered minor is the cell's declared `kube_version` (`--kube-version` sets it), else the version
the rendered ClusterConfiguration names. The schema minor is `--schema-version` when given, else the
rendered minor; a rendered minor outside the bundled schemas (1.25 to 1.37) is validated against the
nearest bundled one, with a `schema-version` warning naming both (one per run: `run.check`). CRDs
rendered by the cell serve its custom resources; Calico and Cilium CRDs are chosen by the versions
the cell's manifests render.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kvalidate.ansible.codecache import DATA_CACHE
from kvalidate.ansible.engine import Engine, Origins
from kvalidate.ansible.loader import cached_tree
from kvalidate.ansible.patterns import limit_hosts
from kvalidate.ansible.reuse import Unkeyable, value_key
from kvalidate.ansible.types import Rendering, RunResult
from kvalidate.documents import parse_text
from kvalidate.kubespray.checkout import Checkout, declared_kube_version, fresh_install
from kvalidate.kubespray.inputs import FETCH_TASK_FILES, CellInputs, cell_inputs, engine_inventory
from kvalidate.kubespray.inventory import inventory_cell
from kvalidate.kubespray.scenario import CellSpec, cell_spec
from kvalidate.kubespray.simulate import SimRules, with_written_files
from kvalidate.model import Cell, Finding, Result, RunInfo, SetupError, Severity, Source
from kvalidate.rules import CellContext, run_rules
from kvalidate.run.emit import emit
from kvalidate.schemas.core import MINORS, bundled_minor
from kvalidate.schemas.crd_structure import entries_in
from kvalidate.schemas.store import SchemaStore, minor_of
from kvalidate.trees.directory import DirTree, Tree
from kvalidate.validation.renderings import Checked, check_renderings, is_yaml, output_path
from kvalidate.validation.source_map import locate, template_line
from kvalidate.versions import minor

Facts = Mapping[str, Mapping[str, Any]]  # host -> its `setup` facts


def inventory_base(cell: Cell) -> CellSpec | None:
    """The cell of a user's inventory file (`--inventory`), or None for a CI layout or scenario."""
    if not cell.inventory:
        return None
    path = Path(cell.inventory)
    if not path.is_file():
        raise SetupError(f"cannot read inventory {cell.inventory}: no such file")
    kwargs = {"os": cell.os} if cell.os else {}
    return inventory_cell(DirTree(path.parent.resolve()), path.name, name=cell.name, **kwargs)


def prepare(checkout: Checkout, cell: Cell, facts_overlays: Sequence[Mapping[str, Any]] = (),
            sim_rules: SimRules | None = None) -> CellInputs:
    """The engine's inputs for `cell`: its spec (scenario, layout or inventory), facts, simulator."""
    return cell_inputs(checkout, cell_spec(checkout, cell, inventory_base(cell)), facts_overlays, sim_rules)


def run_cell(inputs: CellInputs, *, oracle_parity: bool = False, record_gates: bool = False) -> RunResult:
    """Run the cell's playbook (`cluster.yml` unless the cell names another). A failed task is a
    finding and its host goes on (the reference renderer's `ignore_errors: true`).

    By default the run is as real as the simulation gets: `stat` sees the files the run has
    written (so the late DNS pass sees kubelet.env, and release-2.27's nginx/haproxy static pods
    get their config checksum), and of the download role only the fetching is left out
    (`FETCH_TASK_FILES`). `oracle_parity` reproduces the reference renderer exactly instead: a
    stateless `stat`, and the whole download role emptied (`CellInputs.skip_task_files`).
    `record_gates` records every template task and assert/fail met (automatic coverage).

    With a limit, the plays run only on the hosts inside it; hosts outside keep their inventory
    variables and what the fact cache holds: with `fact_cache="facts.yml"` the checkout's facts
    playbook first runs on every host (its findings and renderings are dropped: the limited run
    repeats those plays on its own hosts), and what it gathered and set `cacheable` is the cache;
    with "none" the cache is empty. A limit that leaves no host is a SetupError, as in
    ansible-playbook."""
    limit = inputs.limit or None
    cache: dict[str, dict[str, Any]] | None = None
    origins = Origins() if limit else None
    note = ""
    if limit:
        inside = set(limit_hosts(engine_inventory(inputs), limit)) & set(inputs.hosts)
        if not inside:
            raise SetupError(f"--limit {limit!r} leaves no host of cell {inputs.cell.name} to run on "
                             f"(hosts: {', '.join(inputs.hosts)})")
        if inputs.fact_cache == "none":
            note = "not in the fact cache of a --limit run (--fact-cache none: nothing is cached)"
        else:
            if not inputs.facts_playbook:
                raise SetupError(f"--fact-cache facts.yml: {inputs.checkout.tree.label} has no playbooks/facts.yml "
                                 "or facts.yml (use --fact-cache none)")
            pre = _engine(inputs, oracle_parity=oracle_parity, origins=origins)
            pre.run_playbook(inputs.facts_playbook)
            cache = pre.fact_cache()
            note = "not in the fact cache of a --limit run"
    engine = _engine(inputs, oracle_parity=oracle_parity, record_gates=record_gates, limit=limit,
                     fact_cache=cache, fact_cache_note=note, origins=origins)
    return engine.run_playbook(inputs.playbook)


def _engine(inputs: CellInputs, *, oracle_parity: bool, record_gates: bool = False, **limited: Any) -> Engine:
    """An Engine over the cell's inputs (`limited`: limit, fact_cache, fact_cache_note, origins)."""
    files: dict[tuple[str, str], str] = {}
    seen = 0

    def written(host: str, path: str) -> str | None:
        nonlocal seen
        renderings = engine.result.renderings
        for r in renderings[seen:]:
            if r.dest and r.via != "lookup":
                files[(r.host, posixpath.normpath(r.dest))] = r.text
        seen = len(renderings)
        return files.get((host, path))

    simulator = inputs.simulator if oracle_parity else with_written_files(inputs.simulator, written)
    engine = Engine(inputs.checkout.tree, engine_inventory(inputs), extra_vars=inputs.extra_vars,
                    env=inputs.environment, simulator=simulator, passwords=inputs.passwords,
                    skip_task_files=inputs.skip_task_files if oracle_parity else FETCH_TASK_FILES,
                    keep_going=True, record_gates=record_gates,
                    ansible_version=inputs.checkout.ansible_version or None, **limited)
    if not record_gates and not inputs.custom_sim_rules and limited.get("origins") is None \
            and limited.get("limit") is None:
        # whole tasks are reused across cells (ansible/taskmemo.py) on what is the same for every cell
        # of this process besides variables: the tree, the simulator's rules and how it sees files
        try:
            engine.memo = ("cell", cached_tree(engine.tree).serial, oracle_parity, engine.keep_going,
                           engine.skip_task_files, value_key(dict(inputs.environment)),
                           value_key(dict(inputs.passwords)))
        except Unkeyable:
            engine.memo = None
    return engine


def render_cell(checkout: Checkout, cell: Cell, base: CellSpec | None = None,
                facts_overlays: Sequence[Mapping[str, Any]] = (), sim_rules: SimRules | None = None,
                oracle_parity: bool = False) -> tuple[CellInputs, RunResult]:
    """`cell_spec` -> `cell_inputs` -> `run_cell`, with an explicit base spec (tests, scripts)."""
    inputs = cell_inputs(checkout, cell_spec(checkout, cell, base), facts_overlays, sim_rules)
    return inputs, run_cell(inputs, oracle_parity=oracle_parity)


@dataclass(frozen=True)
class CellOptions:
    """What the command line adds to every cell of a check."""

    hosts: tuple[str, ...] = ()  # report only these hosts (empty: all)
    schema_version: str | None = None  # `--schema-version`: the schemas' minor (default: the rendered minor)
    facts_overlays: tuple[Mapping[str, Any], ...] = ()
    emit_root: Path | None = None  # write every rendering under it


@dataclass
class SchemaCache:
    """A worker's schema stores per (minor, component versions), and per store the findings of every
    text already validated: most cells render most templates identically."""

    stores: dict[tuple[str, tuple[tuple[str, str], ...], bool], SchemaStore] = field(default_factory=dict)
    validated: dict[tuple[int, int], dict[bytes, Checked]] = field(default_factory=dict)

    def store(self, minor: str, versions: Mapping[str, str], exact: bool = True) -> SchemaStore:
        """`exact`: the cell renders `minor` itself (not a minor outside the bundled ones)."""
        key = (minor, tuple(sorted(versions.items())), exact)
        if key not in self.stores:
            # the API kinds' schemas built once and kept across runs, beside the parsed YAML
            self.stores[key] = SchemaStore.for_version(minor, dict(versions), exact=exact, kept=DATA_CACHE)
        return self.stores[key]

    def findings_cache(self, store: SchemaStore) -> dict[bytes, Checked]:
        # keyed by the CRD kinds the store serves at the time: a cell's rendered CRDs add kinds
        return self.validated.setdefault((id(store), len(list(store.kinds()))), {})


def check_cell(checkout: Checkout, cell: Cell, ref: str, options: CellOptions, cache: SchemaCache) -> Result:
    """Render `cell` on `checkout` (at `ref`, "" for the work tree), validate every rendering, run the
    semantic rules; findings carry the cell and ref."""
    inputs = prepare(checkout, cell, options.facts_overlays)
    run = run_cell(inputs)  # realistic mode: stat sees what the run wrote (docs/fidelity.md)
    hosts = options.hosts
    renderings = [r for r in run.renderings if not hosts or r.host in hosts]
    rendered = rendered_minor(checkout, inputs, run.renderings)
    kube, note = schema_minor(rendered, options.schema_version)
    store = cache.store(kube, rendered_versions(renderings), exact=note is None)
    _register_rendered_crds(store, renderings)
    result = check_renderings(renderings, store, cell=cell.name, ref=ref,
                              template_text=lambda p: _read(checkout.tree, p), cache=cache.findings_cache(store))
    for f in run.findings:
        if not hosts or f.host in hosts or not f.host:
            result.findings.append(replace(f, cell=cell.name, ref=ref))
    ctx = CellContext(run.renderings, host_addresses(inputs.facts), cell=cell.name, ref=ref, groups=run.groups,
                      kube_version=rendered, fresh_install=fresh_install(inputs.playbook))
    result.findings.extend(_semantic(ctx, checkout.tree, hosts))
    if note is not None:
        result.findings.append(note)
    # a template rendered several times alike (etcd.env thrice, upgrade-cluster.yml's apps twice)
    # gives one finding, not one per rendering
    result.findings = list(dict.fromkeys(result.findings))
    result.stats.add(RunInfo(cell.name, ref, result.files, kube))
    result.stats.add_reuse(run.reuse)
    if options.emit_root is not None:
        emit(renderings, options.emit_root)
    return result


def rendered_minor(checkout: Checkout, inputs: CellInputs, renderings: Sequence[Rendering]) -> str:
    """The Kubernetes minor the cell renders: its declared `kube_version`, else the version its
    ClusterConfiguration names; "" when neither says."""
    declared = declared_kube_version(checkout, inputs.extra_vars, inputs.group_vars)
    return minor(declared) or _rendered_kube_version(renderings) or ""


def schema_minor(rendered: str, override: str | None = None) -> tuple[str, Finding | None]:
    """The minor whose schemas validate a cell that renders `rendered`, and the `schema-version`
    warning when that is not the rendered minor. `override` (`--schema-version`) is taken as given
    (an unbundled one is refused, exit 2); a rendered minor outside the bundled ones gets the nearest."""
    if override:
        return minor_of(override), None
    if not rendered:
        return minor_of(None), None
    used = bundled_minor(rendered)
    if used == rendered:
        return used, None
    side = "oldest" if used == MINORS[0] else "newest"
    removed = (f"fields removed between {rendered} and {used} are reported as unknown, kinds removed as not "
               "validated" if side == "oldest" else f"fields added after {used} are reported as unknown, kinds "
               "added as not validated")
    return used, Finding(
        Severity.WARNING, "schema-version",
        f"Kubernetes {rendered} is rendered, but kvalidate's API schemas are {MINORS[0]} to {MINORS[-1]}: "
        f"validated against {used}, the {side} bundled; {removed} (--schema-version picks the schemas)")


def host_addresses(facts: Facts) -> dict[str, frozenset[str]]:
    """Each host's own IP addresses, from its facts (what a node-local value would contain)."""
    out: dict[str, frozenset[str]] = {}
    for host, f in facts.items():
        addrs: set[str] = set()
        for key in ("ansible_default_ipv4", "ansible_default_ipv6"):
            v = f.get(key)
            if isinstance(v, dict) and isinstance(v.get("address"), str):
                addrs.add(v["address"])
        for key in ("ansible_all_ipv4_addresses", "ansible_all_ipv6_addresses"):
            addrs.update(a for a in f.get(key) or ()
                         if isinstance(a, str) and not a.startswith(("127.", "::1", "fe80")))
        out[host] = frozenset(addrs)
    return out


def _semantic(ctx: CellContext, tree: Tree, hosts: Sequence[str]) -> list[Finding]:
    """Semantic rules over all renderings of the cell (every host: cross-host rules need them all)."""
    out = []
    by_file = {output_path(r): r for r in ctx.renderings}
    for f in run_rules(ctx):
        if hosts and f.host not in hosts:
            continue
        r = by_file.get(f.file)
        if r is not None and r.lines is not None and r.template == f.template:
            template, tline = locate(r.lines, f.template, f.line)
            out.append(replace(f, template=template, template_line=tline))
            continue
        source = _read(tree, f.template) or ""
        rendered = r.text if r is not None else ""
        out.append(replace(f, template_line=template_line(source.splitlines(), rendered.splitlines(), f.line)))
    return out


def _read(tree: Tree, path: str) -> str | None:
    try:
        return tree.read_text(path)
    except Exception:  # noqa: BLE001 - only used to map finding lines back to the template
        return None


_KUBERNETES_VERSION = re.compile(r"^kubernetesVersion:\s*['\"]?v?(\d+\.\d+)", re.MULTILINE)
_VERSIONS = {
    "calico_version": re.compile(r"calico/(?:node|cni|kube-controllers|typha|apiserver):v?(\d+\.\d+\.\d+)"),
    "cilium_version": re.compile(r"cilium/(?:cilium|operator-generic|operator):v?(\d+\.\d+\.\d+)"),
}


def _rendered_kube_version(renderings: Sequence[Rendering]) -> str | None:
    for r in renderings:
        m = _KUBERNETES_VERSION.search(r.text)
        if m:
            return m.group(1)
    return None


def rendered_versions(renderings: Sequence[Rendering]) -> dict[str, str]:
    """Component versions as the cell's manifests render them (images), for pinned CRD schemas."""
    out: dict[str, str] = {}
    for r in renderings:
        for var, rx in _VERSIONS.items():
            if var not in out:
                m = rx.search(r.text)
                if m:
                    out[var] = m.group(1)
    return out


def _register_rendered_crds(store: SchemaStore, renderings: Sequence[Rendering]) -> None:
    """CRDs the cell renders itself (MetalLB, cert-manager, ...) serve its custom resources."""
    for r in renderings:
        if "CustomResourceDefinition" not in r.text or not is_yaml(r):
            continue
        for doc in parse_text(r.text, Source("")).documents:
            try:
                store.add_crd_entries(entries_in([doc.data], f"crd:{r.template}", store.minor))
            except (KeyError, TypeError, ValueError):
                continue  # a broken CRD is reported by its own validation
