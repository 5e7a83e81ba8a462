"""Fuzzing the document and validation path (issue #11): `parse_text` and `validate_document` on
mutated real manifests must never raise, and every finding must be well-formed.

Seeds are the YAML and JSON under `examples/` and `tests/` plus a few manifests of the kinds the
handwritten checks look at (`SEEDS` below). Each example applies 1-6 mutations: byte edits (flips,
inserts, deletions: invalid UTF-8 included), line edits (delete, duplicate, swap, re-indent, insert a
hostile line), and structural edits (a value of the parsed document replaced by a value of another
type, then written back as YAML or JSON). A finding is well-formed when its rule is in the catalog,
it is not `internal-error` (that would be a kvalidate bug), its line is within the text and its
column is positive.

`make test` runs a bounded, derandomized number of examples (`KVALIDATE_FUZZ_EXAMPLES`, default 800
for each of the two variants: about 8 s). Setting it runs that many per variant at random, e.g. about
ten minutes (~110 examples a second):

    KVALIDATE_FUZZ_EXAMPLES=65000 .venv/bin/pytest -q -p no:cacheprovider tests/test_fuzz.py
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvalidate.catalog import CATALOG
from kvalidate.documents import parse_text
from kvalidate.model import Finding, Source
from kvalidate.schemas.store import SchemaStore
from kvalidate.validation.validate import validate_document

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = int(os.environ.get("KVALIDATE_FUZZ_EXAMPLES", "800"))
LONG_RUN = "KVALIDATE_FUZZ_EXAMPLES" in os.environ

SEEDS = [
    """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: kube-system, labels: {app: d}, annotations: {a/b: c}}
spec:
  replicas: 2
  selector:
    matchLabels: {app: d}
    matchExpressions: [{key: app, operator: In, values: [d]}, {key: x, operator: DoesNotExist}]
  template:
    metadata: {labels: {app: d}}
    spec:
      restartPolicy: Always
      volumes: [{name: v, emptyDir: {}}]
      initContainers: [{name: i, image: busybox}]
      containers:
      - name: c
        image: nginx:1.27
        env: [{name: A, value: "1"}, {name: B, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]
        ports: [{containerPort: 80, protocol: TCP, name: http}, {containerPort: 443}]
        volumeMounts: [{name: v, mountPath: /v}]
        resources: {limits: {cpu: 100m, memory: 64Mi}}
""",
    """\
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  type: NodePort
  clusterIP: None
  selector: {app: d}
  ports:
  - {name: http, port: 80, targetPort: http, nodePort: 30080, protocol: TCP}
  - {name: https, port: 443, targetPort: 8443}
""",
    """\
apiVersion: batch/v1
kind: CronJob
metadata: {generateName: cj-}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: c, image: busybox, args: [echo, "&a"]}]
""",
    """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}
  data: {a: "1", b: &x two}
- apiVersion: v1
  kind: Secret
  metadata: {name: b}
  data: {k: aGVsbG8=}
  stringData: {x: *x}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:x"}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
""",
    """\
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.30.0
networking: {podSubnet: 10.233.64.0/18, serviceSubnet: 10.233.0.0/18}
apiServer:
  extraArgs: {anonymous-auth: "false"}
  certSANs: [a, b]
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
maxPods: 110
evictionHard: {memory.available: 100Mi}
---
apiVersion: crd.projectcalico.org/v1
kind: BGPPeer
metadata: {name: p}
spec: {peerIP: 10.0.0.1, asNumber: 64512}
---
base: &b {x: 1, y: [1, 2]}
m:
  <<: *b
  y: 0o17
  z: [0x1F, 1e3, .inf, ~, y, 2001-12-14, !!str 3, !!binary aGVs]
