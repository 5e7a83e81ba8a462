"""Findings of an automatic cell that say its assignment is infeasible, not that a template is wrong.

Automatic coverage (`--auto`) chooses values nobody named. When the checkout refuses them the cell
says so, and that refusal is the checkout being right, not a defect:

- `task-failed`: one of the checkout's own `assert`/`fail` tasks rejects the assignment (a
  credential check the planning could not satisfy);
- `load-error` for a role or task file that is not there: the assignment names one the checkout
  lacks;
- `undefined-variable` for an input the checkout documents (`kubespray.documented`: a commented-out
  example in the sample inventory or role defaults, a role README, a name its `docs/` tell the user
  to set, such as calico's `peers` or cilium's `cilium_ipsec_key`) and nothing in its code defines
  (`defined_names`: no default, `set_fact` or `register` of that name).

In an automatic cell these become the report's notes (`Result.infeasible`); in a cell the user
named (a scenario, a matrix row, the default cell) they stay errors. Everything else an automatic
cell finds stays an error: a template error, a schema error, and a variable read where nothing
defines it and no documentation names it (calico's `rbac_resources`, removed from Kubespray years
ago; 2.23's `crio_version >= v1.26.0`, where `v1` is no variable at all): that is the checkout's
defect.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from dataclasses import replace
from typing import Any

from kvalidate.model import Cell, Finding, Result

_UNDEFINED = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)' is undefined")
_NOT_FOUND = ("was not found", "could not find", "no such file", "not found in")


def infeasible(finding: Finding, documented: Mapping[str, Any], defined: Set[str] = frozenset()) -> bool:
    """Is `finding`, met in an automatic cell, the checkout refusing the assignment?"""
    if finding.rule == "task-failed":
        return True
    if finding.rule == "load-error":
        return any(m in finding.message.lower() for m in _NOT_FOUND)
    if finding.rule == "undefined-variable":
        m = _UNDEFINED.search(finding.message)
        return m is not None and m[1] in documented and m[1] not in defined
    return False


def split_infeasible(result: Result, cell: Cell, documented: Mapping[str, Any],
                     defined: Set[str] = frozenset()) -> Result:
    """`result` of `cell` with the infeasible findings moved to `Result.infeasible` (automatic
    cells only; any other cell's result is returned as it is)."""
    if not cell.auto:
        return result
    keep = [f for f in result.findings if not infeasible(f, documented, defined)]
    if len(keep) == len(result.findings):
        return result
    gone = [f for f in result.findings if infeasible(f, documented, defined)]
    return replace(result, findings=keep, infeasible=[*result.infeasible, *gone])
