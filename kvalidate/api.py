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

import hashlib
import json
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kvalidate import waivers
from kvalidate.ansible import render_template_mapped
from kvalidate.ansible.patterns import check_limit
from kvalidate.defects import attach, compare, group
from kvalidate.kubespray.checkout import Checkout
from kvalidate.kubespray.playbooks import check_fact_cache, playbook_path
from kvalidate.matrix.auto.flags import Nearby, conditionals_near
from kvalidate.matrix.config import CONFIG_NAME, IgnoreRule
from kvalidate.matrix.expand import parse_shard, reproduce, shard
from kvalidate.matrix.plan import Overrides, changed_filter, find_config, plan_cells
from kvalidate.matrix.preflight import check_hosts, check_inventories, unused_var_findings
from kvalidate.model import Finding, Result, SetupError, Source, Status
from kvalidate.pinned import embedded_demo
from kvalidate.run.check import CheckOptions, RunCells, cell_pool, checkouts_kept, open_ref, run_check
from kvalidate.run.emit import check_emit_names, prepare_emit_dir
from kvalidate.run.trigger import DEFAULT_BUDGET, confirm, pool_renderer
from kvalidate.schemas.crd_load import load_crds
from kvalidate.schemas.store import SchemaStore
from kvalidate.trees.directory import Tree, TreeError
from kvalidate.trees.git import changed_paths
from kvalidate.validation import validate as _validate
from kvalidate.validation.validate import tune_gc, validate_text
from kvalidate.waivers import Waiver, template_waivers

Progress = Callable[[int, int, int], None]  # (cells done, cells in all, defects so far)


@dataclass(frozen=True)
class CheckRequest:
    """A `kvalidate check` run: a checkout, the cells to run on it and what applies to all of them.

    Without a matrix file (`config`, else `kvalidate.yaml` at the checkout's root unless
    `use_config` is False) the cells are one per scenario, or the default cell; `extra_vars`,
    `layout`, `os`, `inventory`, `kube_version`, `playbook`, `limit` and `fact_cache` apply on top of
    every cell. `kube_version` renders and validates as that Kubernetes minor (the cell's
    `kube_version` becomes the checkout's newest patch of it; refused when the checkout does not
    support it); `schema_version` only picks the schemas."""

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
    base: str = ""  # `--base REF`: the same cells at REF too; defects new, unchanged or fixed
    changed_only: bool = False  # with `base`: automatic coverage for the templates changed since REF only
    trigger_budget: int = DEFAULT_BUDGET  # re-renders to confirm defects' triggers (0: none)
    playbook: str = ""  # the playbook run (default: each cell's, else cluster.yml)
    limit: str = ""  # ansible-playbook --limit pattern (default: each cell's, else every host)
    fact_cache: str = ""  # with a limit: "facts.yml" (default) or "none"


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
    if request.base and refs:
        raise SetupError("--base compares the working tree with REF: it cannot be combined with --ref")
    if request.changed_only and not request.base:
        raise SetupError("--changed-only needs --base REF (the changes are those since REF)")
    first = open_ref(root, refs[0] if refs else "")
    matrix = find_config(root, request.config) if request.use_config else None
    over = Overrides(extra_vars=dict(request.extra_vars), scenarios=request.scenarios, layout=request.layout,
                     os=request.os, inventory=str(request.inventory.resolve()) if request.inventory else "",
                     kube_version=request.kube_version or "", playbook=request.playbook,
                     limit=check_limit(request.limit) if request.limit else "",
                     fact_cache=check_fact_cache(request.fact_cache))
    base = open_ref(root, request.base) if request.base else None  # a REF that does not resolve: exit 2 now
    others: list[Checkout] = []
    if request.auto or request.changed_only or (matrix is not None and matrix.auto):
        others = [open_ref(root, r) for r in refs[1:]] + ([base] if base is not None else [])
    said: list[str] = []
    only = None
    if request.changed_only:
        changed = changed_paths(root, request.base)
        accept = changed_filter(changed)
        covered: set[str] = set()

        def only(template: str) -> bool:
            if accept(template):
                covered.add(template)
                return True
            return False

    details: list[str] = []
    cells = plan_cells(first, matrix, over, None, checkout_arg=request.checkout_arg or str(request.checkout),
                       auto=request.auto or request.changed_only, more_checkouts=others, notes=said, only=only,
                       details=details)
    if request.changed_only:
        said.append(f"changed-only: {len(changed)} file(s) changed since {request.base}; automatic coverage for "
                    f"{len(covered)} template(s) among them or in their roles"
                    + (f": {', '.join(sorted(covered))}" if 0 < len(covered) <= 10 else ""))
    for name in dict.fromkeys(c.playbook for c in cells if c.playbook):
        playbook_path(first, name)  # an unknown playbook is exit 2 now, naming those the checkout has
    check_inventories(cells)  # an inventory with no host: exit 2 now, naming its groups
    check_hosts(first, cells, request.hosts)  # over all cells of the run: a host of another shard is a host
    if request.shard:
        cells = shard(cells, *parse_shard(request.shard))
    if emit_dir is not None:
        check_emit_names([*refs, *(c.name for c in cells)])
    for note in said:
        if notes is not None:
            notes(note)
    return CheckOptions(checkout=root, cells=tuple(cells), refs=refs, hosts=request.hosts,
                        schema_version=request.schema_version, facts_files=request.facts_files,
                        emit_dir=emit_dir, jobs=max(1, request.jobs), notes=(*said, *details))


