"""The walker against the API server's wording: kubectl-validate's error_cel_basic* cases (its
expected Status is the API server's), each reason form, fieldPath, messageExpression, transition
rules, and the cost limits (a hostile rule ends as a finding, fast)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kvalidate.cel import compile_rule, evaluate
from kvalidate.cel.compile import Compiled, CompileError
from kvalidate.model import Severity
from kvalidate.validation.cel_rules import cel_findings

# testcases/crds/cel_basic.yaml of kubectl-validate, its schema in our words
CEL_BASIC: dict[str, Any] = {
    "type": "object",
    "x-kubernetes-validations": [{"rule": "!has(self.other_value) || self.other_value % self.value == 0",
                                  "message": "Other must be a multiple of value"}],
    "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "value": {"type": "integer", "x-kubernetes-validations": [
            {"rule": "self > 0", "message": "Must be positive non-zero"}]},
        "other_value": {"type": "integer"},
    },
}


def _obj(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "stable.example.com/v1", "kind": "CELBasic", "metadata": {"name": "my-basic"}, **fields}


def _messages(schema: dict[str, Any], obj: Any, minor: str = "1.32") -> list[str]:
    return [m for _, _, _, m in cel_findings(schema, obj, minor)]


def test_error_cel_basic_as_the_api_server_words_it() -> None:
    assert _messages(CEL_BASIC, _obj(value=-3)) == ["value: Invalid value: -3: Must be positive non-zero"]


def test_error_cel_basic_multiple_at_the_root() -> None:
    assert _messages(CEL_BASIC, _obj(value=3, other_value=8)) == [
        "<nil>: Invalid value: Other must be a multiple of value"]


def test_a_valid_object_has_no_problem_and_absent_fields_run_no_rules() -> None:
    assert _messages(CEL_BASIC, _obj(value=3, other_value=9)) == []
    outcome = evaluate(CEL_BASIC, _obj(other_value=None), "1.32")
    assert outcome.evaluated == 1 and outcome.problems == [] or outcome.problems[0].rule_id == "cel-error"


def _node(rule: dict[str, Any], t: str = "string") -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "x": {"type": t, "x-kubernetes-validations": [rule]},
        "items": {"type": "array", "maxItems": 10, "items": {"type": "object", "properties": {
            "name": {"type": "string", "maxLength": 20}}, "x-kubernetes-validations": [rule]}},
        "labels": {"type": "object", "additionalProperties": {"type": "string",
                                                              "x-kubernetes-validations": [rule]}}}}}}


@pytest.mark.parametrize(("rule", "value", "want"), [
    ({"rule": "self == 'ok'"}, "bad", 'spec.x: Invalid value: "bad": failed rule: self == \'ok\''),
    ({"rule": "self == 'ok'", "message": " must be ok "}, "bad", 'spec.x: Invalid value: "bad": must be ok'),
    ({"rule": "self == 'ok'", "reason": "FieldValueForbidden", "message": "no"}, "bad", "spec.x: Forbidden: no"),
    ({"rule": "self == 'ok'", "reason": "FieldValueRequired", "message": "need"}, "bad",
     "spec.x: Required value: need"),
    ({"rule": "self == 'ok'", "reason": "FieldValueDuplicate"}, "bad", 'spec.x: Duplicate value: "bad"'),
    ({"rule": "self == 'ok'", "message": "m", "messageExpression": "'got ' + self"}, "bad",
     'spec.x: Invalid value: "bad": got bad'),
    # a messageExpression that fails falls back to message; an empty one too
    ({"rule": "self == 'ok'", "message": "m", "messageExpression": "self.nope"}, "bad",
     'spec.x: Invalid value: "bad": m'),
    ({"rule": "self == 'ok'", "messageExpression": "''"}, "bad", "spec.x: Invalid value: \"bad\": failed rule: "
                                                                 "self == 'ok'"),
])
def test_reason_message_forms(rule: dict[str, Any], value: str, want: str) -> None:
    assert _messages(_node(rule), _obj(spec={"x": value})) == [want]


def test_rules_run_for_every_list_item_and_map_value_with_field_path() -> None:
    rule = {"rule": "self.name != 'bad'", "fieldPath": ".name", "message": "bad name"}
    schema = _node(rule)
    msgs = _messages(schema, _obj(spec={"items": [{"name": "a"}, {"name": "bad"}, {"name": "bad"}]}))
    assert msgs == ["spec.items[1].name: Invalid value: bad name", "spec.items[2].name: Invalid value: bad name"]
    labels = _node({"rule": "self.size() < 3"})
    assert _messages(labels, _obj(spec={"labels": {"a": "ok", "b": "long"}})) == [
        'spec.labels.b: Invalid value: "long": failed rule: self.size() < 3']


def test_an_evaluation_error_is_cel_error_in_the_api_servers_words() -> None:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}},
                                                        "x-kubernetes-validations": [{"rule": "self.a == 'x'"}]}}}
    found = list(cel_findings(schema, _obj(spec={}), "1.32"))
    assert found == [(Severity.ERROR, "cel-error", ("spec",),
                      'spec: Invalid value: "object": no such key: a evaluating rule: self.a == \'x\'')]


def test_transition_rules_are_skipped_on_create_unless_optional_old_self() -> None:
    schema = _node({"rule": "self == oldSelf", "message": "immutable"})
    outcome = evaluate(schema, _obj(spec={"x": "a"}), "1.32")
    assert outcome.problems == [] and outcome.skipped == 1
    assert outcome.skipped_reasons == {"transition rule (oldSelf)": 1}
    schema = _node({"rule": "!oldSelf.hasValue() || self == oldSelf.value()", "optionalOldSelf": True,
                    "message": "immutable"})
    outcome = evaluate(schema, _obj(spec={"x": "a"}), "1.32")
    assert outcome.skipped == 0 and outcome.evaluated == 1 and outcome.problems == []
    schema = _node({"rule": "oldSelf.hasValue()", "optionalOldSelf": True, "message": "update only"})
    assert [p.message for p in evaluate(schema, _obj(spec={"x": "a"}), "1.32").problems] == [
        'Invalid value: "a": update only']


def test_compile_errors_name_what_the_api_server_names() -> None:
    node = CEL_BASIC
    assert isinstance(compile_rule("self.value > 0", node, "1.32", root=True), Compiled)
    assert isinstance(compile_rule("self.metadata.name == 'x'", node, "1.32", root=True), Compiled)
    for rule, want in [("self.valu > 0", "undefined field 'valu'"),
                       ("self.metadata.labels.size() > 0", "undefined field 'labels'"),
                       ("self.value.frobnicate()", "undeclared reference to 'frobnicate'"),
                       ("nope > 1", "undeclared reference to 'nope'"), ("self.value >", "Syntax error"),
                       ("has(self)", "invalid argument to has() macro")]:
        got = compile_rule(rule, node, "1.32", root=True)
        assert isinstance(got, CompileError) and want in got.message, (rule, got)


def test_a_message_expression_that_does_not_compile_refuses_the_rule() -> None:
    got = compile_rule("self.value > 0", CEL_BASIC, "1.32", root=True, message_expression="self.nope + 'x'")
    assert isinstance(got, CompileError) and got.message.startswith("messageExpression compilation failed")
    got = compile_rule("self.value > 0", CEL_BASIC, "1.32", root=True, message_expression="'x' +")
    assert isinstance(got, CompileError) and "Syntax error" in got.message


def test_optional_field_selection_is_unsupported_not_an_error() -> None:
    got = compile_rule("self.?value.orValue(1) > 0", CEL_BASIC, "1.32")
    assert isinstance(got, Compiled) and got.unsupported
    schema = {**CEL_BASIC, "x-kubernetes-validations": [{"rule": "self.?value.orValue(1) > 0"}]}
    outcome = evaluate(schema, _obj(value=-1), "1.32")
    assert outcome.skipped_reasons.get("unsupported syntax") == 1


HOSTILE_LIST = {"type": "object", "properties": {"l": {"type": "array", "items": {"type": "string"}}}}


def test_a_rule_over_unbounded_lists_is_refused_by_its_estimated_cost() -> None:
    got = compile_rule("self.l.all(a, self.l.all(b, a != b || a == b))", HOSTILE_LIST, "1.32")
    assert isinstance(got, CompileError) and got.cost
    assert got.message.startswith("estimated rule cost exceeds budget by factor of ")
    bounded = {"type": "object", "properties": {"l": {"type": "array", "maxItems": 10,
                                                      "items": {"type": "string", "maxLength": 10}}}}
    assert isinstance(compile_rule("self.l.all(a, self.l.all(b, a != b || a == b))", bounded, "1.32"), Compiled)


def test_a_hostile_rule_at_runtime_ends_as_a_finding_well_under_a_second() -> None:
    # within the static estimate (maxItems) but quadratic with a string doubling each step
    rule = "self.l.map(a, self.l.map(b, string(a) + string(b))).size() > 0"
    schema = {"type": "object", "properties": {"l": {"type": "array", "maxItems": 300, "items": {
        "type": "integer"}}}, "x-kubernetes-validations": [{"rule": rule}]}
    assert isinstance(compile_rule(rule, schema, "1.32"), Compiled)  # the API server accepts the CRD
    t0 = time.monotonic()
    outcome = evaluate(schema, {"l": list(range(300))}, "1.32")
    took = time.monotonic() - t0
    assert took < 1.0, took
    assert [(p.rule_id, p.severity) for p in outcome.problems] == [("cel-cost", "warning")]
    assert "time limit" in outcome.problems[0].message


def test_the_per_call_limit_is_the_api_servers() -> None:
    # string concatenation weighs its result: doubling a string 25 times passes 1,000,000 cost units
    rule = "[" + ", ".join(["1"] * 25) + "].map(x, 'a').size() > 0"
    schema = {"type": "object", "x-kubernetes-validations": [{"rule": rule}]}
    assert evaluate(schema, {}, "1.32").problems == []
    big = {"type": "object", "properties": {"s": {"type": "string", "maxLength": 3_000_000}},
           "x-kubernetes-validations": [{"rule": "self.s + self.s + self.s + self.s != ''"}] * 4}
    outcome = evaluate(big, {"s": "x" * 2_900_000}, "1.32")
    assert outcome.problems and outcome.problems[0].rule_id == "cel-cost", outcome
    assert "cost" in outcome.problems[0].message


def test_property_names_are_escaped_as_the_api_server_escapes_them() -> None:
    """The CSI snapshot CRDs' `has(self.__namespace__)`: `namespace` is a CEL reserved word."""
    ref = {"type": "object", "properties": {"name": {"type": "string"}, "namespace": {"type": "string"},
                                            "a-b.c": {"type": "string"}},
           "x-kubernetes-validations": [{"rule": "has(self.name) && has(self.__namespace__)",
                                         "message": "both name and namespace are required"},
                                        {"rule": "!has(self.a__dash__b__dot__c) || self.a__dash__b__dot__c == 'x'"}]}
    assert isinstance(compile_rule("has(self.__namespace__)", ref, "1.32"), Compiled)
    assert isinstance(compile_rule("has(self.namespaces)", ref, "1.32"), CompileError)
    schema = {"type": "object", "properties": {"ref": ref}}
    assert _messages(schema, {"ref": {"name": "a", "namespace": "b", "a-b.c": "x"}}) == []
    assert _messages(schema, {"ref": {"name": "a", "a-b.c": "y"}}) == [
        "ref: Invalid value: both name and namespace are required",
        "ref: Invalid value: failed rule: !has(self.a__dash__b__dot__c) || self.a__dash__b__dot__c == 'x'"]


