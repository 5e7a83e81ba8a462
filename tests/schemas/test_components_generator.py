"""The Go-types-to-schema generator (scripts/), on a small Go package written for this test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

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


def _git(*args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main",
                    *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A staging-style mirror (`kubernetes+fake`, tag v0.33.0) holding the Go package above."""
    work = tmp_path_factory.mktemp("work")
    (work / "pkg" / "v1test").mkdir(parents=True)
    (work / "pkg" / "v1test" / "types.go").write_text(GO)
    _git("-C", str(work), "init", "-q")
    _git("-C", str(work), "add", ".")
    _git("-C", str(work), "commit", "-q", "-m", "types")
    _git("-C", str(work), "tag", "v0.33.0")
    mirrors = tmp_path_factory.mktemp("mirrors")
    _git("clone", "-q", "--bare", str(work), str(mirrors / "kubernetes+fake" / "repo"))
    path = "k8s.io/fake/pkg/v1test"
    old = dict(gen.PACKAGES)
    gen.PACKAGES[path] = ("fake", "pkg/v1test", "example.com/v1test")
    try:
        g = gen.Generator(gen.Sources(mirrors), 33, gen.CORE_PATCHES(33))
        assert gen.kinds_of(g, path) == [("Widget", "Widget")]
        out: dict[str, Any] = gen._finish(g.kind_schema(path, "Widget", "example.com/v1test", "Widget"))
        assert g.warnings == []
        prov = gen.provenance(g)
        assert [(r["repository"], r["tag"], r["path"]) for r in prov] == [
            ("kubernetes/fake", "v0.33.0", "pkg/v1test/types.go")]
        assert len(prov[0]["commit"]) == 40 and len(prov[0]["sha256"]) == 64
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