def _relative(path: str, root: Path) -> str:
    """`path` relative to the checkout when it is inside it (how findings name the checkout's files)."""
    p = Path(path).resolve()
    return str(p.relative_to(root)) if p.is_relative_to(root) else path


def _side(options: CheckOptions, matrix_ignore: Sequence[IgnoreRule], source: str, judge: bool,
          progress: Progress | None, request: CheckRequest | None = None,
          notes: Callable[[str], None] | None = None, extra: Sequence[Finding] = ()) -> Result:
    """One side of a check (the work tree, or the `--base` ref): run, group into defects, confirm
    their triggers when `request` asks for it, apply the waivers of its templates (and
    kvalidate.yaml's), stale waivers added as findings."""
    with cell_pool(options) as pool:  # the re-renders run on the run's warm workers
        result = run_check(options, progress, pool=pool, tally=lambda found: len(group(found)))  # counts defects
        if request is not None and result.files == 0 and not result.errors:
            raise SetupError(_nothing_rendered(options))
        if extra:
            result.findings.extend(extra)
            result.sort()
        attach(result)
        if request is not None and request.trigger_budget > 0:
            triggers(result, options, pool, request.trigger_budget,
                     request.checkout_arg or str(request.checkout), notes)
    trees: dict[str, Tree] = {}

    def read(ref: str, template: str) -> str | None:
        try:
            if ref not in trees:
                trees[ref] = open_ref(options.checkout, ref).tree
            return trees[ref].read_text(template)
        except (SetupError, TreeError):
            return None

    rendered = result.templates | {(f.ref, f.template) for f in result.findings if f.template}
    found, invalid = template_waivers(rendered, read)
    found += [Waiver(i.rules, i.reason, i.template, source, i.line, path=i.path, from_config=True)
              for i in matrix_ignore]
    extra = invalid + waivers.apply(result.defects, found, rendered, judge=judge)
    if extra:
        result.findings.extend(extra)
        result.sort()
        attach(result)  # the new findings become defects; the statuses set above are kept by id
    return result


def check(request: CheckRequest, progress: Progress | None = None,
          notes: Callable[[str], None] | None = None) -> Result:
    """Render the checkout as its playbook (`playbooks/cluster.yml` unless a cell names another)
    would, per host and cell, and validate every output. `notes` receives what the planning has to
    say (automatic coverage's summary), and what trigger confirmation did. Each error defect gets
    its trigger (`run.trigger`); with `base`, the defects of the work tree only.

    A run that renders no file checks nothing: SetupError (exit 2) unless error findings say why
    (a failed assert in every cell). Extra variables nothing reads are warnings (`unused-extra-var`)."""
    with checkouts_kept():  # planning, the workers and the waivers read each checkout (ref) once
        return _check(request, progress, notes)


def _check(request: CheckRequest, progress: Progress | None, notes: Callable[[str], None] | None) -> Result:
    options = plan(request, notes)
    matrix = find_config(options.checkout, request.config) if request.use_config else None
    ignore = matrix.ignore if matrix is not None else ()
    source = _relative(matrix.source, options.checkout) if matrix is not None else ""
    judge = not request.shard and not request.hosts
    unused = unused_var_findings(options.checkout, options.refs, options.cells, request.extra_vars,
                                 matrix.source if matrix is not None else "")
    if not request.base:
        result = _side(options, ignore, source, judge, progress, request, notes, unused)
        result.category = result.category or category(request)
        return result

    def half(offset: int) -> Progress | None:
        if progress is None:
            return None
        report = progress
        return lambda done, total, count: report(offset * total + done, 2 * total, count)

    base = _side(replace(options, refs=(request.base,), emit_dir=None), ignore, source, judge, half(0))
    head = _side(options, ignore, source, judge, half(1), request, notes, unused)
    head.defects = compare(head.defects, base.defects)
    counts = {s: sum(1 for d in head.defects if d.status is s) for s in (Status.NEW, Status.UNCHANGED, Status.FIXED)}
    head.notes.append(f"base {request.base}: {len(base.defects)} defect(s) there; here {counts[Status.NEW]} new, "
                      f"{counts[Status.UNCHANGED]} unchanged, {counts[Status.FIXED]} fixed")
    head.category = head.category or category(request)
    return head


