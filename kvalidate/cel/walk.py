"""Evaluating a CRD's `x-kubernetes-validations` on one custom resource, as apiextensions-apiserver
does on create (pkg/apiserver/schema/cel/validation.go).

`evaluate(schema, obj, minor)` visits the object along its structural schema (properties present
in the object, `additionalProperties` for every map value, `items` for every list item, `allOf`
branches) and runs each node's rules with `self` bound to the node's value; absent and null
values run no rules. A rule that evaluates to false becomes a problem at the node's path (plus
the rule's `fieldPath`), worded as the API server words it: `reason` picks the form
(`Invalid value: <value>: <message>`, `Forbidden: ...`, `Required value: ...`,
`Duplicate value: ...`), the message is `messageExpression`'s result, else `message`, else
`failed rule: <rule>`. A transition rule (one that reads `oldSelf`) does not run on create unless
`optionalOldSelf: true` (then `oldSelf` is `optional.none()`); skipped rules are counted.
Runtime cost is metered against the per-call limit and the object's budget.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from celpy.celtypes import BoolType

from kvalidate.cel import libs as L
from kvalidate.cel.compile import Compiled, CompileError, compile_rule
from kvalidate.cel.limits import MAX_MESSAGE_BYTES, OBJECT_TIME_LIMIT_S, PER_CALL_LIMIT, RUNTIME_BUDGET
from kvalidate.cel.runtime import BudgetExceeded, CELError, Meter, TimeLimit, to_cel_typed
from kvalidate.cel.runtime import evaluate as run
from kvalidate.defaults import apply_defaults
from kvalidate.model import go_value

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One error of one rule on one value: where (relative to the object's root), what, how."""

    path: Path_
    message: str  # the API server's field error body: "Invalid value: -3: Must be positive non-zero"
    rule_id: str  # cel-rule (false), cel-error (evaluation error), cel-cost (budget or limit)
    reason: str = "FieldValueInvalid"
    severity: str = "error"  # "warning" for kvalidate's own time limit


@dataclass
class Outcome:
    problems: list[Problem] = field(default_factory=list)
    evaluated: int = 0  # rule evaluations run
    skipped: int = 0  # rule evaluations not run: transition rules, unsupported syntax, time limit
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    cost: int = 0  # metered cost spent on this object

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.skipped_reasons[reason] = self.skipped_reasons.get(reason, 0) + 1


_CACHE: dict[tuple[int, str, bool], tuple[dict[str, Any], list[Compiled | CompileError]]] = {}


def compiled_rules(node: dict[str, Any], minor: str, root: bool = False) -> list[Compiled | CompileError]:
    """The node's rules compiled for `minor` (cached on the node, which schemas keep for the run)."""
    key = (id(node), minor, root)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is node:
        return hit[1]
    out: list[Compiled | CompileError] = []
    for rule in node.get("x-kubernetes-validations") or []:
        if not isinstance(rule, dict) or not isinstance(rule.get("rule"), str):
            out.append(CompileError("rule is not a string"))
            continue
        msg_expr = rule.get("messageExpression")
        out.append(compile_rule(rule["rule"], node, minor, root=root,
                                message_expression=msg_expr if isinstance(msg_expr, str) else ""))
    _CACHE[key] = (node, out)
    return out


def evaluate(schema: dict[str, Any], obj: Any, minor: str, *, defaulted: bool = False) -> Outcome:
    """Every rule of `schema` (a CRD version's openAPIV3Schema) on `obj` (the custom resource), on
    create: after defaulting, as the API server (`defaulted`: the caller already applied them)."""
    walker = _Walker(minor)
    walker.visit(schema, obj if defaulted else apply_defaults(schema, obj), (), root=True)
    walker.outcome.cost = RUNTIME_BUDGET - walker.budget
    return walker.outcome


def _type_of(node: dict[str, Any]) -> str:
    t = node.get("type")
    return t if isinstance(t, str) else ""


def error_body(reason: str, node_type: str, value: Any, detail: str) -> str:
    """field.Error's text without its path, for a rule's reason (fieldErrorForReason)."""
    omit = node_type in ("object", "array")
    if reason == "FieldValueForbidden":
        return f"Forbidden: {detail}" if detail else "Forbidden"
    if reason == "FieldValueRequired":
        return f"Required value: {detail}" if detail else "Required value"
    if reason == "FieldValueDuplicate":
        return "Duplicate value" if omit else f"Duplicate value: {go_value(value)}"
    return f"Invalid value: {detail}" if omit else f"Invalid value: {go_value(value)}: {detail}"


def _cel_error_text(e: Any) -> str:
    """A celpy runtime error in cel-go's words."""
    text = str(e.args[0]) if getattr(e, "args", None) else str(e)
    m = re.match(r"no such member in mapping: '(.*)'$", text)
    if m:
        return f"no such key: {m.group(1)}"
    if text == "no such key":
        inner = e.args[2] if len(e.args) > 2 and e.args[2] else ()
        return f"no such key: {inner[0]}" if inner else "no such key"
    if text == "invalid_argument":
        return "index out of bounds"
    if text == "divide by zero":
        return "division by zero"
    if text == "return error for overflow":
        return "integer overflow"
    return text


def _field_path(path: str) -> Path_:
    """A rule's fieldPath (`.spec.x`, `.a['b.c']`, `.l[0]`) as path parts."""
    out: list[str | int] = []
    for m in re.finditer(r"\.([^.\[]+)|\['((?:\\.|[^'])*)'\]|\[(\d+)\]", path):
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(m.group(2).replace("\\'", "'"))
        else:
            out.append(int(m.group(3)))
    return tuple(out)


