"""The library API: what each command does, as a call that returns a `Result` and prints nothing.

    import kvalidate
    request = kvalidate.CheckRequest(checkout=Path("kubespray"), scenarios=("ubuntu24-calico-all-in-one",))
    result = kvalidate.check(request)
    result = kvalidate.validate_paths(["manifests/"], kube_version="1.33")
    for f in result.findings: ...

Input that cannot be used at all raises `SetupError` (the CLI's exit 2); everything wrong inside
what is checked is a `Finding`. The CLI (`kvalidate.cli`) is a thin shell over these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvalidate.ansible import render_template
from kvalidate.kubespray.checkout import Checkout
from kvalidate.matrix.plan import Overrides, find_config, plan_cells
from kvalidate.model import Finding, Result, SetupError, Source
from kvalidate.pinned import embedded_demo
from kvalidate.run.check import CheckOptions, open_ref, run_check
from kvalidate.run.emit import check_emit_names, prepare_emit_dir
from kvalidate.schemas.crd_load import load_crds
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation import validate as _validate
from kvalidate.validation.validate import tune_gc, validate_text

Progress = Callable[[int, int], None]  # (cells done, cells in all)


@dataclass(frozen=True)
class CheckRequest:
    """A `kvalidate check` run: a checkout, the cells to run on it and what applies to all of them.

    Without a matrix file (`config`, else `kvalidate.yaml` at the checkout's root unless
    `use_config` is False) the cells are one per scenario, or the default cell; `extra_vars`,
    `layout`, `os`, `inventory` and `kube_version` apply on top of every cell. `kube_version` renders
    and validates as that Kubernetes minor (the cell's `kube_version` becomes the checkout's newest patch
    of it; refused when the checkout does not support it); `schema_version` only picks the schemas."""

    checkout: Path
    scenarios: tuple[str, ...] = ()
    extra_vars: Mapping[str, Any] = field(default_factory=dict)
    inventory: Path | None = None
    layout: str = ""
    os: str = ""
    hosts: tuple[str, ...] = ()  # report only these hosts
    kube_version: str | None = None  # render as this minor (default: each cell's own kube_version)
    schema_version: str | None = None  # the schemas' minor (default: the minor each cell renders)
    facts_files: tuple[Path, ...] = ()
    config: Path | None = None
    use_config: bool = True
    refs: tuple[str, ...] = ()  # git refs, read from git objects; empty: the work tree
    shard: str | None = None  # "I/N"
    auto: bool = False  # automatic coverage on top of the first cell
    jobs: int = 1
    emit_dir: Path | None = None
    checkout_arg: str = ""  # how reproduce commands name the checkout (default: `checkout` as given)


def plan(request: CheckRequest, notes: Callable[[str], None] | None = None) -> CheckOptions:
    """The cells `request` runs (matrix file, scenarios, automatic coverage, shard), as run options."""
    root = request.checkout.resolve()
    if not root.is_dir():
        raise SetupError(f"cannot read checkout {request.checkout}: no such directory")
    emit_dir = None
    if request.emit_dir is not None:
        emit_dir = prepare_emit_dir(request.emit_dir, root)  # before any cell: exit 2 now, not N failed cells
    if request.schema_version:
        SchemaStore.for_version(request.schema_version)  # an unbundled minor is exit 2 before any cell
    refs = request.refs
    first = open_ref(root, refs[0] if refs else "")
    matrix = find_config(root, request.config) if request.use_config else None
    over = Overrides(extra_vars=dict(request.extra_vars), scenarios=request.scenarios, layout=request.layout,
                     os=request.os, inventory=str(request.inventory.resolve()) if request.inventory else "",
                     kube_version=request.kube_version or "")
    others: list[Checkout] = []
    if request.auto or (matrix is not None and matrix.auto):
        others = [open_ref(root, r) for r in refs[1:]]
    said: list[str] = []
    cells = plan_cells(first, matrix, over, request.shard, checkout_arg=request.checkout_arg or str(request.checkout),
                       auto=request.auto, more_checkouts=others, notes=said)
    if emit_dir is not None:
        check_emit_names([*refs, *(c.name for c in cells)])
    for note in said:
        if notes is not None:
            notes(note)
    return CheckOptions(checkout=root, cells=tuple(cells), refs=refs, hosts=request.hosts,
                        schema_version=request.schema_version, facts_files=request.facts_files,
                        emit_dir=emit_dir, jobs=max(1, request.jobs))


def check(request: CheckRequest, progress: Progress | None = None,
          notes: Callable[[str], None] | None = None) -> Result:
    """Render the checkout as `playbooks/cluster.yml` would, per host and cell, and validate every
    output. `notes` receives what the planning has to say (automatic coverage's summary)."""
    return run_check(plan(request, notes), progress)


def demo_request(jobs: int = 1) -> CheckRequest:
    """`kvalidate demo`: `check` over the embedded default (templates_under_test and its matrix)."""
    root = embedded_demo()
    if not (root / "kvalidate.yaml").is_file():
        raise SetupError(f"the embedded default is missing: no {root / 'kvalidate.yaml'}")
    return CheckRequest(checkout=root, jobs=jobs, checkout_arg="templates_under_test")


def validate_paths(paths: Sequence[str], kube_version: str | None = None, crds: Sequence[str] = ()) -> Result:
    """Validate rendered Kubernetes YAML strictly (files, directories, or "-" for stdin), with the
    schemas of `kube_version` (default: newest bundled) and CRDs read from `crds`."""
    store = SchemaStore.for_version(kube_version)
    if crds:
        load_crds(store, list(crds))
    tune_gc()
    return _validate.validate_paths(list(paths), store)


@dataclass
class Rendered:
    """`render`'s outcome: the text (None when the template did not render) and the findings."""

    text: str | None
    result: Result


def render(template: Path, extra_vars: Mapping[str, Any], validate: bool = False,
           kube_version: str | None = None) -> Rendered:
    """Render one template as Ansible's template module would (no checkout); with `validate`, also
    parse and validate its output."""
    text, findings = render_template(template, extra_vars)
    found: list[Finding] = list(findings)
    if text is not None and validate:
        found += validate_text(text, Source(file=str(template), template=str(template)), kube_version)
    return Rendered(text, Result(findings=found, files=1 if validate and text is not None else 0))
