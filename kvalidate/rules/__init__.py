"""Semantic rules: what no schema expresses, checked over all renderings of one cell.

A rule is a module with an `ID`, a `SEVERITY`, a one-line `SUMMARY`, a docstring that is its user
documentation (with FAIL/PASS examples), and `check(ctx)` yielding findings built by
`context.finding`. Rules see every rendering of the cell at once (all hosts), so cross-host rules
(one cluster-wide document rendered per control plane) fit here. `RULES` is what `kvalidate check`
runs after validation; each rule is registered in `kvalidate.catalog` with every other rule id, and
`registry()` is that whole catalog.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from types import ModuleType

from kvalidate.catalog import CATALOG, Family, RuleInfo, register
from kvalidate.model import Finding
from kvalidate.rules import kube_vip_admin_conf, kube_vip_masquerade, kube_vip_metallb, node_local
from kvalidate.rules.context import CellContext

SemanticRule = Callable[[CellContext], Iterator[Finding]]

_MODULES: tuple[ModuleType, ...] = (node_local, kube_vip_admin_conf, kube_vip_masquerade, kube_vip_metallb)

RULES: dict[str, SemanticRule] = {m.ID: m.check for m in _MODULES}

for _m in _MODULES:
    register(RuleInfo(_m.ID, Family.SEMANTIC, _m.SEVERITY, _m.SUMMARY, inspect.cleandoc(_m.__doc__ or "")))


def registry() -> dict[str, RuleInfo]:
    """Every rule id any part of kvalidate can emit (the semantic rules included)."""
    return dict(CATALOG)


def run_rules(ctx: CellContext) -> list[Finding]:
    out: list[Finding] = []
    for rule in RULES.values():
        out.extend(rule(ctx))
    return out


__all__ = ["RULES", "CellContext", "SemanticRule", "registry", "run_rules"]
