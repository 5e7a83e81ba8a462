"""validation/validate.py + schemas/ + validation/names.py: strict findings worded as the API server words them."""

from __future__ import annotations

import textwrap

import pytest

from kvalidate.model import Severity, Source
from kvalidate.schemas.store import SchemaStore, minor_of
from kvalidate.validation.validate import validate_text

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: c
      image: nginx
"""


def check(text: str, store: SchemaStore) -> list[tuple[str, str, int]]:
    findings = validate_text(textwrap.dedent(text), Source("t.yaml"), store=store)
    return [(f.rule, f.path, f.line) for f in findings]


def test_valid_pod(store: SchemaStore) -> None:
    assert check(POD, store) == []


@pytest.mark.parametrize(
    ("extra", "path", "line"),
    [
        ("  bogus: 1\n", "bogus", 9),  # top level
        ("  replicas: 1\n", "replicas", 9),
    ],
)
def test_unknown_field_top_level(store: SchemaStore, extra: str, path: str, line: int) -> None:
    assert check(POD + extra.replace("  ", "", 1), store) == [("unknown-field", path, line)]


@pytest.mark.parametrize(
    ("yaml_text", "path", "line"),
    [
        ("metadata:\n  name: x\n  nmae: y\n", "metadata.nmae", 3),
        (
            "spec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: i\n"
            "          imagePolicy: x\n",
            "spec.template.spec.containers[0].imagePolicy",
            7,
        ),
        (
            "spec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: i\n"
            "          volumeMounts:\n"
            "            - name: a\n              mountPath: /a\n            - name: b\n              mountPath: /b\n"
            "            - name: TYPHA_CAFILE\n              value: /etc/ca\n",
            "spec.template.spec.containers[0].volumeMounts[2].value",
            13,
        ),
    ],
)
def test_unknown_fields_at_depth(store: SchemaStore, yaml_text: str, path: str, line: int) -> None:
    base = "apiVersion: apps/v1\nkind: Deployment\n"
    if not yaml_text.startswith("metadata"):
        base += "metadata:\n  name: d\n"
        line += 2
    text = base + yaml_text
    if "spec:" not in yaml_text:
        text += "spec:\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}}\n"
    found = check(text, store)
    assert (("unknown-field", path, line + 2)) in found


def test_calico_typha_bug_shape(store: SchemaStore) -> None:
    text = """\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: calico-typha
    spec:
      selector:
        matchLabels: {k8s-app: calico-typha}
      template:
        metadata:
          labels: {k8s-app: calico-typha}
        spec:
          containers:
            - name: calico-typha
              image: quay.io/calico/typha
              env:
                - name: A
                  value: "1"
              volumeMounts:
                - name: typha-server
                  mountPath: /etc/typha
                - name: cacert
                  mountPath: /etc/ca
                - name: TYPHA_CAFILE
                  value: /etc/ca/ca.crt
    """
    findings = validate_text(textwrap.dedent(text), Source("typha.yaml"), store=store)
    by_rule = {f.rule: f for f in findings}
    unknown = by_rule["unknown-field"]
    assert unknown.message == 'unknown field "spec.template.spec.containers[0].volumeMounts[2].value"'
    assert (unknown.line, unknown.column) == (24, 15)
    assert by_rule["required"].path == "spec.template.spec.containers[0].volumeMounts[2].mountPath"
    assert by_rule["required"].message.endswith(": Required value")
    assert unknown.severity is Severity.ERROR and (unknown.kind, unknown.name) == ("Deployment", "calico-typha")


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("maxSurge: null\n      maxUnavailable: null", []),  # API server accepts null int-or-string
        ("maxSurge: 1\n      maxUnavailable: 25%", []),
        ("maxSurge: 1.5", [("type", "spec.strategy.rollingUpdate.maxSurge")]),
        ("maxSurge: true", [("type", "spec.strategy.rollingUpdate.maxSurge")]),
    ],
)
def test_int_or_string(store: SchemaStore, fragment: str, expected: list[tuple[str, str]]) -> None:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector: {matchLabels: {a: b}}\n"
        "  template: {metadata: {labels: {a: b}}}\n  strategy:\n    rollingUpdate:\n      " + fragment + "\n"
    )
    assert [(r, p) for r, p, _ in check(text, store)] == expected


@pytest.mark.parametrize(
    ("cpu", "ok"),
    [
        ("100m", True),
        ("1", True),
        ("0.5", True),
        ("1Gi", True),
        ("1e3", True),
        ("1E-2", True),
        (".5", True),
        ("null", True),
        ("2", True),
        ("lots", False),
        ("100MB", False),
        ("1 Gi", False),
        ("'-'", False),
        ("1.2.3", False),
        ("Gi", False),
        ("true", False),
    ],
)
def test_quantity_grammar(store: SchemaStore, cpu: str, ok: bool) -> None:
    text = POD + "      resources:\n        limits:\n          cpu: " + cpu + "\n"
    found = check(text, store)
    assert (found == []) is ok
    if not ok:
        assert found[0][:2] in {
            ("quantity", "spec.containers[0].resources.limits.cpu"),
            ("type", "spec.containers[0].resources.limits.cpu"),
        }


def test_quantity_message_is_the_api_servers(store: SchemaStore) -> None:
    text = POD + "      resources:\n        limits:\n          cpu: lots\n"
    [f] = validate_text(text, Source("t.yaml"), store=store)
    assert f.message.startswith('spec.containers[0].resources.limits.cpu: Invalid value: "lots": quantities must')


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ("name: ok-name", []),
        ("generateName: job-", []),  # generateName without name is valid
        ("labels: {a: b}", [("metadata", "metadata.name")]),  # neither name nor generateName
        ("name: Bad_Name", [("metadata", "metadata.name")]),
        ("name: a.b.c", []),
        ("name: x\n  labels: {app: 'bad value'}", [("metadata", "metadata.labels")]),  # the server's path
        ("name: x\n  labels: {'a/b/c': x}", [("metadata", "metadata.labels")]),
        ("name: x\n  namespace: Kube_System", [("metadata", "metadata.namespace")]),
    ],
)
def test_configmap_names(store: SchemaStore, meta: str, expected: list[tuple[str, str]]) -> None:
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  {meta}\n"
    assert [(r, p) for r, p, _ in check(text, store)] == expected


@pytest.mark.parametrize(
    ("api_version", "kind", "name", "ok"),
    [
        ("rbac.authorization.k8s.io/v1", "ClusterRole", "system:coredns", True),  # RBAC: path segment
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "cert-manager:leaderelection", True),
        ("rbac.authorization.k8s.io/v1", "ClusterRole", "a/b", False),
        ("v1", "ServiceAccount", "system:coredns", False),  # others: DNS subdomain
        ("v1", "Service", "1abc", False),  # Service: DNS-1035 label (starts with a letter)
        ("v1", "Service", "abc-1", True),
        ("v1", "Namespace", "a.b", False),  # Namespace: DNS-1123 label
    ],
)
def test_names_per_kind(store: SchemaStore, api_version: str, kind: str, name: str, ok: bool) -> None:
    text = f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: '{name}'\n"
    if kind == "ClusterRoleBinding":
        text += "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: x}\n"
    assert (check(text, store) == []) is ok


def test_list_items_validated_one_by_one(store: SchemaStore) -> None:
    text = """\
    apiVersion: v1
    kind: List
    items:
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: a}
      - apiVersion: v1
        kind: ConfigMap
        metadata: {name: b}
        dataa: {}
    """
    findings = validate_text(textwrap.dedent(text), Source("t.yaml"), store=store)
    assert [(f.rule, f.path, f.line, f.name) for f in findings] == [("unknown-field", "items[1].dataa", 10, "b")]


@pytest.mark.parametrize(
    ("text", "rule", "severity"),
    [
        ("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n", "no-schema", Severity.WARNING),
        ("kind: ConfigMap\nmetadata: {name: w}\n", "missing-kind", Severity.ERROR),
        ("- a\n- b\n", "not-an-object", Severity.ERROR),
        ("just a string\n", "not-an-object", Severity.ERROR),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '1', x: '2'}\n",
            "duplicate-key",
            Severity.ERROR,
        ),
        ("apiVersion: v1\nkind: Secret\nmetadata: {name: a}\ndata: {x: 'not base64!'}\n", "base64", Severity.ERROR),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: 4294967296, "
            "selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}}}\n",
            "range",
            Severity.ERROR,
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: '3', "
            "selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}}}\n",
            "type",
            Severity.ERROR,
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{image: x}]}\n",
            "required",
            Severity.ERROR,
        ),
    ],
)
def test_rules(store: SchemaStore, text: str, rule: str, severity: Severity) -> None:
    findings = validate_text(text, Source("t.yaml"), store=store)
    assert [(f.rule, f.severity) for f in findings] == [(rule, severity)]


def test_all_errors_of_a_document_are_reported(store: SchemaStore) -> None:
    text = (
        POD.replace("image: nginx", "image: nginx\n      foo: 1\n      ports: [{containerPort: '80'}]") + "  bar: 2\n"
    )
    rules = sorted(r for r, _, _ in check(text, store))
    assert rules == ["type", "unknown-field", "unknown-field"]


def test_duplicate_key_message_names_both_lines(store: SchemaStore) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n"
    [f] = validate_text(text, Source("t.yaml"), store=store)
    assert (f.path, f.line) == ("metadata.name", 5)
    assert "already set in map at line 4" in f.message


@pytest.mark.parametrize(
    ("given", "minor"), [("1.33", "1.33"), ("v1.30.2", "1.30"), (None, "1.37"), ("1.25.0", "1.25")]
)
def test_minor_of(given: str | None, minor: str) -> None:
    assert minor_of(given) == minor


def test_kinds_differ_per_minor() -> None:
    # flowcontrol v1beta3 was served until 1.31 and removed in 1.32
    old, new = SchemaStore.for_version("1.28"), SchemaStore.for_version("1.33")
    assert old.lookup("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema") is not None
    assert new.lookup("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema") is None


def test_crd_with_cel_rules_and_map_type_is_valid(store: SchemaStore) -> None:
    # x-kubernetes-* are field names of JSONSchemaProps, not annotations to strip (kube-ovn, cert-manager CRDs)
    text = textwrap.dedent("""\
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: widgets.example.com
        spec:
          group: example.com
          names: {kind: Widget, plural: widgets}
          scope: Namespaced
          versions:
            - name: v1
              served: true
              storage: true
              schema:
                openAPIV3Schema:
                  type: object
                  description: a widget
                  x-kubernetes-validations:
                    - rule: "self.spec.size > 0"
                  properties:
                    spec:
                      type: object
                      x-kubernetes-map-type: atomic
                      x-kubernetes-preserve-unknown-fields: true
        """)
    assert check(text, store) == []
    assert check(text.replace("x-kubernetes-map-type", "x-kubernetes-mapp-type"), store)[0][0] == "unknown-field"
