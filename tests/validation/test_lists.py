"""Schema defaults and list-type semantics (kvalidate.validation.lists), alone and through validation."""

from __future__ import annotations

import copy
import textwrap
from typing import Any

import pytest
import yaml

from kvalidate.defaults import apply_defaults
from kvalidate.model import Severity, Source
from kvalidate.schemas.crd_structure import entries_in
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation.lists import builtin_duplicates, duplicates
from kvalidate.validation.validate import validate_text

PORTS = {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
         "items": {"type": "object", "properties": {"containerPort": {"type": "integer", "default": 8080},
                                                    "protocol": {"type": "string", "default": "TCP"}}}}
SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "map_list": PORTS,
    "names": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
              "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}},
    "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"x-kubernetes-int-or-string": True}},
    "spec": {"type": "object", "properties": {
        "mode": {"type": "string", "default": "fast"},
        "tls": {"type": "object", "properties": {"enabled": {"type": "boolean", "default": True}}},
        "opt": {"type": "string", "nullable": True, "default": "x"},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "default": "v"}},
        "items": {"type": "array", "items": {"type": "object", "default": {}, "properties": {
            "weight": {"type": "integer", "default": 1}}}}}},
    "withDefault": {"type": "object", "default": {}, "properties": {"inner": {"type": "integer", "default": 5}}}}}


