"""CRD -> strict schema conversion (kvalidate.schemas.crd_convert), checked with jsonschema-rs and through the core."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from kvalidate.model import Severity, Source
from kvalidate.schemas.crd_convert import schemas_from_crd, schemas_in
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation.validate import validate_text

FIXTURE = Path(__file__).parent / "fixtures" / "components" / "ipaddresspool-crd.yaml"
CRDS = [d for d in yaml.safe_load_all(FIXTURE.read_text())]
SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {k: v for d in CRDS for k, v in schemas_from_crd(d).items()}
POOL = ("metallb.io/v1beta1", "IPAddressPool")
WIDGET = ("example.kvalidate.dev/v1", "Widget")


def test_only_served_versions() -> None:
    assert set(SCHEMAS) == {POOL, WIDGET}


def _errors(key: tuple[str, str], doc: dict[str, Any]) -> list[tuple[list[str | int], str]]:
    v = jsonschema_rs.validator_for(SCHEMAS[key])
    return sorted((list(e.instance_path), type(e.kind).__name__) for e in v.iter_errors(doc))


def _pool(spec: Any, **top: Any) -> dict[str, Any]:
    return {"apiVersion": POOL[0], "kind": POOL[1], "metadata": {"name": "p", "namespace": "metallb-system"},
            "spec": spec, **top}


def _widget(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": WIDGET[0], "kind": WIDGET[1], "metadata": {"name": "w"}, "spec": {"size": 1, **spec}}


@pytest.mark.parametrize(("doc", "expected"), [
    (_pool({"addresses": ["10.0.0.0/24"]}), []),
    (_pool({"addresses": ["10.0.0.0/24"], "autoAsign": False}), [(["spec"], "AdditionalProperties")]),
    (_pool({"addresses": ["10.0.0.0/24"]}, bogus=1), [([], "AdditionalProperties")]),  # root is closed
    (_pool({"autoAssign": True}), [(["spec"], "Required")]),
    (_pool({"addresses": ["a"], "autoAssign": None}), []),  # optional non-nullable null: pruned
    (_pool({"addresses": None}), [(["spec", "addresses"], "Type")]),  # required null: refused
    (_pool({"addresses": [None]}), [(["spec", "addresses", 0], "Type")]),  # null item: refused
    (_pool({"addresses": ["a"]}, status=None), []),  # nullable
    (_pool({"addresses": ["a"]}, status={"anything": {"goes": 1}}), []),  # preserve-unknown-fields
    (_pool({"addresses": ["a"], "serviceAllocation": {"namespaces": ["x", "x"]}}),
     [(["spec", "serviceAllocation", "namespaces"], "UniqueItems")]),  # list-type set
    (_pool({"addresses": ["a"]}) | {"metadata": {"name": "p", "labelz": {}}}, [(["metadata"], "AdditionalProperties")]),
    (_pool({"addresses": ["a"]}) | {"apiVersion": "metallb.io/v1beta2"}, [(["apiVersion"], "Constant")]),
    (_widget({"size": "50%"}), []),
    (_widget({"size": 1.5}), [(["spec", "size"], "Type")]),
    (_widget({"note": None, "label": None}), []),
    (_widget({"extra": {"known": 1, "other": True}}), []),
    (_widget({"extra": {"known": "x"}}), [(["spec", "extra", "known"], "Type")]),
    (_widget({"template": {"apiVersion": "v1", "kind": "Pod", "spec": {}}}), []),
    (_widget({"template": {"spec": {}}}), [(["spec", "template"], "Required"), (["spec", "template"], "Required")]),
    (_widget({"empty": {}}), []),
    (_widget({"empty": {"x": 1}}), [(["spec", "empty"], "AdditionalProperties")]),
    (_widget({"count": 3}), []),
    (_widget({"memory": 512}), []),
    (_widget({"memory": "512Mi"}), []),
    (_widget({"memory": None}), []),
    (_widget({"memory": "lots"}), [(["spec", "memory"], "AnyOf")]),  # the pattern of the string branch holds
])
def test_conversion(doc: dict[str, Any], expected: list[tuple[list[str | int], str]]) -> None:
    key = (doc["apiVersion"], doc["kind"])
    assert _errors(key if key in SCHEMAS else POOL, doc) == sorted(expected)


def test_no_prose_and_no_cel() -> None:
    text = repr(SCHEMAS)
    assert "description" not in text and "x-kubernetes-validations" not in text


def test_misspelled_ipaddresspool_field_through_the_core() -> None:
    """The acceptance case: a MetalLB IPAddressPool with a misspelled field, at its path and line."""
    store = SchemaStore.for_version("1.33")
    store.add_crd_schemas(schemas_from_crd(CRDS[0]), f"crd:{FIXTURE.name}")
    text = textwrap.dedent("""\
        apiVersion: metallb.io/v1beta1
        kind: IPAddressPool
        metadata:
          name: loadbalanced
          namespace: metallb-system
        spec:
          addresses:
            - 10.5.0.50-10.5.0.99
          autoAsign: false
        """)
    findings = validate_text(text, Source("metallb-pool.yaml"), store=store)
    assert [(f.severity, f.rule, f.path, f.line) for f in findings] == [
        (Severity.ERROR, "unknown-field", "spec.autoAsign", 9)]


@pytest.mark.parametrize(("docs", "kinds"), [
    (CRDS, {POOL, WIDGET}),
    ([{"apiVersion": "v1", "kind": "ConfigMap"}, None, "text", CRDS[1]], {WIDGET}),
    ([{**CRDS[0], "apiVersion": "example.com/v1"}], set()),  # not an apiextensions CRD
    ([{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "spec": None}], set()),
])
def test_schemas_in_documents(docs: list[Any], kinds: set[tuple[str, str]]) -> None:
    assert set(schemas_in(docs)) == kinds


@pytest.mark.parametrize(("crd", "kinds"), [
    # apiextensions v1beta1: one schema for every version, `version` instead of `versions`
    ({"apiVersion": "apiextensions.k8s.io/v1beta1", "kind": "CustomResourceDefinition",
      "spec": {"group": "g.io", "version": "v1", "names": {"kind": "K"},
               "validation": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object"}}}}}},
     {("g.io/v1", "K")}),
    # a served version without a schema keeps every field
    ({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
      "spec": {"group": "g.io", "names": {"kind": "K"}, "versions": [{"name": "v2", "served": True}]}},
     {("g.io/v2", "K")}),
])
def test_crd_forms(crd: dict[str, Any], kinds: set[tuple[str, str]]) -> None:
    schemas = schemas_from_crd(crd)
    assert set(schemas) == kinds
    (api_version, kind), = kinds
    v = jsonschema_rs.validator_for(schemas[(api_version, kind)])
    assert v.is_valid({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "spec": {}})
    open_version = "validation" not in crd["spec"]
    assert v.is_valid({"apiVersion": api_version, "kind": kind, "other": 1}) is open_version


def test_validate_with_crds_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`kvalidate validate --crds PATH`: the CRD file's kinds are validated strictly."""
    from kvalidate.cli import main

    pool = tmp_path / "pool.yaml"
    pool.write_text("apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: p\n"
                    "spec:\n  addresses: [10.5.0.0/24]\n  avoidBuggyIps: true\n")
    assert main(["validate", str(pool), "--kube-version", "1.33", "--format", "json"]) == 0  # no-schema: warning
    capsys.readouterr()
    assert main(["validate", str(pool), "--kube-version", "1.33", "--crds", str(FIXTURE), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(f["rule"], f["path"], f["line"]) for f in report["findings"]] == [
        ("unknown-field", "spec.avoidBuggyIps", 7)]
