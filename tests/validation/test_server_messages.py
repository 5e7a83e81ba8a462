"""Each message form of the handwritten checks (names.py, workloads.py), with the path the API server
prints and the line kvalidate points at. The expected strings are written from the Kubernetes sources
(apimachinery pkg/api/validation/objectmeta.go, pkg/apis/meta/v1/validation, pkg/util/validation,
kubernetes pkg/apis/core/validation, pkg/apis/apps/validation) and from kubectl-validate's
testcases/manifests Status comments, not from kvalidate's output."""

from __future__ import annotations

import pytest

from kvalidate.model import Source
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation.validate import validate_text

SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
             "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
             "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_1123 = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
              "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
              "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
LABEL_1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
              "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
              "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
LABEL_VALUE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
               "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
               "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
KEY_NAME = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
KEY_SLASHES = ("a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
               "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
               "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix "
               "and '/' (e.g. 'example.com/MyName')")
LONG = "a" * 254


def cm(meta: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n{meta}"


METADATA = [
    # kubectl-validate error_missing_name
    ("missing name", "apiVersion: v1\nkind: ConfigMap\ndata: {k: v}\n", "1.35",
     [("metadata.name", "Required value: name or generateName is required", 1)]),
    ("metadata without a name", cm("  labels: {a: b}\n"), "1.35",
     [("metadata.name", "Required value: name or generateName is required", 3)]),
    # kubectl-validate error_invalid_name
    ("invalid name", cm("  name: x.com^2\n"), "1.35",
     [("metadata.name", f'Invalid value: "x.com^2": {SUBDOMAIN}', 4)]),
    # kubectl-validate error_name_exceeds_max_length (names keep "characters" in 1.35)
    ("name too long", cm(f"  name: {LONG}\n"), "1.35",
     [("metadata.name", f'Invalid value: "{LONG}": must be no more than 253 characters', 4)]),
    ("generateName checked as a prefix", cm("  generateName: Bad-\n"), "1.35",
     [("metadata.generateName", f'Invalid value: "Bad-": {SUBDOMAIN}', 4)]),
    ("generateName ending in a dash is fine", cm("  generateName: job-\n"), "1.35", []),
    ("Namespace name with dots", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a.b\n", "1.35",
     [("metadata.name", 'Invalid value: "a.b": must not contain dots', 4)]),
    ("Service name", "apiVersion: v1\nkind: Service\nmetadata:\n  name: 1abc\nspec:\n  clusterIP: None\n", "1.35",
     [("metadata.name", f'Invalid value: "1abc": {LABEL_1035}', 4)]),
    ("RBAC name", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: a/b%c\n", "1.35",
     [("metadata.name", "Invalid value: \"a/b%c\": may not contain '/'", 4),
      ("metadata.name", "Invalid value: \"a/b%c\": may not contain '%'", 4)]),
    ("RBAC name ..", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: '..'\n",
     "1.35", [("metadata.name", "Invalid value: \"..\": may not be '..'", 4)]),
    ("namespace", cm("  name: x\n  namespace: Kube_System\n"), "1.35",
     [("metadata.namespace", f'Invalid value: "Kube_System": {LABEL_1123}', 5)]),
    # kubectl-validate error_invalid_label: the server's path is metadata.labels; the line is the label's
    ("label value", cm("  name: x\n  labels:\n    app: ok\n    owner: _\n"), "1.35",
     [("metadata.labels", f'Invalid value: "_": {LABEL_VALUE}', 7)]),
    ("label value too long, before 1.35", cm(f"  name: x\n  labels:\n    owner: {'a' * 64}\n"), "1.34",
     [("metadata.labels", f'Invalid value: "{"a" * 64}": must be no more than 63 characters', 6)]),
    ("label value too long, from 1.35", cm(f"  name: x\n  labels:\n    owner: {'a' * 64}\n"), "1.35",
     [("metadata.labels", f'Invalid value: "{"a" * 64}": must be no more than 63 bytes', 6)]),
    ("label key name part", cm("  name: x\n  labels:\n    -bad: x\n"), "1.35",
     [("metadata.labels", f'Invalid value: "-bad": {KEY_NAME}', 6)]),
    ("label key with two slashes", cm("  name: x\n  labels:\n    a/b/c: x\n"), "1.35",
     [("metadata.labels", f'Invalid value: "a/b/c": {KEY_SLASHES}', 6)]),
    ("label key with an empty prefix", cm("  name: x\n  labels:\n    /a: x\n"), "1.35",
     [("metadata.labels", 'Invalid value: "/a": prefix part must be non-empty', 6)]),
    ("label key with a bad prefix", cm("  name: x\n  labels:\n    Ex.com/a: x\n"), "1.35",
     [("metadata.labels", f'Invalid value: "Ex.com/a": prefix part {SUBDOMAIN}', 6)]),
    ("label key name too long", cm(f"  name: x\n  labels:\n    {'k' * 64}: x\n"), "1.33",
     [("metadata.labels", f'Invalid value: "{"k" * 64}": name part must be no more than 63 characters', 6)]),
    # annotation keys: the label key rule, case-insensitively; the path is metadata.annotations
    ("annotation key case does not matter", cm("  name: x\n  annotations:\n    Example.COM/Key: v\n"), "1.35", []),
    ("annotation key", cm("  name: x\n  annotations:\n    a b: v\n"), "1.35",
     [("metadata.annotations", f'Invalid value: "a b": {KEY_NAME}', 6)]),
    ("annotations too long, before 1.32", cm(f"  name: x\n  annotations:\n    a: {'v' * 262144}\n"), "1.31",
     [("metadata.annotations", "Too long: must have at most 262144 bytes", 5)]),
    ("annotations too long, from 1.32", cm(f"  name: x\n  annotations:\n    a: {'v' * 262144}\n"), "1.32",
     [("metadata.annotations", "Too long: may not be more than 262144 bytes", 5)]),
]


def problems(text: str, minor: str, rules: tuple[str, ...]) -> list[tuple[str, str, int]]:
    store = SchemaStore.for_version(minor)
    out = []
    for f in validate_text(text, Source("t.yaml"), store=store):
        if f.rule in rules:
            path, _, message = f.message.partition(": ")
            assert path == f.path  # the message starts with the path the finding carries
            out.append((f.path, message, f.line))
    return out


@pytest.mark.parametrize(("case", "text", "minor", "expected"), METADATA, ids=[c[0] for c in METADATA])
def test_metadata_messages(case: str, text: str, minor: str, expected: list[tuple[str, str, int]]) -> None:
    assert problems(text, minor, ("metadata",)) == expected


def pod(container: str, extra: str = "") -> str:
    return ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n" + extra + "  containers:\n  - name: c\n"
            "    image: i\n" + container)


