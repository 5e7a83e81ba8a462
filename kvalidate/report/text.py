"""One block per defect, led by the template line (a file of the checkout, not a rendered path):

    roles/x/templates/t.yml.j2:120: error unknown-field: unknown field "spec.x"
        trigger: typha_secure=true, calico_ipam_host_local=true
        in 4 cell(s), 2 host(s)
        rendered: instance-1/etc/kubernetes/t.yml:113
        reproduce: kvalidate check ks --no-config -e '{...}'

then, for a matrix (more than one cell or ref), the cells and templates with defects, and the
totals line, always last (scripts read it): `N file(s), M document(s): D defect(s) (E errors,
W warnings) from F finding(s)`. Fixed defects (`--base`) come after the others. `kvalidate
validate` defects are one line each, `file:line:column: severity rule: message`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TextIO

from kvalidate.model import Defect, Result, Severity, Status
from kvalidate.report.describe import block, defects, location, totals

MAX_ROWS = 10  # rows per table; the rest is counted on one line


def write(result: Result, out: TextIO) -> None:
    found = defects(result)
    for d in found:
        out.write("\n".join(block(d, result)) + "\n")
    if len(result.cells) > 1 or len(result.stats.runs) > 1:
        write_matrix(result, found, out)
    for note in result.notes:
        out.write(f"note: {note}\n")
    write_infeasible(result, out)
    s = result.summary()
    if s["no_schema_kinds"]:
        out.write("not validated (no schema): " + ", ".join(s["no_schema_kinds"]) + "\n")
    if result.cel_skipped:
        out.write(f"CRD validation rules not evaluated: {result.cel_skipped} (transition rules on create; "
                  "docs/cel.md)\n")
    out.write(f"{s['files']} file(s), {s['documents']} document(s): {totals(result, found)}\n")


def _table(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[object]], more: str) -> None:
    """Numbers right-aligned first, the name last (unpadded: names are long)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    for r in [header, *rows]:
        cells = [str(v).rjust(widths[i]) for i, v in enumerate(r[:-1])]
        out.write("  ".join([*cells, str(r[-1])]) + "\n")
    if more:
        out.write(more + "\n")


def _label(cell: str, ref: str) -> str:
    return f"{cell} @ {ref}" if ref else cell


def write_matrix(result: Result, found: Sequence[Defect], out: TextIO) -> None:
    """The (cell, ref) runs with defects and the templates with defects, each with its counts."""
    per_run: dict[tuple[str, str], list[Defect]] = defaultdict(list)
    per_template: dict[str, list[Defect]] = defaultdict(list)
    template_runs: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for d in found:
        if d.status is Status.FIXED:
            continue
        runs = {(f.cell, f.ref) for f in d.findings} or {(c, "") for c in d.cells}
        for key in runs:
            per_run[key].append(d)
        where = d.template or location(d)  # a finding on a whole cell: `cell NAME`
        per_template[where].append(d)
        template_runs[where] |= runs
    recorded = {r.label: r for r in result.stats.runs.values()}
    every = {(r.cell, r.ref) for r in recorded.values()} or {(c.name, "") for c in result.cells}
    every |= set(per_run)

    def errors(ds: Sequence[Defect]) -> int:
        return sum(1 for d in ds if d.severity is Severity.ERROR)

    failing = sorted(per_run, key=lambda k: (-errors(per_run[k]), -len(per_run[k]), k))
    out.write(f"\ncells: {len(every)} run(s), {len(failing)} with defects\n")
    if failing:
        rows: list[tuple[object, ...]] = []
        for k in failing[:MAX_ROWS]:
            info = recorded.get(_label(*k))
            kube = info.kube if info else result.stats.kube_minor.get(k[0], "")
            rows.append((errors(per_run[k]), len(per_run[k]) - errors(per_run[k]), kube or "-",
                         info.files if info else "-", _label(*k)))
        more = len(failing) - MAX_ROWS
        _table(out, ("errors", "warnings", "kube", "files", "cell"), rows,
               f"... and {more} more cell run(s) with defects" if more > 0 else "")
    if per_template:
        names = sorted(per_template, key=lambda t: (-errors(per_template[t]), -len(per_template[t]), t))
        trows = [(errors(per_template[t]), len(per_template[t]) - errors(per_template[t]),
                  len({c for c, _ in template_runs[t]}), t) for t in names[:MAX_ROWS]]
        out.write("\n")
        more = len(names) - MAX_ROWS
        _table(out, ("errors", "warnings", "cells", "template"), trows,
               f"... and {more} more template(s)" if more > 0 else "")
    out.write("\n")


def write_infeasible(result: Result, out: TextIO) -> None:
    """The findings of automatic cells that are the checkout refusing an assignment (a credential
    check, a role it lacks, an undefined documented input: `run.infeasible`), once per place and
    message with their hosts: notes, never defects."""
    hosts: dict[tuple[str, str, str, str, str], list[str]] = defaultdict(list)
    for f in result.infeasible:
        hosts[(f.cell, f.ref, f.file or f.template, f.rule, f.message)].append(f.host)
    if not hosts:
        return
    out.write(f"note: {len(result.infeasible)} finding(s) of automatic cells are the checkout refusing the "
              "assignment (infeasible), not defects:\n")
    for (cell, ref, where, rule, message), on in list(hosts.items())[:MAX_ROWS]:
        names = ", ".join(h for h in on if h)
        out.write(f"note:   {_label(cell, ref)}: {where + ': ' if where else ''}{rule}: {message}"
                  + (f" ({names})" if names else "") + "\n")
    if len(hosts) > MAX_ROWS:
        out.write(f"note:   ... and {len(hosts) - MAX_ROWS} more\n")
