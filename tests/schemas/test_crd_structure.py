"""What the API server refuses in a CustomResourceDefinition (kvalidate.schemas.crd_structure): one case per
check, with the message exactly as apiextensions-apiserver words it."""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from kvalidate.model import Severity, Source
from kvalidate.schemas import crd_structure
from kvalidate.schemas.crd_structure import Loc, Problem, crd_entries, crd_problems, entries_in
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation.validate import validate_text

FIXTURE = Path(__file__).parent / "fixtures" / "components" / "ipaddresspool-crd.yaml"
ROOT = "spec.validation.openAPIV3Schema"


def _crd(schema: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema or {
                     "type": "object", "properties": {"spec": {"type": "object", "properties": {
                         "size": {"type": "integer"}}}}}}}]}}
    base["spec"].update(spec)
    return base


def _spec_schema(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"spec": {"type": "object", "properties": props}}}


def _messages(doc: dict[str, Any]) -> list[str]:
    return [p.message for p in crd_problems(doc)]


SPEC = f"{ROOT}.properties[spec]"

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("valid", _crd(), []),
    # kubectl-validate testcases/manifests/error_crd_typo.yaml, word for word
    ("type typo", _crd(_spec_schema(message={"type": "strign"})),
     [f'{SPEC}.properties[message].type: Unsupported value: "strign": supported values: "array", "boolean", '
      '"integer", "number", "object", "string"']),
    ("type null", _crd(_spec_schema(x={"type": "null"})),
     [f'{SPEC}.properties[x].type: Unsupported value: "null": supported values: "array", "boolean", "integer", '
      '"number", "object", "string"',
      f"{SPEC}.properties[x].type: Forbidden: type cannot be set to null, use nullable as an alternative"]),
    ("no type", _crd(_spec_schema(x={"description": "d"})),
     [f"{SPEC}.properties[x].type: Required value: must not be empty for specified object fields"]),
    ("no item type", _crd(_spec_schema(x={"type": "array", "items": {"minLength": 1}})),
     [f"{SPEC}.properties[x].items.type: Required value: must not be empty for specified array items"]),
    ("array without items", _crd(_spec_schema(x={"type": "array"})),
     [f"{SPEC}.properties[x].items: Required value: must be specified"]),
    ("root not an object", _crd({"type": "string"}),
     [f'{ROOT}.type: Invalid value: "string": must be object at the root']),
    ("root additionalProperties", _crd({"type": "object", "additionalProperties": {"type": "string"}}),
     [f"{ROOT}.additionalProperties: Forbidden: must not be used at the root"]),
    ("root nullable", _crd({"type": "object", "nullable": True}),
     [f"{ROOT}.nullable: Forbidden: nullable cannot be true at the root"]),
    ("int-or-string forms", _crd(_spec_schema(
        a={"x-kubernetes-int-or-string": True},
        b={"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]},
        c={"x-kubernetes-int-or-string": True,
           "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}, {"maxLength": 3}]})), []),
    ("int-or-string with preserve", _crd(_spec_schema(
        a={"x-kubernetes-int-or-string": True, "x-kubernetes-preserve-unknown-fields": True})),
     [f"{SPEC}.properties[a].x-kubernetes-preserve-unknown-fields: Invalid value: true: must be false if "
      "x-kubernetes-int-or-string is true"]),
    ("$ref", _crd(_spec_schema(x={"$ref": "#/definitions/y"})),
     [f"{SPEC}.properties[x].$ref: Forbidden: $ref is not supported",
      f"{SPEC}.properties[x].type: Required value: must not be empty for specified object fields"]),
    ("uniqueItems", _crd(_spec_schema(x={"type": "array", "items": {"type": "string"}, "uniqueItems": True})),
     [f"{SPEC}.properties[x].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime "
      "complexity becomes quadratic"]),
    ("properties and additionalProperties", _crd(_spec_schema(
        x={"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False})),
     [f"{SPEC}.properties[x].additionalProperties: Forbidden: additionalProperties and properties are mutual "
      "exclusive"]),
    ("type inside anyOf", _crd(_spec_schema(x={"type": "string", "anyOf": [{"type": "string", "minLength": 1}]})),
     [f"{SPEC}.properties[x].anyOf[0].type: Forbidden: must be empty to be structural"]),
    ("nested forbidden", _crd(_spec_schema(x={"type": "string", "allOf": [
        {"nullable": True, "default": "a", "description": "d", "x-kubernetes-validations": [{"rule": "true"}]}]})),
     [f"{SPEC}.properties[x].allOf[0].default: Forbidden: must be undefined to be structural",
      f"{SPEC}.properties[x].allOf[0].description: Forbidden: must be empty to be structural",
      f"{SPEC}.properties[x].allOf[0].nullable: Forbidden: must be false to be structural",
      f"{SPEC}.properties[x].allOf[0].x-kubernetes-validations: Forbidden: must be empty to be structural"]),
    ("nested property not structural", _crd(_spec_schema(x={"type": "object", "properties": {
        "a": {"type": "string"}}, "anyOf": [{"required": ["a"]}, {"properties": {"b": {"minLength": 1}}}]})),
     [f"{SPEC}.properties[x].properties[b]: Required value: because it is defined in "
      f"{SPEC}.properties[x].anyOf[1].properties[b]"]),
    ("metadata beyond name", _crd({"type": "object", "properties": {"metadata": {
        "type": "object", "properties": {"labels": {"type": "object"}}}}}),
     [f"{ROOT}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but "
      "metadata is implicitly specified"]),
    ("metadata name only", _crd({"type": "object", "properties": {"metadata": {
        "type": "object", "properties": {"name": {"type": "string", "maxLength": 20}}}}}), []),
    ("default in metadata", _crd({"type": "object", "properties": {"metadata": {"type": "object",
                                                                              "default": {}}}}),
     [f"{ROOT}.properties[metadata].default: Forbidden: must not be set in top-level metadata"]),
    ("embedded resource not an object", _crd(_spec_schema(x={"x-kubernetes-embedded-resource": True,
                                                              "x-kubernetes-preserve-unknown-fields": True})),
     [f"{SPEC}.properties[x].type: Required value: must be object if x-kubernetes-embedded-resource is true"]),
    ("preserve false", _crd(_spec_schema(x={"type": "object", "x-kubernetes-preserve-unknown-fields": False})),
     [f"{SPEC}.properties[x].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or "
      "undefined"]),
    ("list type unknown", _crd(_spec_schema(x={"type": "array", "items": {"type": "string"},
                                               "x-kubernetes-list-type": "bag"})),
     [f'{SPEC}.properties[x].x-kubernetes-list-type: Unsupported value: "bag": supported values: "atomic", '
      '"map", "set"']),
    ("list type on an object", _crd(_spec_schema(x={"type": "object", "x-kubernetes-list-type": "set"})),
     [f'{SPEC}.properties[x].type: Invalid value: "object": must be array if x-kubernetes-list-type is specified']),
    ("set of granular objects", _crd(_spec_schema(x={"type": "array", "x-kubernetes-list-type": "set", "items": {
        "type": "object", "properties": {"a": {"type": "string"}}}})),
     [f"{SPEC}.properties[x].items.x-kubernetes-map-type: Invalid value: null: must be atomic as item of a list "
      "with x-kubernetes-list-type=set"]),
    ("map keys without list type", _crd(_spec_schema(x={"type": "array", "x-kubernetes-list-map-keys": ["a"],
                                                        "items": {"type": "object", "required": ["a"],
                                                                  "properties": {"a": {"type": "string"}}}})),
     [f"{SPEC}.properties[x].x-kubernetes-list-type: Required value: must be map if x-kubernetes-list-map-keys is "
      "non-empty"]),
    ("map without keys", _crd(_spec_schema(x={"type": "array", "x-kubernetes-list-type": "map", "items": {
        "type": "object", "properties": {"a": {"type": "string"}}}})),
     [f"{SPEC}.properties[x].x-kubernetes-list-map-keys: Required value: must not be empty if "
      "x-kubernetes-list-type is map"]),
    ("map key optional without default", _crd(_spec_schema(x={
        "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["a", "b"],
        "items": {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"},
                                                                      "b": {"type": "string"}}}})),
     [f"{SPEC}.properties[x].items.properties[b].default: Required value: this property is in "
      "x-kubernetes-list-map-keys, so it must have a default or be a required property"]),
    ("map key defaulted", _crd(_spec_schema(x={
        "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["a", "b"],
        "items": {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"},
                                                                      "b": {"type": "string", "default": "TCP"}}}})),
     []),
    ("map key missing and not scalar", _crd(_spec_schema(x={
        "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["a", "c"],
        "items": {"type": "object", "required": ["a"], "properties": {"a": {"type": "object"}}}})),
     [f'{SPEC}.properties[x].items.properties[a].type: Invalid value: "object": must be a scalar type if parent '
      "array's x-kubernetes-list-type is map",
      f'{SPEC}.properties[x].x-kubernetes-list-map-keys: Invalid value: ["a","c"]: entries must all be names of '
      "item properties"]),
    ("map items not objects", _crd(_spec_schema(x={"type": "array", "x-kubernetes-list-type": "map",
                                                   "x-kubernetes-list-map-keys": ["a"], "items": {"type": "string"}})),
     [f'{SPEC}.properties[x].items.type: Invalid value: "string": must be object if parent array\'s '
      "x-kubernetes-list-type is map"]),
    ("default of the wrong type", _crd(_spec_schema(x={"type": "integer", "default": "ten"})),
     [f'{SPEC}.properties[x].default: Invalid value: "ten": "ten" is not of type "integer"']),
    ("default with a pruned field", _crd(_spec_schema(x={"type": "object", "properties": {"a": {"type": "string"}},
                                                         "default": {"a": "x", "b": "y"}})),
     [f'{SPEC}.properties[x].default: Invalid value: {{"a":"x","b":"y"}}: must not have unknown fields']),
    ("valid defaults", _crd(_spec_schema(x={"type": "object", "properties": {"a": {"type": "string"}},
                                            "default": {"a": "x"}}, y={"type": "integer", "default": 3})), []),
    ("rule without text and a bad reason", _crd(_spec_schema(x={"type": "string", "x-kubernetes-validations": [
        {"rule": " "}, {"rule": "self.size() > 1", "reason": "Nope"}]})),
     [f"{SPEC}.properties[x].x-kubernetes-validations[0].rule: Required value: rule is not specified",
      f'{SPEC}.properties[x].x-kubernetes-validations[1].reason: Unsupported value: "Nope": supported values: '
      '"FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"']),
    ("multi-line rule without message", _crd(_spec_schema(x={"type": "string", "x-kubernetes-validations": [
        {"rule": "self.size() > 1 &&\nself != 'a'"}]})),
     [f"{SPEC}.properties[x].x-kubernetes-validations[0].message: Required value: message must be specified if "
      "rule contains line breaks"]),
    ("status subresource root", _crd({"type": "object", "anyOf": [{"required": ["spec"]}],
                                      "properties": {"spec": {"type": "object"}}}),
     []),
    ("group without a dot", _crd(group="example", metadata=None),
     ['spec.group: Invalid value: "example": should be a domain with at least one dot']),
    ("scope", _crd(scope="Global"),
     ['spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"']),
    ("two storage versions", _crd(versions=[
        {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}},
        {"name": "v2", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}}]),
     ['spec.versions: Invalid value: ["v1","v2"]: must have exactly one version marked as storage version']),
    ("version name", _crd(versions=[{"name": "V1", "served": True, "storage": True,
                                     "schema": {"openAPIV3Schema": {"type": "object"}}}]),
     ['spec.versions[0].name: Invalid value: "V1": a DNS-1035 label must consist of lower case alphanumeric '
      "characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. "
      "'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"]),
    ("per-version schemas", _crd(versions=[
        {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}},
        {"name": "v2", "served": True, "storage": False, "schema": {"openAPIV3Schema": {"type": "strng"}}}]),
     ['spec.versions[1].schema.openAPIV3Schema.type: Unsupported value: "strng": supported values: "array", '
      '"boolean", "integer", "number", "object", "string"',
      'spec.versions[1].schema.openAPIV3Schema.type: Invalid value: "strng": must be object at the root']),
    ("a version without schema", _crd(versions=[{"name": "v1", "served": True, "storage": True}]),
     ["spec.versions[0].schema.openAPIV3Schema: Required value"]),
    ("kind and listKind", _crd(names={"plural": "widgets", "kind": "Widget", "listKind": "Widget"}),
     ['spec.names.listKind: Invalid value: "Widget": kind and listKind may not be the same']),
]


@pytest.mark.parametrize(("case", "doc", "expected"), CASES, ids=[c[0] for c in CASES])
def test_crd_problem_messages(case: str, doc: dict[str, Any], expected: list[str]) -> None:
    if case == "status subresource root":
        doc["spec"]["versions"][0]["subresources"] = {"status": {}}
        expected = [f"{ROOT}: Invalid value: anyOf: only [Description Type Format Title Maximum ExclusiveMaximum "
                    "Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf "
                    "Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are "
                    "allowed at the root of the schema if the status subresource is enabled"]
    if case == "group without a dot":
        doc["metadata"] = {"name": "widgets.example"}
    assert sorted(_messages(doc)) == sorted(expected)


def test_name_must_be_plural_dot_group() -> None:
    doc = _crd()
    doc["metadata"]["name"] = "widget.example.com"
    (problem,) = crd_problems(doc)
    assert problem == Problem(("metadata", "name"), 'metadata.name: Invalid value: "widget.example.com": must be '
                              'spec.names.plural+"."+spec.group')


def test_problem_path_is_the_field_in_the_document() -> None:
    (problem,) = crd_problems(_crd(_spec_schema(message={"type": "strign"})))
    assert problem.path == ("spec", "versions", 0, "schema", "openAPIV3Schema", "properties", "spec", "properties",
                            "message", "type")


def test_the_fixture_crds() -> None:
    """MetalLB's IPAddressPool is valid. The Widget test CRD spells an int-or-string as `anyOf: [integer,
    string + pattern]`, which is not structural: only the exact `anyOf: [{type: integer}, {type: string}]`
    (schema/validation.go intOrStringAnyOf) may carry types under anyOf."""
    pool, widget = yaml.safe_load_all(FIXTURE.read_text())
    assert crd_problems(pool) == []
    memory = f"{ROOT}.properties[spec].properties[memory]"
    assert sorted(p.message for p in crd_problems(widget)) == [
        f"{memory}.anyOf[0].type: Forbidden: must be empty to be structural",
        f"{memory}.anyOf[1].type: Forbidden: must be empty to be structural"]


def test_node_checks_hook_runs_on_nodes_with_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook CEL compilation plugs into: called with each node that has rules, its location and minor."""
    seen: list[tuple[str, str]] = []

    def check(node: dict[str, Any], loc: Loc, minor: str) -> list[Problem]:
        seen.append((loc.api, minor))
        return [Problem(loc.doc, f"{loc.api}.x-kubernetes-validations[0].rule: Invalid value: compile error")]

    monkeypatch.setattr(crd_structure, "NODE_CHECKS", [check])
    doc = _crd(_spec_schema(x={"type": "string", "x-kubernetes-validations": [{"rule": "self.size() > 1"}]}))
    assert _messages(copy.deepcopy(doc)) == [  # minor "" by default
        f"{SPEC}.properties[x].x-kubernetes-validations[0].rule: Invalid value: compile error"]
    assert seen == [(f"{SPEC}.properties[x]", "")]
    assert [p.message for p in crd_problems(doc, "1.33")] == [
        f"{SPEC}.properties[x].x-kubernetes-validations[0].rule: Invalid value: compile error"]
    assert seen[-1] == (f"{SPEC}.properties[x]", "1.33")
    broken = _crd(_spec_schema(x={"type": "strng", "x-kubernetes-validations": [{"rule": "self.size() > 1"}]}))
    seen.clear()
    crd_problems(broken, "1.33")
    assert seen == []  # not on a schema the server already refuses


def test_entries_keep_the_structural_schema_or_the_reason() -> None:
    good = crd_entries(_crd(), "crd:t")
    (entry,) = good.values()
    assert entry.structural == _crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"] and not entry.broken
    bad = crd_entries(_crd(_spec_schema(a={"type": "strign"}), ), "crd:t")
    (entry,) = bad.values()
    assert entry.broken.startswith("its CustomResourceDefinition is invalid: " + SPEC + ".properties[a].type: "
                                   'Unsupported value: "strign"')
    assert set(entries_in([_crd(), {"kind": "ConfigMap"}, None], "crd:t")) == {("example.com/v1", "Widget")}


def test_crd_document_findings_and_its_resources(store: SchemaStore) -> None:
    text = textwrap.dedent("""\
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: widgets.example.com
        spec:
          group: example.com
          scope: Namespaced
          names: {plural: widgets, kind: Widget}
          versions:
          - name: v1
            served: true
            storage: true
            schema:
              openAPIV3Schema:
                type: object
                properties:
                  size:
                    type: strign
        """)
    findings = validate_text(text, Source("crd.yaml"), store=store)
    assert [(f.severity, f.rule, f.line, f.column, f.path) for f in findings] == [
        (Severity.ERROR, "crd-structure", 18, 13, "spec.validation.openAPIV3Schema.properties[size].type")]
    local = SchemaStore.for_version("1.33")
    local.add_crd_entries(entries_in(yaml.safe_load_all(text), "crd:crd.yaml"))
    findings = validate_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nsize: 1\n",
                             Source("w.yaml"), store=local)
    assert [(f.severity, f.rule) for f in findings] == [(Severity.WARNING, "no-schema")]
    assert "its CustomResourceDefinition is invalid: spec.validation.openAPIV3Schema.properties[size].type: " \
           'Unsupported value: "strign"' in findings[0].message


def test_crds_option_with_a_broken_crd(tmp_path: Path) -> None:
    """`--crds`: a CRD the API server refuses serves no schema; its resources say why."""
    from kvalidate.schemas.crd_load import load_crds

    crd = tmp_path / "crd.yaml"
    crd.write_text(yaml.safe_dump(_crd(_spec_schema(size={"type": "integer", "default": "big"}))))
    store = SchemaStore.for_version("1.33")
    assert load_crds(store, [str(crd)]) == 1
    findings = validate_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: x}\n",
                             Source("w.yaml"), store=store)
    assert [(f.severity, f.rule) for f in findings] == [(Severity.WARNING, "no-schema")]
    assert (f'{SPEC}.properties[size].default: Invalid value: "big": "big" is not of type "integer"'
            in findings[0].message)