""",
]


def _seeds() -> list[str]:
    files = sorted(p for d in ("examples", "tests") for p in (ROOT / d).rglob("*")
                   if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
    return SEEDS + [p.read_text(encoding="utf-8") for p in files]


ALL_SEEDS = _seeds()

# Lines and values that broke the document path once, or could: aliases as keys, merges, tags,
# numbers beyond 64 bits and beyond Python's int-to-string limit, hostile apiVersion/kind, deep or
# wide structure, control characters, lone surrogates, wrong types where the API checks look.
HOSTILE_LINES = [
    "&a k: 1", "*a : 2", "? *a", ": x", "<<: *a", "<<: [*a, *a]", "<<: 5", "? [a, b]", "? {a: 1}",
    "x: !!int abc", "x: !!float 1e999", "x: !!binary ~~~", "x: !custom 1", "x: !!python/object:os.system []",
    "x: " + "1" * 5000, "x: -" + "9" * 400, "x: 0x" + "f" * 300, "x: 09", "x: 1e400", "x: .5_0", "x: 0b",
    "apiVersion: ../../../../tmp/x/evil/v1", "kind: " + "K" * 300, "kind: [Pod]", "apiVersion: 5",
    "metadata: 5", "metadata: {name: [a]}", "metadata: {labels: [a], annotations: 5}",
    "spec: 5", "spec: {template: 5}", "spec: {selector: {matchExpressions: 5}}",
    "spec: {selector: {matchExpressions: [{key: [a], operator: In, values: 7}]}}",
    "spec: {selector: {matchLabels: [a]}, template: {metadata: {labels: 5}}}",
    "  env: 5", "  containerPort: [1]", "  ports: [{containerPort: [1]}, {containerPort: [1]}]",
    "  volumeMounts: {a: 1}", "  containers: [5, [], {name: [x]}]", "  type: [NodePort]",
    "- " * 40 + "x", "[" * 50 + "]" * 50, "{a: " * 30 + "1" + "}" * 30, "a: |\n  \x00", "\t- x",
    "a: \udcff", "a: \ud800", "a: \ufeff", "--- !!map", "...", "%YAML 1.1", "%TAG ! tag:x,2000:",
    "items: 5", "kind: List", "apiVersion: v1", "a: &x [*x]", "x: *undefined",
]

VALUES: list[Any] = [None, True, False, 0, -1, 65536, 2**63, 2**64, 1.5, float("inf"), "", "x" * 300,
                     "../../etc/passwd", [], [None], [5], {}, {"": 1}, {"a": [1, {"b": None}]}, "1" * 5000]


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if len(path) > 40:  # PyYAML builds `&x [*x]` as a list that holds itself
        return out
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*path, i))
    return out


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        return {k: (_replace(v, rest, value) if k == head else v) for k, v in data.items()}
    return [(_replace(v, rest, value) if i == head else v) for i, v in enumerate(data)]


@st.composite
def _structural(draw: st.DrawFn, text: str) -> str:
    """Parse the text as plain YAML, put a value of another type somewhere, write it back."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except (yaml.YAMLError, ValueError, RecursionError):
        return text
    if not docs:
        return text
    i = draw(st.integers(0, len(docs) - 1))
    paths = _paths(docs[i])
    path = paths[draw(st.integers(0, len(paths) - 1))]
    docs[i] = _replace(docs[i], path, draw(st.sampled_from(VALUES)))
    as_json = draw(st.booleans())
    try:
        if as_json:
            return "\n---\n".join(json.dumps(d, default=str) for d in docs)
        return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError, RecursionError):  # a document that holds itself
        return text


@st.composite
def _bytes_edit(draw: st.DrawFn, text: str) -> str:
    try:
        raw = bytearray(text.encode("utf-8", "surrogateescape"))  # the bytes a file had
    except UnicodeEncodeError:  # a surrogate no byte stands for (U+D800): its 3-byte CESU form
        raw = bytearray(text.encode("utf-8", "surrogatepass"))
    at = draw(st.integers(0, len(raw)))
    op = draw(st.sampled_from(["flip", "insert", "delete"]))
    if op == "flip" and at < len(raw):
        raw[at] ^= 1 << draw(st.integers(0, 7))
    elif op == "insert":
        raw[at:at] = draw(st.binary(min_size=1, max_size=8))
    else:
        del raw[at:at + draw(st.integers(1, 16))]
    return raw.decode("utf-8", "surrogateescape")  # as kvalidate reads a file


@st.composite
def _line_edit(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    at = draw(st.integers(0, len(lines) - 1))
    op = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent", "hostile", "hostile_indented"]))
    if op == "delete":
        del lines[at]
    elif op == "duplicate":
        lines.insert(at, lines[at])
    elif op == "swap":
        other = draw(st.integers(0, len(lines) - 1))
        lines[at], lines[other] = lines[other], lines[at]
    elif op == "indent":
        lines[at] = " " * draw(st.integers(1, 4)) + lines[at]
    elif op == "dedent":
        lines[at] = lines[at].lstrip(" ")
    else:
        line = draw(st.sampled_from(HOSTILE_LINES))
        if op == "hostile_indented":  # at the indentation of the line it goes before
            line = lines[at][: len(lines[at]) - len(lines[at].lstrip(" "))] + line.lstrip(" ")
        lines.insert(at, line)
    return "\n".join(lines)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(ALL_SEEDS))
    for _ in range(draw(st.integers(1, 6))):
        edit = draw(st.sampled_from([_bytes_edit, _line_edit, _line_edit, _structural]))
        text = draw(edit(text))
    return text


@cache
def _store() -> SchemaStore:
    """Not a fixture: hypothesis would print the whole store with every failing example."""
    return SchemaStore.for_version("1.33")


YAML_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # line breaks as libyaml and go-yaml count them


def _check(text: str, findings: list[Finding]) -> None:
    """Lines are the YAML decoder's (a lone CR or U+2028 starts a line), as in go-yaml's own errors:
    the long run found `\r{...}` located at line 2 of a text without `\n`."""
    lines = len(YAML_BREAKS.split(text))
    for f in findings:
        assert f.rule in CATALOG, f
        assert f.rule != "internal-error", f.message
        assert 1 <= f.line <= lines, (f.line, lines, f)
        assert f.column >= 1, f
        assert f.file == "fuzz.yaml", f


@pytest.mark.parametrize("require_kind", [True, False])
@settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG_RUN, database=None, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(text=mutated())
def test_document_and_validation_path_never_raise(require_kind: bool, text: str) -> None:
    parsed = parse_text(text, Source("fuzz.yaml"))
    _check(text, parsed.findings)
    for doc in parsed.documents:
        _check(text, validate_document(doc, _store(), require_kind=require_kind))


def test_seeds_are_found() -> None:
    """The fuzz test mutates real manifests: the example and the fixtures are among its seeds."""
    assert any("calico-typha" in s for s in ALL_SEEDS)
    assert len(ALL_SEEDS) > 20