def deployment(selector: str, labels: str) -> str:
    return ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector: " + selector + "\n"
            "  template:\n    metadata:\n      labels: " + labels + "\n    spec:\n      containers:\n"
            "      - {name: c, image: i}\n")


def service(ports: str, stype: str = "ClusterIP") -> str:
    return f"apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  type: {stype}\n  ports:\n{ports}"


C = "spec.containers[0]."
ENV_STRICT = ("a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
              "and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex "
              "used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')")
WORKLOADS = [
    ("containerPort 0", pod("    ports:\n    - containerPort: 0\n"), "1.35",
     [(C + "ports[0].containerPort", "Required value", 10)]),
    ("containerPort out of range", pod("    ports:\n    - containerPort: 70000\n"), "1.35",
     [(C + "ports[0].containerPort", "Invalid value: 70000: must be between 1 and 65535, inclusive", 10)]),
    # kubectl-validate error_enum_invalid
    ("protocol", pod("    ports:\n    - {containerPort: 88, protocol: udp}\n"), "1.35",
     [(C + "ports[0].protocol", 'Unsupported value: "udp": supported values: "SCTP", "TCP", "UDP"', 10)]),
    ("port name", pod("    ports:\n    - {containerPort: 88, name: -Bad--name-toolong}\n"), "1.35",
     [(C + "ports[0].name", 'Invalid value: "-Bad--name-toolong": must be no more than 15 characters', 10),
      (C + "ports[0].name", 'Invalid value: "-Bad--name-toolong": must contain only alpha-numeric characters '
       "(a-z, 0-9), and hyphens (-)", 10),
      (C + "ports[0].name", 'Invalid value: "-Bad--name-toolong": must not contain consecutive hyphens', 10),
      (C + "ports[0].name", 'Invalid value: "-Bad--name-toolong": must not begin or end with a hyphen', 10)]),
    ("port name without a letter", pod("    ports:\n    - {containerPort: 88, name: '123'}\n"), "1.35",
     [(C + "ports[0].name", 'Invalid value: "123": must contain at least one letter (a-z)', 10)]),
    ("duplicate port name", pod("    ports:\n    - {containerPort: 1, name: a}\n    - {containerPort: 2, name: a}\n"),
     "1.35", [(C + "ports[1].name", 'Duplicate value: "a"', 11)]),
    ("empty env name", pod("    env:\n    - {name: '', value: x}\n"), "1.35",
     [(C + "env[0].name", "Required value", 10)]),
    ("env name, relaxed from 1.32", pod("    env:\n    - {name: 'A=B', value: x}\n    - {name: 1A, value: y}\n"),
     "1.32", [(C + "env[0].name", 'Invalid value: "A=B": a valid environment variable name must consist only of '
               "printable ASCII characters other than '='", 10)]),
    ("env name, strict before 1.32", pod("    env:\n    - {name: 1A, value: y}\n"), "1.31",
     [(C + "env[0].name", f'Invalid value: "1A": {ENV_STRICT}', 10)]),
    ("volumeMount naming no volume", pod("    volumeMounts:\n    - {name: v, mountPath: /v}\n"), "1.35",
     [(C + "volumeMounts[0].name", 'Not found: "v"', 10)]),
    ("mountPath twice", pod("    volumeMounts:\n    - {name: v, mountPath: /v}\n    - {name: v, mountPath: /v}\n",
                            "  volumes:\n  - {name: v, emptyDir: {}}\n"), "1.35",
     [(C + "volumeMounts[1].mountPath", 'Invalid value: "/v": must be unique', 13)]),
    ("volume name with dots", pod("", "  volumes:\n  - {name: a.b, emptyDir: {}}\n"), "1.35",
     [("spec.volumes[0].name", 'Invalid value: "a.b": must not contain dots', 7)]),
    ("duplicate volume", pod("", "  volumes:\n  - {name: v, emptyDir: {}}\n  - {name: v, emptyDir: {}}\n"), "1.35",
     [("spec.volumes[1].name", 'Duplicate value: "v"', 8)]),
    ("container name", pod("").replace("name: c\n", "name: C_1\n"), "1.35",
     [("spec.containers[0].name", f'Invalid value: "C_1": {LABEL_1123}', 7)]),
    # kubectl-validate error_missing_image
    ("missing image", pod("").replace("    image: i\n", ""), "1.35",
     [("spec.containers[0].image", "Required value", 7)]),
    ("restartPolicy of a Deployment", deployment("{matchLabels: {a: b}}", "{a: b}").replace(
        "      containers:", "      restartPolicy: Never\n      containers:"), "1.35",
     [("spec.template.spec.restartPolicy", 'Unsupported value: "Never": supported values: "Always"', 11)]),
    ("selector does not match, from 1.34", deployment("{matchLabels: {a: b}}", "{a: c, z: w}"), "1.34",
     [("spec.template.metadata.labels", 'Invalid value: {"a":"c","z":"w"}: `selector` does not match template '
       "`labels`", 9)]),
    ("selector does not match, before 1.34", deployment("{matchLabels: {a: b}}", "{a: c, z: w}"), "1.33",
     [("spec.template.metadata.labels", 'Invalid value: map[string]string{"a":"c", "z":"w"}: `selector` does not '
       "match template `labels`", 9)]),
    ("empty selector, from 1.34", deployment("{matchLabels: {}}", "{a: b}"), "1.34",
     [("spec.selector", "Invalid value: {}: empty selector is invalid for deployment", 6)]),
    ("empty selector, before 1.34", deployment("{matchLabels: {}}", "{a: b}"), "1.33",
     [("spec.selector", "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, "
       "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment", 6)]),
    ("empty selector of a ReplicaSet says deployment",
     deployment("{matchLabels: {}}", "{a: b}").replace("kind: Deployment", "kind: ReplicaSet"), "1.34",
     [("spec.selector", "Invalid value: {}: empty selector is invalid for deployment", 6)]),
    ("empty selector of a DaemonSet",
     deployment("{matchLabels: {}}", "{a: b}").replace("kind: Deployment", "kind: DaemonSet"), "1.34",
     [("spec.selector", "Invalid value: {}: empty selector is invalid for daemonset", 6)]),
    ("Service without ports", "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  type: ClusterIP\n",
     "1.35", [("spec.ports", "Required value", 5)]),
    ("Service port out of range", service("  - {port: 0}\n"), "1.35",
     [("spec.ports[0].port", "Invalid value: 0: must be between 1 and 65535, inclusive", 8)]),
    ("Service ports need names", service("  - {port: 1}\n  - {port: 2, name: b}\n"), "1.35",
     [("spec.ports[0].name", "Required value", 8)]),
    ("Service port name", service("  - {port: 1, name: B_1}\n"), "1.35",
     [("spec.ports[0].name", f'Invalid value: "B_1": {LABEL_1123}', 8)]),
    ("Service duplicate port name", service("  - {port: 1, name: a}\n  - {port: 2, name: a}\n"), "1.35",
     [("spec.ports[1].name", 'Duplicate value: "a"', 9)]),
    ("targetPort 0 is defaulted", service("  - {port: 1, targetPort: 0}\n"), "1.35", []),
    ("targetPort out of range", service("  - {port: 1, targetPort: 70000}\n"), "1.35",
     [("spec.ports[0].targetPort", "Invalid value: 70000: must be between 1 and 65535, inclusive", 8)]),
    ("targetPort name", service("  - {port: 1, targetPort: Web}\n"), "1.35",
     [("spec.ports[0].targetPort", 'Invalid value: "Web": must contain only alpha-numeric characters (a-z, 0-9), '
       "and hyphens (-)", 8)]),
    ("nodePort on a ClusterIP Service", service("  - {port: 1, nodePort: 30000}\n"), "1.35",
     [("spec.ports[0].nodePort", "Forbidden: may not be used when `type` is 'ClusterIP'", 8)]),
    ("nodePort 0 is unset", service("  - {port: 1, nodePort: 0}\n"), "1.35", []),
]


@pytest.mark.parametrize(("case", "text", "minor", "expected"), WORKLOADS, ids=[c[0] for c in WORKLOADS])
def test_workload_messages(case: str, text: str, minor: str, expected: list[tuple[str, str, int]]) -> None:
    assert problems(text, minor, ("api-validation",)) == expected