def test_validation_does_not_import_celpy() -> None:
    """celpy costs ~140 ms to import: loading validation (or a schema with no rules) must not import it."""
    import subprocess
    import sys

    code = ("import sys, kvalidate.validation.validate as v, kvalidate.validation.cel_rules as c; "
            "list(c.cel_findings({'type': 'object'}, {}, '1.32')); print('celpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_rules_see_the_object_after_defaulting() -> None:
    """Gateway API's backendRef rule reads `self.group`, which the schema defaults to "": without
    defaulting, every Service backend would be a `no such key` error the API server never reports."""
    ref = {"type": "object", "properties": {
        "group": {"type": "string", "default": ""}, "kind": {"type": "string", "default": "Service"},
        "name": {"type": "string"}, "port": {"type": "integer"},
        "opt": {"type": "string", "default": "x"}},
        "x-kubernetes-validations": [
            {"rule": "(size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true",
                                      "message": "Must have port for Service reference"},
                                     {"rule": "!has(self.opt) || self.opt == 'x'"}]}
    schema = {"type": "object", "properties": {"refs": {"type": "array", "items": ref}}}
    # a null that is not nullable is defaulted too
    obj = {"refs": [{"name": "svc", "port": 80}, {"name": "svc"}, {"name": "n", "port": 1, "opt": None}]}
    assert _messages(schema, obj) == ["refs[1]: Invalid value: Must have port for Service reference"]
    assert obj["refs"][2] == {"name": "n", "port": 1, "opt": None}  # the caller's object is not changed
