"""CEL for CRD `x-kubernetes-validations`: the Kubernetes CEL environment per minor on celpy
(`runtime`, `libs`), compiling a rule for a schema node (`compile`), and evaluating a CRD's rules
on a custom resource (`walk`). docs/cel.md says why celpy and what differs from the API server.

celpy costs ~140 ms to import, so this package loads it only on first use (PEP 562, as
`kvalidate/__init__.py` loads the API): `has_rules` and `limits` never import it, and validating
documents whose schemas have no rules never does.

- `compile_rule(rule, node, minor, *, message_expression="", root=False) -> Compiled | CompileError`
- `evaluate(schema, obj, minor) -> Outcome` (`Outcome.problems`: `Problem(path, message, rule_id,
  reason, severity)`; `Outcome.skipped`: rule evaluations not run)
- `has_rules(schema) -> bool`
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kvalidate.cel.compile import Compiled, CompileError, compile_rule
    from kvalidate.cel.walk import Outcome, Problem, evaluate

_LAZY = {"compile_rule": "compile", "Compiled": "compile", "CompileError": "compile", "evaluate": "walk",
         "Outcome": "walk", "Problem": "walk"}

__all__ = ["CompileError", "Compiled", "Outcome", "Problem", "compile_rule", "evaluate", "has_rules"]


def has_rules(schema: Any) -> bool:
    """Whether any node of a schema carries x-kubernetes-validations (never imports celpy)."""
    if isinstance(schema, dict):
        if schema.get("x-kubernetes-validations"):
            return True
        return any(has_rules(v) for k, v in schema.items() if k not in ("enum", "default", "example"))
    if isinstance(schema, list):
        return any(has_rules(v) for v in schema)
    return False


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module == "compile":
        from kvalidate.cel import compile as compile_mod

        return getattr(compile_mod, name)
    if module == "walk":
        from kvalidate.cel import walk

        return getattr(walk, name)
    raise AttributeError(f"module 'kvalidate.cel' has no attribute {name!r}")
