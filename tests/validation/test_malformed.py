"""Malformed documents (issue #11, item 3): every case is a finding at its line, never an exception,
and one bad document never hides the findings of another."""

from __future__ import annotations

import pytest

from kvalidate.model import Source
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation import validate as validate_mod
from kvalidate.validation.validate import validate_text

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: i\n"
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector:
    matchLabels: {a: b}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
      - name: c
        image: i
"""
BAD_NAME = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n"  # a finding of its own


def _deployment_selector(selector: str) -> str:
    return DEPLOYMENT.replace("matchLabels: {a: b}", selector)


CASES = [
    # (case, text, [(rule, line)] before the trailing BAD_NAME document's own finding)
    ("alias as a mapping key", "&x k: 1\n*x : 2\n", [("missing-kind", 1), ("duplicate-key", 2)]),
    # go-yaml v2: ParseInt and ParseUint fail, ParseFloat is out of range -> a string (sigs.k8s.io/yaml)
    ("5,000-digit integer", DEPLOYMENT.replace("spec:\n  selector", "spec:\n  replicas: " + "1" * 5000
                                               + "\n  selector"), [("type", 5)]),
    ("5,000-digit integer as a key", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  ? "
     + "9" * 5000 + "\n  : x\n", []),
    ("`09`: not octal, a float to go-yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n"
     "  a: 09\n", [("type", 5)]),
    ("env: 5", POD + "    env: 5\n", [("type", 8)]),
    ("env: [5]", POD + "    env: [5]\n", [("type", 8)]),
    ("containerPort: [1]", POD + "    ports:\n    - containerPort: [1]\n", [("type", 9)]),
    ("containerPort: true", POD + "    ports:\n    - containerPort: true\n", [("type", 9)]),
    ("protocol: [TCP]", POD + "    ports:\n    - {containerPort: 1, protocol: [TCP]}\n"
     "    - {containerPort: 1, protocol: [TCP]}\n", [("type", 9), ("type", 10)]),
    ("volumeMounts: 5", POD + "    volumeMounts: 5\n", [("type", 8)]),
    ("selector.matchExpressions: 5", _deployment_selector("matchExpressions: 5"), [("type", 6)]),
    ("matchExpressions[].values: 7",
     _deployment_selector("matchExpressions: [{key: a, operator: In, values: 7}]"), [("type", 6)]),
    ("matchExpressions[].key: [a]",
     _deployment_selector("matchExpressions: [{key: [a], operator: Exists}]"), [("type", 6)]),
    ("matchLabels: [a]", _deployment_selector("matchLabels: [a]"), [("type", 6)]),
    ("service type: [NodePort]", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n"
     "  type: [NodePort]\n  ports: [{port: 1, nodePort: 30000}]\n", [("type", 5), ("api-validation", 6)]),
    ("300-character kind", "apiVersion: v1\nkind: " + "K" * 300 + "\n", [("unknown-kind", 2)]),
    ("300-character kind of a component group", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: " + "K" * 300 + "\n",
     [("no-schema", 1)]),
    ("300-character apiVersion", "apiVersion: " + "a/" * 150 + "v1\nkind: Pod\n", [("no-schema", 1)]),
    ("lone surrogate written by a template", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n"
     "  a: \udcff\n", [("yaml-syntax", 5)]),
]


@pytest.mark.parametrize(("case", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_malformed_document_is_a_finding_at_its_line(store: SchemaStore, case: str, text: str,
                                                     expected: list[tuple[str, int]]) -> None:
    """And the next document of the file is still validated (its own finding comes last)."""
    lines = text.count("\n")
    findings = validate_text(text + BAD_NAME, Source("t.yaml"), store=store)
    assert [(f.rule, f.line) for f in findings] == [*expected, ("metadata", lines + 4)]
    assert all(f.file == "t.yaml" for f in findings)


def test_an_unexpected_exception_is_an_internal_error_at_its_object(store: SchemaStore,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug met while validating one object is an internal-error finding located at that object,
    naming kvalidate's code; the other objects (List items, documents) are validated as usual."""
    real = validate_mod.check_workload

    def broken(kind: str, obj: dict[str, object], minor: str) -> object:
        if obj.get("metadata") == {"name": "boom"}:
            raise TypeError("simulated bug")
        return real(kind, obj, minor)

    monkeypatch.setattr(validate_mod, "check_workload", broken)
    monkeypatch.delenv("KVALIDATE_DEBUG", raising=False)
    text = ("apiVersion: v1\nkind: List\nitems:\n- " + POD.replace("{name: p}", "{name: boom}").replace("\n", "\n  ")
            + "\n- " + POD.replace("{name: p}", "{name: Bad}").replace("\n", "\n  ") + "\n" + BAD_NAME)
    findings = validate_text(text, Source("t.yaml"), store=store)
    assert [(f.rule, f.path, f.line) for f in findings] == [
        ("internal-error", "items[0]", 4),
        ("metadata", "items[1].metadata.name", 14),
        ("metadata", "metadata.name", 23),
    ]
    assert "TypeError: simulated bug" in findings[0].message
    assert "kvalidate/validation/validate.py:" in findings[0].message


def test_kvalidate_debug_raises_the_unexpected_exception(store: SchemaStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(kind: str, obj: dict[str, object], minor: str) -> object:
        raise TypeError("simulated bug")

    monkeypatch.setattr(validate_mod, "check_workload", broken)
    monkeypatch.setenv("KVALIDATE_DEBUG", "1")
    with pytest.raises(TypeError, match="simulated bug"):
        validate_text(POD, Source("t.yaml"), store=store)