class _Walker:
    def __init__(self, minor: str) -> None:
        self.minor = minor
        self.outcome = Outcome()
        self.budget = RUNTIME_BUDGET
        self.deadline = time.monotonic() + OBJECT_TIME_LIMIT_S
        self.stopped = False

    def visit(self, node: Any, value: Any, path: Path_, root: bool = False) -> None:
        if self.stopped or not isinstance(node, dict) or value is None:
            return
        root = root or bool(node.get("x-kubernetes-embedded-resource"))
        if node.get("x-kubernetes-validations"):
            self.run_rules(node, value, path, root)
        for sub in node.get("allOf") or []:
            if isinstance(sub, dict):
                self.visit(sub, value, path)
        if isinstance(value, list):
            items = node.get("items")
            if isinstance(items, dict):
                for i, item in enumerate(value):
                    self.visit(items, item, (*path, i))
        elif isinstance(value, dict):
            addl = node.get("additionalProperties")
            if isinstance(addl, dict):
                for k, v in value.items():
                    self.visit(addl, v, (*path, k))
            props = node.get("properties")
            if isinstance(props, dict):
                for k, v in value.items():
                    sub = props.get(k)
                    if isinstance(sub, dict):
                        self.visit(sub, v, (*path, k))

    def _self_value(self, node: dict[str, Any], value: Any) -> Any:
        return to_cel_typed(value, node)

    def run_rules(self, node: dict[str, Any], value: Any, path: Path_, root: bool) -> None:
        rules = node.get("x-kubernetes-validations") or []
        compiled = compiled_rules(node, self.minor, root)
        node_type = _type_of(node)
        self_value: Any = None
        for spec, comp in zip(rules, compiled, strict=False):
            if self.stopped:
                self.outcome.skip("budget")
                continue
            if isinstance(comp, CompileError):
                # the API server refuses such a CRD; kvalidate reports it on the CRD, not here
                self.outcome.skip("compile error")
                continue
            optional_old = bool(spec.get("optionalOldSelf"))
            if comp.uses_old_self and not optional_old:
                self.outcome.skip("transition rule (oldSelf)")
                continue
            if comp.unsupported or comp.ast is None:
                self.outcome.skip("unsupported syntax")
                continue
            if time.monotonic() > self.deadline:
                self.outcome.skip("time limit")
                continue
            if self_value is None:
                self_value = self._self_value(node, value)
            variables: dict[str, Any] = {"self": self_value}
            if comp.uses_old_self:
                variables["oldSelf"] = L.NONE
            meter = Meter(limit=min(PER_CALL_LIMIT, self.budget),
                          which="call" if PER_CALL_LIMIT <= self.budget else "budget")
            meter.start()
            rule_text = str(spec.get("rule", "")).strip()
            shown = str(spec.get("message") or "").strip() or rule_text
            try:
                result = run(comp.ast, comp.env, variables, meter)
            except BudgetExceeded as e:
                self.stopped = True
                self.budget -= meter.cost
                if e.which == "call":
                    text = (f"Invalid value: {json.dumps(node_type)}: 'operation cancelled: actual cost limit "
                            f"exceeded': no further validation rules will be run due to call cost exceeds limit "
                            f"for rule: {shown}")
                else:
                    text = (f"Invalid value: {json.dumps(node_type)}: validation failed due to running out of "
                            "cost budget, no further validation rules will be run")
                self.outcome.problems.append(Problem(path, text, "cel-cost"))
                continue
            except TimeLimit:
                self.outcome.skip("time limit")
                self.outcome.problems.append(Problem(
                    path, f"rule not evaluated: it ran past kvalidate's time limit after {meter.cost} cost units "
                          f"(the API server's limit is {PER_CALL_LIMIT}): {shown}", "cel-cost", severity="warning"))
                continue
            self.budget -= meter.cost
            self.outcome.evaluated += 1
            if isinstance(result, CELError):
                text = _cel_error_text(result)
                if text.startswith("no such overload"):
                    body = (f"'no such overload': call arguments did not match a supported operator, function or "
                            f"macro signature for rule: {shown}")
                else:
                    body = f"{text} evaluating rule: {shown}"
                self.outcome.problems.append(Problem(path, f"Invalid value: {json.dumps(node_type)}: {body}",
                                                     "cel-error"))
                continue
            if isinstance(result, BoolType) and result:
                continue
            if not isinstance(result, BoolType):
                self.outcome.problems.append(Problem(
                    path, f"Invalid value: {json.dumps(node_type)}: rule did not evaluate to a bool: {shown}",
                    "cel-error"))
                continue
            detail = self._message(spec, comp, variables)
            where = path
            fp = spec.get("fieldPath")
            if isinstance(fp, str) and fp:
                where = (*path, *_field_path(fp))
            reason = spec.get("reason") if isinstance(spec.get("reason"), str) else "FieldValueInvalid"
            self.outcome.problems.append(Problem(where, error_body(str(reason), node_type, value, detail),
                                                 "cel-rule", str(reason)))

    def _message(self, spec: dict[str, Any], comp: Compiled, variables: dict[str, Any]) -> str:
        message = str(spec.get("message") or "").strip()
        fallback = message or f"failed rule: {str(spec.get('rule', '')).strip()}"
        if comp.message_expression is None:
            return fallback
        meter = Meter(limit=min(PER_CALL_LIMIT, max(self.budget, 0)))
        meter.start()
        try:
            result = run(comp.message_expression, comp.env, variables, meter)
        except (BudgetExceeded, TimeLimit):
            return fallback
        finally:
            self.budget -= meter.cost
        if isinstance(result, str) and not isinstance(result, CELError):
            text = result.strip()
            if text and "\n" not in text and len(text) <= MAX_MESSAGE_BYTES:
                return text
        return fallback