@pytest.mark.parametrize(("obj", "expected"), [
    ({}, {"withDefault": {"inner": 5}}),  # a defaulted parent gets its own defaults too
    ({"spec": {}}, {"spec": {"mode": "fast", "opt": "x"}, "withDefault": {"inner": 5}}),  # tls absent: no tls
    ({"spec": {"tls": {}}}, {"spec": {"mode": "fast", "opt": "x", "tls": {"enabled": True}},
                             "withDefault": {"inner": 5}}),
    ({"spec": {"mode": None}}, {"spec": {"mode": "fast", "opt": "x"}, "withDefault": {"inner": 5}}),  # null
    ({"spec": {"opt": None}}, {"spec": {"mode": "fast", "opt": None}, "withDefault": {"inner": 5}}),  # nullable
    ({"spec": {"labels": {"a": None, "b": "c"}}},
     {"spec": {"mode": "fast", "opt": "x", "labels": {"a": "v", "b": "c"}}, "withDefault": {"inner": 5}}),
    ({"spec": {"items": [None, {"weight": 3}, {}]}},
     {"spec": {"mode": "fast", "opt": "x", "items": [{"weight": 1}, {"weight": 3}, {"weight": 1}]},
      "withDefault": {"inner": 5}}),
    ({"map_list": [{"protocol": "UDP"}]}, {"map_list": [{"protocol": "UDP", "containerPort": 8080}],
                                          "withDefault": {"inner": 5}}),
])
def test_apply_defaults(obj: dict[str, Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(obj)
    assert apply_defaults(SCHEMA, obj) == expected
    assert obj == before  # the parsed document is not touched


def test_defaults_are_copies() -> None:
    out = apply_defaults(SCHEMA, {"spec": {"items": [{}, {}]}})
    out["spec"]["items"][0]["weight"] = 9
    assert out["spec"]["items"][1]["weight"] == 1 and SCHEMA["properties"]["withDefault"]["default"] == {}


@pytest.mark.parametrize(("obj", "expected"), [
    # kubectl-validate testcases/manifests/error_x_list_map_default.yaml (after defaulting)
    ({"map_list": [{"protocol": "TCP", "containerPort": 88}, {"containerPort": 88}]},
     [(("map_list", 1), {"containerPort": 88, "protocol": "TCP"})]),
    ({"map_list": [{"protocol": "UDP", "containerPort": 88}, {"containerPort": 88}]}, []),
    ({"names": [{"name": "a"}, {"name": "b"}, {"name": "a"}, {"name": "a"}]},
     [(("names", 2), {"name": "a"})]),  # the second appearance only, as the server reports
    ({"names": [{}, {}]}, [(("names", 1), {})]),  # an unspecified key repeats too
    ({"tags": ["a", 1, "a", 1.0, True, 1]}, [(("tags", 2), "a"), (("tags", 5), 1)]),  # Go equality: 1 != 1.0 != true
    ({"map_list": ["x", "x"]}, []),  # a non-object item is the schema's type error
])
def test_duplicates(obj: dict[str, Any], expected: list[Any]) -> None:
    assert duplicates(SCHEMA, apply_defaults(SCHEMA, obj)) == expected


def test_builtin_duplicates_follow_refs() -> None:
    schema = {"$defs": {"C": {"type": "object", "properties": {"ports": {"$ref": "#/$defs/P"}}},
                        "P": {"type": "array", "x-kubernetes-list-type": "map",
                              "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
                              "items": {"allOf": [{"$ref": "#/$defs/Port"}]}},
                        "Port": {"type": "object"}},
              "type": "object", "properties": {"containers": {"type": "array", "items": {"$ref": "#/$defs/C"}}}}
    obj = {"containers": [{"ports": [{"containerPort": 1, "protocol": "TCP"}, {"containerPort": 1, "protocol": "TCP"},
                                     {"containerPort": 1}]}]}
    assert builtin_duplicates(schema, obj) == [(("containers", 0, "ports", 1), {"containerPort": 1, "protocol": "TCP"})]


CRD = textwrap.dedent("""\
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: celbasics.stable.example.com}
    spec:
      group: stable.example.com
      names: {kind: CELBasic, listKind: CELBasicList, plural: celbasics, singular: celbasic}
      scope: Namespaced
      versions:
      - name: v1
        served: true
        storage: true
        schema:
          openAPIV3Schema:
            type: object
            properties:
              metadata: {type: object}
              tags: {type: array, x-kubernetes-list-type: set, items: {type: string}}
              map_list:
                type: array
                x-kubernetes-list-map-keys: ["containerPort", "protocol"]
                x-kubernetes-list-type: "map"
                items:
                  type: object
                  properties:
                    containerPort: {type: integer, default: 8080}
                    protocol: {type: string, default: "TCP"}
    """)


@pytest.fixture(scope="module")
def crd_store() -> SchemaStore:
    store = SchemaStore.for_version("1.33")
    store.add_crd_entries(entries_in(yaml.safe_load_all(CRD), "crd:cel_basic.yaml"))
    return store


def _cr(body: str) -> str:
    return "apiVersion: stable.example.com/v1\nkind: CELBasic\nmetadata:\n  name: my-basic\n" + body


@pytest.mark.parametrize(("body", "expected"), [
    # kubectl-validate testcases/manifests/error_x_list_map_default.yaml: the Status it expects, word for word
    ("map_list:\n- protocol: TCP\n  containerPort: 88\n- containerPort: 88\n",
     [(Severity.ERROR, "duplicate-value", 8, 'map_list[1]: Duplicate value: {"containerPort":88,"protocol":"TCP"}')]),
    ("map_list:\n- protocol: UDP\n  containerPort: 88\n- containerPort: 88\n", []),
    ("map_list:\n- {}\n- {containerPort: 8080}\n",
     [(Severity.ERROR, "duplicate-value", 7, 'map_list[1]: Duplicate value: {"containerPort":8080,"protocol":"TCP"}')]),
    ("tags: [a, b, a]\n", [(Severity.ERROR, "duplicate-value", 5, 'tags[2]: Duplicate value: "a"')]),
])
def test_custom_resource_lists(crd_store: SchemaStore, body: str, expected: list[Any]) -> None:
    findings = validate_text(_cr(body), Source("cr.yaml"), store=crd_store)
    assert [(f.severity, f.rule, f.line, f.message) for f in findings] == expected


POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata: {name: nginx-pod}
    spec:
      containers:
      - name: nginx
        image: nginx
        ports:
        - {protocol: UDP, containerPort: 88}
        - {containerPort: 88, protocol: TCP}
    """)


def test_builtin_list_map_duplicates_are_warnings(store: SchemaStore) -> None:
    """kubectl-validate's x_list_map_nonduplicate_key passes; error_x_list_map_duplicate_key (an error only for
    server-side apply) stays the handwritten check's warning, not a second finding at the same item."""
    assert validate_text(POD, Source("p.yaml"), store=store) == []
    findings = validate_text(POD + "    - {protocol: TCP, containerPort: 88}\n", Source("p.yaml"), store=store)
    assert [(f.severity, f.rule, f.path) for f in findings] == [
        (Severity.WARNING, "api-validation", "spec.containers[0].ports[2]")]
    # a keyed list no handwritten check covers: the list-map warning
    svc = textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          containers: [{name: c, image: i}]
          topologySpreadConstraints:
          - {maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}
          - {maxSkew: 2, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}
        """)
    findings = validate_text(svc, Source("p.yaml"), store=store)
    assert [(f.severity, f.rule, f.line, f.message) for f in findings] == [
        (Severity.WARNING, "duplicate-value", 8, 'spec.topologySpreadConstraints[1]: Duplicate value: '
         '{"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule"} (the API server accepts it on create; '
         "server-side apply refuses the object)")]
