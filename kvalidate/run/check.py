"""`kvalidate check`: a Kubespray checkout x cells (x git refs) -> render -> validate -> one Result.

Per (ref, cell): the Kubespray layer builds the cell's inventory, facts and simulator, the engine runs
`playbooks/cluster.yml`, and `pipeline.check_renderings` validates every rendering against the
schemas of the cell's Kubernetes minor (the `--kube-version` given, else the cell's `kube_version`,
else the version the rendered ClusterConfiguration names). CRDs rendered by the cell serve its custom
resources; Calico and Cilium CRDs are chosen by the versions the cell's manifests render.

Cells run in worker processes (fork) when there are several; every worker keeps its trees, checkouts,
compiled templates and schema validators between cells. The checkout is only read.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kvalidate.model import Cell, Finding, Result, SetupError, Source
from kvalidate.schemastore import SchemaStore, minor_of
from kvalidate.trees.directory import DirTree, Tree
from kvalidate.validation.renderings import check_renderings, emit, kube_minor


@dataclass(frozen=True)
class CheckOptions:
    checkout: Path
    cells: tuple[Cell, ...] = (Cell("default"),)
    refs: tuple[str, ...] = ()  # empty: the work tree as it is
    hosts: tuple[str, ...] = ()  # report only these hosts ("" = all)
    kube_version: str | None = None  # schema minor override
    facts_files: tuple[Path, ...] = ()
    emit_dir: Path | None = None
    jobs: int = 1


@dataclass
class _Worker:
    """Per-process caches: trees and checkouts per ref, schema stores per (minor, versions)."""

    options: CheckOptions
    trees: dict[str, Any] = field(default_factory=dict)
    stores: dict[tuple[str, tuple[tuple[str, str], ...]], SchemaStore] = field(default_factory=dict)
    # text hash -> (findings, documents), per schema store and the CRD kinds it serves at the time
    validated: dict[tuple[int, int], dict[bytes, tuple[list[Finding], int]]] = field(default_factory=dict)

    def checkout(self, ref: str) -> Any:
        from kvalidate.kubespray.checkout import open_checkout

        if ref not in self.trees:
            tree: Tree
            if ref:
                from kvalidate.trees.git import GitTree

                tree = GitTree(self.options.checkout, ref)
            else:
                tree = DirTree(self.options.checkout)
            self.trees[ref] = open_checkout(tree)
        return self.trees[ref]

    def store(self, minor: str, versions: dict[str, str]) -> SchemaStore:
        key = (minor, tuple(sorted(versions.items())))
        if key not in self.stores:
            self.stores[key] = SchemaStore.for_version(minor, versions)
        return self.stores[key]

    def run(self, ref: str, cell: Cell) -> Result:
        from kvalidate.kubespray.facts import load_overlay
        from kvalidate.kubespray.run import cell_inputs, run_cell
        from kvalidate.kubespray.scenario import cell_spec

        checkout = self.checkout(ref)
        base = inventory_base(cell) if cell.inventory else None
        spec = cell_spec(checkout, cell, base)
        overlays = [load_overlay(p) for p in self.options.facts_files]
        inputs = cell_inputs(checkout, spec, overlays)
        run = run_cell(inputs)  # realistic mode: stat sees what the run wrote (docs/fidelity.md)
        renderings = [r for r in run.renderings if not self.options.hosts or r.host in self.options.hosts]
        minor = self._minor(checkout, inputs, renderings)
        store = self.store(minor, rendered_versions(renderings))
        _register_rendered_crds(store, renderings)
        cache = self.validated.setdefault((id(store), len(list(store.kinds()))), {})
        result = check_renderings(renderings, store, cell=cell.name, ref=ref,
                                  template_text=lambda p: _read(checkout.tree, p), cache=cache)
        for f in run.findings:
            if not self.options.hosts or f.host in self.options.hosts or not f.host:
                result.findings.append(replace(f, cell=cell.name, ref=ref))
        result.findings.extend(_semantic(run.renderings, inputs.facts, cell.name, ref, checkout.tree,
                                         self.options.hosts))
        result.stats["kube_minor"] = {cell.name: minor}
        label = f"{cell.name} @ {ref}" if ref else cell.name
        result.stats["runs"] = {label: {"cell": cell.name, "ref": ref, "files": result.files, "kube": minor}}
        if self.options.emit_dir is not None:
            emit(renderings, _emit_root(self.options, ref, cell))
        from kvalidate.ansible.codecache import CODE_CACHE

        CODE_CACHE.flush()  # workers exit without atexit handlers; compiled code is kept for the next run
        return result

    def _minor(self, checkout: Any, inputs: Any, renderings: Sequence[Any]) -> str:
        from kvalidate.kubespray.checkout import declared_kube_version

        if self.options.kube_version:
            return minor_of(self.options.kube_version)
        declared = declared_kube_version(checkout, inputs.extra_vars, inputs.group_vars)
        found = kube_minor(declared) or _rendered_kube_version(renderings)
        return found or minor_of(None)


def host_addresses(facts: Any) -> dict[str, frozenset[str]]:
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


def _semantic(renderings: Sequence[Any], facts: Any, cell: str, ref: str, tree: Tree,
              hosts: Sequence[str]) -> list[Finding]:
    """Semantic rules over all renderings of the cell (every host: cross-host rules need them all)."""
    from kvalidate.rules import CellContext, run_rules
    from kvalidate.validation.renderings import template_line

    ctx = CellContext(renderings, host_addresses(facts), cell=cell, ref=ref)
    out = []
    texts = {r.host + "\0" + r.dest: r.text for r in renderings}
    for f in run_rules(ctx):
        if hosts and f.host not in hosts:
            continue
        source = _read(tree, f.template) or ""
        rendered = texts.get(f.host + "\0" + f.dest, "")
        out.append(replace(f, template_line=template_line(source.splitlines(), rendered.splitlines(), f.line)))
    return out


def _read(tree: Tree, path: str) -> str | None:
    try:
        return tree.read_text(path)
    except Exception:  # noqa: BLE001 - only used to map finding lines back to the template
        return None


def inventory_base(cell: Cell) -> Any:
    from kvalidate.kubespray.inventory import inventory_cell

    path = Path(cell.inventory)
    if not path.is_file():
        raise SetupError(f"cannot read inventory {cell.inventory}: no such file")
    kwargs = {"os": cell.os} if cell.os else {}
    return inventory_cell(DirTree(path.parent.resolve()), path.name, name=cell.name, **kwargs)


_KUBERNETES_VERSION = re.compile(r"^kubernetesVersion:\s*['\"]?v?(\d+\.\d+)", re.MULTILINE)
_VERSIONS = {
    "calico_version": re.compile(r"calico/(?:node|cni|kube-controllers|typha|apiserver):v?(\d+\.\d+\.\d+)"),
    "cilium_version": re.compile(r"cilium/(?:cilium|operator-generic|operator):v?(\d+\.\d+\.\d+)"),
}


def _rendered_kube_version(renderings: Sequence[Any]) -> str | None:
    for r in renderings:
        m = _KUBERNETES_VERSION.search(r.text)
        if m:
            return m.group(1)
    return None


def rendered_versions(renderings: Sequence[Any]) -> dict[str, str]:
    """Component versions as the cell's manifests render them (images), for pinned CRD schemas."""
    out: dict[str, str] = {}
    for r in renderings:
        for var, rx in _VERSIONS.items():
            if var not in out:
                m = rx.search(r.text)
                if m:
                    out[var] = m.group(1)
    return out


