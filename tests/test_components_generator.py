"""The Go-types-to-schema generator (scripts/), on a small Go package written for this test."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import gen_component_schemas as gen  # noqa: E402
from gotypes import Package, parse_file  # noqa: E402

GO = '''\
/*
Licence header with a /* nested-looking */ line
*/
package v1test

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
)

// Widget is a test kind. A comment with `backquotes` and a brace {
type Widget struct {
	metav1.TypeMeta `json:",inline"`
	Base `json:",inline"`
	// Period is a duration; non-pointer
	Period metav1.Duration `json:"period,omitempty"`
	Timeout *metav1.Duration `json:"timeout,omitempty"` // trailing comment
	Count int32 `json:"count"`
	Ratio float64 `json:"ratio,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Data []byte `json:"data,omitempty"`
	Items []Item `json:"items"`
	Taints []corev1.Taint `json:"taints,omitempty"`
	Hidden string `json:"-"`
	NoTag bool
	internal string
	A, B string `json:"ab,omitempty"`
}

type Base struct {
	Name string `json:"name"`
}

type (
	Item struct {
		Mode Mode `json:"mode"`
	}
	Mode string
)

func (w *Widget) Reset() { type local struct{} }
'''


def test_parse_file() -> None:
    pkg = Package("example.com/v1test")
    parse_file(pkg, "types.go", GO.encode())
    assert set(pkg.types) == {"Widget", "Base", "Item", "Mode"}
    fields = {(f.name, f.type) for f in pkg.types["Widget"].fields}
    assert ("", "metav1.TypeMeta") in fields and ("", "Base") in fields
    assert ("Timeout", "*metav1.Duration") in fields and ("NoTag", "bool") in fields
    assert pkg.types["Mode"].underlying == "string"
    assert pkg.imports["types.go"] == {"metav1": "k8s.io/apimachinery/pkg/apis/meta/v1",
                                       "corev1": "k8s.io/api/core/v1"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    kk = tmp_path_factory.mktemp("kk")
    (kk / "pkg" / "v1test").mkdir(parents=True)
    (kk / "pkg" / "v1test" / "types.go").write_text(GO)
    (kk / "COMMITS.json").write_text(json.dumps({"pkg/v1test/types.go": "0" * 40}))
    path = "k8s.io/kubernetes/pkg/v1test"
    old = dict(gen.PACKAGES)
    gen.PACKAGES[path] = ("kubernetes", "pkg/v1test", "example.com/v1test")
    try:
        g = gen.Generator(gen.Sources(tmp_path_factory.mktemp("mirrors"), kk), 33, gen.CORE_PATCHES(33))
        assert gen.kinds_of(g, path) == [("Widget", "Widget")]
        out: dict[str, Any] = gen._finish(g.kind_schema(path, "Widget", "example.com/v1test", "Widget"))
        assert g.warnings == []
        assert [r["path"] for r in gen.provenance(g)] == ["pkg/v1test/types.go"]
    finally:
        gen.PACKAGES.clear()
        gen.PACKAGES.update(old)
    return out


W = {"apiVersion": "example.com/v1test", "kind": "Widget"}


@pytest.mark.parametrize(("doc", "errors"), [
    ({**W, "name": "w", "count": 1, "items": [{"mode": "x"}]}, []),  # inline Base merged
    ({**W, "metadata": {}}, [([], "AdditionalProperties")]),  # TypeMeta only: no metadata
    ({**W, "period": "1h30m"}, []),
    ({**W, "period": None}, [(["period"], "Type")]),  # non-pointer Duration refuses null
    ({**W, "timeout": None}, []),  # pointer: nil
    ({**W, "period": "90"}, [(["period"], "Pattern")]),
    ({**W, "count": 2**31}, [(["count"], "Maximum")]),
    ({**W, "count": None, "ratio": None, "labels": None, "items": None}, []),  # null is a no-op
    ({**W, "labels": {"a": 1}}, [(["labels", "a"], "Type")]),
    ({**W, "data": "aGVsbG8="}, []),
    ({**W, "data": "hello!"}, [(["data"], "Pattern")]),
    ({**W, "items": [{"mode": "x", "other": 1}]}, [(["items", 0], "AdditionalProperties")]),
    ({**W, "taints": [{"key": "k", "effect": "NoSchedule"}]}, []),
    ({**W, "Hidden": "x"}, [([], "AdditionalProperties")]),  # json:"-"
    ({**W, "hidden": "x"}, [([], "AdditionalProperties")]),
    ({**W, "NoTag": True}, []),  # untagged exported field: its Go name
    ({**W, "noTag": True}, [([], "AdditionalProperties")]),  # case-sensitive
    ({**W, "internal": "x"}, [([], "AdditionalProperties")]),  # unexported
    ({**W, "ab": "x"}, []),
    ({"kind": "Widget"}, [([], "Required")]),
])
def test_generated_schema(schema: dict[str, Any], doc: dict[str, Any],
                          errors: list[tuple[list[str | int], str]]) -> None:
    v = jsonschema_rs.validator_for(schema)
    assert sorted((list(e.instance_path), type(e.kind).__name__) for e in v.iter_errors(doc)) == errors


def test_no_prose(schema: dict[str, Any]) -> None:
    assert "description" not in json.dumps(schema)