def _nothing_rendered(options: CheckOptions) -> str:
    cells = f"the cell {options.cells[0].name}" if len(options.cells) == 1 else f"{len(options.cells)} cells"
    refs = f" at {', '.join(options.refs)}" if options.refs else ""
    hosts = f" for --host {', '.join(options.hosts)}" if options.hosts else ""
    return f"nothing was checked: {cells} of {options.checkout}{refs} rendered no file{hosts} and reported nothing"


def _component(text: str) -> str:
    return re.sub(r"[\s/\\]+", "-", text).strip("-") or "-"


def category(request: CheckRequest) -> str:
    """What a check run is, for reports that must tell runs apart (SARIF's `automationDetails.id`,
    GitHub code scanning's category): `kvalidate/check/WHAT/REFS`. WHAT is the scenarios, else the
    matrix file, else `default`, with a hash of the extra vars, the layout, inventory and automatic
    coverage; REFS the `--ref`s, else `worktree`. Shards of one run share it (their merged report is
    the run's)."""
    if request.scenarios:
        what = [posixpath.splitext(posixpath.basename(s))[0] for s in request.scenarios]
    elif request.use_config and request.config is not None:
        what = [request.config.name]
    elif request.use_config and (request.checkout / CONFIG_NAME).is_file():
        what = [CONFIG_NAME]
    else:
        what = ["default"]
    if request.extra_vars:  # runs with different -e are different runs: a short hash tells them apart
        values = json.dumps(request.extra_vars, sort_keys=True, default=str)
        what.append("vars-" + hashlib.sha256(values.encode("utf-8")).hexdigest()[:8])
    if request.layout:
        what.append(f"layout-{request.layout}")
    if request.inventory is not None:
        what.append(f"inventory-{request.inventory.name}")
    if request.auto:
        what.append("auto")
    refs = "+".join(_component(r) for r in request.refs) or "worktree"
    return f"kvalidate/check/{'+'.join(_component(w) for w in what)}/{refs}"


def triggers(result: Result, options: CheckOptions, pool: RunCells, budget: int, checkout_arg: str,
             notes: Callable[[str], None] | None = None) -> None:
    """Confirm the triggers of `result`'s error defects by re-rendering on `pool` (at most `budget`
    cells), reading the template's conditionals around each defect's line from its ref."""
    checkouts: dict[str, Checkout] = {}

    def near(ref: str, template: str, line: int) -> list[Nearby]:
        if ref not in checkouts:
            checkouts[ref] = open_ref(options.checkout, ref)
        try:
            source = checkouts[ref].tree.read_text(template)
        except Exception:  # noqa: BLE001 - an unreadable template has no conditionals to offer
            return []
        return conditionals_near(source, line)

    stats = confirm(result, pool_renderer(pool), near, budget, command=lambda c: reproduce(c, checkout_arg))
    if notes is not None and stats.rerenders:
        notes(stats.summary())


def demo_request(jobs: int = 1, trigger_budget: int = DEFAULT_BUDGET) -> CheckRequest:
    """`kvalidate demo`: `check` over the embedded default (templates_under_test and its matrix)."""
    root = embedded_demo()
    if not (root / "kvalidate.yaml").is_file():
        raise SetupError(f"the embedded default is missing: no {root / 'kvalidate.yaml'}")
    return CheckRequest(checkout=root, jobs=jobs, checkout_arg="templates_under_test", trigger_budget=trigger_budget)


def validate_paths(paths: Sequence[str], kube_version: str | None = None, crds: Sequence[str] = ()) -> Result:
    """Validate rendered Kubernetes YAML strictly (files, directories, or "-" for stdin), with the
    schemas of `kube_version` (default: newest bundled) and CRDs read from `crds`."""
    store = SchemaStore.for_version(kube_version)
    if crds:
        load_crds(store, list(crds))
    tune_gc()
    result = attach(_validate.validate_paths(list(paths), store))
    result.category = "kvalidate/validate"
    return result


@dataclass
class Rendered:
    """`render`'s outcome: the text (None when the template did not render) and the findings."""

    text: str | None
    result: Result


RENDERED_LABEL = "<rendered>"  # `file` of `render --validate`'s findings: the output, not the template


def render(template: Path, extra_vars: Mapping[str, Any], validate: bool = False,
           kube_version: str | None = None) -> Rendered:
    """Render one template as Ansible's template module would (no checkout); with `validate`, also
    parse and validate its output. A finding of the output has `file` "<rendered>" and `line` in
    the output; `template` and `template_line` come from the map recorded while rendering (an
    included template's lines name that file, beside the template)."""
    text, lines, findings = render_template_mapped(template, extra_vars)
    found: list[Finding] = list(findings)
    if text is not None and validate:
        for f in validate_text(text, Source(file=RENDERED_LABEL, template=str(template)), kube_version):
            file, tline = lines.at(f.line) if lines is not None else ("", 0)
            found.append(replace(f, template=str(template.parent / file) if file else str(template),
                                 template_line=tline))
    return Rendered(text, attach(Result(findings=found, files=1 if validate and text is not None else 0,
                                        category="kvalidate/render")))