def _register_rendered_crds(store: SchemaStore, renderings: Sequence[Any]) -> None:
    """CRDs the cell renders itself (MetalLB, cert-manager, ...) serve its custom resources."""
    from kvalidate.crd import schemas_in
    from kvalidate.documents import parse_text
    from kvalidate.validation.renderings import is_yaml

    for r in renderings:
        if "CustomResourceDefinition" not in r.text or not is_yaml(r):
            continue
        for doc in parse_text(r.text, Source("")).documents:
            try:
                store.add_crd_schemas(schemas_in([doc.data]), f"crd:{r.template}")
            except (KeyError, TypeError, ValueError):
                continue  # a broken CRD is reported by its own validation


def _emit_root(options: CheckOptions, ref: str, cell: Cell) -> Path:
    assert options.emit_dir is not None
    root = options.emit_dir
    if len(options.refs) > 1:
        root = root / ref.replace("/", "_")
    if len(options.cells) > 1:
        root = root / cell.name.replace("/", "_")
    return root


_WORKER: _Worker | None = None


def _task(args: tuple[str, Cell]) -> Result:
    assert _WORKER is not None
    ref, cell = args
    try:
        return _WORKER.run(ref, cell)
    except SetupError:
        raise
    except RecursionError as e:
        return _crash(ref, cell, e)
    except Exception as e:  # noqa: BLE001 - one broken cell must not end the run; it is a finding
        return _crash(ref, cell, e)


def _crash(ref: str, cell: Cell, e: BaseException) -> Result:
    from kvalidate.model import Severity

    return Result(findings=[Finding(Severity.ERROR, "internal-error",
                                    f"kvalidate could not run this cell: {type(e).__name__}: {e}",
                                    cell=cell.name, ref=ref)])


def run_check(options: CheckOptions, progress: Callable[[int, int], None] | None = None) -> Result:
    """Every (ref, cell) of `options`, merged into one Result (findings sorted)."""
    global _WORKER
    if not (options.checkout / "roles").is_dir() and not options.refs:
        if not options.checkout.is_dir():
            raise SetupError(f"cannot read {options.checkout}: no such directory")
    _WORKER = _Worker(options)
    for ref in options.refs or ("",):
        _WORKER.checkout(ref)  # a bad checkout or ref is exit 2 before any work starts
    tasks = [(ref, cell) for ref in (options.refs or ("",)) for cell in options.cells]
    result = Result(cells=list(options.cells))
    jobs = max(1, min(options.jobs, len(tasks)))
    for done, part in enumerate(_map(tasks, jobs), 1):
        result.findings.extend(part.findings)
        result.documents += part.documents
        result.files += part.files
        result.checked.extend(part.checked)
        for k, v in part.stats.items():
            result.stats.setdefault(k, {}).update(v)
        if progress:
            progress(done, len(tasks))
    result.findings.sort(key=Finding.sort_key)
    return result


def _map(tasks: list[tuple[str, Cell]], jobs: int) -> Iterator[Result]:
    from kvalidate.validation.validate import tune_gc

    # freeze what is loaded (forked workers share it copy-on-write) and collect rarely: the engine
    # allocates many short-lived objects (0.43 -> 0.32 s CPU per Kubespray master cell)
    tune_gc()
    if jobs == 1:
        yield from map(_task, tasks)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs) as pool:
        yield from pool.imap(_task, tasks)


def default_jobs() -> int:
    return max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8))


def is_terminal() -> bool:
    return sys.stderr.isatty()
