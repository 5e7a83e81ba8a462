"""Semantic rules: what no schema expresses, checked over all renderings of one cell.

A rule is a module with an `ID`, a docstring that is its user documentation, and `check(cell)`
yielding findings. Rules see every rendering of the cell at once (all hosts), so cross-host rules
(one cluster-wide document rendered per control plane) fit here; `RULES` is the registry that
`kvalidate check` runs after validation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from kvalidate.model import Finding
from kvalidate.rules import node_local
from kvalidate.rules.context import CellContext

Rule = Callable[[CellContext], Iterator[Finding]]

RULES: dict[str, Rule] = {
    node_local.ID: node_local.check,
}


def run_rules(ctx: CellContext) -> list[Finding]:
    out: list[Finding] = []
    for rule in RULES.values():
        out.extend(rule(ctx))
    return out


__all__ = ["RULES", "CellContext", "Rule", "run_rules"]
